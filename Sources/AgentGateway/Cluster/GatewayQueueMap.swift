import DialerCore
import DialerProtocol
public import Logging
import Metrics

/// The gateway's view of queue ownership, fed by the manager's queue map and by the epochs
/// nodes present: the gateway refuses anything a node says about a queue under a stale epoch.
public actor GatewayQueueMap {
    public struct QueueView: Sendable, Equatable {
        public var queue: String
        public var owner: String?
        public var epoch: UInt64
        public var subscriber: String?
    }

    private var fence = QueueFence()
    /// Which node's queue runner is subscribed to each queue, under which epoch.
    private var subscriptions: [QueueID: (node: MemberID, epoch: Epoch)] = [:]
    private let logger: Logger
    private let staleRejections = Counter(label: "dialer_gateway_stale_epoch_rejections_total")
    private let notOwnerRejections = Counter(label: "dialer_gateway_not_owner_rejections_total")

    public init(logger: Logger) {
        self.logger = logger
    }

    /// A queue map from the manager.
    func apply(_ map: Dialer_V1_QueueMap) {
        let entries = map.entries.map { entry in
            (QueueID(entry.queue), entry.owner.isEmpty ? nil : MemberID(entry.owner), Epoch(entry.epoch))
        }
        for queue in fence.apply(mapVersion: map.version, entries: entries) {
            // A newer epoch supersedes the old subscriber; its requests will now be refused.
            if let subscription = subscriptions[queue], let holder = fence.holders[queue],
                subscription.epoch < holder.epoch
            {
                subscriptions[queue] = nil
                logger.info(
                    "queue moved on: old subscription dropped",
                    metadata: ["queue": "\(queue)", "node": "\(subscription.node)", "epoch": "\(subscription.epoch)"])
            }
        }
    }

    /// A node says it acts on `lease.queue` under `lease.epoch`.
    func subscribe(_ lease: HeldLease, from node: MemberID) -> QueueFence.Verdict {
        let verdict = fence.check(queue: lease.queue, epoch: lease.epoch, from: node)
        switch verdict {
        case .accepted:
            subscriptions[lease.queue] = (node, lease.epoch)
        case .staleEpoch(let current):
            staleRejections.increment()
            logger.notice(
                "stale epoch refused",
                metadata: [
                    "queue": "\(lease.queue)", "node": "\(node)", "epoch": "\(lease.epoch)", "current": "\(current)",
                ])
        case .notOwner(let owner):
            notOwnerRejections.increment()
            logger.notice(
                "queue message from a node that does not own it refused",
                metadata: ["queue": "\(lease.queue)", "node": "\(node)", "owner": "\(owner?.rawValue ?? "none")"])
        }
        return verdict
    }

    func unsubscribe(_ lease: HeldLease, from node: MemberID) {
        if let subscription = subscriptions[lease.queue], subscription.node == node, subscription.epoch == lease.epoch {
            subscriptions[lease.queue] = nil
        }
    }

    /// A node's connection closed: its subscriptions end.
    func nodeDisconnected(_ node: MemberID) {
        subscriptions = subscriptions.filter { $0.value.node != node }
    }

    public func view() -> (mapVersion: UInt64, queues: [QueueView]) {
        let queues = fence.holders.keys.sorted().map { queue in
            let holder = fence.holders[queue]!
            return QueueView(
                queue: queue.rawValue, owner: holder.owner?.rawValue, epoch: holder.epoch.rawValue,
                subscriber: subscriptions[queue]?.node.rawValue)
        }
        return (fence.mapVersion, queues)
    }
}
