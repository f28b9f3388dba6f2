import DialerCore
public import FoundationEssentials

/// The webhook worker's decisions, as a value: events in, actions out, no I/O and no clock of
/// its own (every event says when it happened), so that a test drives it step by step.
///
/// It keeps a few deliveries in flight, loads due ones from the outbox when a slot is free,
/// and after a failure schedules the next try with exponential backoff and jitter; it gives
/// up on a delivery only when it is older than ``Settings/giveUpAfter``.
public struct WebhookDeliveryMachine: Sendable {
    public struct Settings: Sendable, Equatable {
        /// Deliveries sent at once.
        public var maximumInFlight = 4
        /// How often the outbox is read when nothing is due sooner (new events are written by
        /// the store's triggers, which do not wake the worker).
        public var pollInterval: Duration = .seconds(1)
        /// The delay after the first failure; it doubles with each failure after.
        public var baseDelay: Duration = .seconds(1)
        /// The longest delay between tries.
        public var maximumDelay: Duration = .seconds(600)
        /// A delivery still failing this long after its event is given up (state `failed`).
        public var giveUpAfter: Duration = .seconds(72 * 3600)
        /// A receiver that has not answered within this is a failed try.
        public var timeout: Duration = .seconds(10)

        public init() {}
    }

    public enum Result: Sendable, Equatable {
        /// The receiver answered with this status (2xx: delivered).
        case status(Int)
        /// No answer: a connection error or a timeout.
        case error(String)
    }

    public enum Event: Sendable, Equatable {
        /// The worker starts.
        case started(now: Date)
        /// The outbox was read: deliveries due, and when the next of the others is due.
        case loaded([WebhookDueDelivery], nextDueAt: Date?, now: Date)
        /// A try ended.
        case finished(WebhookDueDelivery, Result, durationMilliseconds: Int, now: Date)
        /// The timer armed with this generation went off.
        case timerFired(generation: Int, now: Date)
    }

    public enum Action: Sendable, Equatable {
        /// Read up to `limit` due deliveries, leaving out `excluding` (in flight).
        case load(limit: Int, excluding: Set<Int64>, now: Date)
        /// Post the delivery (signed, with the timeout).
        case send(WebhookDueDelivery)
        /// Store a try's result.
        case record(WebhookTryRecord)
        /// Send `timerFired(generation)` at `at` (a newer timer makes older ones stale).
        case armTimer(at: Date, generation: Int)
    }

    public let settings: Settings
    public private(set) var inFlight: Set<Int64> = []
    private var loading = false
    private var reloadWanted = false
    private var generation = 0
    private var random: SeededGenerator

    /// - Parameter seed: the jitter's random sequence (fixed in tests).
    public init(settings: Settings = Settings(), seed: UInt64) {
        self.settings = settings
        self.random = SeededGenerator(seed: seed)
    }

    public mutating func handle(_ event: Event) -> [Action] {
        switch event {
        case .started(let now):
            return load(now: now)
        case .loaded(let due, let nextDueAt, let now):
            loading = false
            var actions: [Action] = []
            for delivery in due where !inFlight.contains(delivery.id) {
                inFlight.insert(delivery.id)
                actions.append(.send(delivery))
            }
            if reloadWanted, inFlight.count < settings.maximumInFlight {
                reloadWanted = false
                return actions + load(now: now)
            }
            reloadWanted = false
            let poll = now + settings.pollInterval.secondsValue
            generation += 1
            actions.append(.armTimer(at: min(nextDueAt ?? poll, poll), generation: generation))
            return actions
        case .finished(let delivery, let result, let duration, let now):
            inFlight.remove(delivery.id)
            var record = WebhookTryRecord(
                delivery: delivery.id, at: now, status: nil, error: nil, durationMilliseconds: duration,
                delivered: false, nextAttemptAt: nil)
            switch result {
            case .status(let status):
                record.status = status
                record.delivered = (200...299).contains(status)
                if !record.delivered { record.error = "the receiver answered \(status)" }
            case .error(let message):
                record.error = message
            }
            if !record.delivered {
                let next = now + retryDelay(afterFailure: delivery.attempts + 1).secondsValue
                if next.timeIntervalSince(delivery.createdAt) < settings.giveUpAfter.secondsValue {
                    record.nextAttemptAt = next
                }
            }
            return [.record(record)] + load(now: now)
        case .timerFired(let fired, let now):
            guard fired == generation else { return [] }
            return load(now: now)
        }
    }

    /// The delay before the try after failure number `failures` (1 for the first): the base
    /// doubled per failure, capped, then drawn between half and all of it, so that receivers
    /// coming back are not hit by every delivery at once.
    public mutating func retryDelay(afterFailure failures: Int) -> Duration {
        let exponent = min(max(failures - 1, 0), 40)
        let full = min(settings.baseDelay.secondsValue * Double(1 << exponent), settings.maximumDelay.secondsValue)
        let fraction = 0.5 + 0.5 * Double(random.next() >> 11) / Double(UInt64(1) << 53)
        return .milliseconds(Int64((full * fraction * 1000).rounded()))
    }

    /// The longest delay after failure number `failures`, before jitter.
    public func maximumRetryDelay(afterFailure failures: Int) -> Duration {
        let exponent = min(max(failures - 1, 0), 40)
        let full = min(settings.baseDelay.secondsValue * Double(1 << exponent), settings.maximumDelay.secondsValue)
        return .milliseconds(Int64((full * 1000).rounded()))
    }

    private mutating func load(now: Date) -> [Action] {
        let free = settings.maximumInFlight - inFlight.count
        guard free > 0 else { return [] }
        guard !loading else {
            reloadWanted = true
            return []
        }
        loading = true
        return [.load(limit: free, excluding: inFlight, now: now)]
    }
}
