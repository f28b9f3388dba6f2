import DialerCore
public import DialerProtocol
public import DialerTransport
public import FoundationEssentials
public import Logging

/// The manager's side of the gateway protocol (messages 60–65): the agent directory, pushed on
/// subscribe and after every change of agents or teams; agents' logins; dispositions.
///
/// A plain value: every call works on the store, so connections never wait on each other.
/// Password checks are slow on purpose (PBKDF2): the ``LoginGuard`` runs each in a task it owns,
/// within the login rate limits, so neither the connection's message loop nor any actor waits
/// on it.
public struct GatewayDirectoryService: Sendable {
    let store: any ManagerStore
    let changes: ManagerChanges
    let clock: @Sendable () -> Date
    let logger: Logger
    let logins: LoginGuard
    /// Issues a resume token with each successful password check; nil issues none.
    let resumeTokens: AgentResumeTokens?

    public init(
        store: any ManagerStore,
        changes: ManagerChanges,
        clock: @escaping @Sendable () -> Date = { Date() },
        logins: LoginGuard = LoginGuard(),
        resumeTokens: AgentResumeTokens? = nil,
        logger: Logger
    ) {
        self.store = store
        self.changes = changes
        self.clock = clock
        self.logins = logins
        self.resumeTokens = resumeTokens
        self.logger = logger
    }

    /// Handles one gateway message of this service. A `DirectorySubscribe` returns the task
    /// that pushes the directory after each change; cancel it when the connection ends.
    public func handle(_ envelope: Envelope, link: ClusterLink) async -> Task<Void, Never>? {
        switch envelope.message {
        case .directorySubscribe:
            return await subscribe(envelope, link: link)
        case .agentAuthenticate(let authenticate):
            // Off the message loop: the check takes a deliberate while.
            await startAuthenticating(authenticate) { reply in
                try? await link.send(Envelope(reply, correlationID: envelope.correlationID))
            }
        case .dispositionReport(let report):
            let reply = await record(report)
            try? await link.send(Envelope(reply, correlationID: envelope.correlationID))
        case .agentDeskRequest(let request):
            let reply = await desk(request)
            try? await link.send(Envelope(reply, correlationID: envelope.correlationID))
        default:
            break
        }
        return nil
    }

    /// The directory now, as sent to gateways (before it is cut into parts).
    public func directory() async throws -> Dialer_V1_AgentDirectory {
        // Read the version first: a change during the read is then pushed again, never lost.
        let version = await changes.agentsVersion
        var directory = Dialer_V1_AgentDirectory()
        directory.version = version
        // Effective skills from the teams read once, not one store read per agent: a directory
        // of 10,000 agents is rebuilt after every change of agents.
        let teams = Dictionary(try await store.teams().map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        for record in try await store.agents() {
            directory.agents.append(entry(record, teams: teams))
        }
        return directory
    }

    /// Agents per directory part: about 120 bytes each, so a part stays far below the frame limit.
    static let agentsPerPart = 1_000

    /// `directory` cut into parts of at most `size` agents, each with the version, `parts` and
    /// its `part` (an empty directory is one empty part).
    static func parts(of directory: Dialer_V1_AgentDirectory, size: Int = agentsPerPart) -> [Dialer_V1_AgentDirectory] {
        let size = max(1, size)
        let count = max(1, (directory.agents.count + size - 1) / size)
        return (0..<count).map { index in
            var part = Dialer_V1_AgentDirectory()
            part.version = directory.version
            part.parts = UInt32(count)
            part.part = UInt32(index)
            part.agents = Array(
                directory.agents[
                    min(index * size, directory.agents.count)..<min((index + 1) * size, directory.agents.count)])
            return part
        }
    }

    private func entry(_ record: AgentRecord) async throws -> Dialer_V1_DirectoryAgent {
        var teams: [TeamID: Team] = [:]
        if let id = record.profile.team, let team = try await store.team(id) { teams[id] = team }
        return entry(record, teams: teams)
    }

    /// The agent's directory entry: effective skills are the team's ranking overridden queue by
    /// queue by the agent's own (as `ManagerStore.effectiveSkills(of:)` gives them).
    private func entry(_ record: AgentRecord, teams: [TeamID: Team]) -> Dialer_V1_DirectoryAgent {
        var agent = Dialer_V1_DirectoryAgent()
        agent.agent = record.id.rawValue
        agent.login = record.profile.login
        agent.name = record.profile.name
        agent.team = record.profile.team?.rawValue ?? ""
        var skills = AgentSkills()
        if let team = record.profile.team.flatMap({ teams[$0] }) {
            for (queue, rank) in team.queueRanking.ranks { skills.setRank(rank, for: queue) }
        }
        for (queue, rank) in record.profile.skills.ranks { skills.setRank(rank, for: queue) }
        agent.skills = skills.wire
        agent.credentialGeneration = AgentResumeTokens.generation(updatedAt: record.updatedAt)
        return agent
    }

    private func subscribe(_ envelope: Envelope, link: ClusterLink) async -> Task<Void, Never>? {
        // Subscribe before reading, so that no change falls between the read and the stream.
        let stream = await changes.subscribe()
        var sent: UInt64 = 0
        do {
            let directory = try await directory()
            // The first part answers the request; the others follow as pushes.
            for (index, part) in Self.parts(of: directory).enumerated() {
                try await link.send(
                    Envelope(.agentDirectory(part), correlationID: index == 0 ? envelope.correlationID : 0))
            }
            sent = directory.version
        } catch {
            logger.warning("cannot send the agent directory", metadata: ["error": "\(error)"])
            try? await link.send(
                .error(.internal, "cannot read the agent directory", correlationID: envelope.correlationID))
        }
        return pushes(after: stream, alreadySent: sent) { try await link.send($0) }
    }

    /// Sends the directory again after each change of agents, until cancelled or the send fails
    /// because the connection closed. Changes that arrived while a directory was being built
    /// are in it already: their notices are skipped (the version tells), so that creating
    /// 10,000 agents one by one does not rebuild the directory 10,000 times.
    func pushes(
        after stream: AsyncStream<ManagerChanges.Change>,
        alreadySent: UInt64 = 0,
        send: @escaping @Sendable (Envelope) async throws -> Void
    ) -> Task<Void, Never> {
        let (logger, service, changes) = (self.logger, self, self.changes)
        return Task {
            var sent = alreadySent
            for await change in stream where change == .agents {
                guard await changes.agentsVersion > sent else { continue }
                do {
                    let directory = try await service.directory()
                    for part in Self.parts(of: directory) { try await send(Envelope(.agentDirectory(part))) }
                    sent = directory.version
                } catch {
                    logger.notice("agent directory push failed", metadata: ["error": "\(error)"])
                    if error is ConnectionClosed { return }
                }
            }
        }
    }

    /// Checks a login in the login guard's own task and hands the answer to `send`.
    func startAuthenticating(
        _ message: Dialer_V1_AgentAuthenticate, send: @escaping @Sendable (Envelope.OneOf_Message) async -> Void
    ) async {
        let found = FoundAgent()
        let store = self.store
        let (login, password) = (message.login, message.password)
        await logins.start(
            login: login, address: message.clientAddress.isEmpty ? nil : message.clientAddress,
            check: {
                guard let record = try await store.authenticateAgent(login: login, password: password) else {
                    return false
                }
                await found.set(record)
                return true
            },
            answer: { verdict in await send(await self.reply(to: verdict, found: found)) })
    }

    /// Checks a login now, in the caller's task (within the same limits).
    func authenticate(_ message: Dialer_V1_AgentAuthenticate) async -> Envelope.OneOf_Message {
        let found = FoundAgent()
        let store = self.store
        let (login, password) = (message.login, message.password)
        let verdict: Result<LoginGuard.Verdict, any Error>
        do {
            verdict = .success(
                try await logins.verify(
                    login: login, address: message.clientAddress.isEmpty ? nil : message.clientAddress
                ) {
                    guard let record = try await store.authenticateAgent(login: login, password: password) else {
                        return false
                    }
                    await found.set(record)
                    return true
                })
        } catch is PasswordWork.Busy {
            verdict = .success(.limited(retryAfter: .seconds(1)))
        } catch {
            verdict = .failure(error)
        }
        return await reply(to: verdict, found: found)
    }

    private func reply(to verdict: Result<LoginGuard.Verdict, any Error>, found: FoundAgent) async
        -> Envelope.OneOf_Message
    {
        var reply = Dialer_V1_AgentAuthenticated()
        switch verdict {
        case .success(.checked(succeeded: true)):
            guard let record = await found.record else { return .agentAuthenticated(reply) }
            do {
                reply.ok = true
                reply.agent = try await entry(record)
                if let resumeTokens {
                    let issued = resumeTokens.issue(
                        agent: record.id.rawValue, generation: reply.agent.credentialGeneration,
                        nowMs: AgentResumeTokens.unixMilliseconds(clock()))
                    reply.resumeToken = issued.token
                    reply.resumeTokenExpiresAtMs = issued.expiresAtMs
                }
            } catch {
                logger.warning("agent authentication failed in the store", metadata: ["error": "\(error)"])
                return .error(.init(code: .internal, message: "cannot check credentials now"))
            }
        case .success(.checked(succeeded: false)):
            break
        case .success(.limited(let retryAfter)):
            let seconds = max(1, Int((Double(retryAfter.totalNanoseconds) / 1e9).rounded(.up)))
            return .error(
                .init(code: .rateLimited, message: "too many login attempts; retry in \(seconds) s"))
        case .failure(let error):
            logger.warning("agent authentication failed in the store", metadata: ["error": "\(error)"])
            return .error(.init(code: .internal, message: "cannot check credentials now"))
        }
        return .agentAuthenticated(reply)
    }

    /// The desk of an attempt: its campaign's script and dispositions, the contact's time zone
    /// and attempts. The gateway checked that the agent holds the attempt.
    func desk(_ request: Dialer_V1_AgentDeskRequest) async -> Envelope.OneOf_Message {
        do {
            guard let attempt = try await store.attempt(AttemptID(request.attempt)),
                let contact = try await store.contact(attempt.contact),
                let campaign = try await store.campaign(contact.campaign)
            else {
                return .error(.init(code: .unknownRequest, message: "attempt \(request.attempt) does not exist"))
            }
            var desk = Dialer_V1_AgentDesk()
            desk.attempt = request.attempt
            desk.campaign = campaign.id.rawValue
            desk.campaignName = campaign.name
            desk.script = campaign.settings.script
            desk.timeZone = contact.timeZone ?? campaign.settings.timeZone
            desk.dispositions = try await store.dispositions(of: campaign.id).map { definition in
                var wire = Dialer_V1_DeskDisposition()
                wire.name = definition.name
                wire.kind = definition.kind.rawValue
                wire.privateAllowed = definition.privateAllowed
                return wire
            }
            desk.history = try await store.attempts(ofContact: contact.id).map { entry in
                var wire = Dialer_V1_DeskAttempt()
                wire.attempt = entry.record.id.rawValue
                if let dialed = entry.record.dialedAt {
                    let milliseconds = (dialed.timeIntervalSince1970 * 1000).rounded()
                    // A stored time outside the wire's range is sent as 0 (unknown), never trapped on.
                    wire.dialedAtMs = milliseconds >= 0 && milliseconds < 9.0e15 ? UInt64(milliseconds) : 0
                }
                wire.outcome = entry.record.outcome?.rawValue ?? ""
                wire.disposition = entry.record.disposition?.name ?? ""
                wire.agent = entry.record.agent?.rawValue ?? ""
                return wire
            }
            return .agentDesk(desk)
        } catch {
            logger.warning("desk not read", metadata: ["error": "\(error)"])
            return .error(.init(code: .internal, message: "cannot read the campaign now"))
        }
    }

    /// Records a disposition with the named disposition of the attempt's campaign; a repeat is
    /// acknowledged as a duplicate. Unknown attempts and names get a non-fatal error.
    func record(_ report: Dialer_V1_DispositionReport) async -> Envelope.OneOf_Message {
        do {
            let attemptID = AttemptID(report.attempt)
            guard let attempt = try await store.attempt(attemptID),
                let contact = try await store.contact(attempt.contact)
            else {
                return .error(.init(code: .unknownRequest, message: "attempt \(report.attempt) does not exist"))
            }
            let agent = report.agent.isEmpty ? nil : AgentID(report.agent)
            guard
                let definition = try await store.dispositions(of: contact.campaign).first(where: {
                    $0.name == report.disposition
                })
            else {
                return .error(
                    .init(
                        code: .notFound,
                        message: "campaign \(contact.campaign) has no disposition named \(report.disposition)"))
            }
            let disposition: Disposition
            switch definition.kind {
            case .final: disposition = .final(definition.name)
            case .retry: disposition = .retry(definition.name)
            case .callback:
                guard report.callbackAtMs > 0 else {
                    return .error(.init(code: .invalidArgument, message: "a callback needs callback_at_ms"))
                }
                let at = Date(timeIntervalSince1970: Double(report.callbackAtMs) / 1000)
                disposition = .callback(definition.name, at: at, privateTo: report.privateCallback ? agent : nil)
            }
            guard definition.allows(disposition) else {
                return .error(.init(code: .invalidArgument, message: "\(definition.name) cannot be private"))
            }
            var ack = Dialer_V1_DispositionReportAck()
            ack.attempt = report.attempt
            switch try await store.recordDisposition(
                disposition, attempt: attemptID, agent: agent, nodeLost: report.nodeLost, now: clock())
            {
            case .applied: break
            case .duplicate: ack.duplicate = true
            case .unknownAttempt:
                return .error(.init(code: .unknownRequest, message: "attempt \(report.attempt) does not exist"))
            case .attemptStillOpen:
                return .error(
                    .init(code: .invalidState, message: "attempt \(report.attempt) has no result yet; send it again"))
            }
            return .dispositionReportAck(ack)
        } catch {
            logger.warning("disposition not recorded", metadata: ["error": "\(error)"])
            return .error(.init(code: .internal, message: "cannot record the disposition now"))
        }
    }
}

extension Dialer_V1_Error {
    init(code: ProtocolErrorCode, message: String) {
        self.init()
        self.code = code
        self.message = message
    }
}

/// The agent a successful check found, handed from the check to the answer.
private actor FoundAgent {
    private(set) var record: AgentRecord?
    func set(_ record: AgentRecord) { self.record = record }
}
