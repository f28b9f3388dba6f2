public import DialerCore
public import Logging
import Synchronization

/// Logs protocol violations by remote host at most once per interval and code, so a peer
/// that reconnects in a loop sending garbage cannot flood the log; suppressed events are
/// counted and reported with the next line that is written.
public final class ViolationLog: Sendable {
    private struct Key: Hashable {
        var host: String
        var code: Int
    }

    private struct Entry {
        var lastLogged: Moment
        var suppressed: Int
    }

    private let logger: Logger
    private let interval: Duration
    private let entries = Mutex<[Key: Entry]>([:])
    private let clock: any DialerClock

    public init(logger: Logger, interval: Duration = .seconds(60), clock: any DialerClock = SystemClock()) {
        self.logger = logger
        self.interval = interval
        self.clock = clock
    }

    /// Records one violation by `host`; returns whether a log line was written.
    @discardableResult
    public func record(host: String, code: Int, codeName: String, detail: String, peer: String?) -> Bool {
        let now = clock.now()
        let key = Key(host: host, code: code)
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
        var metadata: Logger.Metadata = [
            "remote": "\(host)", "code": "\(codeName)", "detail": "\(LogText.escaped(detail))",
        ]
        if let peer { metadata["peer"] = "\(LogText.escaped(peer, limit: 64))" }
        if suppressed > 0 { metadata["suppressed_since_last"] = "\(suppressed)" }
        logger.warning("closing cluster connection after a protocol violation", metadata: metadata)
        return true
    }
}
