import DialerCore
import DialerNode
import DialerProtocol
import DialerSimulation
import DialerTestSupport
import DialerTransport
import Synchronization
import Testing

@testable import AgentGateway

@Suite("Synthetic agents against a gateway in this process", .serialized)
struct SyntheticAgentGatewayTests {
    /// Two synthetic agents log in over the cluster protocol and go ready; a node connects
    /// calls to them; each agent writes its disposition after the call and is ready again.
    @Test func syntheticAgentsTakeCallsAndSendTheirDispositions() async throws {
        let harness = try await GatewayHarness()
        defer { Task { await harness.stop() } }
        await harness.service.queueOwners([(QueueID("sales"), MemberID("node-1"), Epoch(1))])
        let pool = SyntheticAgentPool(
            accounts: [.init(login: "ann", password: "secret"), .init(login: "bob", password: "secret")],
            profile: SyntheticAgentProfile(
                wrapUpSeconds: .fixed(seconds: 0.05), dispositions: [.init(name: "sale", weight: 1)]),
            seed: 5)
        let client = GatewayReservations(prefix: "node-1-synthetic")
        // Each agent's last answered operation: the pool stops the agents only once each one's
        // return to ready has been answered, not merely made.
        let lastAnswered = Mutex<[String: String]>([:])
        let refusals = Mutex<[String]>([])
        let dispositionsAnswered = Mutex(0)
        let node = try await harness.connect("node-1", role: .node)
        let port = harness.server.port
        let (calls, summary) = try await pool.run(
            host: "127.0.0.1", port: port,
            settings: { ConnectionSettings(localID: $0.login, localRole: .agent, secret: GatewayHarness.secret) },
            clock: SystemClock(),
            observe: { login, event in
                switch event {
                case .answered(let operation, _):
                    lastAnswered.withLock { $0[login] = operation }
                    if operation == "agent_disposition" { dispositionsAnswered.withLock { $0 += 1 } }
                case .refused: refusals.withLock { $0.append("\(login): \(event)") }
                default: break
                }
            }
        ) { _ in
            try await node.run { link, inbound in
                let reading = Task { try? await inbound.forEach { await client.receive($0) } }
                defer { reading.cancel() }
                await client.connected(link)
                var connected = 0
                // Six calls: each needs one of the two agents, ready again after its wrap-up.
                for index in 0..<6 {
                    var card = Dialer_V1_ContactCard()
                    card.attempt = "attempt-\(index)"
                    card.campaign = "spring"
                    let id = await client.makeRequestID()
                    let answer = await client.request(
                        .init(
                            queue: QueueID("sales"), epoch: Epoch(1), kind: .connectAnsweredCall,
                            deadline: .seconds(5), contact: card),
                        id: id)
                    guard case .granted(let agent, _) = answer else {
                        Issue.record("call \(index) got \(answer)")
                        continue
                    }
                    try await client.confirm(id, epoch: Epoch(1), queue: QueueID("sales"))
                    // The call ends once the gateway has the agent on it.
                    #expect(
                        await waitForCondition(timeout: .seconds(30)) {
                            await harness.service.session(of: agent)?.state.name == "on-call"
                        })
                    try await client.callEnded(id)
                    connected += 1
                }
                // The last wrap-ups finish with their dispositions, and both agents are ready
                // again (their last operation answered) before the pool stops them.
                #expect(
                    await waitForCondition(timeout: .seconds(30)) {
                        // Each agent's set-ready follows its disposition's answer, so once every
                        // disposition is answered, an agent whose last answer is a set-ready is done.
                        guard dispositionsAnswered.withLock({ $0 }) >= connected else { return false }
                        for agent in ["ann", "bob"] {
                            guard await harness.service.session(of: AgentID(agent))?.state.name == "available",
                                lastAnswered.withLock({ $0[agent] }) == "agent_set_ready"
                            else { return false }
                        }
                        return true
                    }, "last answered operations: \(lastAnswered.withLock { $0 })")
                return connected
            }
        }
        #expect(calls == 6)
        #expect(summary.failures.isEmpty, "\(summary.failures)")
        #expect(summary.tally.calls == 6)
        #expect(summary.tally.dispositions == 6)
        #expect(harness.authority.dispositions.map(\.attempt).sorted() == (0..<6).map { "attempt-\($0)" }.sorted())
        #expect(summary.tally.errors == 0, "refused: \(refusals.withLock { $0 })")
    }

    /// An operation still waiting for its reply when the run stops is cut off by the stop, not
    /// refused by the gateway: it is not counted as `NO_REPLY`. (The gateway here takes the
    /// login and never answers it.)
    @Test func anOperationCutOffByTheRunsOwnStopIsNotCountedAsAnError() async throws {
        let server = try await ClusterServer.bind(
            host: "127.0.0.1", port: 0,
            settings: ConnectionSettings(
                localID: "gateway", localRole: .gateway, secret: GatewayHarness.secret, acceptedRoles: [.agent]),
            violationLog: nil)
        let loginsTaken = Mutex(0)
        let serving = Task {
            try? await server.run { connection in
                _ = try? await connection.run { _, inbound in
                    try await inbound.forEach { envelope in
                        if case .agentLogin = envelope.message { loginsTaken.withLock { $0 += 1 } }
                    }
                }
            }
        }
        defer {
            serving.cancel()
            Task { await server.close() }
        }
        let refusals = Mutex<[String]>([])
        let pool = SyntheticAgentPool(
            accounts: [.init(login: "ann", password: "secret")], profile: SyntheticAgentProfile(), seed: 3)
        let (loginSeen, _) = try await pool.run(
            host: "127.0.0.1", port: server.port,
            settings: { ConnectionSettings(localID: $0.login, localRole: .agent, secret: GatewayHarness.secret) },
            clock: SystemClock(),
            observe: { _, event in
                if case .refused = event { refusals.withLock { $0.append("\(event)") } }
            }
        ) { _ in
            await waitForCondition(timeout: .seconds(30)) { loginsTaken.withLock { $0 } == 1 }
        }
        #expect(loginSeen, "the gateway took the login")
        #expect(refusals.withLock { $0 }.isEmpty)
    }
}

@Suite("Synthetic agents across a gateway restart", .serialized)
struct SyntheticAgentReconnectionTests {
    /// Two agents are ready on a gateway that then stops; a new gateway comes up on the same
    /// port. The agents connect again (with their backoff), log in, go ready and take calls
    /// there, and count their reconnections.
    @Test func agentsReconnectToARestartedGatewayAndWorkOn() async throws {
        let first = try await GatewayHarness()
        let port = first.server.port
        let pool = SyntheticAgentPool(
            accounts: [.init(login: "ann", password: "secret"), .init(login: "bob", password: "secret")],
            profile: SyntheticAgentProfile(
                wrapUpSeconds: .fixed(seconds: 0.05), dispositions: [.init(name: "sale", weight: 1)]),
            seed: 11)
        let (dispositions, summary) = try await pool.run(
            host: "127.0.0.1", port: port,
            settings: { ConnectionSettings(localID: $0.login, localRole: .agent, secret: GatewayHarness.secret) },
            clock: SystemClock()
        ) { _ in
            func allAvailable(on service: ReservationService) async -> Bool {
                for login in ["ann", "bob"] where await service.session(of: AgentID(login))?.state.name != "available" {
                    return false
                }
                return true
            }
            #expect(await eventually(timeout: .seconds(10)) { await allAvailable(on: first.service) })
            await first.stop()
            // Until the new gateway listens the agents keep trying, with their backoff.
            let second = try await GatewayHarness(port: port)
            await second.service.queueOwners([(QueueID("sales"), MemberID("node-1"), Epoch(1))])
            #expect(await eventually(timeout: .seconds(20)) { await allAvailable(on: second.service) })

            // Calls on the new gateway reach them, and their dispositions come back.
            let client = GatewayReservations(prefix: "node-1-after-restart")
            let node = try await second.connect("node-1", role: .node)
            let attempts = try await node.run { link, inbound in
                let reading = Task { try? await inbound.forEach { await client.receive($0) } }
                defer { reading.cancel() }
                await client.connected(link)
                for index in 0..<2 {
                    var card = Dialer_V1_ContactCard()
                    card.attempt = "after-\(index)"
                    let id = await client.makeRequestID()
                    let answer = await client.request(
                        .init(
                            queue: QueueID("sales"), epoch: Epoch(1), kind: .connectAnsweredCall,
                            deadline: .seconds(5), contact: card),
                        id: id)
                    guard case .granted = answer else {
                        Issue.record("call \(index) got \(answer)")
                        continue
                    }
                    try await client.confirm(id, epoch: Epoch(1), queue: QueueID("sales"))
                    try await client.callEnded(id)
                }
                _ = await eventually(timeout: .seconds(10)) { second.authority.dispositions.count == 2 }
                return second.authority.dispositions.map(\.attempt).sorted()
            }
            await second.stop()
            return attempts
        }
        #expect(dispositions == ["after-0", "after-1"])
        #expect(summary.tally.reconnections >= 2, "each agent reconnected: \(summary.tally)")
        #expect(summary.failures.isEmpty, "\(summary.failures)")
    }
}
