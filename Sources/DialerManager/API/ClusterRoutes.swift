import DialerRuntime
import FoundationEssentials
import Hummingbird

/// `/v1/cluster` and the node operations: the cluster table an operator reads and the drain
/// a maintenance window starts with.
enum ClusterRoutes {
    struct MemberBody: Encodable {
        var id: String
        var role: String
        var state: String
        var connected: Bool
        var httpAddress: String
        var clusterAddress: String
        var lastHeartbeatAt: String?
        var lastHeartbeatAgeMs: Int64?
        /// The cluster protocol version its connection speaks (PROTOCOL.md §8).
        var protocolVersion: UInt32
    }

    struct QueueBody: Encodable {
        var id: String
        var kind: String
        var owner: String?
        var epoch: UInt64
        var leaseExpiresAt: String?
        var leaseExpiresInMs: Int64?
        var handoff: String?
    }

    struct ClusterBody: Encodable {
        var mapVersion: UInt64
        var recovering: Bool
        var nodes: [MemberBody]
        var queues: [QueueBody]
    }

    struct ErrorBody: Encodable {
        var error: String
        var message: String
    }

    static func add(to routes: RouteTable, coordinator: ClusterCoordinator) {
        routes.add(.get, "/v1/cluster", role: .readOnly) { _, _ in
            let view = await coordinator.view()
            let wallNow = Date()
            let body = ClusterBody(
                mapVersion: view.mapVersion, recovering: view.recovering,
                // Control members (dialerctl and other tools) register for a moment to ask or
                // drain; they are not part of the cluster's table.
                nodes: view.members.filter { $0.role == "node" || $0.role == "gateway" }.map { member in
                    MemberBody(
                        id: member.id, role: member.role, state: member.state, connected: member.connected,
                        httpAddress: member.httpAddress, clusterAddress: member.clusterAddress,
                        lastHeartbeatAt: member.lastHeardAgo.map { timestamp(wallNow, minus: $0) },
                        lastHeartbeatAgeMs: member.lastHeardAgo?.totalMilliseconds,
                        protocolVersion: member.protocolVersion)
                },
                queues: view.queues.map { queue in
                    QueueBody(
                        id: queue.id, kind: queue.kind, owner: queue.owner, epoch: queue.epoch,
                        leaseExpiresAt: queue.leaseExpiresIn.map { timestamp(wallNow, minus: .zero - $0) },
                        leaseExpiresInMs: queue.leaseExpiresIn?.totalMilliseconds, handoff: queue.handoff)
                })
            return try JSONResponse.make(body, status: .ok)
        }
        routes.add(.post, "/v1/nodes/{id}/drain", role: .supervisor) { _, context in
            let id = try context.parameters.require("id")
            do {
                try await coordinator.drain(id)
                return try JSONResponse.make(["node": id, "state": "draining"], status: .accepted)
            } catch ClusterCoordinator.DrainError.unknownNode(let name) {
                return try JSONResponse.make(
                    ErrorBody(error: "unknown_node", message: "no node \(name) has registered"), status: .notFound)
            }
        }
        routes.add(.post, "/v1/nodes/{id}/resume", role: .supervisor) { _, context in
            let id = try context.parameters.require("id")
            do {
                try await coordinator.resume(id)
                return try JSONResponse.make(["node": id, "state": "live"], status: .ok)
            } catch ClusterCoordinator.DrainError.unknownNode(let name) {
                return try JSONResponse.make(
                    ErrorBody(error: "unknown_node", message: "no node \(name) has registered"), status: .notFound)
            }
        }
    }

    private static func timestamp(_ now: Date, minus age: Duration) -> String {
        (now - age.secondsValue).formatted(.iso8601)
    }
}

extension Duration {
    var secondsValue: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
