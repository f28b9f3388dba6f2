import DialerProtocol
import DialerTransport
import FoundationEssentials
import NIOCore
import NIOEmbedded
import Testing

/// The accepting side chooses the heartbeat interval by the client's role and states it in
/// `Welcome`; the client runs by what `Welcome` states, not by its own configuration.
@Suite("Heartbeats per role")
struct RoleHeartbeatTests {
    /// A gateway: members beat every 100 ms, agents every second, 3 missed beats.
    func gatewaySettings() -> ConnectionSettings {
        ConnectionSettings(
            localID: "gateway", localRole: .gateway, secret: ClusterSecret("s3cret"),
            heartbeatInterval: .milliseconds(100), agentHeartbeatInterval: .seconds(1), missedHeartbeats: 3,
            acceptedRoles: [.node, .agent])
    }

    /// A client with its own (different) timing: 100 ms, 5 missed beats.
    func clientSettings(id: String, role: Dialer_V1_Role) -> ConnectionSettings {
        ConnectionSettings(
            localID: id, localRole: role, secret: ClusterSecret("s3cret"), heartbeatInterval: .milliseconds(100),
            missedHeartbeats: 5)
    }

    /// Runs the handshake between two machines; returns the server's `Welcome` as sent, after
    /// `rewrite` (which may spoil it) delivered to the client, and the client's answer.
    func handshake(
        server: inout ConnectionStateMachine, client: inout ConnectionStateMachine,
        rewrite: (inout Dialer_V1_Welcome) -> Void = { _ in }
    ) throws -> (welcome: Dialer_V1_Welcome, clientAction: ConnectionStateMachine.Action) {
        _ = client.connectionActive(serverNonce: [])
        guard case .send(let challenge) = server.connectionActive(serverNonce: [UInt8](repeating: 9, count: 32)),
            case .send(let hello) = client.received(challenge),
            case .established(_, let reply?) = server.received(hello),
            case .welcome(var welcome) = reply.message
        else { throw HandshakeFailed() }
        let sent = welcome
        rewrite(&welcome)
        return (sent, client.received(Envelope(.welcome(welcome))))
    }

    struct HandshakeFailed: Error {}

    @Test func anAgentClientAdoptsTheWelcomesIntervalAndMissedCount() throws {
        var server = ConnectionStateMachine(settings: gatewaySettings(), side: .server)
        var client = ConnectionStateMachine(
            settings: clientSettings(id: "agent-1", role: .agent),
            side: .client(nonce: [UInt8](repeating: 4, count: 32)))
        let (welcome, action) = try handshake(server: &server, client: &client)
        guard case .established = action else {
            Issue.record("expected the client to establish, got \(action)")
            return
        }
        #expect(welcome.heartbeatIntervalMs == 1000)
        #expect(welcome.missedHeartbeats == 3)
        #expect(server.heartbeatInterval == .seconds(1))
        #expect(client.heartbeatInterval == .seconds(1))
        #expect(client.missedHeartbeats == 3)
        // Silent server: three ticks pass (each sends a beat), the fourth declares it dead,
        // not the sixth the client's own count of 5 would allow.
        for tick in 1...3 {
            guard case .send = client.heartbeatTick() else {
                Issue.record("tick \(tick): expected a heartbeat")
                return
            }
        }
        guard case .failAndClose(let violation) = client.heartbeatTick() else {
            Issue.record("expected the silent server to be declared dead after 3 missed beats")
            return
        }
        #expect(violation.code == .heartbeatTimeout)
    }

    @Test func aMemberKeepsTheMembersInterval() throws {
        var server = ConnectionStateMachine(settings: gatewaySettings(), side: .server)
        var client = ConnectionStateMachine(
            settings: clientSettings(id: "node-1", role: .node), side: .client(nonce: [UInt8](repeating: 4, count: 32)))
        let (welcome, action) = try handshake(server: &server, client: &client)
        guard case .established = action else {
            Issue.record("expected the client to establish, got \(action)")
            return
        }
        #expect(welcome.heartbeatIntervalMs == 100)
        #expect(server.heartbeatInterval == .milliseconds(100))
        #expect(client.heartbeatInterval == .milliseconds(100))
        #expect(client.missedHeartbeats == 3)
    }

    @Test func aWelcomeWithoutTimingLeavesTheClientsOwn() throws {
        var server = ConnectionStateMachine(settings: gatewaySettings(), side: .server)
        var client = ConnectionStateMachine(
            settings: clientSettings(id: "agent-1", role: .agent),
            side: .client(nonce: [UInt8](repeating: 4, count: 32)))
        let (_, action) = try handshake(server: &server, client: &client) {
            $0.heartbeatIntervalMs = 0
            $0.missedHeartbeats = 0
        }
        guard case .established = action else {
            Issue.record("expected the client to establish, got \(action)")
            return
        }
        #expect(client.heartbeatInterval == .milliseconds(100))
        #expect(client.missedHeartbeats == 5)
    }

    @Test(arguments: [
        (UInt32(3_600_001), UInt32(3), "welcome heartbeat_interval_ms must be 1...3600000, got 3600001"),
        (UInt32(1000), UInt32(1001), "welcome missed_heartbeats must be 1...1000, got 1001"),
    ])
    func aWelcomeWithTimingOutOfRangeFailsTheHandshake(interval: UInt32, missed: UInt32, message: String) throws {
        var server = ConnectionStateMachine(settings: gatewaySettings(), side: .server)
        var client = ConnectionStateMachine(
            settings: clientSettings(id: "agent-1", role: .agent),
            side: .client(nonce: [UInt8](repeating: 4, count: 32)))
        let (_, action) = try handshake(server: &server, client: &client) {
            $0.heartbeatIntervalMs = interval
            $0.missedHeartbeats = missed
        }
        guard case .failAndClose(let violation) = action else {
            Issue.record("expected the client to refuse the Welcome, got \(action)")
            return
        }
        #expect(violation.code == .invalidArgument)
        #expect(violation.detail == message)
    }

    /// Through the real handler on embedded channels: the agent's timer runs at the Welcome's
    /// second, so it beats once a second and a silent gateway is dead after about 4 s, not 0.6 s.
    @Test func theAgentsConnectionBeatsAtTheStatedInterval() throws {
        let pair = try EmbeddedPair(server: gatewaySettings(), client: clientSettings(id: "agent-1", role: .agent))
        pair.pump()
        _ = try pair.clientHandshake.wait()
        let loop = pair.client.embeddedEventLoop
        var beats = 0
        var timedOutAt: Int?
        // The gateway goes silent at once: nothing it writes reaches the agent.
        for step in 1...60 {
            loop.advanceTime(by: .milliseconds(100))
            _ = EmbeddedPair.decodeOutbound(pair.server)
            for envelope in EmbeddedPair.decodeOutbound(pair.client) {
                switch envelope.message {
                case .heartbeat: beats += 1
                case .error(let error) where error.code == .heartbeatTimeout: timedOutAt = timedOutAt ?? step
                default: break
                }
            }
        }
        #expect(beats == 3, "one beat a second until the gateway is declared dead")
        #expect(timedOutAt == 40, "three silent seconds counted, dead on the fourth tick")
        #expect(!pair.client.isActive)
    }

    @Test func aNodesConnectionToTheSameListenerKeepsTheShortInterval() throws {
        let pair = try EmbeddedPair(server: gatewaySettings(), client: clientSettings(id: "node-1", role: .node))
        pair.pump()
        _ = try pair.clientHandshake.wait()
        let loop = pair.client.embeddedEventLoop
        var timedOutAt: Int?
        for step in 1...60 {
            loop.advanceTime(by: .milliseconds(100))
            _ = EmbeddedPair.decodeOutbound(pair.server)
            for envelope in EmbeddedPair.decodeOutbound(pair.client) {
                if case .error(let error) = envelope.message, error.code == .heartbeatTimeout {
                    timedOutAt = timedOutAt ?? step
                }
            }
        }
        #expect(timedOutAt == 4, "100 ms beats, 3 missed: dead on the fourth tick")
    }
}
