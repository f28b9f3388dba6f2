public import DialerCore

/// When the feeder's write loop commits what waits: the rule of batching, without I/O.
///
/// Attempt reports and hand-outs wait in submission order; the loop asks ``next(at:)`` what to
/// do. A batch is committed as soon as ``Limits/maximumOperations`` wait, or once the oldest has
/// waited ``Limits/linger``; with a linger of zero, whatever waits is committed as soon as the
/// loop is free, so that batches grow only while a commit is under way (group commit).
public struct FeederBatching: Sendable, Hashable {
    /// How large a batch may grow and how long its first operation may wait for others.
    public struct Limits: Sendable, Hashable {
        /// The most operations one transaction applies.
        public var maximumOperations: Int
        /// How long the oldest waiting operation may wait for others before its batch commits.
        public var linger: Duration

        /// The accepted range of ``maximumOperations``.
        public static let operationsRange = 1...10_000
        /// The longest accepted ``linger``.
        public static let longestLinger = Duration.seconds(1)

        /// - Precondition: values in range (``operationsRange``, `0...longestLinger`): callers
        ///   range-check anything read from outside first.
        public init(maximumOperations: Int, linger: Duration) {
            precondition(Self.operationsRange.contains(maximumOperations), "maximumOperations out of range")
            precondition(linger >= .zero && linger <= Self.longestLinger, "linger out of range")
            self.maximumOperations = maximumOperations
            self.linger = linger
        }

        /// The manager's default: up to 256 operations, the first waiting at most 2 ms.
        public static let standard = Limits(maximumOperations: 256, linger: .milliseconds(2))
        /// Up to 256 operations, committed as soon as the loop is free.
        public static let immediate = Limits(maximumOperations: 256, linger: .zero)
        /// One operation per transaction: how the manager worked before batching.
        public static let perOperation = Limits(maximumOperations: 1, linger: .zero)
    }

    /// What the loop does next.
    public enum Decision: Sendable, Hashable {
        /// Nothing waits: wait for a submission.
        case idle
        /// Wait until this moment (or a submission) and ask again.
        case wait(until: Moment)
        /// Commit the `count` oldest waiting operations now, as one batch.
        case flush(count: Int)
    }

    public let limits: Limits
    /// When each waiting operation was submitted, oldest first.
    private var waiting: [Moment] = []

    public init(limits: Limits) {
        self.limits = limits
    }

    /// How many operations wait.
    public var waitingCount: Int { waiting.count }

    /// An operation was submitted at `moment`.
    public mutating func received(submittedAt moment: Moment) {
        waiting.append(moment)
    }

    /// What to do at `now`. A flush takes its operations out of the waiting ones: they are the
    /// loop's batch from then on.
    public mutating func next(at now: Moment) -> Decision {
        guard let oldest = waiting.first else { return .idle }
        let deadline = oldest + limits.linger
        guard waiting.count >= limits.maximumOperations || now >= deadline else { return .wait(until: deadline) }
        let count = min(waiting.count, limits.maximumOperations)
        waiting.removeFirst(count)
        return .flush(count: count)
    }
}
