public import DialerCore
public import DialerProtocol
public import DialerTransport
public import Logging

/// An agent as the manager's directory describes it.
public struct DirectoryEntry: Hashable, Sendable {
    public var agent: AgentID
    public var login: String
    public var name: String
    public var team: String
    /// Effective skills: the team's ranking overridden by the agent's own.
    public var skills: AgentSkills
    /// Changes with the agent's password or profile: a resume token of another generation is refused.
    public var credentialGeneration: UInt64

    public init(
        agent: AgentID, login: String, name: String, team: String = "", skills: AgentSkills,
        credentialGeneration: UInt64 = 0
    ) {
        self.agent = agent
        self.login = login
        self.name = name
        self.team = team
        self.skills = skills
        self.credentialGeneration = credentialGeneration
    }

    /// The entry of a directory message.
    public init(_ wire: Dialer_V1_DirectoryAgent) {
        self.init(
            agent: AgentID(wire.agent), login: wire.login, name: wire.name, team: wire.team,
            skills: AgentSkills(wire: wire.skills), credentialGeneration: wire.credentialGeneration)
    }
}

/// An agent whose password was checked, with the resume token issued for their next logins.
public struct AuthenticatedAgent: Hashable, Sendable {
    public var entry: DirectoryEntry
    /// A token for later logins without the password; nil when none was issued.
    public var resumeToken: AgentResumeTokens.Issued?

    public init(entry: DirectoryEntry, resumeToken: AgentResumeTokens.Issued? = nil) {
        self.entry = entry
        self.resumeToken = resumeToken
    }
}

/// What checks agents' credentials and records their dispositions: the manager, in production.
public protocol AgentAuthority: Sendable {
    /// The agent with these credentials, or `nil` for an unknown login or a wrong password;
    /// `clientAddress` is where the agent connects from, when known (logins are rate-limited
    /// per login and per address).
    /// - Throws: ``OperationRefused`` when the check cannot be made now (no manager, or
    ///   `RATE_LIMITED`: too many failures lately).
    func authenticate(login: String, password: String, clientAddress: String?) async throws(OperationRefused)
        -> AuthenticatedAgent?
    /// The agent a resume token stands for, or `nil` when the token is not valid now (tampered
    /// with, of another cluster, expired, of an earlier credential generation, of an agent no
    /// longer in the directory, or of another login than `login` when that is not empty).
    /// One HMAC and one directory lookup: no password check, no scan.
    /// - Throws: ``OperationRefused`` when the check cannot be made now (no directory yet).
    func resume(token: String, login: String) async throws(OperationRefused) -> DirectoryEntry?
    /// The desk of an attempt: the campaign's script and dispositions, the contact's history.
    /// - Throws: ``OperationRefused`` with the manager's error, or when there is no manager.
    func desk(_ request: Dialer_V1_AgentDeskRequest) async throws(OperationRefused) -> Dialer_V1_AgentDesk
    /// Records a disposition; a repeated one is acknowledged too.
    /// - Throws: ``OperationRefused`` with the manager's error (unknown disposition name ...).
    func reportDisposition(_ report: Dialer_V1_DispositionReport) async throws(OperationRefused)
}

extension AgentAuthority {
    /// Authorities without a key for resume tokens accept none.
    public func resume(token: String, login: String) async throws(OperationRefused) -> DirectoryEntry? { nil }

    /// Authorities that keep no campaigns (tests) have no desk to show.
    public func desk(_ request: Dialer_V1_AgentDeskRequest) async throws(OperationRefused) -> Dialer_V1_AgentDesk {
        throw OperationRefused(.internal, "no campaign information here")
    }
}

/// One agent's session at the gateway: its connections (any transport), the grace period after
/// the last one drops, and the agent's operations, which it turns into reservation-service calls.
///
/// Thin by design: the agent's state and every decision about it live in the reservation book.
public actor AgentSessionActor {
    public let agent: AgentID
    public let outbox = AgentOutbox()
    private let service: ReservationService
    private let authority: any AgentAuthority
    private let clock: any DialerClock
    private let grace: Duration
    private let logger: Logger
    /// Grows on every attach and detach, so a grace timer that fires after a reconnect is stale.
    private var generation: UInt64 = 0
    /// The grace timer after the last connection closed; cancelled by the next attach or detach.
    private var graceTimer: Task<Void, Never>?

    public init(
        agent: AgentID,
        service: ReservationService,
        authority: any AgentAuthority,
        clock: any DialerClock,
        grace: Duration,
        logger: Logger
    ) {
        self.agent = agent
        self.service = service
        self.authority = authority
        self.clock = clock
        self.grace = grace
        self.logger = logger
    }

    /// A connection logged in as this agent: the agent is logged in (or their session, kept
    /// through the grace period, resumes) and pushes reach the connection.
    public func attach(
        _ connection: UInt64, sink: any EnvelopeSink, skills: AgentSkills, phone: String? = nil
    ) async throws(OperationRefused) -> Dialer_V1_AgentStatus {
        generation += 1
        graceTimer?.cancel()
        graceTimer = nil
        // The newest login takes the session over: the earlier desktops are told, and their
        // operations are refused from now on.
        var notice = Dialer_V1_AgentTakenOver()
        notice.reason = "this agent logged in on another desktop"
        for previous in outbox.replaceAll(with: connection, sink).values {
            previous.deliver(Envelope(.agentTakenOver(notice)))
        }
        do {
            let session = try await service.logIn(agent, skills: skills, outbox: outbox, phone: phone)
            return Dialer_V1_AgentStatus(session, now: clock.now())
        } catch {
            detach(connection)
            throw error
        }
    }

    /// Whether `connection` still holds the session (a later login takes it over).
    public func holds(_ connection: UInt64) -> Bool { outbox.isAttached(connection) }

    /// A connection closed. When it was the last, the agent keeps their state for the grace
    /// period; if no connection comes back by then, the agent is logged out.
    public func detach(_ connection: UInt64) {
        generation += 1
        graceTimer?.cancel()
        graceTimer = nil
        guard outbox.detach(connection) == 0 else { return }
        let (expected, clock, deadline) = (generation, clock, clock.now() + grace)
        graceTimer = Task {
            do { try await clock.sleep(until: deadline) } catch { return }
            await self.graceEnded(expected)
        }
    }

    /// Grace periods whose timer ran out, the agent back by then or not: for tests to wait on.
    private(set) var graceTimersRunOut = 0

    private func graceEnded(_ expected: UInt64) async {
        graceTimersRunOut += 1
        guard generation == expected, outbox.connectionCount == 0 else { return }
        logger.info("agent did not come back within the grace period: logged out", metadata: ["agent": "\(agent)"])
        await service.agentLost(agent)
    }

    /// Performs one agent operation; the answer is the agent's state after it.
    /// The desk of an attempt the agent holds (offer, call, or a disposition still owed).
    public func desk(_ attempt: String) async throws(OperationRefused) -> Dialer_V1_AgentDesk {
        guard !attempt.isEmpty else { throw OperationRefused(.invalidArgument, "attempt is required") }
        try await service.checkDesk(agent, attempt: AttemptID(attempt))
        var request = Dialer_V1_AgentDeskRequest()
        request.attempt = attempt
        request.agent = agent.rawValue
        return try await authority.desk(request)
    }

    public func perform(_ message: Envelope.OneOf_Message) async throws(OperationRefused) -> Dialer_V1_AgentStatus {
        Dialer_V1_AgentStatus(try await operation(message), now: clock.now())
    }

    private func operation(_ message: Envelope.OneOf_Message) async throws(OperationRefused) -> AgentSession {
        let (agent, service) = (self.agent, self.service)
        switch message {
        case .agentSetReady:
            return try await service.makeReady(agent)
        case .agentSetNotReady(let notReady):
            let reason = notReady.reason
            guard !reason.allSatisfy(\.isWhitespace) else {
                throw OperationRefused(.invalidArgument, "a not-ready reason is required")
            }
            return try await service.pause(agent, reason: PauseReason(reason))
        case .agentOfferAnswer(let answer):
            guard !answer.request.isEmpty else { throw OperationRefused(.invalidArgument, "request is required") }
            return try await service.answerOffer(agent, request: RequestID(answer.request), accept: answer.accept)
        case .agentHangup(let hangup):
            guard !hangup.request.isEmpty else { throw OperationRefused(.invalidArgument, "request is required") }
            return try await service.hangUp(agent, request: RequestID(hangup.request))
        case .agentExtendWrapUp(let extend):
            guard extend.seconds > 0 else { throw OperationRefused(.invalidArgument, "seconds must be positive") }
            return try await service.extendWrapUp(agent, by: .seconds(Int64(extend.seconds)))
        case .agentDisposition(let disposition):
            guard !disposition.attempt.isEmpty, !disposition.disposition.isEmpty else {
                throw OperationRefused(.invalidArgument, "attempt and disposition are required")
            }
            let attempt = AttemptID(disposition.attempt)
            let nodeLost = try await service.checkDisposition(agent, attempt: attempt)
            var report = Dialer_V1_DispositionReport()
            report.nodeLost = nodeLost
            report.attempt = disposition.attempt
            report.agent = agent.rawValue
            report.disposition = disposition.disposition
            report.notes = disposition.notes
            report.callbackAtMs = disposition.callbackAtMs
            report.privateCallback = disposition.privateCallback
            try await authority.reportDisposition(report)
            return try await service.dispositionRecorded(agent, attempt: attempt)
        case .agentLogout:
            return try await service.logOut(agent)
        default:
            throw OperationRefused(.invalidArgument, "not an agent operation")
        }
    }
}

/// The gateway's agent sessions, one actor per agent, created at the agent's first login.
public actor AgentSessionRegistry {
    private var sessions: [AgentID: AgentSessionActor] = [:]
    private var nextConnection: UInt64 = 1
    let service: ReservationService
    let authority: any AgentAuthority
    let clock: any DialerClock
    let grace: Duration
    let logger: Logger

    public init(
        service: ReservationService,
        authority: any AgentAuthority,
        clock: any DialerClock,
        grace: Duration,
        logger: Logger
    ) {
        self.service = service
        self.authority = authority
        self.clock = clock
        self.grace = grace
        self.logger = logger
    }

    /// The agent's session actor.
    public func session(for agent: AgentID) -> AgentSessionActor {
        if let session = sessions[agent] { return session }
        let session = AgentSessionActor(
            agent: agent, service: service, authority: authority, clock: clock, grace: grace, logger: logger)
        sessions[agent] = session
        return session
    }

    /// A number for a new agent connection, unique in the gateway.
    public func connectionNumber() -> UInt64 {
        defer { nextConnection += 1 }
        return nextConnection
    }
}
