import DialerCore
import DialerProtocol
import DialerTestSupport
import DialerTransport
import Foundation
import Logging
import Testing

@testable import DialerManager

@Suite("Manager: the gateway's directory, logins and dispositions over the real store")
struct GatewayDirectoryServiceTests {
    let temporary: TemporaryStore
    let changes = ManagerChanges()
    var store: SQLiteManagerStore { temporary.store }
    var service: GatewayDirectoryService {
        GatewayDirectoryService(
            store: store, changes: changes, clock: { StoreTime.monday },
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
    }

    init() throws {
        temporary = try TemporaryStore()
    }

    func addAnn() async throws {
        try await store.createTeam(
            Team(
                id: TeamID("blue"), name: "Blue",
                queueRanking: AgentSkills([QueueID("inbound"): 1, QueueID("q-c1"): 2])),
            now: StoreTime.monday)
        _ = try await store.createAgent(
            AgentProfile(
                id: AgentID("ann"), login: "ann", name: "Ann", team: TeamID("blue"),
                skills: AgentSkills([QueueID("q-c1"): 1])),
            password: "correct horse", now: StoreTime.monday)
    }

    @Test func loginChecksThePasswordAndAnswersWithEffectiveSkills() async throws {
        try await addAnn()
        var good = Dialer_V1_AgentAuthenticate()
        good.login = "ann"
        good.password = "correct horse"
        guard case .agentAuthenticated(let ok) = await service.authenticate(good) else {
            Issue.record("no answer")
            return
        }
        #expect(ok.ok && ok.agent.agent == "ann" && ok.agent.team == "blue")
        // The agent's own rank overrides the team's for q-c1.
        #expect(AgentSkills(wire: ok.agent.skills) == AgentSkills([QueueID("inbound"): 1, QueueID("q-c1"): 1]))
        for (login, password) in [("ann", "wrong"), ("nobody", "correct horse")] {
            var bad = Dialer_V1_AgentAuthenticate()
            bad.login = login
            bad.password = password
            guard case .agentAuthenticated(let refused) = await service.authenticate(bad) else {
                Issue.record("no answer")
                return
            }
            #expect(!refused.ok && refused.agent.agent.isEmpty)
        }
    }

    /// A password login comes with a resume token for the agent at its current credential
    /// generation; a password change moves the generation in the directory, so the token the
    /// gateway holds against it no longer matches.
    @Test func aPasswordLoginIssuesAResumeTokenThatAPasswordChangeInvalidates() async throws {
        try await addAnn()
        let tokens = AgentResumeTokens(secret: "s", lifetime: .seconds(600))
        let service = GatewayDirectoryService(
            store: store, changes: changes, clock: { StoreTime.monday }, resumeTokens: tokens,
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        var good = Dialer_V1_AgentAuthenticate()
        good.login = "ann"
        good.password = "correct horse"
        guard case .agentAuthenticated(let ok) = await service.authenticate(good) else {
            Issue.record("no answer")
            return
        }
        let nowMs = AgentResumeTokens.unixMilliseconds(StoreTime.monday)
        #expect(ok.ok && ok.resumeTokenExpiresAtMs == nowMs + 600_000)
        let claims = try tokens.verify(ok.resumeToken, nowMs: nowMs)
        #expect(claims.agent == "ann" && claims.generation == ok.agent.credentialGeneration)
        #expect(try await service.directory().agents.first?.credentialGeneration == claims.generation)

        _ = try await store.setAgentPassword(
            AgentID("ann"), password: "battery staple", now: StoreTime.monday.addingTimeInterval(1))
        let moved = try #require(try await service.directory().agents.first?.credentialGeneration)
        #expect(moved != claims.generation)
        // A wrong password gets no token.
        good.password = "correct horse"
        guard case .agentAuthenticated(let refused) = await service.authenticate(good) else {
            Issue.record("no answer")
            return
        }
        #expect(!refused.ok && refused.resumeToken.isEmpty)
    }

    /// A directory is sent in parts of at most 1,000 agents, numbered, each with the version.
    @Test func aLargeDirectoryIsCutIntoNumberedParts() {
        var directory = Dialer_V1_AgentDirectory()
        directory.version = 7
        directory.agents = (0..<2_001).map { index in
            var agent = Dialer_V1_DirectoryAgent()
            agent.agent = "a\(index)"
            return agent
        }
        let parts = GatewayDirectoryService.parts(of: directory)
        #expect(parts.map(\.agents.count) == [1_000, 1_000, 1])
        #expect(parts.map(\.part) == [0, 1, 2] && parts.allSatisfy { $0.parts == 3 && $0.version == 7 })
        #expect(parts.flatMap(\.agents) == directory.agents)
        #expect(parts.allSatisfy { (try? $0.serializedBytes() as [UInt8])?.count ?? .max < 1_048_576 / 4 })
        let empty = GatewayDirectoryService.parts(of: Dialer_V1_AgentDirectory())
        #expect(empty.count == 1 && empty[0].parts == 1 && empty[0].agents.isEmpty)
    }

    /// Failed logins are limited per login: over the limit the password is not even checked
    /// and the gateway is told when to try again; the budget comes back on the guard's clock.
    @Test func repeatedFailedLoginsAreRateLimitedWithARetryTime() async throws {
        try await addAnn()
        let clock = ManualClock()
        let service = GatewayDirectoryService(
            store: store, changes: changes, clock: { StoreTime.monday },
            logins: LoginGuard(
                limiter: LoginRateLimiter(
                    perLogin: .init(attempts: 2, period: .seconds(60)),
                    perAddress: .init(attempts: 100, period: .seconds(60))),
                clock: clock),
            logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        func attempt(_ password: String) async -> Envelope.OneOf_Message {
            var message = Dialer_V1_AgentAuthenticate()
            message.login = "ann"
            message.password = password
            message.clientAddress = "192.0.2.10"
            // Through the guard's own task, as the gateway's message loop does.
            let (answers, answer) = AsyncStream.makeStream(of: Envelope.OneOf_Message.self)
            await service.startAuthenticating(message) { answer.yield($0) }
            var iterator = answers.makeAsyncIterator()
            return await iterator.next() ?? .heartbeat(.init())
        }
        for _ in 0..<2 {
            guard case .agentAuthenticated(let refused) = await attempt("wrong") else {
                Issue.record("a wrong password within the limit is checked")
                return
            }
            #expect(!refused.ok)
        }
        // Even the right password is not checked now.
        guard case .error(let limited) = await attempt("correct horse") else {
            Issue.record("not limited")
            return
        }
        #expect(limited.code == .rateLimited && !limited.code.isFatal)
        #expect(limited.message.hasSuffix("retry in 30 s"), "\(limited.message)")
        clock.advance(by: .seconds(30))
        guard case .agentAuthenticated(let ok) = await attempt("correct horse") else {
            Issue.record("not allowed again after the retry time")
            return
        }
        #expect(ok.ok)
    }

    @Test func theDirectoryIsPushedAgainAfterAnAgentsChange() async throws {
        try await addAnn()
        let first = try await service.directory()
        #expect(first.agents.map(\.agent) == ["ann"])
        let (sent, sink) = AsyncStream.makeStream(of: Dialer_V1_AgentDirectory.self)
        let pushes = service.pushes(after: await changes.subscribe()) { envelope in
            if case .agentDirectory(let directory) = envelope.message { sink.yield(directory) }
        }
        defer { pushes.cancel() }
        _ = try await store.createAgent(
            AgentProfile(id: AgentID("bob"), login: "bob", name: "Bob"), password: "pw", now: StoreTime.monday)
        await changes.changed(.agents)
        var iterator = sent.makeAsyncIterator()
        let pushed = try #require(await iterator.next())
        #expect(pushed.agents.map(\.agent) == ["ann", "bob"])
        #expect(pushed.version > first.version)
    }

    @Test func dispositionIsRecordedOnceAndBadOnesGetClearErrors() async throws {
        try await addAnn()
        try await makeCampaign(store)
        try await store.createDisposition(DispositionDefinition(name: "sale", kind: .final), campaign: CampaignID("c1"))
        try await addContacts(store, count: 1)
        let handOut = try #require(
            try await store.checkOutAttempts(
                campaign: CampaignID("c1"), count: 1, node: MemberID("n1"), epoch: Epoch(1), now: StoreTime.monday,
                presentAgents: []
            ).first)
        var report = Dialer_V1_DispositionReport()
        report.attempt = handOut.attempt.rawValue
        report.agent = "ann"
        report.disposition = "sale"
        // The attempt has no result yet.
        #expect(code(await service.record(report)) == .invalidState)
        _ = try await store.recordResult(
            AttemptResult(attempt: handOut.attempt, contact: handOut.contact.id, outcome: .connected),
            now: StoreTime.monday)

        guard case .dispositionReportAck(let first) = await service.record(report) else {
            Issue.record("not recorded")
            return
        }
        #expect(!first.duplicate)
        #expect(try await store.attempt(handOut.attempt)?.disposition?.name == "sale")
        guard case .dispositionReportAck(let again) = await service.record(report) else {
            Issue.record("repeat refused")
            return
        }
        #expect(again.duplicate)

        var unknownName = report
        unknownName.disposition = "teleported"
        #expect(code(await service.record(unknownName)) == .notFound)
        var unknownAttempt = report
        unknownAttempt.attempt = "no-such-attempt"
        #expect(code(await service.record(unknownAttempt)) == .unknownRequest)
    }

    private func code(_ message: Dialer_V1_Envelope.OneOf_Message) -> Dialer_V1_ErrorCode? {
        if case .error(let error) = message { return error.code }
        return nil
    }
}
