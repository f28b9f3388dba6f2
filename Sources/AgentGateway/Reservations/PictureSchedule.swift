public import DialerCore

/// When to send each queue's picture to its node: on change, but at most once per interval.
///
/// A value type: the reservation service marks queues changed and asks which are due; the
/// answer also says when to ask again for the queues held back by the interval.
public struct PictureSchedule: Sendable, Equatable {
    /// The least time between two pictures of one queue.
    public let interval: Duration
    /// Queues changed since their last picture.
    public private(set) var changed: Set<QueueID> = []
    private var lastSent: [QueueID: Moment] = [:]

    public init(interval: Duration) {
        self.interval = interval
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
            if let last = lastSent[queue], now - last < interval {
                let at = last + interval
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
    }
}
