public import Logging
import Synchronization

/// Logs an event that a peer can repeat (an error frame, a refused request) at most once per
/// interval and key, so that a peer sending ten thousand of them writes one line, not ten
/// thousand; the events left out are counted and reported with the next line written.
public final class RepeatedEventLog: Sendable {
    private struct Entry {
        var lastLogged: ContinuousClock.Instant
        var suppressed: Int
    }

    private let logger: Logger
    private let interval: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let entries = Mutex<[String: Entry]>([:])

    /// A log writing to `logger`, each key at most once per `interval` of `now`'s clock.
    public init(
        logger: Logger, interval: Duration = .seconds(60),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        self.logger = logger
        self.interval = interval
        self.now = now
    }

    /// Logs `message` at `level` unless `key` was logged less than an interval ago; returns
    /// whether a line was written. Text from the peer in `metadata` must already be escaped
    /// (``LogText/escaped(_:limit:)``).
    @discardableResult
    public func log(
        _ level: Logger.Level, _ message: Logger.Message, key: String, metadata: Logger.Metadata
    ) -> Bool {
        let now = self.now()
        let suppressed: Int? = entries.withLock { entries in
            if var entry = entries[key], now - entry.lastLogged < interval {
                entry.suppressed += 1
                entries[key] = entry
                return nil
            }
            let count = entries[key]?.suppressed ?? 0
            entries[key] = Entry(lastLogged: now, suppressed: 0)
            if entries.count > 10_000 { entries = entries.filter { now - $0.value.lastLogged < interval } }
            return count
        }
        guard let suppressed else { return false }
        var metadata = metadata
        if suppressed > 0 { metadata["suppressed_since_last"] = "\(suppressed)" }
        logger.log(level: level, message, metadata: metadata)
        return true
    }
}
