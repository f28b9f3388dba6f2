/// A lease a node says it holds: the queue and the epoch it was granted under.
///
/// Nodes send these in renewals and in the report they make when they register again.
public struct HeldLease: Hashable, Sendable, CustomStringConvertible {
    public var queue: QueueID
    public var epoch: Epoch

    public init(queue: QueueID, epoch: Epoch) {
        self.queue = queue
        self.epoch = epoch
    }

    public var description: String { "\(queue)@\(epoch)" }
}

/// A lease the manager renewed, with its new expiry on the manager's clock.
///
/// The expiry means nothing on a node's clock: a node computes its own validity from the
/// moment it sent the renewal (see ``NodeLeaseBook``).
public struct RenewedLease: Hashable, Sendable {
    public var queue: QueueID
    public var epoch: Epoch
    public var expiresAt: Moment

    public init(queue: QueueID, epoch: Epoch, expiresAt: Moment) {
        self.queue = queue
        self.epoch = epoch
        self.expiresAt = expiresAt
    }

    /// The lease without the manager-side expiry, as a node consumes it.
    public var held: HeldLease { HeldLease(queue: queue, epoch: epoch) }
}

/// A lease the manager refused to renew, and why.
public struct RejectedLease: Hashable, Sendable {
    public var queue: QueueID
    public var epoch: Epoch
    public var reason: LeaseRejection

    public init(queue: QueueID, epoch: Epoch, reason: LeaseRejection) {
        self.queue = queue
        self.epoch = epoch
        self.reason = reason
    }
}

/// Why the manager refused to renew a lease. In every case the node must stop the queue.
public enum LeaseRejection: String, Hashable, Sendable, CaseIterable {
    /// Another node owns the queue, or a newer epoch has been issued: the sender's lease is
    /// over for good (the fencing case).
    case staleEpoch
    /// The sender's own lease lapsed before the renewal arrived. If the sender is still the
    /// placement owner it gets the queue again through placement, under a new epoch.
    case expired
    /// The queue is not declared (any more).
    case unknownQueue
    /// The sender is not a connected member: it must register again and report its leases.
    case notMember
}

/// Why the manager asked a node to hand a queue back.
public enum HandoffReason: String, Hashable, Sendable, CaseIterable {
    /// The node is being drained for maintenance.
    case drain
    /// A node joined (or came back) and the queue's placement owner is now another node.
    case rebalance
    /// The queue was removed; it is gone once the lease is released or expires.
    case removed
}
