public import DialerCore
import Synchronization

/// Until when each lease is valid by the node's own clock, readable from any task without
/// waiting on the ownership actor: a queue runner checks it before every event.
public final class LeaseValidity: Sendable {
    private let leases = Mutex<[QueueID: (epoch: Epoch, validUntil: Moment)]>([:])
    private let clock: any DialerClock

    public init(clock: any DialerClock) {
        self.clock = clock
    }

    /// Replaces what is known with the book's valid leases.
    func publish(_ valid: [ValidLease]) {
        leases.withLock { leases in
            leases = Dictionary(uniqueKeysWithValues: valid.map { ($0.queue, ($0.epoch, $0.validUntil)) })
        }
    }

    /// Whether the node may still act on `queue` under `epoch` now.
    public func isValid(_ queue: QueueID, epoch: Epoch) -> Bool {
        let now = clock.now()
        return leases.withLock { leases in
            guard let lease = leases[queue] else { return false }
            return lease.epoch == epoch && now < lease.validUntil
        }
    }
}
