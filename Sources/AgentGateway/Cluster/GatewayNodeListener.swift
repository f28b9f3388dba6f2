import DialerCore
import DialerProtocol
import DialerTransport
import Logging

/// Serves nodes on the gateway's cluster port. In this version a node subscribes the queues
/// it acts on, and the gateway fences each subscription by epoch.
struct GatewayNodeListener: Sendable {
    let queueMap: GatewayQueueMap
    let logger: Logger

    func handle(_ connection: ClusterConnection) async {
        let node = MemberID(connection.peer.memberID)
        let queueMap = self.queueMap
        let logger = self.logger
        _ = try? await connection.run { link, inbound in
            do {
                try await inbound.forEach { envelope in
                    switch envelope.message {
                    case .queueSubscribe(let subscribe):
                        let lease = subscribe.lease.held
                        guard !lease.queue.rawValue.isEmpty else {
                            try await link.send(
                                .error(.invalidArgument, "queue is required", correlationID: envelope.correlationID))
                            return
                        }
                        switch await queueMap.subscribe(lease, from: node) {
                        case .accepted:
                            var reply = Dialer_V1_QueueSubscribed()
                            reply.lease = subscribe.lease
                            try await link.reply(to: envelope, with: .queueSubscribed(reply))
                        case .staleEpoch(let current):
                            try await link.send(
                                .error(
                                    .staleEpoch,
                                    "epoch \(lease.epoch) of \(lease.queue) is stale; current is \(current)",
                                    correlationID: envelope.correlationID))
                        case .notOwner:
                            try await link.send(
                                .error(
                                    .notOwner, "\(lease.queue) under epoch \(lease.epoch) belongs to another node",
                                    correlationID: envelope.correlationID))
                        }
                    case .queueUnsubscribe(let unsubscribe):
                        await queueMap.unsubscribe(unsubscribe.lease.held, from: node)
                    case .heartbeat:
                        break
                    case .error(let error):
                        logger.notice(
                            "node reported an error", metadata: ["node": "\(node)", "code": "\(error.code.name)"])
                    default:
                        link.close(with: .unexpectedMessage, "\(envelope.kindName) is not accepted by the gateway")
                    }
                }
            } catch {
                logger.debug("node connection ended", metadata: ["node": "\(node)", "error": "\(error)"])
            }
        }
        await queueMap.nodeDisconnected(node)
    }
}
