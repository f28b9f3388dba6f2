public import DialerCore

/// When to send each queue's picture to its node: on change, but at most once per interval,
/// and no more often than keeps the pictures' cost within a share of the gateway's time.
///
/// A value type: the reservation service marks queues changed and asks which are due; the
/// answer also says when to ask again for the queues held back by the interval.
///
/// A picture lists every agent of its queue, so its cost grows with the queue: at 10,000 agents
/// one takes tens of milliseconds to build and encode, and ten a second per queue would take
/// most of a core from the rest of the gateway (the pictures are built off the reservation
/// service's actor, but on the same machine). The service reports what each picture cost
/// (``pictureCost(_:_:)``); the queue's next picture then waits at least that cost divided by
/// ``costShare``.
public struct PictureSchedule: Sendable, Equatable {
    /// The least time between two pictures of one queue.
    public let interval: Duration
    /// The share of the time one queue's pictures may take (0.1: a picture that cost 30 ms is
    /// followed by the next no sooner than 300 ms later).
    public let costShare: Double
    /// Queues changed since their last picture.
    public private(set) var changed: Set<QueueID> = []
    private var lastSent: [QueueID: Moment] = [:]
    /// Queues whose last picture cost more than ``costShare`` of ``interval``: their gap.
    private var spacing: [QueueID: Duration] = [:]

    /// - Parameter costShare: in (0, 1]; above 1 is taken as 1, and a value that is not a
    ///   positive number as the default 0.1 (no trap on a bad setting).
    public init(interval: Duration, costShare: Double = 0.1) {
        self.interval = interval
        self.costShare = costShare.isFinite && costShare > 0 ? min(costShare, 1) : 0.1
    }

    /// The least time between two pictures of `queue` now.
    public func gap(of queue: QueueID) -> Duration { spacing[queue] ?? interval }

    /// The last picture of `queue` took `cost` to build and send.
    public mutating func pictureCost(_ queue: QueueID, _ cost: Duration) {
        let gap = cost * (1 / costShare)
        spacing[queue] = gap > interval ? gap : nil
    }

    /// The queue's agents or requests changed.
    public mutating func markChanged(_ queue: QueueID) {
        changed.insert(queue)
    }

    /// The changed queues whose picture may be sent at `now` (marked sent), by id, and the
    /// earliest moment at which one held back may be sent.
    public mutating func due(at now: Moment) -> (queues: [QueueID], next: Moment?) {
        var queues: [QueueID] = []
        var next: Moment?
        for queue in changed {
            let gap = gap(of: queue)
            if let last = lastSent[queue], now - last < gap {
                let at = last + gap
                next = next.map { min($0, at) } ?? at
            } else {
                queues.append(queue)
            }
        }
        for queue in queues {
            changed.remove(queue)
            lastSent[queue] = now
        }
        return (queues.sorted(), next)
    }

    /// Forgets a queue (its owner left): its next change is sent at once.
    public mutating func forget(_ queue: QueueID) {
        changed.remove(queue)
        lastSent[queue] = nil
        spacing[queue] = nil
    }
}
