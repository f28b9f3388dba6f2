import DialerCore
import DialerProtocol
import DialerTransport
import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import Synchronization
import Testing

@testable import AgentGateway
@testable import DialerNode

/// A gateway's agent and node listeners in this process, on loopback, with a fake manager.
struct GatewayHarness {
    let service: ReservationService
    let authority = FakeAuthority()
    let registry: AgentSessionRegistry
    let server: ClusterServer
    let serving: Task<Void, Never>
    /// What the node listener recorded of each request it answered at once (the gateway's part
    /// of the round trip).
    let answersAtGateway = RecordedDurations()
    static let secret = ClusterSecret("harness-secret")

    /// A gateway on `port` (0: any free port).
    init(port: Int = 0) async throws {
        service = ReservationService(clock: SystemClock(), logger: testLogger)
        registry = AgentSessionRegistry(
            service: service, authority: authority, clock: SystemClock(), grace: .seconds(30), logger: testLogger)
        let settings = ConnectionSettings(
            localID: "gateway", localRole: .gateway, secret: Self.secret, acceptedRoles: [.node, .agent])
        server = try await ClusterServer.bind(host: "127.0.0.1", port: port, settings: settings, violationLog: nil)
        let nodes = GatewayNodeListener(
            queueMap: GatewayQueueMap(logger: testLogger), reservations: service, clock: SystemClock(),
            logger: testLogger, recordAnswer: { [answersAtGateway] in answersAtGateway.append($0) })
        let agents = AgentClusterListener(registry: registry, authority: authority, logger: testLogger)
        let server = self.server
        serving = Task {
            try? await server.run { connection in
                if connection.peer.role == .agent {
                    await agents.handle(connection)
                } else {
                    await nodes.handle(connection)
                }
            }
        }
        authority.add(
            DirectoryEntry(
                agent: AgentID("ann"), login: "ann", name: "Ann", skills: AgentSkills([QueueID("sales"): 1])),
            password: "secret")
        authority.add(
            DirectoryEntry(
                agent: AgentID("bob"), login: "bob", name: "Bob", skills: AgentSkills([QueueID("sales"): 1])),
            password: "secret")
    }

    func connect(_ id: String, role: Dialer_V1_Role) async throws -> ClusterConnection {
        try await ClusterClient.connect(
            host: "127.0.0.1", port: server.port,
            settings: ConnectionSettings(localID: id, localRole: role, secret: Self.secret))
    }

    func stop() async {
        serving.cancel()
        await server.close()
    }
}

/// Durations a test's code records, from any thread.
final class RecordedDurations: Sendable {
    private let durations = Mutex<[Duration]>([])
    func append(_ duration: Duration) { durations.withLock { $0.append(duration) } }
    var all: [Duration] { durations.withLock { $0 } }
}

@Suite("Gateway: agent transports and the node protocol", .serialized)
struct AgentTransportTests {
    @Test func badInputOnTheClusterTransportGetsClearErrorsAndTheSessionGoesOn() async throws {
        let harness = try await GatewayHarness()
        defer { Task { await harness.stop() } }
        let connection = try await harness.connect("ann-desk", role: .agent)
        try await connection.run { link, inbound in
            let pushes = RecordingSink()
            let reading = Task { try? await inbound.forEach { pushes.deliver($0) } }
            defer { reading.cancel() }
            func code(_ message: Envelope.OneOf_Message) async throws -> ProtocolErrorCode? {
                try await link.request(message).errorCode
            }
            #expect(try await code(.agentSetReady(.init())) == .notLoggedIn)
            var wrong = Dialer_V1_AgentLogin()
            wrong.login = "ann"
            wrong.password = "nope"
            #expect(try await code(.agentLogin(wrong)) == .loginFailed)
            var login = wrong
            login.password = "secret"
            let loggedIn = try await link.request(.agentLogin(login))
            #expect(loggedIn.status?.state == "not-ready")
            #expect(try await code(.agentLogin(login)) == .invalidState)
            #expect(try await code(.agentExtendWrapUp(.init())) == .invalidArgument)
            var extend = Dialer_V1_AgentExtendWrapUp()
            extend.seconds = 30
            #expect(try await code(.agentExtendWrapUp(extend)) == .invalidState)
            #expect(try await code(.agentRequest(.init())) == .invalidArgument)
            var hangup = Dialer_V1_AgentHangup()
            hangup.request = "not-held"
            #expect(try await code(.agentHangup(hangup)) == .unknownRequest)
            // Bob holds a request; Ann may not touch it.
            let bob = AgentOutbox()
            _ = try await harness.service.logIn(AgentID("bob"), skills: AgentSkills([QueueID("sales"): 1]), outbox: bob)
            _ = try await harness.service.makeReady(AgentID("bob"))
            let nodeSink = RecordingSink()
            let number = await harness.service.nodeConnected(MemberID("node-1"), sink: nodeSink)
            try await harness.service.request(
                request("bobs", deadline: SystemClock().now() + .seconds(30)), contact: nil, connection: number)
            hangup.request = "bobs"
            #expect(try await code(.agentHangup(hangup)) == .forbidden)
            var answer = Dialer_V1_AgentOfferAnswer()
            answer.request = "bobs"
            #expect(try await code(.agentOfferAnswer(answer)) == .forbidden)
            // After all that, the session still works.
            let ready = try await link.request(.agentSetReady(.init()))
            #expect(ready.status?.state == "available")
            #expect(await pushes.next { $0.status?.state == "available" } != nil)
        }
    }

    @Test func nodeClientGetsAnswersAndRejections() async throws {
        let harness = try await GatewayHarness()
        defer { Task { await harness.stop() } }
        let desk = RecordingSink()
        let outbox = AgentOutbox()
        outbox.attach(1, desk)
        _ = try await harness.service.logIn(AgentID("ann"), skills: AgentSkills([QueueID("sales"): 1]), outbox: outbox)
        _ = try await harness.service.makeReady(AgentID("ann"))
        await harness.service.queueOwners([(QueueID("sales"), MemberID("node-1"), Epoch(3))])

        let client = GatewayReservations(prefix: "node-1-test")
        let connection = try await harness.connect("node-1", role: .node)
        try await connection.run { link, inbound in
            let reading = Task { try? await inbound.forEach { await client.receive($0) } }
            defer { reading.cancel() }
            await client.connected(link)
            let stale = await client.request(
                .init(queue: QueueID("sales"), epoch: Epoch(2), kind: .outboundReservation, deadline: .seconds(5)))
            #expect(stale == .rejected(reason: "stale-epoch", currentEpoch: Epoch(3)))
            let unknownKind = GatewayReservations.Request(
                queue: QueueID("sales"), epoch: Epoch(3), kind: .outboundReservation, deadline: .seconds(5))
            let id = await client.makeRequestID()
            let granted = await client.request(unknownKind, id: id)
            #expect(granted == .granted(agent: AgentID("ann"), lease: .seconds(60)))
            try await client.confirm(id, epoch: Epoch(3), queue: QueueID("sales"))
            await #expect(throws: GatewayReservations.Refused.self) {
                try await client.release(id)
            }
            try await client.callEnded(id)
            await #expect(throws: GatewayReservations.Refused.self) {
                try await client.callEnded(id)
            }
            // Nobody available: the request times out at its deadline.
            let none = await client.request(
                .init(
                    queue: QueueID("sales"), epoch: Epoch(3), kind: .outboundReservation, deadline: .milliseconds(100)))
            #expect(none == .timedOut)
        }
        // The connection is gone: requests answer at once.
        await client.connected(nil)
        let offline = await client.request(
            .init(queue: QueueID("sales"), epoch: Epoch(3), kind: .outboundReservation, deadline: .seconds(1)))
        #expect(offline == .connectionLost)
    }

    @Test func aRealWebSocketClientLogsInTakesAnOfferAndSendsTheDisposition() async throws {
        let harness = try await GatewayHarness()
        defer { Task { await harness.stop() } }
        let service = harness.service
        // Bob holds "someone-elses-request", so the desktop's attempt to answer it is FORBIDDEN.
        let bob = AgentOutbox()
        _ = try await service.logIn(AgentID("bob"), skills: AgentSkills([QueueID("sales"): 1]), outbox: bob)
        _ = try await service.makeReady(AgentID("bob"))
        let node = RecordingSink()
        let number = await service.nodeConnected(MemberID("node-1"), sink: node)
        try await service.request(
            request("someone-elses-request", deadline: SystemClock().now() + .seconds(60)), contact: nil,
            connection: number)

        let portBox = PortBox()
        let router = Router()
        let app = Application(
            router: router,
            server: try AgentWebSocket.server(registry: harness.registry, authority: harness.authority),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in portBox.set(channel.localAddress?.port ?? 0) },
            logger: testLogger)
        let running = Task { try await app.runService() }
        defer { running.cancel() }
        #expect(await eventually { portBox.port != 0 })

        let script = try #require(Bundle.module.path(forResource: "ws_agent_client", ofType: "py"))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script, "127.0.0.1", "\(portBox.port)", "ann", "secret"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()

        // When the desktop is ready, a preview request reaches it as an offer.
        #expect(
            await eventually(timeout: .seconds(10)) {
                await service.session(of: AgentID("ann"))?.state.name == "available"
            })
        var contact = Dialer_V1_ContactCard()
        contact.attempt = "attempt-77"
        contact.phone = "+15551234567"
        try await service.request(
            request("preview-1", kind: .previewOffer, deadline: SystemClock().now() + .seconds(30)), contact: contact,
            connection: number)
        #expect(
            await node.next(timeout: .seconds(10)) { $0.answer?.request == "preview-1" }?.answer?.answer == .granted)
        try await service.confirm(RequestID("preview-1"), epoch: Epoch(1), from: MemberID("node-1"))
        #expect(await eventually { await service.session(of: AgentID("ann"))?.state.name == "on-call" })
        try await service.callEnded(RequestID("preview-1"), from: MemberID("node-1"))

        let exited = await eventually(timeout: .seconds(15)) { !process.isRunning }
        if !exited { process.terminate() }
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("DONE"), "\(text)")
        #expect(harness.authority.dispositions.map(\.attempt) == ["attempt-77"])
        #expect(harness.authority.dispositions.first?.agent == "ann")
    }
}

final class PortBox: Sendable {
    private let value = Mutex<Int>(0)
    var port: Int { value.withLock { $0 } }
    func set(_ port: Int) { value.withLock { $0 = port } }
}
