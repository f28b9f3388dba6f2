import DialerCore
import DialerProtocol
import DialerTestSupport
import DialerTransport
import Testing

@testable import AgentGateway

/// Logins with resume tokens at the gateway: one HMAC and one directory lookup each, no
/// password check and no manager; refused when expired, tampered with, of another cluster, or
/// when the agent's credentials changed since the token was issued.
@Suite("Gateway: logins with resume tokens")
struct ResumeTokenLoginTests {
    let clock = ManualClock()
    let sales = QueueID("sales")
    let inbound = QueueID("inbound")
    static let secret = "token-test-secret"
    let tokens = AgentResumeTokens(secret: secret, lifetime: .seconds(3600))
    /// The wall time the directory checks tokens at (Unix ms).
    static let wallNow: UInt64 = 1_800_000_000_000

    struct Gateway {
        let service: ReservationService
        let directory: ManagerDirectory
        let registry: AgentSessionRegistry
    }

    func makeGateway(wallNow: UInt64 = wallNow) -> Gateway {
        let service = ReservationService(clock: clock, logger: testLogger)
        let directory = ManagerDirectory(
            service: service, resumeTokens: AgentResumeTokens(secret: Self.secret), wallClock: { wallNow },
            logger: testLogger)
        let registry = AgentSessionRegistry(
            service: service, authority: directory, clock: clock, grace: .seconds(30), logger: testLogger)
        return Gateway(service: service, directory: directory, registry: registry)
    }

    /// A directory of `count` agents (`a1` ...), each at credential generation `generation`.
    func directory(_ count: Int, version: UInt64 = 1, generation: (Int) -> UInt64 = { _ in 1 })
        -> Dialer_V1_AgentDirectory
    {
        var directory = Dialer_V1_AgentDirectory()
        directory.version = version
        directory.agents = (1...count).map { index in
            var agent = Dialer_V1_DirectoryAgent()
            agent.agent = "a\(index)"
            agent.login = "login-\(index)"
            agent.name = "Agent \(index)"
            agent.skills = AgentSkills([inbound: 1, sales: 2]).wire
            agent.credentialGeneration = generation(index)
            return agent
        }
        return directory
    }

    func token(_ index: Int, generation: UInt64 = 1, nowMs: UInt64 = wallNow) -> String {
        tokens.issue(agent: "a\(index)", generation: generation, nowMs: nowMs).token
    }

    /// Sends a login with `token` on a new connection; returns the answer.
    func logIn(
        _ gateway: Gateway, token: String, login: String = "", password: String = ""
    ) async -> (Envelope?, AgentConnection) {
        let sink = RecordingSink()
        let connection = AgentConnection(
            registry: gateway.registry, authority: gateway.directory, sink: sink, logger: testLogger)
        var message = Dialer_V1_AgentLogin()
        message.login = login
        message.password = password
        message.resumeToken = token
        await connection.receive(Envelope(.agentLogin(message), correlationID: 9))
        return (await sink.next { $0.correlationID == 9 }, connection)
    }

    /// Hundreds of agents log in with tokens at one moment: every one is logged in, each login
    /// checked one token and read one directory entry (no scan of the directory), and the
    /// queues' pictures were built at most once each however many agents logged in (the
    /// picture interval holds the rest back; the clock does not move).
    @Test func manyAgentsLogInWithTokensAtBoundedCost() async throws {
        let gateway = makeGateway()
        let count = 400
        await gateway.directory.apply(directory(count))
        await gateway.service.queueOwners([
            (sales, MemberID("node-1"), Epoch(1)), (inbound, MemberID("node-1"), Epoch(1)),
        ])
        let node = RecordingSink()
        _ = await gateway.service.nodeConnected(MemberID("node-1"), sink: node)
        let builtBefore = await gateway.service.picturesBuilt
        var connections: [AgentConnection] = []
        await withTaskGroup(of: (Envelope?, AgentConnection).self) { group in
            for index in 1...count {
                group.addTask { await logIn(gateway, token: token(index)) }
            }
            for await (answer, connection) in group {
                guard case .agentLoggedIn(let loggedIn)? = answer?.message else {
                    Issue.record("login refused: \(String(describing: answer))")
                    continue
                }
                // A token login issues no new token: the one in use runs to its expiry.
                #expect(loggedIn.resumeToken.isEmpty && loggedIn.status.state == "not-ready")
                connections.append(connection)
            }
        }
        #expect(connections.count == count)
        for index in [1, count / 2, count] {
            #expect(await gateway.service.session(of: AgentID("a\(index)"))?.state.isLoggedIn == true)
        }
        let work = await gateway.directory.loginWork
        #expect(work == .init(tokensChecked: count, tokensRefused: 0, entriesRead: count))
        let built = await gateway.service.picturesBuilt - builtBefore
        #expect(built <= 2, "\(built) pictures for \(count) logins within one picture interval")
    }

    /// A directory too large for one frame comes in parts: none is applied until all arrived
    /// (in any order); a part out of range is ignored.
    @Test func aDirectoryInPartsIsAppliedOnceEveryPartArrived() async throws {
        let gateway = makeGateway()
        let whole = directory(2_500)
        let parts = stride(from: 0, to: 2_500, by: 1_000).enumerated().map { index, start in
            var part = Dialer_V1_AgentDirectory()
            part.version = whole.version
            part.parts = 3
            part.part = UInt32(index)
            part.agents = Array(whole.agents[start..<min(start + 1_000, 2_500)])
            return part
        }
        var outOfRange = parts[0]
        outOfRange.part = 3
        await gateway.directory.apply(outOfRange)
        await gateway.directory.apply(parts[2])
        await gateway.directory.apply(parts[0])
        #expect(await gateway.directory.agents().isEmpty)
        await gateway.directory.apply(parts[1])
        let agents = await gateway.directory.agents()
        #expect(agents.count == 2_500 && agents[AgentID("a2500")]?.login == "login-2500")
    }

    @Test func aTokenOfAnEarlierCredentialGenerationIsRefusedAfterAPasswordChange() async throws {
        let gateway = makeGateway()
        await gateway.directory.apply(directory(2))
        let old = token(1)
        let (first, _) = await logIn(gateway, token: old)
        guard case .agentLoggedIn? = first?.message else {
            Issue.record("the current token is refused: \(String(describing: first))")
            return
        }
        // The manager pushes the directory after the password change: a1's generation moved.
        await gateway.directory.apply(directory(2, version: 2) { $0 == 1 ? 2 : 1 })
        let (again, _) = await logIn(gateway, token: old)
        #expect(again?.errorCode == .loginFailed)
        // Agent a2's token is unaffected; a1's new one works.
        let (other, _) = await logIn(gateway, token: token(2))
        #expect(other?.errorCode == nil)
        let (renewed, _) = await logIn(gateway, token: token(1, generation: 2))
        #expect(renewed?.errorCode == nil)
        // An agent deleted from the directory loses its token too.
        await gateway.directory.apply(directory(1, version: 3) { _ in 2 })
        let (deleted, _) = await logIn(gateway, token: token(2))
        #expect(deleted?.errorCode == .loginFailed)
    }

    @Test func expiredTamperedForeignAndMismatchedTokensAreRefused() async throws {
        let gateway = makeGateway()
        await gateway.directory.apply(directory(2))
        let expired = tokens.issue(agent: "a1", generation: 1, nowMs: Self.wallNow - 3_600_001).token
        let foreign = AgentResumeTokens(secret: "another-cluster").issue(
            agent: "a1", generation: 1, nowMs: Self.wallNow)
        var tampered = Array(token(1))
        tampered[tampered.count / 2] = tampered[tampered.count / 2] == "A" ? "B" : "A"
        for bad in [expired, foreign.token, String(tampered), "not a token"] {
            let (answer, _) = await logIn(gateway, token: bad)
            #expect(answer?.errorCode == .loginFailed, "\(bad)")
        }
        // A login naming another agent than the token's.
        let (mismatch, _) = await logIn(gateway, token: token(1), login: "login-2")
        #expect(mismatch?.errorCode == .loginFailed)
        let (matching, _) = await logIn(gateway, token: token(1), login: "login-1")
        #expect(matching?.errorCode == nil)
        // A password and a token together are refused as a bad request, checking neither.
        let (both, _) = await logIn(gateway, token: token(2), password: "secret")
        #expect(both?.errorCode == .invalidArgument)
        let work = await gateway.directory.loginWork
        #expect(work.tokensChecked == 6 && work.tokensRefused == 5)
    }

    /// Before the first directory arrives a token cannot be judged: the agent is told to try
    /// again, not that the token is bad.
    @Test func beforeTheDirectoryArrivesATokenLoginIsRetried() async throws {
        let gateway = makeGateway()
        let (answer, _) = await logIn(gateway, token: token(1))
        #expect(answer?.errorCode == .internal)
    }

    /// The WebSocket carries the same login as JSON (`resumeToken`).
    @Test func theWebSocketsJSONLoginTakesAToken() async throws {
        let gateway = makeGateway()
        await gateway.directory.apply(directory(1))
        let sink = RecordingSink()
        let connection = AgentConnection(
            registry: gateway.registry, authority: gateway.directory, sink: sink, logger: testLogger)
        await AgentWebSocket.receive(
            #"{"correlationId":"3","agentLogin":{"resumeToken":"\#(token(1))"}}"#, on: connection)
        let answer = await sink.next { $0.correlationID == 3 }
        guard case .agentLoggedIn(let loggedIn)? = answer?.message else {
            Issue.record("refused: \(String(describing: answer))")
            return
        }
        #expect(loggedIn.agent == "a1")
        let json = try #require(try answer?.jsonString())
        #expect(json.contains(#""agent":"a1""#))
    }
}
