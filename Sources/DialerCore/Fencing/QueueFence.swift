/// The gateway's fencing table: for each queue, the newest epoch it knows and who owns it.
///
/// The gateway learns owners from the manager's queue map, which may lag behind a grant the
/// node has already received. Epochs only grow and only the manager issues them, so a message
/// from an authenticated node carrying a newer epoch than the map is the newest truth and is
/// accepted; a message carrying an older epoch comes from a node whose lease has moved on and
/// is refused.
public struct QueueFence: Sendable {
    public struct Holder: Hashable, Sendable {
        public var owner: MemberID?
        public var epoch: Epoch
    }

    public enum Verdict: Hashable, Sendable {
        case accepted
        /// A newer epoch of the queue exists.
        case staleEpoch(current: Epoch)
        /// Same epoch, but the map says another node holds it.
        case notOwner(owner: MemberID?)
    }

    public private(set) var holders: [QueueID: Holder] = [:]
    /// The version of the last map applied (for display: a restarted manager counts from 0
    /// again, so versions are not compared; epochs are, per queue).
    public private(set) var mapVersion: UInt64 = 0

    public init() {}

    /// Applies a queue map snapshot. Returns the queues whose holder changed (their old
    /// subscriptions and reservations must be dropped).
    public mutating func apply(mapVersion version: UInt64, entries: [(QueueID, MemberID?, Epoch)]) -> [QueueID] {
        mapVersion = version
        var changed: [QueueID] = []
        for (queue, owner, epoch) in entries {
            let current = holders[queue]
            // Never move an epoch backwards: a node may have shown us a newer one already.
            if let current, current.epoch > epoch { continue }
            let holder = Holder(owner: owner, epoch: epoch)
            if current != holder {
                holders[queue] = holder
                changed.append(queue)
            }
        }
        return changed
    }

    /// Checks a message about `queue` sent by `node` under `epoch`, and learns from it.
    public mutating func check(queue: QueueID, epoch: Epoch, from node: MemberID) -> Verdict {
        guard let holder = holders[queue] else {
            holders[queue] = Holder(owner: node, epoch: epoch)
            return .accepted
        }
        if epoch < holder.epoch { return .staleEpoch(current: holder.epoch) }
        if epoch > holder.epoch {
            holders[queue] = Holder(owner: node, epoch: epoch)
            return .accepted
        }
        guard holder.owner == nil || holder.owner == node else { return .notOwner(owner: holder.owner) }
        holders[queue] = Holder(owner: node, epoch: epoch)
        return .accepted
    }
}
