public import DialerCore
public import DialerProtocol
public import DialerTransport
public import Logging
import Synchronization

/// Where the gateway sends envelopes without waiting: a node's or an agent's connection.
public protocol EnvelopeSink: Sendable {
    /// Queues `envelope` for the peer; a closed connection drops it.
    func deliver(_ envelope: Envelope)
}

/// A cluster connection as an envelope sink.
public struct LinkSink: EnvelopeSink {
    public let link: ClusterLink
    public init(_ link: ClusterLink) { self.link = link }
    public func deliver(_ envelope: Envelope) { link.sendNow(envelope) }
}

/// An operation refused with a non-fatal protocol error: the connection goes on.
public struct OperationRefused: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: ProtocolErrorCode
    public var message: String

    public init(_ code: ProtocolErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    init(_ error: ReservationError) {
        self.init(error.protocolCode, error.protocolMessage)
    }

    public var description: String { "\(code.name): \(message)" }

    /// The `Error` envelope answering the request with `correlationID`.
    public func envelope(correlationID: UInt64) -> Envelope {
        .error(code, message, correlationID: correlationID)
    }
}

/// An agent's connections, as the reservation service pushes to them: offers, state changes,
/// calls. Owned by the agent's session actor, which attaches and detaches connections.
public final class AgentOutbox: Sendable {
    private let sinks = Mutex<[UInt64: any EnvelopeSink]>([:])

    public init() {}

    /// Adds a connection.
    public func attach(_ id: UInt64, _ sink: any EnvelopeSink) {
        sinks.withLock { $0[id] = sink }
    }

    /// Makes `id` the agent's only connection; returns the connections it replaced.
    public func replaceAll(with id: UInt64, _ sink: any EnvelopeSink) -> [UInt64: any EnvelopeSink] {
        sinks.withLock { sinks in
            let previous = sinks.filter { $0.key != id }
            sinks = [id: sink]
            return previous
        }
    }

    /// Whether `id` is one of the agent's connections.
    public func isAttached(_ id: UInt64) -> Bool { sinks.withLock { $0[id] != nil } }

    /// Removes a connection; returns how many remain.
    @discardableResult
    public func detach(_ id: UInt64) -> Int {
        sinks.withLock { sinks in
            sinks[id] = nil
            return sinks.count
        }
    }

    /// How many connections the agent has.
    public var connectionCount: Int { sinks.withLock { $0.count } }

    /// Sends `message` (correlation id 0) to every connection of the agent.
    public func push(_ message: Envelope.OneOf_Message) {
        let envelope = Envelope(message)
        for sink in sinks.withLock({ Array($0.values) }) { sink.deliver(envelope) }
    }
}

/// The gateway's reservation service: holds the ``ReservationBook`` and does what it says.
///
/// Every event (a node's message, an agent's operation, a timer, the queue map) becomes one
/// call on the book with the clock's moment; the returned actions are performed in order:
/// answers and revocations go to the requesting node's connection, offers and state pushes
/// to the agent's outbox, timers are armed on the injected clock. Queue pictures go to each
/// queue's owning node on change, at most once per picture interval: the actor takes each
/// picture's source (no walk of the queue's agents) and a ``PicturePublisher`` builds, encodes
/// and sends it on a thread of its own, so that requests and agent operations never wait
/// behind a picture of thousands of agents.
public actor ReservationService {
    /// What the service needs besides the book's own configuration.
    public struct Settings: Sendable {
        /// Lease lengths, timeouts and the log's capacity.
        public var book: ReservationBook.Configuration
        /// The least time between two pictures of one queue.
        public var pictureInterval: Duration
        /// The share of the service's time one queue's pictures may take: a costly picture
        /// (a queue of thousands of agents) spaces the queue's next one out beyond the interval
        /// (``PictureSchedule``).
        public var pictureCostShare: Double
        /// How many connected attempts per agent are remembered for their disposition.
        public var attemptsPerAgent: Int
        /// How long a node whose last connection closed may take to come back before its
        /// connected calls are ended for their agents: the cluster's lease period, after which
        /// the node can no longer be dialing (sooner when the queue map moves its queue on).
        public var nodeLossGrace: Duration

        public init(
            book: ReservationBook.Configuration = .init(),
            pictureInterval: Duration = .milliseconds(100),
            pictureCostShare: Double = 0.1,
            attemptsPerAgent: Int = 16,
            nodeLossGrace: Duration = .seconds(10)
        ) {
            self.book = book
            self.pictureInterval = pictureInterval
            self.pictureCostShare = pictureCostShare
            self.attemptsPerAgent = attemptsPerAgent
            self.nodeLossGrace = nodeLossGrace
        }
    }

    private var book: ReservationBook
    private let settings: Settings
    private let clock: any DialerClock
    private let logger: Logger
    /// Live connections of each node, by connection number.
    private var nodeConnections: [MemberID: [UInt64: any EnvelopeSink]] = [:]
    private var nextConnection: UInt64 = 1
    /// The connection each held request came on: its answer goes back there.
    private var origins: [RequestID: UInt64] = [:]
    /// The request being taken while its first actions are performed: an answer to it then is
    /// given on receipt (`AgentRequestAnswer.held` false), which the node's reservation round
    /// trip measures apart from answers that waited for an agent.
    private var requestOnReceipt: RequestID?
    /// Whether ``requestOnReceipt`` got its answer while it was taken.
    private var answeredOnReceipt = false
    /// The contact of each held request, for the agent's offer and call.
    private var contacts: [RequestID: Dialer_V1_ContactCard] = [:]
    /// Calls connected to each agent since the gateway started (the live panel's count).
    private var callsConnected: [AgentID: Int] = [:]
    /// Attempts connected to each agent and not yet dispositioned, oldest first.
    private var attempts: [AgentID: [ConnectedAttempt]] = [:]
    /// The agent of each attempt in ``attempts``: another agent's attempt is told apart without
    /// a scan of every agent's list.
    private var attemptAgents: [AttemptID: AgentID] = [:]
    /// Nodes whose last connection closed, with the task that ends their calls after the grace.
    private var absentNodes: [MemberID: Task<Void, Never>] = [:]
    /// The manager's latest queue map, unassigned queues included.
    private var queueMap: [QueueID: (owner: MemberID?, epoch: Epoch)] = [:]
    /// Calls ended for their agents because their node was lost, by node: if the node comes
    /// back after all (a process that was frozen), it is told to hang them up, so that no
    /// customer stays on a line without an agent.
    private var lostCalls: [MemberID: [RequestID]] = [:]
    private var outboxes: [AgentID: AgentOutbox] = [:]
    /// The phones agents gave at their latest login (SIP URIs), sent to a node with each grant.
    private var phones: [AgentID: String] = [:]
    private var timers: [UInt64: Task<Void, Never>] = [:]
    private var pictures: PictureSchedule
    private var pictureSequence: [QueueID: UInt64] = [:]
    private var pictureWake: Moment?
    /// The timer for ``pictureWake``; a nearer one replaces (cancels) it.
    private var pictureTimer: Task<Void, Never>?
    /// Builds and sends the pictures off this actor, in the order they were taken.
    private let publisher = PicturePublisher()
    /// The publisher's loop, started with the first picture.
    private var publishing: Task<Void, Never>?

    public init(settings: Settings = Settings(), clock: any DialerClock, logger: Logger) {
        self.settings = settings
        self.book = ReservationBook(configuration: settings.book)
        self.pictures = PictureSchedule(interval: settings.pictureInterval, costShare: settings.pictureCostShare)
        self.clock = clock
        self.logger = logger
    }

    // MARK: Views

    /// The grant log's entries at or after `moment`, oldest first, and whether some of those may
    /// have been dropped (the log is bounded by the book's log capacity).
    public func log(since moment: Moment) -> (entries: [ReservationLogEntry], truncated: Bool) {
        book.log(since: moment)
    }

    /// The agent's session, if the agent ever logged in.
    public func session(of agent: AgentID) -> AgentSession? { book.agent(agent) }

    /// The queue's picture now.
    public func picture(of queue: QueueID) -> QueuePicture { book.picture(of: queue, now: clock.now()) }

    /// A request the book holds.
    public func heldRequest(_ id: RequestID) -> ReservationBook.HeldRequest? { book.heldRequest(id) }

    // MARK: Cluster

    /// Applies the manager's queue map: a newer epoch fences the queue's old requests, and the
    /// connected calls of an absent node whose queue moved on (or became unassigned) end: the
    /// manager moves a queue only after its lease lapsed, so that node is gone.
    public func queueOwners(_ entries: [(queue: QueueID, owner: MemberID?, epoch: Epoch)]) {
        let now = clock.now()
        for entry in entries {
            queueMap[entry.queue] = (entry.owner, entry.epoch)
            guard let owner = entry.owner else { continue }
            do {
                let actions = try book.setQueueOwner(entry.queue, node: owner, epoch: entry.epoch, now: now)
                if book.owner(of: entry.queue)?.node == owner { pictures.markChanged(entry.queue) }
                perform(actions, now: now)
            } catch {
                // A request already carried a newer epoch than this map: the map is late.
                logger.debug("queue map entry refused", metadata: ["queue": "\(entry.queue)", "error": "\(error)"])
            }
        }
        for node in absentNodes.keys.sorted() { endMovedCalls(of: node) }
        flushPictures()
    }

    /// A node connected; returns the connection's number for ``nodeDisconnected(_:connection:)``.
    public func nodeConnected(_ node: MemberID, sink: any EnvelopeSink) -> UInt64 {
        let number = nextConnection
        nextConnection += 1
        nodeConnections[node, default: [:]][number] = sink
        // Back within the grace: the node still holds its calls and ends them itself.
        absentNodes.removeValue(forKey: node)?.cancel()
        // Back too late: the calls it may still hold have no agent any more.
        for id in lostCalls.removeValue(forKey: node) ?? [] {
            var hangup = Dialer_V1_HangupRequest()
            hangup.request = id.rawValue
            sink.deliver(Envelope(.hangupRequest(hangup)))
        }
        // A node that (re)connects needs the pictures of its queues now, not at the next change.
        for queue in book.queues(ownedBy: node) { pictures.markChanged(queue) }
        flushPictures()
        return number
    }

    /// A node's connection closed. When it was the node's last, the node is lost: its pending
    /// requests are rejected and its unconfirmed grants revoked. Its connected calls end for
    /// their agents when its queue moves on in the manager's map, or after the node-loss grace
    /// if it has not come back by then.
    public func nodeDisconnected(_ node: MemberID, connection: UInt64) {
        nodeConnections[node]?[connection] = nil
        guard nodeConnections[node]?.isEmpty ?? true else { return }
        nodeConnections[node] = nil
        let now = clock.now()
        perform(book.nodeLost(node, now: now), now: now)
        absentNodes[node]?.cancel()
        let (clock, deadline) = (self.clock, now + settings.nodeLossGrace)
        absentNodes[node] = Task { [weak self] in
            do { try await clock.sleep(until: deadline) } catch { return }
            await self?.nodeLossGraceEnded(node)
        }
        endMovedCalls(of: node)
        flushPictures()
    }

    /// Node-loss graces that ran out (the node back by then or not), for tests to wait on.
    private(set) var nodeLossGracesEnded = 0

    /// How many lost calls per node are remembered for a hang-up if the node comes back.
    static let lostCallsKept = 1_000

    /// Whether the node has no connection to the gateway now.
    public func isAbsent(_ node: MemberID) -> Bool { nodeConnections[node] == nil }

    private func nodeLossGraceEnded(_ node: MemberID) {
        nodeLossGracesEnded += 1
        guard nodeConnections[node] == nil, absentNodes.removeValue(forKey: node) != nil else { return }
        endLostCalls(book.connectedCalls(ofNode: node).map(\.request.id), why: "the node did not come back")
        flushPictures()
    }

    /// Ends the absent node's connected calls whose queue the manager has moved past their epoch
    /// or left unassigned.
    private func endMovedCalls(of node: MemberID) {
        let moved = book.connectedCalls(ofNode: node).filter { held in
            guard let entry = queueMap[held.request.queue] else { return false }
            return entry.owner != node || entry.epoch > held.request.epoch
        }
        endLostCalls(moved.map(\.request.id), why: "the queue moved on")
    }

    /// Ends connected calls whose node is gone: their agents go to wrap-up, and their
    /// dispositions go to the manager marked as calls whose node was lost.
    private func endLostCalls(_ requests: [RequestID], why: String) {
        guard !requests.isEmpty else { return }
        let now = clock.now()
        let (ended, actions) = book.endLostCalls(requests, now: now)
        for call in ended {
            logger.notice(
                "call ended for its agent: its node is lost",
                metadata: [
                    "node": "\(call.request.node)", "queue": "\(call.request.queue)", "request": "\(call.request.id)",
                    "agent": "\(call.agent)", "reason": "\(why)",
                ])
            if let index = attempts[call.agent]?.firstIndex(where: { $0.request == call.request.id }) {
                attempts[call.agent]?[index].nodeLost = true
            }
            var lost = lostCalls[call.request.node, default: []]
            lost.append(call.request.id)
            // A node that never comes back must not grow the list without bound.
            if lost.count > Self.lostCallsKept { lost.removeFirst(lost.count - Self.lostCallsKept) }
            lostCalls[call.request.node] = lost
        }
        perform(actions, now: now)
        for call in ended { forgetIfDone(call.request.id) }
    }

    // MARK: Node operations

    /// A node's request for an agent; the answer comes as an `AgentRequestAnswer`, at once or
    /// once an agent is free (or the deadline passed). Returns whether it was answered at once.
    @discardableResult
    public func request(
        _ request: ReservationRequest,
        contact: Dialer_V1_ContactCard?,
        connection: UInt64
    ) throws(OperationRefused) -> Bool {
        let now = clock.now()
        let actions: [ReservationAction]
        do {
            actions = try book.request(request, now: now)
        } catch {
            throw OperationRefused(error)
        }
        origins[request.id] = connection
        if let contact { contacts[request.id] = contact }
        pictures.markChanged(request.queue)
        requestOnReceipt = request.id
        answeredOnReceipt = false
        perform(actions, now: now)
        requestOnReceipt = nil
        forgetIfDone(request.id)
        flushPictures()
        return answeredOnReceipt
    }

    /// The node bridged the call to the granted agent.
    ///
    /// - Parameter contact: the call's contact and attempt, when the request did not carry them
    ///   (a progressive reservation is made before its contact is dialed); the agent's call
    ///   shows it, and the agent's disposition names its attempt.
    public func confirm(
        _ id: RequestID, epoch: Epoch, from node: MemberID, contact: Dialer_V1_ContactCard? = nil
    ) throws(OperationRefused) {
        let held = try heldBy(node, id)
        let now = clock.now()
        do {
            perform(try book.confirm(id, epoch: epoch, now: now), now: now)
        } catch {
            throw OperationRefused(error)
        }
        if let contact, case .connected = book.heldRequest(id)?.status { contacts[id] = contact }
        if case .connected(let agent) = book.heldRequest(id)?.status {
            connected(agent, request: held.request, now: now)
        }
        flushPictures()
    }

    /// The node gives the granted agent back.
    public func release(_ id: RequestID, from node: MemberID) throws(OperationRefused) {
        _ = try heldBy(node, id)
        let now = clock.now()
        do {
            perform(try book.release(id, now: now), now: now)
        } catch {
            throw OperationRefused(error)
        }
        forgetIfDone(id)
        flushPictures()
    }

    /// The node withdraws its request.
    public func cancel(_ id: RequestID, from node: MemberID) throws(OperationRefused) {
        _ = try heldBy(node, id)
        let now = clock.now()
        do {
            perform(try book.cancel(id, now: now), now: now)
        } catch {
            throw OperationRefused(error)
        }
        forgetIfDone(id)
        flushPictures()
    }

    /// The call of a confirmed request ended; the agent goes to wrap-up.
    public func callEnded(_ id: RequestID, from node: MemberID) throws(OperationRefused) {
        _ = try heldBy(node, id)
        let now = clock.now()
        do {
            perform(try book.callEnded(id, now: now), now: now)
        } catch {
            throw OperationRefused(error)
        }
        forgetIfDone(id)
        flushPictures()
    }

    private func heldBy(_ node: MemberID, _ id: RequestID) throws(OperationRefused) -> ReservationBook.HeldRequest {
        guard let held = book.heldRequest(id) else {
            throw OperationRefused(.unknownRequest, "request \(id) is not held")
        }
        guard held.request.node == node else {
            throw OperationRefused(.notOwner, "request \(id) was made by another node")
        }
        return held
    }

    // MARK: Agent operations

    /// Logs the agent in (not ready), or resumes a session still logged in (a reconnect within
    /// the grace period); pushes go to `outbox` from now on.
    public func logIn(
        _ agent: AgentID, skills: AgentSkills, outbox: AgentOutbox, phone: String? = nil
    ) throws(OperationRefused) -> AgentSession {
        outboxes[agent] = outbox
        phones[agent] = phone
        let now = clock.now()
        if let session = book.agent(agent), session.state.isLoggedIn { return session }
        do {
            perform(try book.logIn(agent, skills: skills, now: now), now: now)
        } catch {
            throw OperationRefused(error)
        }
        flushPictures()
        return try current(agent)
    }

    /// The agent clicked ready.
    public func makeReady(_ agent: AgentID) throws(OperationRefused) -> AgentSession {
        try agentEvent(agent) { (book, now) throws(ReservationError) in try book.makeReady(agent, now: now) }
    }

    /// The agent asked for a pause.
    public func pause(_ agent: AgentID, reason: PauseReason) throws(OperationRefused) -> AgentSession {
        try agentEvent(agent) { (book, now) throws(ReservationError) in
            try book.pause(agent, reason: reason, now: now)
        }
    }

    /// The agent asked to log out.
    public func logOut(_ agent: AgentID) throws(OperationRefused) -> AgentSession {
        try agentEvent(agent) { (book, now) throws(ReservationError) in try book.logOut(agent, now: now) }
    }

    /// The agent extended their wrap-up.
    public func extendWrapUp(_ agent: AgentID, by extra: Duration) throws(OperationRefused) -> AgentSession {
        try agentEvent(agent) { (book, now) throws(ReservationError) in
            try book.extendWrapUp(agent, by: extra, now: now)
        }
    }

    /// The agent accepted or skipped a preview offer.
    public func answerOffer(_ agent: AgentID, request id: RequestID, accept: Bool) throws(OperationRefused)
        -> AgentSession
    {
        try ownRequest(agent, id)
        let session = try agentEvent(agent) { (book, now) throws(ReservationError) in
            if accept { return try book.acceptOffer(agent, request: id, now: now) }
            return try book.rejectOffer(agent, request: id, now: now)
        }
        forgetIfDone(id)
        return session
    }

    /// The agent hung up their call: the node that placed it is asked to end it, and answers
    /// with `CallEnded` when it has. When the node has no connection, nobody can end it there:
    /// the call ends for the agent now, as a call whose node was lost.
    public func hangUp(_ agent: AgentID, request id: RequestID) throws(OperationRefused) -> AgentSession {
        try ownRequest(agent, id)
        guard let held = book.heldRequest(id), case .connected = held.status else {
            throw OperationRefused(.invalidState, "request \(id) is not a connected call")
        }
        if nodeConnections[held.request.node] == nil {
            endLostCalls([id], why: "the agent hung up")
            flushPictures()
            return try current(agent)
        }
        var hangup = Dialer_V1_HangupRequest()
        hangup.request = id.rawValue
        sendToNode(held.request.node, about: id, .hangupRequest(hangup))
        return try current(agent)
    }

    /// Checks that `attempt` was connected to `agent`, before its disposition goes to the manager.
    ///
    /// - Returns: whether the gateway ended the call because its node was lost (the manager may
    ///   not have closed the attempt yet, and records that an agent talked).
    @discardableResult
    public func checkDisposition(_ agent: AgentID, attempt: AttemptID) throws(OperationRefused) -> Bool {
        _ = try current(agent)
        if let entry = attempts[agent]?.first(where: { $0.attempt == attempt }) { return entry.nodeLost }
        if let holder = attemptAgents[attempt], holder != agent {
            throw OperationRefused(.forbidden, "attempt \(attempt) belongs to another agent")
        }
        throw OperationRefused(.unknownRequest, "attempt \(attempt) was not connected to \(agent)")
    }

    /// Whether the agent may see the desk (script, dispositions, history) of `attempt`: the
    /// attempt of the offer, reservation or call the agent holds now, or of a call it talked on
    /// whose disposition is still owed.
    public func checkDesk(_ agent: AgentID, attempt: AttemptID) throws(OperationRefused) {
        let session = try current(agent)
        if attempts[agent]?.contains(where: { $0.attempt == attempt }) == true { return }
        let request = Dialer_V1_AgentStatus(session, now: clock.now()).request
        if !request.isEmpty, contacts[RequestID(request)]?.attempt == attempt.rawValue { return }
        throw OperationRefused(.unknownRequest, "attempt \(attempt) is not offered or connected to \(agent)")
    }

    /// What the supervisor's live panel shows of this gateway (every logged-in agent's state and
    /// time in it, calls and current call, and every known queue's waiting customers), taken at a
    /// cost that does not grow with the agents (the tables are shared copy-on-write): the view of
    /// 10,000 agents and a picture of each queue is then built off the actor
    /// (``GatewayLiveSource/view()``), so that reservations do not wait behind it.
    public func liveSource() -> GatewayLiveSource {
        let now = clock.now()
        return GatewayLiveSource(
            at: now, agents: book.agents, contacts: contacts, callsConnected: callsConnected, phones: phones,
            queues: queueMap.keys.sorted { $0.rawValue < $1.rawValue }.map { book.pictureSource(of: $0, now: now) })
    }

    /// The manager recorded the disposition: wrap-up for its call ends now.
    public func dispositionRecorded(_ agent: AgentID, attempt: AttemptID) throws(OperationRefused) -> AgentSession {
        let entry = attempts[agent]?.first { $0.attempt == attempt }
        attempts[agent]?.removeAll { $0.attempt == attempt }
        if entry != nil, attemptAgents[attempt] == agent { attemptAgents[attempt] = nil }
        guard let entry, let session = book.agent(agent), case .wrapUp(let wrapUp) = session.state,
            wrapUp.request == entry.request
        else { return try current(agent) }
        return try agentEvent(agent) { (book, now) throws(ReservationError) in try book.finishWrapUp(agent, now: now) }
    }

    /// The agent's connections are gone and the grace period passed: the agent is logged out.
    public func agentLost(_ agent: AgentID) {
        let now = clock.now()
        guard let session = book.agent(agent), session.state.isLoggedIn else { return }
        do {
            perform(try book.agentDisconnected(agent, now: now), now: now)
        } catch {
            logger.debug("agent loss ignored", metadata: ["agent": "\(agent)", "error": "\(error)"])
        }
        flushPictures()
    }

    /// The directory changed: logged-in agents get their new skills; agents no longer in it
    /// are logged out (after their call, if on one).
    public func directoryChanged(_ skills: [AgentID: AgentSkills]) {
        let now = clock.now()
        for (agent, session) in book.agents where session.state.isLoggedIn {
            do {
                if let new = skills[agent] {
                    guard new != session.skills else { continue }
                    for queue in Set(new.ranks.keys).union(session.skills.ranks.keys) { pictures.markChanged(queue) }
                    perform(try book.updateSkills(agent, skills: new, now: now), now: now)
                } else {
                    perform(try book.logOut(agent, now: now), now: now)
                }
            } catch {
                logger.debug("directory change not applied", metadata: ["agent": "\(agent)", "error": "\(error)"])
            }
        }
        flushPictures()
    }

    /// Stops every timer (the process is stopping).
    public func shutdown() {
        for task in timers.values { task.cancel() }
        timers = [:]
        for task in absentNodes.values { task.cancel() }
        absentNodes = [:]
        pictureTimer?.cancel()
        publisher.finish()
    }

    private func current(_ agent: AgentID) throws(OperationRefused) -> AgentSession {
        guard let session = book.agent(agent), session.state.isLoggedIn else {
            throw OperationRefused(.notLoggedIn, "agent \(agent) is not logged in")
        }
        return session
    }

    /// Refuses an operation on a request held by another agent (FORBIDDEN) or not held at all.
    private func ownRequest(_ agent: AgentID, _ id: RequestID) throws(OperationRefused) {
        _ = try current(agent)
        guard let held = book.heldRequest(id) else {
            throw OperationRefused(.unknownRequest, "request \(id) is not held")
        }
        let holder: AgentID?
        switch held.status {
        case .pending: holder = nil
        case .offered(let agent, _), .granted(let agent, _), .connected(let agent): holder = agent
        }
        guard holder == agent else {
            throw OperationRefused(
                holder == nil ? .unknownRequest : .forbidden, "request \(id) is not \(agent)'s")
        }
    }

    private func agentEvent(
        _ agent: AgentID,
        _ event: (inout ReservationBook, Moment) throws(ReservationError) -> [ReservationAction]
    ) throws(OperationRefused) -> AgentSession {
        _ = try current(agent)
        let now = clock.now()
        do {
            perform(try event(&book, now), now: now)
        } catch {
            throw OperationRefused(error)
        }
        flushPictures()
        guard let session = book.agent(agent) else { throw OperationRefused(.notLoggedIn, "agent \(agent) is gone") }
        return session
    }

    // MARK: Performing actions

    private func perform(_ actions: [ReservationAction], now: Moment) {
        for action in actions {
            switch action {
            case .granted(let grant):
                pictures.markChanged(grant.queue)
                if var answer = Dialer_V1_AgentRequestAnswer(action) {
                    answer.agentPhone = phones[grant.agent] ?? ""
                    answer.held = grant.request != requestOnReceipt
                    if !answer.held { answeredOnReceipt = true }
                    sendToNode(grant.node, about: grant.request, .agentRequestAnswer(answer))
                }
            case .rejected(let id, let node, _), .timedOut(let id, let node):
                if var answer = Dialer_V1_AgentRequestAnswer(action) {
                    answer.held = id != requestOnReceipt
                    if !answer.held { answeredOnReceipt = true }
                    sendToNode(node, about: id, .agentRequestAnswer(answer))
                }
                forgetIfDone(id)
            case .grantRevoked(let id, let node, let agent, let reason):
                var revoked = Dialer_V1_GrantRevoked()
                revoked.request = id.rawValue
                revoked.agent = agent.rawValue
                revoked.reason = reason.wireName
                sendToNode(node, about: id, .grantRevoked(revoked))
                forgetIfDone(id)
            case .offer(let offer):
                var message = Dialer_V1_AgentOffer()
                message.request = offer.request.rawValue
                message.queue = offer.queue.rawValue
                message.expiresInMs = UInt32(clamping: max(.zero, offer.until - now).totalMilliseconds)
                if let contact = contacts[offer.request] { message.contact = contact }
                outboxes[offer.agent]?.push(.agentOffer(message))
            case .offerWithdrawn(let id, let agent, let reason):
                var message = Dialer_V1_AgentOfferWithdrawn()
                message.request = id.rawValue
                message.reason = reason.wireName
                outboxes[agent]?.push(.agentOfferWithdrawn(message))
            case .agentChanged(let session):
                for queue in session.skills.ranks.keys { pictures.markChanged(queue) }
                if let queue = Self.workQueue(of: session.state) { pictures.markChanged(queue) }
                outboxes[session.id]?.push(.agentStatus(Dialer_V1_AgentStatus(session, now: now)))
            case .scheduleTimer(let timer, let at):
                timers[timer.id]?.cancel()
                let clock = self.clock
                timers[timer.id] = Task { [weak self] in
                    do { try await clock.sleep(until: at) } catch { return }
                    await self?.fire(timer)
                }
            case .cancelTimer(let timer):
                timers.removeValue(forKey: timer.id)?.cancel()
            }
        }
    }

    private func fire(_ timer: BookTimer) {
        guard timers.removeValue(forKey: timer.id) != nil else { return }
        let now = clock.now()
        perform(book.timerFired(timer, now: now), now: now)
        switch timer.purpose {
        case .requestDeadline(let id), .offer(let id), .lease(let id): forgetIfDone(id)
        case .wrapUp: break
        }
        flushPictures()
    }

    /// Pushes `AgentCall` to the agent whose call was just connected and remembers the attempt
    /// for the agent's disposition.
    private func connected(_ agent: AgentID, request: ReservationRequest, now: Moment) {
        var call = Dialer_V1_AgentCall()
        call.request = request.id.rawValue
        call.queue = request.queue.rawValue
        call.kind = Dialer_V1_RequestKind(request.kind)
        let contact = contacts[request.id]
        if let contact { call.contact = contact }
        outboxes[agent]?.push(.agentCall(call))
        callsConnected[agent, default: 0] += 1
        guard let attempt = contact?.attempt, !attempt.isEmpty else { return }
        var list = attempts[agent, default: []]
        list.removeAll { $0.attempt == AttemptID(attempt) }
        list.append(ConnectedAttempt(attempt: AttemptID(attempt), request: request.id))
        // An agent who never sends dispositions must not grow the map without bound.
        if list.count > settings.attemptsPerAgent {
            for dropped in list.prefix(list.count - settings.attemptsPerAgent)
            where attemptAgents[dropped.attempt] == agent {
                attemptAgents[dropped.attempt] = nil
            }
            list.removeFirst(list.count - settings.attemptsPerAgent)
        }
        attemptAgents[AttemptID(attempt)] = agent
        attempts[agent] = list
    }

    private func forgetIfDone(_ id: RequestID) {
        guard book.heldRequest(id) == nil else { return }
        origins[id] = nil
        contacts[id] = nil
    }

    /// Sends to the connection the request came on, or, if it is gone, to the node's others.
    private func sendToNode(_ node: MemberID, about id: RequestID, _ message: Envelope.OneOf_Message) {
        guard let connections = nodeConnections[node] else { return }
        let envelope = Envelope(message)
        if let origin = origins[id], let sink = connections[origin] {
            sink.deliver(envelope)
        } else {
            for sink in connections.values { sink.deliver(envelope) }
        }
    }

    private static func workQueue(of state: AgentState) -> QueueID? {
        switch state {
        case .reserved(let reservation): reservation.queue
        case .onCall(let call): call.reservation.queue
        case .wrapUp(let wrapUp): wrapUp.queue
        default: nil
        }
    }

    /// Queue pictures taken since the service started: at most one per queue per picture
    /// interval however many agents change (tests count it; a picture costs O(its agents), paid
    /// on the picture publisher's thread).
    public private(set) var picturesBuilt = 0

    /// Takes the pictures that are due and hands them to the publisher, which builds and sends
    /// them off this actor; wakes later for the queues held back.
    private func flushPictures() {
        let now = clock.now()
        let (queues, next) = pictures.due(at: now)
        for queue in queues {
            let source = book.pictureSource(of: queue, now: now)
            guard let owner = source.owner, let connections = nodeConnections[owner.node] else { continue }
            picturesBuilt += 1
            let sequence = pictureSequence[queue, default: 0] + 1
            pictureSequence[queue] = sequence
            startPublishing()
            publisher.submit(.init(source: source, sequence: sequence, sinks: Array(connections.values)))
        }
        guard let next, pictureWake.map({ next < $0 }) ?? true else { return }
        pictureWake = next
        let clock = self.clock
        pictureTimer?.cancel()
        pictureTimer = Task { [weak self] in
            do { try await clock.sleep(until: next) } catch { return }
            await self?.pictureWakeUp(next)
        }
    }

    /// Starts the publisher's loop on the first picture.
    private func startPublishing() {
        guard publishing == nil else { return }
        let built: @Sendable (QueueID, Duration) async -> Void = { [weak self] queue, cost in
            await self?.pictureBuilt(queue, cost: cost)
        }
        publishing = Task { [publisher, clock] in
            await publisher.run(clock: clock, built: built)
        }
    }

    private func pictureBuilt(_ queue: QueueID, cost: Duration) {
        pictures.pictureCost(queue, cost)
    }

    private func pictureWakeUp(_ at: Moment) {
        if pictureWake == at { pictureWake = nil }
        flushPictures()
    }
}

/// An attempt connected to an agent, remembered for the agent's disposition.
struct ConnectedAttempt: Sendable {
    var attempt: AttemptID
    var request: RequestID
    /// The gateway ended the call because its node was lost.
    var nodeLost = false
}

/// What the gateway's live view is built from (``ReservationService/liveSource()``).
public struct GatewayLiveSource: Sendable {
    let at: Moment
    let agents: AgentTable
    let contacts: [RequestID: Dialer_V1_ContactCard]
    let callsConnected: [AgentID: Int]
    let phones: [AgentID: String]
    let queues: [QueuePictureSource]

    /// The view: O(agents × log agents), plus a picture of each queue.
    public func view() -> GatewayLiveView {
        let now = at
        let agents = agents.values.filter { $0.state.isLoggedIn }.sorted { $0.id.rawValue < $1.id.rawValue }
            .map { session -> GatewayLiveView.Agent in
                let status = Dialer_V1_AgentStatus(session, now: now)
                let since: Moment? =
                    switch session.state {
                    case .loggedOut: nil
                    case .notReady(_, let since): since
                    case .available(let since): since
                    case .reserved(let reservation): reservation.reservedAt
                    case .onCall(let call): call.connectedAt
                    case .wrapUp(let wrapUp): wrapUp.startedAt
                    }
                var phone: String?
                if case .onCall(let call) = session.state { phone = contacts[call.reservation.request]?.phone }
                return GatewayLiveView.Agent(
                    agent: session.id.rawValue, state: status.state,
                    reason: status.reason.isEmpty ? nil : status.reason,
                    queue: status.queue.isEmpty ? nil : status.queue,
                    request: status.request.isEmpty ? nil : status.request,
                    timeInStateMs: since.map { max(.zero, now - $0).totalMilliseconds } ?? 0,
                    calls: callsConnected[session.id] ?? 0, phone: phone, agentPhone: phones[session.id])
            }
        let queues = queues.map { source -> GatewayLiveView.Queue in
            let picture = source.picture()
            // A customer is on the line in an inbound call and in a predictive call answered.
            let customers = picture.pending.filter {
                $0.request.kind == .inboundCall || $0.request.kind == .connectAnsweredCall
            }
            return GatewayLiveView.Queue(
                queue: source.queue.rawValue, waiting: customers.count,
                longestWaitMs: customers.map(\.waiting.totalMilliseconds).max() ?? 0,
                pendingRequests: picture.pending.count, available: picture.available.count,
                onCall: picture.onCall.count, wrapUp: picture.wrapUp.count)
        }
        return GatewayLiveView(agents: agents, queues: queues)
    }
}

/// The gateway's part of the supervisor's live panel (`GET /v1/live` on its HTTP port).
public struct GatewayLiveView: Codable, Sendable {
    public struct Agent: Codable, Sendable {
        public var agent: String
        public var state: String
        public var reason: String?
        public var queue: String?
        public var request: String?
        public var timeInStateMs: Int64
        public var calls: Int
        /// The number of the current call's contact.
        public var phone: String?
        /// The agent's own phone, as given at login (a SIP URI); nil for none.
        public var agentPhone: String? = nil
    }
    public struct Queue: Codable, Sendable {
        public var queue: String
        /// Customers on the line waiting for an agent.
        public var waiting: Int
        public var longestWaitMs: Int64
        /// Every request not yet granted (reservations for calls not yet dialed too).
        public var pendingRequests: Int
        public var available: Int
        public var onCall: Int
        public var wrapUp: Int
    }
    public var agents: [Agent]
    public var queues: [Queue]
}
