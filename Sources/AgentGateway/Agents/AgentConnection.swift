import DialerCore
public import DialerProtocol
import DialerTransport
public import Logging

/// One agent connection, whatever its transport: the cluster protocol (ROLE_AGENT) or a
/// WebSocket carrying the same envelopes as JSON. Both feed ``receive(_:)`` and both get
/// their answers and pushes through the same sink, so they behave alike.
///
/// Every operation is answered (same correlation id) with `AgentAck` — or `AgentLoggedIn` for a
/// login — or a non-fatal `Error`; bad input never ends the connection.
public actor AgentConnection {
    private let registry: AgentSessionRegistry
    private let authority: any AgentAuthority
    private let sink: any EnvelopeSink
    private let logger: Logger
    /// Where the agent connects from, when the transport knows it: logins are rate-limited
    /// per address too.
    private let clientAddress: String?
    private var number: UInt64?
    private var session: AgentSessionActor?

    public init(
        registry: AgentSessionRegistry, authority: any AgentAuthority, sink: any EnvelopeSink,
        clientAddress: String? = nil, logger: Logger
    ) {
        self.registry = registry
        self.authority = authority
        self.sink = sink
        self.clientAddress = clientAddress
        self.logger = logger
    }

    /// Handles one inbound envelope.
    public func receive(_ envelope: Envelope) async {
        let correlation = envelope.correlationID
        guard let message = envelope.message else {
            refuse(OperationRefused(.invalidArgument, "the message names no operation"), correlation)
            return
        }
        switch message {
        case .heartbeat:
            return
        case .error(let error):
            logger.notice("agent reported an error", metadata: ["code": "\(error.code.name)"])
            return
        case .agentLogin(let login):
            await logIn(login, correlation: correlation)
        case .agentSetReady, .agentSetNotReady, .agentOfferAnswer, .agentHangup, .agentExtendWrapUp, .agentDisposition,
            .agentLogout:
            guard let session = await heldSession(correlation) else { return }
            do {
                var ack = Dialer_V1_AgentAck()
                ack.status = try await session.perform(message)
                sink.deliver(Envelope(.agentAck(ack), correlationID: correlation))
            } catch {
                refuse(error, correlation)
            }
        case .agentDeskRequest(let request):
            guard let session = await heldSession(correlation) else { return }
            do {
                sink.deliver(Envelope(.agentDesk(try await session.desk(request.attempt)), correlationID: correlation))
            } catch {
                refuse(error, correlation)
            }
        default:
            refuse(
                OperationRefused(.invalidArgument, "\(envelope.kindName) is not an agent operation"), correlation)
        }
    }

    /// The session, if this connection still holds it; otherwise the operation is refused
    /// (never logged in, or taken over by a later login elsewhere).
    private func heldSession(_ correlation: UInt64) async -> AgentSessionActor? {
        guard let session, let number else {
            refuse(OperationRefused(.notLoggedIn, "log in first"), correlation)
            return nil
        }
        guard await session.holds(number) else {
            self.session = nil
            self.number = nil
            refuse(
                OperationRefused(.notLoggedIn, "this session was taken over by another login; log in again"),
                correlation)
            return nil
        }
        return session
    }

    /// Input that is not an envelope (malformed JSON, say): answered with a clear error.
    public func malformed(_ reason: String, correlationID: UInt64 = 0) {
        refuse(OperationRefused(.invalidArgument, reason), correlationID)
    }

    /// The connection closed: the session keeps the agent for the grace period.
    public func closed() async {
        guard let session, let number else { return }
        await session.detach(number)
        self.session = nil
    }

    private func logIn(_ login: Dialer_V1_AgentLogin, correlation: UInt64) async {
        guard session == nil else {
            refuse(OperationRefused(.invalidState, "this connection is already logged in"), correlation)
            return
        }
        let byToken = !login.resumeToken.isEmpty
        guard byToken || !login.login.isEmpty else {
            refuse(OperationRefused(.invalidArgument, "login is required"), correlation)
            return
        }
        guard !byToken || login.password.isEmpty else {
            refuse(OperationRefused(.invalidArgument, "give a password or a resume_token, not both"), correlation)
            return
        }
        if let problem = Self.phoneProblem(login.phone) {
            refuse(OperationRefused(.invalidArgument, "phone: \(problem)"), correlation)
            return
        }
        do {
            let checked: AuthenticatedAgent?
            if byToken {
                // One HMAC and a directory lookup at the gateway: no password check, no manager.
                checked = try await authority.resume(token: login.resumeToken, login: login.login).map {
                    AuthenticatedAgent(entry: $0)
                }
            } else {
                checked = try await authority.authenticate(
                    login: login.login, password: login.password, clientAddress: clientAddress)
            }
            guard let checked else {
                refuse(
                    OperationRefused(
                        .loginFailed,
                        byToken
                            ? "resume token not valid (expired, or the agent's credentials changed); log in with the password"
                            : "unknown login or wrong password"), correlation)
                return
            }
            let entry = checked.entry
            let number = await registry.connectionNumber()
            let session = await registry.session(for: entry.agent)
            let state = try await session.attach(
                number, sink: sink, skills: entry.skills, phone: login.phone.isEmpty ? nil : login.phone)
            self.number = number
            self.session = session
            var reply = Dialer_V1_AgentLoggedIn()
            reply.agent = entry.agent.rawValue
            reply.name = entry.name
            reply.skills = entry.skills.wire
            reply.status = state
            if let token = checked.resumeToken {
                reply.resumeToken = token.token
                reply.resumeTokenExpiresAtMs = token.expiresAtMs
            }
            sink.deliver(Envelope(.agentLoggedIn(reply), correlationID: correlation))
            logger.info(
                "agent logged in", metadata: ["agent": "\(entry.agent)", "by": "\(byToken ? "token" : "password")"])
        } catch {
            refuse(error, correlation)
        }
    }

    /// What is wrong with a phone given at login, if anything: a SIP URI (`sip:user@host[:port]`)
    /// of at most 256 printable ASCII characters, or empty for none. Its host is resolved by
    /// the node that calls it.
    static func phoneProblem(_ phone: String) -> String? {
        guard !phone.isEmpty else { return nil }
        guard phone.utf8.count <= 256 else { return "at most 256 characters" }
        guard phone.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            return "printable ASCII without spaces only"
        }
        guard phone.hasPrefix("sip:"), let at = phone.firstIndex(of: "@"), phone[phone.index(after: at)...].count > 0
        else { return "a SIP URI such as sip:1001@192.0.2.10:5062, got \(phone.debugDescription)" }
        return nil
    }

    private func refuse(_ error: OperationRefused, _ correlation: UInt64) {
        sink.deliver(error.envelope(correlationID: correlation))
    }
}
