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

    public init(service: ReservationService, timeout: Duration = .seconds(10), logger: Logger) {
        self.service = service
        self.timeout = timeout
        self.logger = logger
    }

    /// The directory's agents, by id.
    public func agents() -> [AgentID: DirectoryEntry] { entries }

    /// A new manager connection: subscribe to the directory.
    public func connected(_ link: ClusterLink) async throws {
        self.link = link
        // A restarted manager counts versions from the start again.
        version = 0
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

    /// A directory from the manager; an older one than the last is ignored.
    public func apply(_ directory: Dialer_V1_AgentDirectory) async {
        guard directory.version >= version else { return }
        version = directory.version
        entries = Dictionary(
            directory.agents.map { (AgentID($0.agent), DirectoryEntry($0)) }, uniquingKeysWith: { $1 })
        logger.debug("agent directory", metadata: ["version": "\(version)", "agents": "\(entries.count)"])
        await service.directoryChanged(entries.mapValues(\.skills))
    }

    private func currentLink() throws(OperationRefused) -> ClusterLink {
        guard let link else { throw OperationRefused(.internal, "the manager is not reachable; try again") }
        return link
    }

    public nonisolated func authenticate(
        login: String, password: String, clientAddress: String?
    ) async throws(OperationRefused) -> DirectoryEntry? {
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
        case .agentAuthenticated(let answer): return answer.ok ? DirectoryEntry(answer.agent) : nil
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
