import DialerCore
import DialerManager
import DialerNode
import DialerProtocol
import DialerRuntime
import DialerSimulation
import DialerTestSupport
import DialerTransport
import Foundation
import Synchronization
import Testing

private struct GatewayQueues: Decodable {
    struct Queue: Decodable {
        var queue: String
        var owner: String?
        var epoch: UInt64
    }
    var queues: [Queue]
}

private struct GrantLog: Decodable {
    struct Entry: Decodable {
        var agent: String
        var request: String
        var queue: String
        var event: String
    }
    var entries: [Entry]
}

@Suite("Cluster: reservations at the gateway with real processes", .serialized)
struct GatewayReservationClusterTests {
    static let agents = 200
    static let queues = [
        (id: "in-1", kind: "inbound"), (id: "out-1", kind: "campaign"), (id: "out-2", kind: "campaign"),
    ]

    @Test func threeNodesShareTwoHundredAgentsWithoutDoubleGrantsAndInboundFirst() async throws {
        let cluster = try LocalTestCluster(nodes: ["node-1", "node-2", "node-3"], queues: Self.queues)
        await cluster.runThenShutDown { try await run($0) }
    }

    private func run(_ cluster: LocalTestCluster) async throws {
        // Agents are created in the manager's database before it starts, with cheap password
        // hashes (the iteration count is stored with each hash).
        do {
            let store = try SQLiteManagerStore(path: cluster.runDirectory + "/dialer.sqlite", passwordIterations: 1_000)
            try await store.createTeam(
                Team(
                    id: TeamID("blended"), name: "Blended",
                    queueRanking: AgentSkills([QueueID("in-1"): 1, QueueID("out-1"): 2, QueueID("out-2"): 2])),
                now: Date())
            for index in 0..<Self.agents {
                _ = try await store.createAgent(
                    AgentProfile(
                        id: AgentID("agent-\(index)"), login: "agent-\(index)", name: "Agent \(index)",
                        team: TeamID("blended")),
                    password: "pw-\(index)", now: Date())
            }
        }
        try await cluster.start()
        let gatewayHTTP = ManagerHTTPClient(address: cluster.httpAddress(of: "gateway"))
        var owners: [String: (node: String, epoch: UInt64)] = [:]
        let owned = await cluster.waitUntil(timeout: .seconds(20)) {
            let view = try await gatewayHTTP.get("v1/queues", as: GatewayQueues.self)
            owners = [:]
            for queue in view.queues { if let owner = queue.owner { owners[queue.queue] = (owner, queue.epoch) } }
            return owners.count == Self.queues.count
        }
        try #require(owned, "queues never got owners")

        let address = cluster.gatewayClusterAddress.split(separator: ":")
        let gateway = (host: String(address[0]), port: Int(address[1])!)
        // The agents: synthetic agents over the cluster protocol, ready again soon after each call.
        let pool = SyntheticAgentPool(
            accounts: (0..<Self.agents).map { .init(login: "agent-\($0)", password: "pw-\($0)") },
            profile: SyntheticAgentProfile(wrapUpSeconds: .fixed(seconds: 0.02)), seed: 1)
        let agents = Task {
            try await pool.run(
                host: gateway.host, port: gateway.port,
                settings: { cluster.connectionSettings(for: $0.login) },
                clock: SystemClock()
            ) { _ in try await Task.sleep(for: .seconds(3600)) }
        }
        defer { agents.cancel() }

        // One reservation client per owning node, on its own connection under the node's id.
        var clients: [String: GatewayReservations] = [:]
        var connections: [Task<Void, Never>] = []
        for node in Set(owners.values.map(\.node)) {
            let client = GatewayReservations(prefix: "test-\(node)")
            clients[node] = client
            let connection = try await ClusterClient.connect(
                host: gateway.host, port: gateway.port,
                settings: cluster.connectionSettings(for: node, role: .node))
            connections.append(
                Task {
                    _ = try? await connection.run { link, inbound in
                        await client.connected(link)
                        try await inbound.forEach { await client.receive($0) }
                    }
                    await client.connected(nil)
                })
        }
        defer { for task in connections { task.cancel() } }
        func client(for queue: String) -> (GatewayReservations, Epoch) {
            (clients[owners[queue]!.node]!, Epoch(owners[queue]!.epoch))
        }

        // Wait until the inbound queue's picture shows every agent available.
        let availableNow = Mutex(0)
        // Requests waiting at the gateway, per queue, as its pictures show them.
        let pendingNow = PendingRequests()
        let (inboundOwner, _) = client(for: "in-1")
        let pictures = await inboundOwner.pictures(of: QueueID("in-1"))
        let watching = Task {
            for await picture in pictures {
                availableNow.withLock { $0 = picture.available.count }
                pendingNow.set("in-1", Int(picture.pendingRequests))
            }
        }
        defer { watching.cancel() }
        let campaignPictures = await client(for: "out-2").0.pictures(of: QueueID("out-2"))
        let watchingCampaign = Task {
            for await picture in campaignPictures {
                pendingNow.set("out-2", Int(picture.pendingRequests))
            }
        }
        defer { watchingCampaign.cancel() }
        func pending() -> Int { pendingNow.total }
        let allReady = await cluster.waitUntil(timeout: .seconds(30)) {
            availableNow.withLock { $0 } == Self.agents
        }
        try #require(allReady, "agents never all became available: \(availableNow.withLock { $0 })")

        // Phase 1: the three nodes request concurrently for a bounded time.
        let phaseEnd = ContinuousClock.now + .seconds(3)
        await withTaskGroup(of: Void.self) { group in
            for queue in Self.queues {
                let (reservations, epoch) = client(for: queue.id)
                let kind: RequestKind = queue.kind == "inbound" ? .inboundCall : .outboundReservation
                for worker in 0..<8 {
                    group.addTask {
                        var round = 0
                        while ContinuousClock.now < phaseEnd {
                            round += 1
                            let id = await reservations.makeRequestID()
                            let answer = await reservations.request(
                                .init(queue: QueueID(queue.id), epoch: epoch, kind: kind, deadline: .milliseconds(500)),
                                id: id)
                            guard case .granted = answer else { continue }
                            if (worker + round) % 3 == 0 {
                                try? await reservations.release(id)
                            } else {
                                try? await reservations.confirm(id, epoch: epoch, queue: QueueID(queue.id))
                                try? await Task.sleep(for: .milliseconds(20))
                                try? await reservations.callEnded(id)
                            }
                        }
                    }
                }
            }
        }

        // Phase 2: every agent on an outbound call; then inbound and outbound requests wait.
        let (outbound, outEpoch) = client(for: "out-1")
        var calls: [RequestID] = []
        await withTaskGroup(of: RequestID?.self) { group in
            for _ in 0..<(Self.agents + 20) {
                group.addTask {
                    let id = await outbound.makeRequestID()
                    let answer = await outbound.request(
                        .init(
                            queue: QueueID("out-1"), epoch: outEpoch, kind: .outboundReservation, deadline: .seconds(2)),
                        id: id)
                    guard case .granted = answer else { return nil }
                    try? await outbound.confirm(id, epoch: outEpoch, queue: QueueID("out-1"))
                    return id
                }
            }
            for await id in group { if let id { calls.append(id) } }
        }
        #expect(calls.count == Self.agents, "every agent should be on a call")
        let (inbound, inEpoch) = client(for: "in-1")
        let (campaign, campaignEpoch) = client(for: "out-2")
        let waiting = Task {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        _ = await inbound.request(
                            .init(queue: QueueID("in-1"), epoch: inEpoch, kind: .inboundCall, deadline: .seconds(10)))
                    }
                    group.addTask {
                        _ = await campaign.request(
                            .init(
                                queue: QueueID("out-2"), epoch: campaignEpoch, kind: .outboundReservation,
                                deadline: .seconds(10)))
                    }
                }
            }
        }
        // Every waiting request has reached the gateway.
        let allWaiting = await cluster.waitUntil(timeout: .seconds(8)) { pending() == 20 }
        #expect(allWaiting, "requests waiting at the gateway: \(pending()) of 20")
        // Free agents one at a time: each takes the oldest inbound request while one waits.
        for id in calls.prefix(20) {
            let before = pending()
            try await outbound.callEnded(id)
            let taken = await cluster.waitUntil(timeout: .seconds(8)) { pending() < before }
            #expect(taken, "a freed agent took a waiting request")
        }
        await waiting.value
        for id in calls.dropFirst(20) { try? await outbound.callEnded(id) }

        // The audit.
        let log = try await gatewayHTTP.get("v1/reservations/log", as: GrantLog.self)
        var holding: [String: String] = [:]
        var grants = 0
        for entry in log.entries {
            switch entry.event {
            case "granted":
                grants += 1
                if let held = holding[entry.agent], held != entry.request {
                    Issue.record("\(entry.agent) granted \(entry.request) while holding \(held)")
                }
                holding[entry.agent] = entry.request
            case "returned", "call-ended":
                if holding[entry.agent] == entry.request { holding[entry.agent] = nil }
            default:
                break
            }
        }
        #expect(grants > Self.agents)
        let phase2 = log.entries.filter { $0.event == "granted" && ($0.queue == "in-1" || $0.queue == "out-2") }
            .suffix(20)
        #expect(phase2.count == 20)
        #expect(phase2.prefix(10).allSatisfy { $0.queue == "in-1" }, "\(phase2.map(\.queue))")
        #expect(phase2.suffix(10).allSatisfy { $0.queue == "out-2" }, "\(phase2.map(\.queue))")
    }
}

/// Requests waiting at the gateway per queue, as the pictures the test watches show them.
private final class PendingRequests: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    func set(_ queue: String, _ count: Int) { counts.withLock { $0[queue] = count } }
    var total: Int { counts.withLock { $0.values.reduce(0, +) } }
}
