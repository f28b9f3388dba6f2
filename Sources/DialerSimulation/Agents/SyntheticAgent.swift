public import DialerCore
import DialerProtocol
public import DialerTransport
import Synchronization

/// A synthetic agent: a real client of the agent gateway over the cluster protocol
/// (`ROLE_AGENT`), behaving by a ``SyntheticAgentProfile``.
///
/// Tests and `dialer-loadtest` use it to put hundreds or thousands of agents on a gateway. Its
/// decisions are ``SyntheticAgentBehaviour``'s; this actor only carries them out: it sends the
/// operations in order (each waits for the gateway's answer, whose round trip it reports),
/// sleeps its timers on the injected clock (a ``ScaledClock`` runs a day faster), and feeds the
/// gateway's pushes back in.
public actor SyntheticAgent {
    /// Something that happened, for the caller's statistics.
    public enum Event: Sendable {
        /// The gateway answered an operation after `roundTrip` (wall time).
        case answered(operation: String, roundTrip: Duration)
        /// The gateway refused an operation.
        case refused(operation: String, code: String, message: String)
        /// A preview offer arrived.
        case offered(request: String)
        /// The agent was connected to a call.
        case connected(request: String, queue: String)
        /// The call's contact card, when it has one (it follows ``connected(request:queue:)``).
        case contactShown(request: String, contact: String, attempt: String)
        /// The connection ended.
        case disconnected(reason: String)
        /// A new connection is up after the last one ended (the `count`th time); the agent logs
        /// in again and resumes its session.
        case reconnected(count: Int)
    }

    /// How an agent whose connection ends connects again: after `initialDelay`, doubling up to
    /// `maximumDelay` (wall time), each with up to a quarter more at random so that a gateway's
    /// thousands of agents do not all come back in the same instant.
    public struct Reconnection: Hashable, Sendable {
        public var initialDelay: Duration
        public var maximumDelay: Duration

        public init(initialDelay: Duration = .milliseconds(250), maximumDelay: Duration = .seconds(5)) {
            self.initialDelay = initialDelay
            self.maximumDelay = maximumDelay
        }

        /// The wait before the `failures`th try in a row (1 for the first).
        public func delay(after failures: Int) -> Duration {
            var delay = initialDelay
            for _ in 1..<max(1, failures) where delay < maximumDelay { delay *= 2 }
            delay = min(delay, maximumDelay)
            return delay + delay * Double.random(in: 0..<0.25)
        }
    }

    /// The gateway refused the agent's login.
    public struct LoginRefused: Error, Hashable, Sendable, CustomStringConvertible {
        public var code: String
        public var message: String
        public var description: String { "login refused: \(code): \(message)" }
    }

    /// Where and who: the gateway's cluster address and the agent's credentials.
    public struct Account: Hashable, Sendable {
        public var login: String
        public var password: String
        /// The phone given at login (a SIP URI), or `nil` for none.
        public var phone: String?
        /// A resume token to log in with instead of the password (one HMAC at the gateway
        /// instead of a password check), or `nil` to use the password.
        public var resumeToken: String?

        public init(login: String, password: String, phone: String? = nil, resumeToken: String? = nil) {
            self.login = login
            self.password = password
            self.phone = phone
            self.resumeToken = resumeToken
        }
    }

    private var behaviour: SyntheticAgentBehaviour
    private let account: Account
    private let clock: any DialerClock
    private let observe: @Sendable (Event) -> Void
    private var link: ClusterLink?
    private var outbox: AsyncStream<SyntheticAgentBehaviour.Operation>.Continuation?
    private var timers: [UInt64: Task<Void, Never>] = [:]
    /// Whether the agent was ever connected: a later connection resumes its session.
    private var everConnected = false
    /// A login after a reconnection is answered with the session to resume.
    private var resuming = false
    private var reconnections = 0
    /// The agent logged out on purpose: it does not connect again.
    private var leaving = false
    /// The task running ``run(host:port:settings:reconnection:)`` was cancelled: the run is
    /// over, and an operation its stop cuts off is not the gateway's failure.
    private nonisolated let stopped = Atomic<Bool>(false)

    /// An agent that will log in as `account`, drawing its behaviour from `seed`.
    ///
    /// - Parameter clock: the clock its timers run on (call time); a ``ScaledClock`` speeds
    ///   the agent up as it speeds up the trunk.
    public init(
        account: Account, profile: SyntheticAgentProfile, seed: UInt64, clock: any DialerClock,
        observe: @escaping @Sendable (Event) -> Void = { _ in }
    ) {
        self.account = account
        self.behaviour = SyntheticAgentBehaviour(profile: profile, seed: seed)
        self.clock = clock
        self.observe = observe
    }

    /// Application frames exchanged with the gateway; the handshake and heartbeats are not counted.
    public struct FrameCount: Hashable, Sendable {
        public var sent = 0
        public var received = 0

        public init(sent: Int = 0, received: Int = 0) {
            self.sent = sent
            self.received = received
        }

        /// Two counts added up.
        public static func + (lhs: FrameCount, rhs: FrameCount) -> FrameCount {
            FrameCount(sent: lhs.sent + rhs.sent, received: lhs.received + rhs.received)
        }
    }

    /// What the agent counted so far.
    public var tally: SyntheticAgentBehaviour.Tally { behaviour.tally }
    /// The frames the agent sent and received so far, for load figures.
    public private(set) var frames = FrameCount()
    /// The agent's phase as it sees it.
    public var phase: SyntheticAgentBehaviour.Phase { behaviour.phase }

    /// Connects, logs in and works until the task is cancelled.
    ///
    /// When the connection ends (the gateway restarted, the network failed) or cannot be made,
    /// the agent connects again after a backoff (`reconnection`), logs in and resumes its
    /// session where the gateway says it stands. With `reconnection` `nil` it returns (or
    /// throws) when its one connection ends instead.
    public nonisolated func run(
        host: String, port: Int, settings: ConnectionSettings, reconnection: Reconnection? = Reconnection()
    ) async throws {
        try await withTaskCancellationHandler {
            var failures = 0
            while true {
                do {
                    let connection = try await ClusterClient.connect(host: host, port: port, settings: settings)
                    failures = 0
                    try await serve(connection)
                } catch {
                    if Task.isCancelled || reconnection == nil { throw error }
                }
                guard let reconnection, !Task.isCancelled, await !leaving else { return }
                failures += 1
                try await Task.sleep(for: reconnection.delay(after: failures))
            }
        } onCancel: {
            stopped.store(true, ordering: .releasing)
        }
    }

    private nonisolated func serve(_ connection: ClusterConnection) async throws {
        try await connection.run { link, inbound in
            let operations = await self.attach(link)
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await self.send(operations, over: link) }
                    group.addTask {
                        try await inbound.forEach { envelope in await self.receive(envelope) }
                        self.observe(.disconnected(reason: "the gateway closed the connection"))
                    }
                    await self.begin()
                    defer { group.cancelAll() }
                    try await group.next()
                }
            } catch {
                await self.detach()
                throw error
            }
            await self.detach()
        }
    }

    private func attach(_ link: ClusterLink) -> AsyncStream<SyntheticAgentBehaviour.Operation> {
        self.link = link
        let (operations, continuation) = AsyncStream.makeStream(of: SyntheticAgentBehaviour.Operation.self)
        outbox = continuation
        return operations
    }

    private func begin() {
        guard everConnected else {
            everConnected = true
            perform(behaviour.start())
            return
        }
        reconnections += 1
        resuming = true
        observe(.reconnected(count: reconnections))
        perform(behaviour.reconnected())
    }

    private func detach() {
        outbox?.finish()
        outbox = nil
        link = nil
        for task in timers.values { task.cancel() }
        timers = [:]
    }

    /// Logs out (after the current call, if any) and lets ``run(host:port:settings:)`` end
    /// when the gateway closes or the caller cancels.
    public func logOut() {
        leaving = true
        outbox?.yield(.logOut)
    }

    // MARK: - Carrying out the behaviour

    private func perform(_ actions: [SyntheticAgentBehaviour.Action]) {
        for action in actions {
            switch action {
            case .send(let operation):
                outbox?.yield(operation)
            case .setTimer(let timer, let delay):
                let clock = self.clock
                timers[timer.id] = Task {
                    do {
                        try await clock.sleep(until: clock.now() + delay)
                    } catch {
                        return
                    }
                    self.fire(timer)
                }
            }
        }
    }

    private func fire(_ timer: SyntheticAgentBehaviour.Timer) {
        timers[timer.id] = nil
        perform(behaviour.timerFired(timer))
    }

    /// Sends the operations one at a time, in order, each waiting for its answer.
    private nonisolated func send(
        _ operations: AsyncStream<SyntheticAgentBehaviour.Operation>, over link: ClusterLink
    ) async throws {
        for await operation in operations {
            let message = Self.message(for: operation, account: account)
            let name = Envelope(message).kindName
            let started = ContinuousClock.now
            do {
                let reply = try await link.request(message, timeout: .seconds(10))
                let roundTrip = ContinuousClock.now - started
                await countFrames(sent: 1, received: 1)
                if case .error(let error) = reply.message {
                    observe(.refused(operation: name, code: error.code.name, message: error.message))
                    // Without a session nothing else can be done: connect again later (a
                    // restarted gateway may not reach the manager yet).
                    if case .logIn = operation { throw LoginRefused(code: error.code.name, message: error.message) }
                    // A disposition refused with INVALID_STATE (the manager has no result for the
                    // call yet) or INTERNAL (the manager did not answer the gateway) asks to be sent
                    // again.
                    await refused(operation, retryable: error.code == .invalidState || error.code == .internal)
                } else {
                    await answered(operation)
                    observe(.answered(operation: name, roundTrip: roundTrip))
                    if case .agentLoggedIn(let loggedIn) = reply.message { await self.loggedIn(loggedIn) }
                    // An acknowledgement's status is not applied: the gateway pushes every change
                    // of the agent's state, in order, on the same connection, while a reply is
                    // read by this loop and may arrive after newer pushes (a set-ready answered
                    // "available" after the pushes of the call that followed would undo it, and
                    // the call's wrap-up would then be ignored and its disposition never sent).
                }
            } catch let error as LoginRefused {
                throw error
            } catch {
                await countFrames(sent: 1, received: 0)
                // Cut off by the run's own stop (the connection closes under it): not an error
                // of the gateway's. A connection lost while the run goes on still counts.
                if stopped.load(ordering: .acquiring) { return }
                observe(.refused(operation: name, code: "NO_REPLY", message: "\(error)"))
                await refused(operation, retryable: false)
            }
        }
    }

    private func loggedIn(_ reply: Dialer_V1_AgentLoggedIn) {
        guard resuming else { return perform(behaviour.loggedIn()) }
        resuming = false
        let status = reply.status
        perform(
            behaviour.resumed(
                state: status.state, request: status.request.isEmpty ? nil : status.request,
                wrapUpRemaining: status.state == "wrap-up" ? .milliseconds(Int64(status.wrapUpRemainingMs)) : nil))
    }

    private func countFrames(sent: Int, received: Int) {
        frames.sent += sent
        frames.received += received
    }

    private func refused(_ operation: SyntheticAgentBehaviour.Operation, retryable: Bool) {
        perform(behaviour.refused(operation, retryable: retryable))
    }

    private func answered(_ operation: SyntheticAgentBehaviour.Operation) { behaviour.answered(operation) }

    private func receive(_ envelope: Envelope) {
        frames.received += 1
        switch envelope.message {
        case .agentStatus(let status):
            receive(status: status)
        case .agentOffer(let offer):
            observe(.offered(request: offer.request))
            perform(behaviour.offered(request: offer.request))
        case .agentOfferWithdrawn(let withdrawn):
            perform(behaviour.offerWithdrawn(request: withdrawn.request))
        case .agentCall(let call):
            observe(.connected(request: call.request, queue: call.queue))
            if !call.contact.attempt.isEmpty {
                observe(
                    .contactShown(request: call.request, contact: call.contact.contact, attempt: call.contact.attempt))
            }
            let attempt = call.contact.attempt.isEmpty ? nil : call.contact.attempt
            perform(behaviour.connected(request: call.request, attempt: attempt))
        case .error(let error):
            observe(.refused(operation: "push", code: error.code.name, message: error.message))
            _ = behaviour.refused()
        default:
            break
        }
    }

    private func receive(status: Dialer_V1_AgentStatus) {
        let remaining: Duration? =
            status.state == "wrap-up" ? .milliseconds(Int64(status.wrapUpRemainingMs)) : nil
        perform(
            behaviour.statusChanged(
                state: status.state, request: status.request.isEmpty ? nil : status.request,
                wrapUpRemaining: remaining))
    }

    private nonisolated static func message(
        for operation: SyntheticAgentBehaviour.Operation, account: Account
    ) -> Envelope.OneOf_Message {
        switch operation {
        case .logIn:
            var login = Dialer_V1_AgentLogin()
            login.login = account.login
            if let token = account.resumeToken, !token.isEmpty {
                login.resumeToken = token
            } else {
                login.password = account.password
            }
            login.phone = account.phone ?? ""
            return .agentLogin(login)
        case .setReady:
            return .agentSetReady(Dialer_V1_AgentSetReady())
        case .setNotReady(let reason):
            var message = Dialer_V1_AgentSetNotReady()
            message.reason = reason
            return .agentSetNotReady(message)
        case .answerOffer(let request, let accept):
            var message = Dialer_V1_AgentOfferAnswer()
            message.request = request
            message.accept = accept
            return .agentOfferAnswer(message)
        case .hangUp(let request):
            var message = Dialer_V1_AgentHangup()
            message.request = request
            return .agentHangup(message)
        case .extendWrapUp(let seconds):
            var message = Dialer_V1_AgentExtendWrapUp()
            message.seconds = UInt32(clamping: seconds)
            return .agentExtendWrapUp(message)
        case .disposition(let attempt, let name):
            var message = Dialer_V1_AgentDisposition()
            message.attempt = attempt
            message.disposition = name
            return .agentDisposition(message)
        case .logOut:
            return .agentLogout(Dialer_V1_AgentLogout())
        }
    }
}
