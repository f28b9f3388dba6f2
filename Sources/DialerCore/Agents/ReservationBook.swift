/// The gateway's single authority on agents: their sessions, the nodes' requests for them, and
/// which request holds which agent.
///
/// A value type: the gateway keeps one in an actor, calls one method per event (an agent's click,
/// a node's message, a timer) with the current moment, and performs the returned actions in order.
/// Nothing here reads a clock or does I/O; timers are ``ReservationAction/scheduleTimer(_:at:)``
/// actions that come back as ``timerFired(_:now:)``.
///
/// Matching rules:
/// - A new request goes to the eligible available agent with the longest time available (ties by
///   agent id). Eligible: logged in, available (so not paused), skilled for the request's queue,
///   the named agent if the request names one, and not one who skipped this preview request.
///   With none, the request waits until its deadline and is then answered `timedOut`.
/// - An agent who becomes available takes, among the pending requests of the queues they are
///   skilled for, the one with the lowest rank number (the agent's rank for that queue), then the
///   oldest. Agents freed by one event (a node lost, an epoch moved) choose in order of their
///   available-since, so the longest-idle still chooses first.
/// - Every accepted request is answered exactly once: `granted`, `rejected` or `timedOut`. A
///   preview request is answered `granted` when an agent accepts its offer; an offer skipped or not
///   answered goes back to pending and to the next eligible agent.
/// - A grant is a lease, confirmed by the node when the call is bridged (the agent is then on the
///   call), or released. An unconfirmed grant that expires, or whose node is lost or whose queue
///   moves to a new epoch, is revoked and the agent returned. A confirmed call stays with the
///   agent (the customer is on the line) until the node ends it, or until the holder declares
///   the node gone for good (``endLostCalls(_:now:)``): then the agent goes to wrap-up.
/// - An agent returned from a reservation that never became a call keeps their earlier
///   available-since (they did no work, so they keep their place); an agent who skipped an offer
///   is available since the skip; an agent who let an offer time out is paused
///   (``PauseReason/offerNotAnswered``) since they are probably away from the desk.
public struct ReservationBook: Sendable, Equatable {
    /// Lease lengths and timeouts.
    public struct Configuration: Hashable, Sendable {
        /// Lease of an outbound reservation: long enough to dial and ring for a live answer.
        public var outboundLease: Duration
        /// Lease of an inbound grant: the node only has to bridge a waiting customer.
        public var inboundLease: Duration
        /// Lease of an accepted preview: the node dials and rings the contact.
        public var previewLease: Duration
        /// Lease of a grant for an answered call: the customer is waiting, bridging is quick.
        public var connectLease: Duration
        /// How long an agent has to accept or skip a preview offer.
        public var offerTimeout: Duration
        /// Wrap-up length when the call's end does not give one.
        public var wrapUpLength: Duration
        /// How many recent entries ``log`` keeps; 0 keeps none.
        public var logCapacity: Int

        public init(
            outboundLease: Duration = .seconds(60),
            inboundLease: Duration = .seconds(15),
            previewLease: Duration = .seconds(60),
            connectLease: Duration = .seconds(5),
            offerTimeout: Duration = .seconds(20),
            wrapUpLength: Duration = .seconds(30),
            logCapacity: Int = 10_000
        ) {
            self.outboundLease = outboundLease
            self.inboundLease = inboundLease
            self.previewLease = previewLease
            self.connectLease = connectLease
            self.offerTimeout = offerTimeout
            self.wrapUpLength = wrapUpLength
            self.logCapacity = logCapacity
        }

        /// The lease of a grant for a request of `kind`.
        public func lease(for kind: RequestKind) -> Duration {
            switch kind {
            case .outboundReservation: outboundLease
            case .inboundCall: inboundLease
            case .previewOffer: previewLease
            case .connectAnsweredCall: connectLease
            }
        }
    }

    /// Where a held request stands.
    public enum RequestStatus: Hashable, Sendable {
        /// Waiting for an eligible agent.
        case pending
        /// A preview offer is shown to `agent` until `until`.
        case offered(AgentID, until: Moment)
        /// Granted to the node; it must confirm before `leaseUntil`.
        case granted(AgentID, leaseUntil: Moment)
        /// Confirmed: the call is connected to the agent.
        case connected(AgentID)
    }

    /// A request the book still holds, as seen from outside.
    public struct HeldRequest: Hashable, Sendable {
        /// The request as the node sent it.
        public var request: ReservationRequest
        /// When the book accepted it.
        public var arrivedAt: Moment
        /// Where it stands.
        public var status: RequestStatus
        /// Agents who skipped (or did not answer) this preview request; it is not offered to them again.
        public var skipped: Set<AgentID>
    }

    struct RequestRecord: Hashable, Sendable {
        enum Status: Hashable, Sendable {
            case pending(deadline: BookTimer)
            case offered(AgentID, until: Moment, offerTimer: BookTimer, deadline: BookTimer)
            case granted(AgentID, leaseUntil: Moment, lease: BookTimer)
            case connected(AgentID)
        }

        var request: ReservationRequest
        /// Arrival order: the book's own counter, so "oldest" never depends on equal moments.
        var arrival: UInt64
        var arrivedAt: Moment
        var skipped: Set<AgentID> = []
        var status: Status

        var agent: AgentID? {
            switch status {
            case .pending: nil
            case .offered(let agent, _, _, _), .granted(let agent, _, _), .connected(let agent): agent
            }
        }
    }

    /// Lease lengths and timeouts, fixed for the book's life.
    public let configuration: Configuration
    /// Every agent that ever logged in, by id.
    public private(set) var agents = AgentTable()
    private var records: [RequestID: RequestRecord] = [:]
    /// Pending (not offered) requests per queue whose agents may take them, oldest first.
    private var pendingByQueue: [QueueID: [PendingEntry]] = [:]
    /// Derived indexes for matching and pictures, kept in step by `store(_:)`, `addRecord(_:)`
    /// and `removeRecord(_:)`.
    private var indexes = ReservationBookIndexes()
    private var owners: [QueueID: QueueOwner] = [:]
    private var wrapUpTimers: [AgentID: BookTimer] = [:]
    private var nextTimerID: UInt64 = 1
    private var nextArrival: UInt64 = 1
    private var logStorage: [ReservationLogEntry] = []
    /// How many log entries were ever recorded (the newest are in ``log``): lets a reader of the
    /// log tell which entries are new since it last looked.
    public private(set) var logEntriesRecorded = 0

    /// A pending request in its queue's list: its arrival, so the list can be searched by age.
    struct PendingEntry: Hashable, Sendable {
        var arrival: UInt64
        var id: RequestID
    }

    /// An empty book.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Books are equal when their sessions, requests, owners, timers and logs are; the indexes
    /// derived from them are left out.
    public static func == (lhs: ReservationBook, rhs: ReservationBook) -> Bool {
        lhs.configuration == rhs.configuration && lhs.agents == rhs.agents && lhs.records == rhs.records
            && lhs.pendingByQueue == rhs.pendingByQueue && lhs.owners == rhs.owners
            && lhs.wrapUpTimers == rhs.wrapUpTimers && lhs.nextTimerID == rhs.nextTimerID
            && lhs.nextArrival == rhs.nextArrival && lhs.logStorage == rhs.logStorage
            && lhs.logEntriesRecorded == rhs.logEntriesRecorded
    }

    // MARK: Views

    /// The agent's session, if the agent ever logged in.
    public func agent(_ id: AgentID) -> AgentSession? {
        agents[id]
    }

    /// The queue's current owner and epoch, if known.
    public func owner(of queue: QueueID) -> QueueOwner? {
        owners[queue]
    }

    /// The queues the book believes `node` owns, by id.
    public func queues(ownedBy node: MemberID) -> [QueueID] {
        owners.filter { $0.value.node == node }.map(\.key).sorted()
    }

    /// A request the book still holds (pending, offered, granted or connected).
    public func heldRequest(_ id: RequestID) -> HeldRequest? {
        records[id].map(Self.view)
    }

    /// How many requests the book holds (pending, offered, granted or connected).
    public var heldRequestCount: Int { records.count }

    /// All requests the book holds, oldest first.
    public var heldRequests: [HeldRequest] {
        records.values.sorted { $0.arrival < $1.arrival }.map(Self.view)
    }

    /// The most recent log entries, oldest first (at most ``Configuration/logCapacity``).
    public var log: [ReservationLogEntry] {
        Array(logStorage.suffix(configuration.logCapacity))
    }

    /// The log's entries at or after `moment`, oldest first, and whether entries at or after it
    /// may have been dropped: the log keeps its newest ``Configuration/logCapacity`` entries, so
    /// once it has dropped any, those were at or before its oldest kept one.
    public func log(since moment: Moment) -> (entries: [ReservationLogEntry], truncated: Bool) {
        let kept = logStorage.suffix(configuration.logCapacity)
        let dropped = logEntriesRecorded > kept.count
        let truncated = dropped && (kept.first.map { $0.moment >= moment } ?? true)
        return (kept.filter { $0.moment >= moment }, truncated)
    }

    /// The queue's agents and pending requests at `now`, for pacing and supervisors.
    ///
    /// Costs O(the queue's agents); ``pictureSource(of:now:)`` takes what it needs at a cost
    /// that does not grow with the agents, so that the picture can be built elsewhere.
    public func picture(of queue: QueueID, now: Moment) -> QueuePicture {
        pictureSource(of: queue, now: now).picture()
    }

    /// What the queue's picture at `now` is built from: the book's sessions and the queue's
    /// member ids as they are (shared copy-on-write, not copied), its waiting requests and the
    /// other queues' waiting counts. Costs O(the queue's held requests); the O(agents) work is left to
    /// ``QueuePictureSource/picture()``, which may run on another thread.
    public func pictureSource(of queue: QueueID, now: Moment) -> QueuePictureSource {
        // The queue's held requests are mostly connected calls (thousands on a big floor): they
        // are left out before the few waiting ones are sorted.
        let pending = (indexes.requestsByQueue[queue] ?? [])
            .compactMap { id -> (arrival: UInt64, request: QueuePicture.PendingRequest)? in
                guard let record = records[id] else { return nil }
                let offeredTo: AgentID?
                switch record.status {
                case .pending: offeredTo = nil
                case .offered(let agent, _, _, _): offeredTo = agent
                case .granted, .connected: return nil
                }
                return (
                    record.arrival,
                    .init(
                        request: record.request,
                        arrivedAt: record.arrivedAt,
                        waiting: now - record.arrivedAt,
                        offeredTo: offeredTo
                    )
                )
            }
            .sorted { $0.arrival < $1.arrival }
            .map(\.request)
        // The pending lists hold exactly the pending (not offered) requests, by agent queue.
        var waitingElsewhere: [QueueID: Int] = [:]
        for (other, list) in pendingByQueue where other != queue && !list.isEmpty {
            waitingElsewhere[other] = list.count
        }
        return QueuePictureSource(
            queue: queue,
            at: now,
            owner: owners[queue],
            agents: agents,
            members: indexes.members[queue] ?? [],
            pending: pending,
            waitingElsewhere: waitingElsewhere
        )
    }

    private static func view(_ record: RequestRecord) -> HeldRequest {
        let status: RequestStatus
        switch record.status {
        case .pending: status = .pending
        case .offered(let agent, let until, _, _): status = .offered(agent, until: until)
        case .granted(let agent, let leaseUntil, _): status = .granted(agent, leaseUntil: leaseUntil)
        case .connected(let agent): status = .connected(agent)
        }
        return HeldRequest(
            request: record.request, arrivedAt: record.arrivedAt, status: status, skipped: record.skipped)
    }

    // MARK: Cluster events

    /// The manager leased `queue` to `node` under `epoch`.
    ///
    /// A newer epoch fences the old one: the queue's pending requests are rejected
    /// (``RejectionReason/ownerChanged``), its offers withdrawn and unconfirmed grants revoked, and
    /// their agents returned. Connected calls stay. Repeating the current owner changes nothing.
    public mutating func setQueueOwner(
        _ queue: QueueID,
        node: MemberID,
        epoch: Epoch,
        now: Moment
    ) throws(ReservationError) -> [ReservationAction] {
        let newOwner = QueueOwner(node: node, epoch: epoch)
        guard let current = owners[queue] else {
            owners[queue] = newOwner
            return []
        }
        if epoch < current.epoch { throw .staleEpoch(queue, current: current.epoch, received: epoch) }
        if epoch == current.epoch {
            if node == current.node { return [] }
            throw .epochConflict(queue, epoch, owner: current.node, claimant: node)
        }
        var actions: [ReservationAction] = []
        changeOwner(queue, to: newOwner, now: now, actions: &actions)
        return actions
    }

    /// The node is gone (its connection died or it missed its heartbeats).
    ///
    /// Its pending requests are rejected (``RejectionReason/nodeLost``), its offers withdrawn and
    /// its unconfirmed grants revoked, returning their agents. Its connected calls stay with their
    /// agents for now: the node may come back and end them itself. Once it is known gone for good
    /// (its lease lapsed, its queue moved on), end them with ``endLostCalls(_:now:)``.
    public mutating func nodeLost(_ node: MemberID, now: Moment) -> [ReservationAction] {
        var actions: [ReservationAction] = []
        let affected = (indexes.requestsByNode[node] ?? []).compactMap { records[$0] }
        endRequests(affected, reason: .nodeLost, rejection: .nodeLost, now: now, actions: &actions)
        return actions
    }

    /// The connected calls `node` holds, oldest first.
    public func connectedCalls(ofNode node: MemberID) -> [HeldRequest] {
        (indexes.requestsByNode[node] ?? []).compactMap { records[$0] }.filter {
            guard case .connected = $0.status else { return false }
            return true
        }
        .sorted { $0.arrival < $1.arrival }
        .map(Self.view)
    }

    /// Ends connected calls whose node is lost for good: nobody is left to send their
    /// ``callEnded(_:wrapUp:now:)``, and the voice path went with the node.
    ///
    /// Each agent goes to wrap-up as if the call had ended normally (or logs out, if they asked
    /// to), so that they can record their disposition and take the next call. Requests that are
    /// not connected calls are left alone (``nodeLost(_:now:)`` ends those). Agents freed by the
    /// same event choose new work longest-idle first.
    ///
    /// - Returns: the actions, and the calls ended (request and agent), in the order given.
    public mutating func endLostCalls(
        _ requests: [RequestID],
        now: Moment
    ) -> (ended: [(request: ReservationRequest, agent: AgentID)], actions: [ReservationAction]) {
        var actions: [ReservationAction] = []
        var ended: [(request: ReservationRequest, agent: AgentID)] = []
        let wrapUpLength = configuration.wrapUpLength
        for id in requests {
            guard let record = records[id], case .connected(let agent) = record.status, var session = agents[agent]
            else { continue }
            apply(to: &session) { (session) throws(ReservationError) in
                try session.endCall(id, wrapUpLength: wrapUpLength, now: now)
            }
            removeRecord(id)
            store(session)
            appendLog(now, agent, id, record.request.queue, .callEnded)
            actions.append(.agentChanged(session))
            if case .wrapUp(let wrapUp) = session.state {
                let timer = makeTimer(.wrapUp(agent))
                wrapUpTimers[agent] = timer
                actions.append(.scheduleTimer(timer, at: wrapUp.endsAt))
            }
            ended.append((record.request, agent))
        }
        // Agents whose wrap-up was skipped (a zero length) are available now.
        let order = ended.compactMap { agents[$0.agent] }.sorted {
            ($0.availableSince ?? now, $0.id) < ($1.availableSince ?? now, $1.id)
        }
        for session in order { matchAgent(session.id, now: now, actions: &actions) }
        return (ended, actions)
    }

    // MARK: Agent events

    /// Logs an agent in, not ready, with `skills`.
    public mutating func logIn(
        _ agent: AgentID,
        skills: AgentSkills,
        now: Moment
    ) throws(ReservationError) -> [ReservationAction] {
        var session = agents[agent] ?? AgentSession(id: agent)
        try session.logIn(skills: skills, now: now)
        store(session)
        return [.agentChanged(session)]
    }

    /// Replaces an agent's skills; an available agent then looks for pending work in new queues.
    public mutating func updateSkills(
        _ agent: AgentID,
        skills: AgentSkills,
        now: Moment
    ) throws(ReservationError) -> [ReservationAction] {
        var session = try existing(agent)
        try session.updateSkills(skills)
        store(session)
        var actions: [ReservationAction] = [.agentChanged(session)]
        matchAgent(agent, now: now, actions: &actions)
        return actions
    }

    /// The agent clicked ready. See ``AgentSession/makeReady(now:)``.
    public mutating func makeReady(_ agent: AgentID, now: Moment) throws(ReservationError) -> [ReservationAction] {
        let before = try existing(agent)
        var session = before
        try session.makeReady(now: now)
        guard session != before else { return [] }
        store(session)
        var actions: [ReservationAction] = []
        cancelWrapUpTimerIfDone(agent, actions: &actions)
        actions.append(.agentChanged(session))
        matchAgent(agent, now: now, actions: &actions)
        return actions
    }

    /// The agent asked for a pause; while reserved, on a call or in wrap-up it is deferred.
    public mutating func pause(
        _ agent: AgentID,
        reason: PauseReason,
        now: Moment
    ) throws(ReservationError) -> [ReservationAction] {
        var session = try existing(agent)
        try session.pause(reason, now: now)
        store(session)
        return [.agentChanged(session)]
    }

    /// The agent asked to log out; while reserved or on a call it is deferred.
    public mutating func logOut(_ agent: AgentID, now: Moment) throws(ReservationError) -> [ReservationAction] {
        var session = try existing(agent)
        try session.logOut(now: now)
        store(session)
        var actions: [ReservationAction] = []
        cancelWrapUpTimerIfDone(agent, actions: &actions)
        actions.append(.agentChanged(session))
        return actions
    }

    /// The agent's connection is gone: the agent is logged out.
    ///
    /// An offer shown to them goes back to pending; an unconfirmed grant is revoked
    /// (``ReservationEndReason/agentLost``) so the node does not bridge a customer to nobody.
    /// A connected call stays (the voice path may still be up) and the log-out waits for its end.
    public mutating func agentDisconnected(
        _ agent: AgentID,
        now: Moment
    ) throws(ReservationError) -> [ReservationAction] {
        var session = try existing(agent)
        var actions: [ReservationAction] = []
        switch session.state {
        case .loggedOut:
            throw .notAllowed(.disconnect, session.state)
        case .reserved(let reservation):
            guard var record = records[reservation.request] else {
                assertionFailure("reserved agent without a request record")
                return []
            }
            var repend = false
            switch record.status {
            case .offered(_, _, let offerTimer, let deadline):
                actions.append(.cancelTimer(offerTimer))
                actions.append(.offerWithdrawn(record.request.id, agent: agent, reason: .agentLost))
                record.status = .pending(deadline: deadline)
                records[record.request.id] = record
                insertPending(record)
                repend = true
            case .granted(_, _, let lease):
                actions.append(.cancelTimer(lease))
                actions.append(
                    .grantRevoked(record.request.id, node: record.request.node, agent: agent, reason: .agentLost)
                )
                removeRecord(record.request.id)
            case .pending, .connected:
                assertionFailure("reserved agent with a request in the wrong status")
                return []
            }
            apply(to: &session) { (session) throws(ReservationError) in
                try session.endReservation(reservation.request, availableSince: reservation.availableSince, now: now)
                if session.state.isLoggedIn { try session.logOut(now: now) }
            }
            store(session)
            appendLog(now, agent, reservation.request, reservation.queue, .returned(.agentLost))
            actions.append(.agentChanged(session))
            if repend { matchRequest(reservation.request, now: now, actions: &actions) }
        default:
            try session.logOut(now: now)
            store(session)
            cancelWrapUpTimerIfDone(agent, actions: &actions)
            actions.append(.agentChanged(session))
        }
        return actions
    }

    /// The agent accepted the preview offer: the request is answered `granted` and the node dials.
    /// The agent stays reserved until the node confirms the connected call or releases them.
    public mutating func acceptOffer(
        _ agent: AgentID,
        request: RequestID,
        now: Moment
    ) throws(ReservationError) -> [ReservationAction] {
        var session = try existing(agent)
        guard var record = records[request], case .offered(agent, _, let offerTimer, let deadline) = record.status
        else { throw .noSuchOffer(agent, request) }
        let leaseUntil = now + configuration.previewLease
        try session.acceptOffer(request, leaseUntil: leaseUntil)
        let lease = makeTimer(.lease(request))
        record.status = .granted(agent, leaseUntil: leaseUntil, lease: lease)
        records[request] = record
        store(session)
        appendLog(now, agent, request, record.request.queue, .granted, requestedAt: record.arrivedAt)
        return [
            .cancelTimer(offerTimer),
            .cancelTimer(deadline),
            .granted(grant(record.request, agent: agent, now: now, leaseUntil: leaseUntil)),
            .agentChanged(session),
            .scheduleTimer(lease, at: leaseUntil),
        ]
    }

    /// The agent skipped the preview offer: it goes to the next eligible agent (never back to
    /// this one), and the agent is available since now.
    public mutating func rejectOffer(
        _ agent: AgentID,
        request: RequestID,
        now: Moment
    ) throws(ReservationError) -> [ReservationAction] {
        var session = try existing(agent)
        guard var record = records[request], case .offered(agent, _, let offerTimer, let deadline) = record.status
        else { throw .noSuchOffer(agent, request) }
        try session.endReservation(request, availableSince: now, now: now)
        record.status = .pending(deadline: deadline)
        record.skipped.insert(agent)
        records[request] = record
        insertPending(record)
        store(session)
        appendLog(now, agent, request, record.request.queue, .returned(.offerRejected))
        var actions: [ReservationAction] = [.cancelTimer(offerTimer), .agentChanged(session)]
        matchRequest(request, now: now, actions: &actions)
        matchAgent(agent, now: now, actions: &actions)
        return actions
    }

    /// The agent recorded a disposition: wrap-up ends now.
    public mutating func finishWrapUp(_ agent: AgentID, now: Moment) throws(ReservationError) -> [ReservationAction] {
        var session = try existing(agent)
        try session.finishWrapUp(now: now)
        store(session)
        var actions: [ReservationAction] = []
        cancelWrapUpTimerIfDone(agent, actions: &actions)
        actions.append(.agentChanged(session))
        matchAgent(agent, now: now, actions: &actions)
        return actions
    }

    /// The agent extended their wrap-up by `extra`.
    public mutating func extendWrapUp(
        _ agent: AgentID,
        by extra: Duration,
        now: Moment
    ) throws(ReservationError) -> [ReservationAction] {
        var session = try existing(agent)
        try session.extendWrapUp(by: extra)
        store(session)
        var actions: [ReservationAction] = []
        if let old = wrapUpTimers[agent] { actions.append(.cancelTimer(old)) }
        guard case .wrapUp(let wrapUp) = session.state else { return actions }
        let timer = makeTimer(.wrapUp(agent))
        wrapUpTimers[agent] = timer
        actions.append(.agentChanged(session))
        actions.append(.scheduleTimer(timer, at: wrapUp.endsAt))
        return actions
    }

    // MARK: Node events

    /// A node asks for an agent.
    ///
    /// A request with an epoch older than the queue's is answered `rejected(.staleEpoch)`; with
    /// the current epoch from another node, `rejected(.notOwner)`. A newer epoch (or a queue the
    /// book has not heard of) is taken as the manager's word that the requester owns the queue —
    /// the manager hands out newer epochs only, and its notice to the gateway may arrive later —
    /// and fences the previous epoch as ``setQueueOwner(_:node:epoch:now:)`` does.
    ///
    /// - Throws: ``ReservationError/duplicateRequest(_:)`` if the id is still held; the held
    ///   request keeps its single answer.
    public mutating func request(
        _ request: ReservationRequest,
        now: Moment
    ) throws(ReservationError) -> [ReservationAction] {
        guard records[request.id] == nil else { throw .duplicateRequest(request.id) }
        var actions: [ReservationAction] = []
        if let current = owners[request.queue] {
            if request.epoch < current.epoch {
                return [.rejected(request.id, node: request.node, reason: .staleEpoch(current: current.epoch))]
            }
            if request.epoch == current.epoch && request.node != current.node {
                return [.rejected(request.id, node: request.node, reason: .notOwner(owner: current.node))]
            }
            if request.epoch > current.epoch {
                changeOwner(
                    request.queue,
                    to: QueueOwner(node: request.node, epoch: request.epoch),
                    now: now,
                    actions: &actions
                )
            }
        } else {
            owners[request.queue] = QueueOwner(node: request.node, epoch: request.epoch)
        }
        guard request.deadline > now else {
            actions.append(.timedOut(request.id, node: request.node))
            return actions
        }
        let deadline = makeTimer(.requestDeadline(request.id))
        let record = RequestRecord(
            request: request,
            arrival: nextArrival,
            arrivedAt: now,
            status: .pending(deadline: deadline)
        )
        nextArrival += 1
        addRecord(record)
        insertPending(record)
        actions.append(.scheduleTimer(deadline, at: request.deadline))
        matchRequest(request.id, now: now, actions: &actions)
        return actions
    }

    /// The node bridged the call to the granted agent: the agent is on the call.
    ///
    /// Confirming a connected call again changes nothing (a retried message).
    /// - Throws: ``ReservationError/staleEpoch(_:current:received:)`` when `epoch` is not the
    ///   grant's epoch.
    public mutating func confirm(
        _ request: RequestID,
        epoch: Epoch,
        now: Moment
    ) throws(ReservationError) -> [ReservationAction] {
        guard var record = records[request] else { throw .unknownRequest(request) }
        guard epoch == record.request.epoch else {
            throw .staleEpoch(record.request.queue, current: record.request.epoch, received: epoch)
        }
        switch record.status {
        case .pending, .offered:
            throw .requestNotGranted(request)
        case .connected:
            return []
        case .granted(let agent, _, let lease):
            var session = try existing(agent)
            try session.connect(request, now: now)
            record.status = .connected(agent)
            records[request] = record
            store(session)
            appendLog(now, agent, request, record.request.queue, .connected)
            return [.cancelTimer(lease), .agentChanged(session)]
        }
    }

    /// The node does not need the granted agent (no live answer, the customer hung up first):
    /// the agent returns, keeping their earlier available-since.
    public mutating func release(_ request: RequestID, now: Moment) throws(ReservationError) -> [ReservationAction] {
        guard let record = records[request] else { throw .unknownRequest(request) }
        switch record.status {
        case .pending, .offered:
            throw .requestNotGranted(request)
        case .connected:
            throw .requestConnected(request)
        case .granted:
            var actions: [ReservationAction] = []
            returnGrant(record, reason: .released, now: now, actions: &actions)
            return actions
        }
    }

    /// The node withdraws its request.
    ///
    /// A pending request is answered `rejected(.cancelled)`; an offer shown is withdrawn. A request
    /// already granted (the cancel crossed the grant) is released: it was answered already.
    public mutating func cancel(_ request: RequestID, now: Moment) throws(ReservationError) -> [ReservationAction] {
        guard let record = records[request] else { throw .unknownRequest(request) }
        var actions: [ReservationAction] = []
        switch record.status {
        case .connected:
            throw .requestConnected(request)
        case .granted:
            returnGrant(record, reason: .cancelled, now: now, actions: &actions)
        case .pending, .offered:
            endRequests([record], reason: .cancelled, rejection: .cancelled, now: now, actions: &actions)
        }
        return actions
    }

    /// The call for `request` ended: the agent goes to wrap-up for `wrapUp` (default:
    /// ``Configuration/wrapUpLength``), or logs out if they asked to.
    public mutating func callEnded(
        _ request: RequestID,
        wrapUp: Duration? = nil,
        now: Moment
    ) throws(ReservationError) -> [ReservationAction] {
        guard let record = records[request] else { throw .unknownRequest(request) }
        guard case .connected(let agent) = record.status else {
            if let agent = record.agent, let session = agents[agent] {
                throw .notAllowed(.endCall, session.state)
            }
            throw .requestNotGranted(request)
        }
        var session = try existing(agent)
        try session.endCall(request, wrapUpLength: wrapUp ?? configuration.wrapUpLength, now: now)
        removeRecord(request)
        store(session)
        appendLog(now, agent, request, record.request.queue, .callEnded)
        var actions: [ReservationAction] = [.agentChanged(session)]
        if case .wrapUp(let wrapUp) = session.state {
            let timer = makeTimer(.wrapUp(agent))
            wrapUpTimers[agent] = timer
            actions.append(.scheduleTimer(timer, at: wrapUp.endsAt))
        }
        matchAgent(agent, now: now, actions: &actions)
        return actions
    }

    // MARK: Timers

    /// A timer the book scheduled has fired. Stale timers (replaced or no longer relevant) do nothing.
    public mutating func timerFired(_ timer: BookTimer, now: Moment) -> [ReservationAction] {
        var actions: [ReservationAction] = []
        switch timer.purpose {
        case .requestDeadline(let id):
            guard let record = records[id] else { break }
            switch record.status {
            case .pending(let deadline) where deadline == timer:
                endRequests([record], reason: .requestTimedOut, rejection: nil, now: now, actions: &actions)
            case .offered(_, _, _, let deadline) where deadline == timer:
                endRequests([record], reason: .requestTimedOut, rejection: nil, now: now, actions: &actions)
            default:
                break
            }
        case .offer(let id):
            guard var record = records[id],
                case .offered(let agent, _, let offerTimer, let deadline) = record.status, offerTimer == timer,
                var session = agents[agent], case .reserved(let reservation) = session.state
            else { break }
            apply(to: &session) { (session) throws(ReservationError) in
                try session.endReservation(id, availableSince: now, pause: .offerNotAnswered, now: now)
            }
            record.status = .pending(deadline: deadline)
            record.skipped.insert(agent)
            records[id] = record
            insertPending(record)
            store(session)
            appendLog(now, agent, id, reservation.queue, .returned(.offerNotAnswered))
            actions.append(.offerWithdrawn(id, agent: agent, reason: .offerNotAnswered))
            actions.append(.agentChanged(session))
            matchRequest(id, now: now, actions: &actions)
        case .lease(let id):
            guard let record = records[id], case .granted(_, _, let lease) = record.status, lease == timer else {
                break
            }
            returnGrant(record, reason: .leaseExpired, now: now, actions: &actions)
        case .wrapUp(let agent):
            guard wrapUpTimers[agent] == timer, var session = agents[agent],
                case .wrapUp(let wrapUp) = session.state, wrapUp.endsAt <= now
            else { break }
            wrapUpTimers[agent] = nil
            apply(to: &session) { (session) throws(ReservationError) in try session.finishWrapUp(now: now) }
            store(session)
            actions.append(.agentChanged(session))
            matchAgent(agent, now: now, actions: &actions)
        }
        // Whatever fired needs no cancelling.
        actions.removeAll { $0 == .cancelTimer(timer) }
        return actions
    }
}

// MARK: - Internals

extension ReservationBook {
    private func existing(_ agent: AgentID) throws(ReservationError) -> AgentSession {
        guard let session = agents[agent] else { throw .unknownAgent(agent) }
        return session
    }

    /// Runs an internal transition that the book's own bookkeeping guarantees to be valid.
    ///
    /// A failure means the book's records and the sessions disagree (a bug): it is caught in
    /// debug builds; in release the session is left as it was rather than crashing every agent.
    private func apply(
        to session: inout AgentSession,
        _ body: (inout AgentSession) throws(ReservationError) -> Void
    ) {
        var copy = session
        do {
            try body(&copy)
            session = copy
        } catch {
            assertionFailure("internal transition refused: \(error)")
        }
    }

    private mutating func store(_ session: AgentSession) {
        let old = agents.updateValue(session)
        indexes.sessionChanged(from: old, to: session, sessions: agents)
    }

    /// Holds a new request's record.
    private mutating func addRecord(_ record: RequestRecord) {
        records[record.request.id] = record
        indexes.requestAdded(record.request)
    }

    /// Forgets a request's record.
    private mutating func removeRecord(_ id: RequestID) {
        guard let record = records.removeValue(forKey: id) else { return }
        indexes.requestRemoved(record.request)
    }

    private mutating func makeTimer(_ purpose: BookTimer.Purpose) -> BookTimer {
        defer { nextTimerID += 1 }
        return BookTimer(id: nextTimerID, purpose: purpose)
    }

    private mutating func appendLog(
        _ moment: Moment,
        _ agent: AgentID,
        _ request: RequestID,
        _ queue: QueueID,
        _ event: ReservationLogEntry.Event,
        requestedAt: Moment? = nil
    ) {
        let capacity = configuration.logCapacity
        guard capacity > 0 else { return }
        logStorage.append(
            ReservationLogEntry(
                moment: moment, agent: agent, request: request, queue: queue, event: event, requestedAt: requestedAt))
        logEntriesRecorded += 1
        // Trim in batches so appending stays amortised O(1).
        if logStorage.count - capacity > capacity {
            logStorage.removeFirst(logStorage.count - capacity)
        }
    }

    private mutating func cancelWrapUpTimerIfDone(_ agent: AgentID, actions: inout [ReservationAction]) {
        guard let timer = wrapUpTimers[agent] else { return }
        if case .wrapUp = agents[agent]?.state { return }
        wrapUpTimers[agent] = nil
        actions.append(.cancelTimer(timer))
    }

    private func grant(_ request: ReservationRequest, agent: AgentID, now: Moment, leaseUntil: Moment) -> Grant {
        Grant(
            request: request.id,
            node: request.node,
            queue: request.queue,
            epoch: request.epoch,
            kind: request.kind,
            agent: agent,
            at: now,
            leaseUntil: leaseUntil
        )
    }

    /// Puts a pending record in its queue's list, keeping arrival order (a skipped preview
    /// request comes back at its original age).
    private mutating func insertPending(_ record: RequestRecord) {
        let entry = PendingEntry(arrival: record.arrival, id: record.request.id)
        let queue = record.request.agentQueue
        // Nearly always the newest: appended without a search.
        if let last = pendingByQueue[queue]?.last, last.arrival > entry.arrival {
            let index = Self.pendingIndex(of: entry.arrival, in: pendingByQueue[queue]!)
            pendingByQueue[queue]!.insert(entry, at: index)
        } else {
            pendingByQueue[queue, default: []].append(entry)
        }
    }

    private mutating func removePending(_ record: RequestRecord) {
        let queue = record.request.agentQueue
        guard let list = pendingByQueue[queue] else { return }
        let index = Self.pendingIndex(of: record.arrival, in: list)
        guard index < list.count, list[index].id == record.request.id else { return }
        if list.count == 1 {
            pendingByQueue[queue] = nil
        } else {
            pendingByQueue[queue]!.remove(at: index)
        }
    }

    /// Where an entry of `arrival` is, or belongs, in a list ordered by arrival: O(log n).
    private static func pendingIndex(of arrival: UInt64, in list: [PendingEntry]) -> Int {
        var low = 0
        var high = list.count
        while low < high {
            let mid = (low + high) / 2
            if list[mid].arrival < arrival { low = mid + 1 } else { high = mid }
        }
        return low
    }

    private mutating func changeOwner(
        _ queue: QueueID,
        to owner: QueueOwner,
        now: Moment,
        actions: inout [ReservationAction]
    ) {
        owners[queue] = owner
        let affected = (indexes.requestsByQueue[queue] ?? []).compactMap { records[$0] }.filter {
            $0.request.epoch < owner.epoch
        }
        endRequests(affected, reason: .ownerChanged, rejection: .ownerChanged, now: now, actions: &actions)
    }

    /// Ends requests that are not connected: pending and offered ones are answered (`rejected`
    /// with `rejection`, or `timedOut` when it is `nil`), granted ones revoked; connected calls
    /// are left alone. Freed agents then choose new work longest-idle first, so that freeing
    /// several at once gives the same result as the matching rules applied one agent at a time.
    private mutating func endRequests(
        _ affected: [RequestRecord],
        reason: ReservationEndReason,
        rejection: RejectionReason?,
        now: Moment,
        actions: inout [ReservationAction]
    ) {
        var freed: [AgentID] = []
        for record in affected.sorted(by: { $0.arrival < $1.arrival }) {
            let id = record.request.id
            let node = record.request.node
            let answer: ReservationAction =
                rejection.map { .rejected(id, node: node, reason: $0) } ?? .timedOut(id, node: node)
            switch record.status {
            case .connected:
                continue
            case .pending(let deadline):
                removeRecord(id)
                removePending(record)
                actions.append(.cancelTimer(deadline))
                actions.append(answer)
            case .offered(let agent, _, let offerTimer, let deadline):
                removeRecord(id)
                actions.append(.cancelTimer(offerTimer))
                actions.append(.cancelTimer(deadline))
                actions.append(answer)
                actions.append(.offerWithdrawn(id, agent: agent, reason: reason))
                freeAgent(agent, from: record, reason: reason, now: now, actions: &actions)
                freed.append(agent)
            case .granted(let agent, _, let lease):
                // Answered when it was granted: the node is told the grant is void instead.
                removeRecord(id)
                actions.append(.cancelTimer(lease))
                actions.append(.grantRevoked(id, node: node, agent: agent, reason: reason))
                freeAgent(agent, from: record, reason: reason, now: now, actions: &actions)
                freed.append(agent)
            }
        }
        let order = freed.compactMap { agents[$0] }.sorted {
            ($0.availableSince ?? now, $0.id) < ($1.availableSince ?? now, $1.id)
        }
        for session in order {
            matchAgent(session.id, now: now, actions: &actions)
        }
    }

    /// Returns an agent from an offer or unconfirmed grant that ended without a call.
    private mutating func freeAgent(
        _ agent: AgentID,
        from record: RequestRecord,
        reason: ReservationEndReason,
        now: Moment,
        actions: inout [ReservationAction]
    ) {
        guard var session = agents[agent], case .reserved(let reservation) = session.state,
            reservation.request == record.request.id
        else {
            assertionFailure("request record names an agent not reserved for it")
            return
        }
        apply(to: &session) { (session) throws(ReservationError) in
            try session.endReservation(reservation.request, availableSince: reservation.availableSince, now: now)
        }
        store(session)
        appendLog(now, agent, record.request.id, record.request.queue, .returned(reason))
        actions.append(.agentChanged(session))
    }

    private mutating func returnGrant(
        _ record: RequestRecord,
        reason: ReservationEndReason,
        now: Moment,
        actions: inout [ReservationAction]
    ) {
        guard case .granted(let agent, _, let lease) = record.status else { return }
        removeRecord(record.request.id)
        actions.append(.cancelTimer(lease))
        if reason == .leaseExpired {
            actions.append(.grantRevoked(record.request.id, node: record.request.node, agent: agent, reason: reason))
        }
        freeAgent(agent, from: record, reason: reason, now: now, actions: &actions)
        matchAgent(agent, now: now, actions: &actions)
    }

    /// Matches a pending request to the eligible available agent idle the longest, if any.
    private mutating func matchRequest(_ id: RequestID, now: Moment, actions: inout [ReservationAction]) {
        guard let record = records[id], case .pending = record.status else { return }
        let request = record.request
        if let named = request.namedAgent {
            guard let session = agents[named], case .available = session.state,
                session.skills.serves(request.agentQueue), !record.skipped.contains(named)
            else { return }
            assign(id, to: named, now: now, actions: &actions)
            return
        }
        let agent = indexes.longestAvailable(
            serving: request.agentQueue, excluding: record.skipped, sessions: agents)
        if let agent { assign(id, to: agent, now: now, actions: &actions) }
    }

    /// Matches an available agent to the best pending request of their queues: lowest rank
    /// number, then oldest.
    private mutating func matchAgent(_ agent: AgentID, now: Moment, actions: inout [ReservationAction]) {
        guard let session = agents[agent], case .available = session.state else { return }
        var best: (rank: Int, arrival: UInt64, id: RequestID)?
        for (queue, rank) in session.skills.ranks {
            if let best, rank > best.rank { continue }
            for entry in pendingByQueue[queue] ?? [] {
                let id = entry.id
                guard let record = records[id] else { continue }
                guard record.request.namedAgent == nil || record.request.namedAgent == agent,
                    !record.skipped.contains(agent)
                else { continue }
                // The list is oldest first: the first eligible one is this queue's candidate.
                if best == nil || (rank, record.arrival) < (best!.rank, best!.arrival) {
                    best = (rank, record.arrival, id)
                }
                break
            }
        }
        if let best { assign(best.id, to: agent, now: now, actions: &actions) }
    }

    /// Reserves `agent` for the pending request `id`: an offer for a preview, a grant otherwise.
    private mutating func assign(_ id: RequestID, to agent: AgentID, now: Moment, actions: inout [ReservationAction]) {
        guard var record = records[id], case .pending(let deadline) = record.status, var session = agents[agent]
        else { return }
        let request = record.request
        removePending(record)
        if request.kind == .previewOffer {
            let until = now + configuration.offerTimeout
            let offerTimer = makeTimer(.offer(id))
            apply(to: &session) { (session) throws(ReservationError) in
                try session.reserve(for: request, phase: .offered(until: until), now: now)
            }
            record.status = .offered(agent, until: until, offerTimer: offerTimer, deadline: deadline)
            records[id] = record
            store(session)
            appendLog(now, agent, id, request.queue, .offered, requestedAt: record.arrivedAt)
            actions.append(
                .offer(
                    Offer(request: id, node: request.node, queue: request.queue, agent: agent, at: now, until: until))
            )
            actions.append(.agentChanged(session))
            actions.append(.scheduleTimer(offerTimer, at: until))
        } else {
            let leaseUntil = now + configuration.lease(for: request.kind)
            let lease = makeTimer(.lease(id))
            apply(to: &session) { (session) throws(ReservationError) in
                try session.reserve(for: request, phase: .granted(leaseUntil: leaseUntil), now: now)
            }
            record.status = .granted(agent, leaseUntil: leaseUntil, lease: lease)
            records[id] = record
            store(session)
            appendLog(now, agent, id, request.queue, .granted, requestedAt: record.arrivedAt)
            actions.append(.cancelTimer(deadline))
            actions.append(.granted(grant(request, agent: agent, now: now, leaseUntil: leaseUntil)))
            actions.append(.agentChanged(session))
            actions.append(.scheduleTimer(lease, at: leaseUntil))
        }
    }
}
