public import DialerCore
public import DialerProtocol
public import DialerTransport
public import Logging

/// The gateway's view of the manager's agent directory, and its way to the manager for logins
/// and dispositions.
///
/// On each manager connection it subscribes to the directory; every directory the manager
/// pushes (after an agent or team changed through the API) updates the skills of logged-in
/// agents in the reservation book, without a restart.
public actor ManagerDirectory: AgentAuthority {
    private var link: ClusterLink?
    private var entries: [AgentID: DirectoryEntry] = [:]
    private var version: UInt64 = 0
    private let service: ReservationService
    private let logger: Logger
    private let timeout: Duration
    /// Checks resume tokens; nil accepts none.
    private let resumeTokens: AgentResumeTokens?
    /// Unix milliseconds now, for tokens' expiry (wall time: tokens cross processes).
    private let wallClock: @Sendable () -> UInt64
    /// Whether a directory arrived since the process started: before it, a token cannot be checked.
    private var loaded = false

    /// Counts of the work logins cost, for tests (no password check, no scan per token login).
    public struct LoginWork: Hashable, Sendable {
        /// Resume tokens checked (one HMAC each).
        public var tokensChecked = 0
        /// Tokens refused, for any reason.
        public var tokensRefused = 0
        /// Directory entries read to answer token logins: one per token whose signature held.
        public var entriesRead = 0
    }
    public private(set) var loginWork = LoginWork()

    public init(
        service: ReservationService, timeout: Duration = .seconds(10), resumeTokens: AgentResumeTokens? = nil,
        wallClock: @escaping @Sendable () -> UInt64 = AgentResumeTokens.wallNowMilliseconds,
        logger: Logger
    ) {
        self.service = service
        self.timeout = timeout
        self.resumeTokens = resumeTokens
        self.wallClock = wallClock
        self.logger = logger
    }

    /// The directory's agents, by id.
    public func agents() -> [AgentID: DirectoryEntry] { entries }

    public func resume(token: String, login: String) async throws(OperationRefused) -> DirectoryEntry? {
        loginWork.tokensChecked += 1
        guard let resumeTokens else {
            loginWork.tokensRefused += 1
            return nil
        }
        guard loaded else { throw OperationRefused(.internal, "the agent directory is not loaded yet; try again") }
        let claims: AgentResumeTokens.Claims
        do {
            claims = try resumeTokens.verify(token, nowMs: wallClock())
        } catch {
            loginWork.tokensRefused += 1
            logger.notice("resume token refused", metadata: ["reason": "\(error)"])
            return nil
        }
        loginWork.entriesRead += 1
        guard let entry = entries[AgentID(claims.agent)] else {
            loginWork.tokensRefused += 1
            logger.notice(
                "resume token refused: agent no longer in the directory", metadata: ["agent": "\(claims.agent)"])
            return nil
        }
        guard entry.credentialGeneration == claims.generation, login.isEmpty || login == entry.login else {
            loginWork.tokensRefused += 1
            logger.notice(
                "resume token refused: the agent's credentials changed since it was issued, or another login",
                metadata: ["agent": "\(claims.agent)"])
            return nil
        }
        return entry
    }

    /// A new manager connection: subscribe to the directory.
    public func connected(_ link: ClusterLink) async throws {
        self.link = link
        // A restarted manager counts versions from the start again.
        version = 0
        receiving = nil
        let reply = try await link.request(.directorySubscribe(.init()), timeout: timeout)
        guard case .agentDirectory(let directory) = reply.message else {
            throw DirectoryRefused(reply: reply.kindName)
        }
        await apply(directory)
    }

    /// The manager connection closed.
    public func disconnected() {
        link = nil
    }

    /// The parts of the directory version being received, by part number.
    private var receiving: (version: UInt64, parts: Int, agents: [Int: [Dialer_V1_DirectoryAgent]])?
    /// The most parts a directory may come in (a million agents at 1,000 a part).
    static let maximumParts = 1_000

    /// A directory (or a part of one) from the manager; an older one than the last is ignored.
    /// A directory in parts is applied once every part of its version arrived, in any order.
    public func apply(_ directory: Dialer_V1_AgentDirectory) async {
        guard directory.version >= version else { return }
        let parts = Int(max(1, directory.parts))
        let part = Int(directory.part)
        guard parts <= Self.maximumParts, part < parts else {
            logger.warning(
                "agent directory part out of range ignored",
                metadata: [
                    "version": "\(directory.version)", "part": "\(directory.part)", "parts": "\(directory.parts)",
                ])
            return
        }
        if receiving?.version != directory.version || receiving?.parts != parts {
            receiving = (directory.version, parts, [:])
        }
        receiving?.agents[part] = directory.agents
        guard let complete = receiving, complete.agents.count == complete.parts else { return }
        receiving = nil
        version = directory.version
        loaded = true
        var entries: [AgentID: DirectoryEntry] = [:]
        for index in 0..<complete.parts {
            for agent in complete.agents[index] ?? [] { entries[AgentID(agent.agent)] = DirectoryEntry(agent) }
        }
        self.entries = entries
        logger.debug("agent directory", metadata: ["version": "\(version)", "agents": "\(entries.count)"])
        await service.directoryChanged(entries.mapValues(\.skills))
    }

    private func currentLink() throws(OperationRefused) -> ClusterLink {
        guard let link else { throw OperationRefused(.internal, "the manager is not reachable; try again") }
        return link
    }

    public nonisolated func authenticate(
        login: String, password: String, clientAddress: String?
    ) async throws(OperationRefused) -> AuthenticatedAgent? {
        let link = try await currentLink()
        var message = Dialer_V1_AgentAuthenticate()
        message.login = login
        message.password = password
        message.clientAddress = clientAddress ?? ""
        let reply: Envelope
        do {
            reply = try await link.request(.agentAuthenticate(message), timeout: timeout)
        } catch {
            throw OperationRefused(.internal, "the manager did not answer the login; try again")
        }
        switch reply.message {
        case .agentAuthenticated(let answer):
            guard answer.ok else { return nil }
            let token =
                answer.resumeToken.isEmpty
                ? nil : AgentResumeTokens.Issued(token: answer.resumeToken, expiresAtMs: answer.resumeTokenExpiresAtMs)
            return AuthenticatedAgent(entry: DirectoryEntry(answer.agent), resumeToken: token)
        case .error(let error): throw OperationRefused(error.code.isFatal ? .internal : error.code, error.message)
        default: throw OperationRefused(.internal, "the manager answered \(reply.kindName)")
        }
    }

    public nonisolated func desk(_ request: Dialer_V1_AgentDeskRequest) async throws(OperationRefused)
        -> Dialer_V1_AgentDesk
    {
        let link = try await currentLink()
        let reply: Envelope
        do {
            reply = try await link.request(.agentDeskRequest(request), timeout: timeout)
        } catch {
            throw OperationRefused(.internal, "the manager did not answer; try again")
        }
        switch reply.message {
        case .agentDesk(let desk): return desk
        case .error(let error): throw OperationRefused(error.code.isFatal ? .internal : error.code, error.message)
        default: throw OperationRefused(.internal, "the manager answered \(reply.kindName)")
        }
    }

    public nonisolated func reportDisposition(_ report: Dialer_V1_DispositionReport) async throws(OperationRefused) {
        let link = try await currentLink()
        let reply: Envelope
        do {
            reply = try await link.request(.dispositionReport(report), timeout: timeout)
        } catch {
            throw OperationRefused(.internal, "the manager did not answer the disposition; send it again")
        }
        switch reply.message {
        case .dispositionReportAck: return
        case .error(let error): throw OperationRefused(error.code.isFatal ? .internal : error.code, error.message)
        default: throw OperationRefused(.internal, "the manager answered \(reply.kindName)")
        }
    }
}

/// The manager answered a directory subscription with something else than a directory.
struct DirectoryRefused: Error, CustomStringConvertible {
    var reply: String
    var description: String { "the manager answered directory_subscribe with \(reply)" }
}
