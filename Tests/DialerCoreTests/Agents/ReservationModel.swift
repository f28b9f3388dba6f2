import DialerCore

/// An independent model of the reservation rules, for the randomised test.
///
/// It does not call the book. For every event it predicts, from the rules alone, the error the
/// book must throw, the answers, revocations and withdrawals it must emit, and every agent's and
/// request's state afterwards — except the matching choices (which agent gets which request),
/// which it checks against the rules as they happen: the chosen agent was eligible and idle the
/// longest, and the chosen request was the agent's best ranked, then oldest.
struct ReservationModel {
    struct Agent: Equatable {
        enum State: Equatable {
            case loggedOut
            case notReady(PauseReason, since: Moment)
            case available(since: Moment)
            case offered(RequestID, restore: Moment, until: Moment)
            case granted(RequestID, restore: Moment, leaseUntil: Moment)
            case onCall(RequestID)
            case wrapUp(RequestID, endsAt: Moment)
        }

        var skills = AgentSkills()
        var state = State.loggedOut
        var pending: PendingChange?
    }

    struct Request: Equatable {
        enum Status: Equatable {
            case pending
            case offered(AgentID)
            case granted(AgentID)
            case connected(AgentID)
        }

        var request: ReservationRequest
        var order: Int
        var status: Status
        var skipped: Set<AgentID> = []
    }

    /// An output the book must produce (other than matching choices), compared as a multiset.
    struct Note: Hashable, CustomStringConvertible {
        enum Kind: Hashable {
            case rejected(RejectionReason)
            case timedOut
            case acceptedGrant(AgentID)
            case revoked(AgentID, ReservationEndReason)
            case withdrawn(AgentID, ReservationEndReason)
        }

        var request: RequestID
        var node: MemberID?
        var kind: Kind

        var description: String { "\(request)@\(node?.rawValue ?? "-"):\(kind)" }
    }

    /// The error the book must throw; `notAllowed` carries the operation only, its state is the
    /// agent's state before the event as the book reports it.
    enum Refusal: Equatable {
        case notAllowed(AgentOperation, AgentID)
        case exactly(ReservationError)
    }

    let configuration: ReservationBook.Configuration
    var agents: [AgentID: Agent] = [:]
    var requests: [RequestID: Request] = [:]
    var owners: [QueueID: QueueOwner] = [:]
    var nextOrder = 0
    /// Outputs expected from the current event.
    var expected: [Note] = []
    /// A request waiting to be added once the book's takeover phase is over (see `request`).
    var deferredRequest: ReservationRequest?

    init(configuration: ReservationBook.Configuration) {
        self.configuration = configuration
    }

    // MARK: Eligibility and choices

    func isEligible(_ agentID: AgentID, for record: Request) -> Bool {
        guard let agent = agents[agentID], case .available = agent.state else { return false }
        return agent.skills.serves(record.request.queue)
            && (record.request.namedAgent == nil || record.request.namedAgent == agentID)
            && !record.skipped.contains(agentID)
    }

    func since(_ agentID: AgentID) -> Moment? {
        if case .available(let since) = agents[agentID]?.state { return since }
        return nil
    }

    /// Why giving `requestID` to `agentID` now breaks a rule, or `nil` if it does not.
    func violation(giving requestID: RequestID, to agentID: AgentID) -> String? {
        guard let record = requests[requestID] else { return "grant of unknown request \(requestID)" }
        guard record.status == .pending else { return "grant of \(requestID) in status \(record.status)" }
        guard isEligible(agentID, for: record) else {
            return "\(agentID) not eligible for \(requestID): \(String(describing: agents[agentID]))"
        }
        let chosenSince = since(agentID)!
        for other in agents.keys where other != agentID && isEligible(other, for: record) {
            let otherSince = since(other)!
            if (otherSince, other) < (chosenSince, agentID) {
                return "\(requestID) went to \(agentID) (since \(chosenSince)) but \(other) was available since "
                    + "\(otherSince)"
            }
        }
        let skills = agents[agentID]!.skills
        let chosenKey = (skills.rank(for: record.request.queue)!, record.order)
        for other in requests.values where other.request.id != requestID && other.status == .pending {
            guard isEligible(agentID, for: other) else { continue }
            let key = (skills.rank(for: other.request.queue)!, other.order)
            if key < chosenKey {
                return "\(agentID) took \(requestID) \(chosenKey) but \(other.request.id) \(key) ranked better"
            }
        }
        return nil
    }

    /// The first pending request that has an eligible available agent: a missed match.
    func missedMatch() -> (RequestID, AgentID)? {
        for record in requests.values where record.status == .pending {
            for agentID in agents.keys where isEligible(agentID, for: record) {
                return (record.request.id, agentID)
            }
        }
        return nil
    }

    mutating func applyGrant(_ requestID: RequestID, to agentID: AgentID, now: Moment) -> Moment {
        let kind = requests[requestID]!.request.kind
        let leaseUntil = now + configuration.lease(for: kind)
        requests[requestID]!.status = .granted(agentID)
        agents[agentID]!.state = .granted(requestID, restore: since(agentID)!, leaseUntil: leaseUntil)
        return leaseUntil
    }

    mutating func applyOffer(_ requestID: RequestID, to agentID: AgentID, now: Moment) -> Moment {
        let until = now + configuration.offerTimeout
        requests[requestID]!.status = .offered(agentID)
        agents[agentID]!.state = .offered(requestID, restore: since(agentID)!, until: until)
        return until
    }

    // MARK: Shared transitions

    /// The agent's reservation ended without a call: a pending change applies, else `otherwise`.
    private mutating func endReservation(_ agentID: AgentID, otherwise: Agent.State, now: Moment) {
        var agent = agents[agentID]!
        switch agent.pending {
        case .logOut: agent.state = .loggedOut
        case .pause(let reason): agent.state = .notReady(reason, since: now)
        case nil: agent.state = otherwise
        }
        agent.pending = nil
        agents[agentID] = agent
    }

    private func restore(of agentID: AgentID) -> Moment {
        switch agents[agentID]!.state {
        case .offered(_, let restore, _), .granted(_, let restore, _): restore
        default: fatalError("model: \(agentID) holds no reservation")
        }
    }

    private mutating func endWrapUp(_ agentID: AgentID, now: Moment) {
        if case .pause(let reason) = agents[agentID]!.pending {
            agents[agentID]!.state = .notReady(reason, since: now)
        } else {
            agents[agentID]!.state = .available(since: now)
        }
        agents[agentID]!.pending = nil
    }

    /// Ends the non-connected requests in `affected`: answers pending and offered ones, revokes
    /// granted ones, and frees their agents.
    private mutating func endRequests(
        _ affected: [RequestID],
        reason: ReservationEndReason,
        rejection: RejectionReason?,
        now: Moment
    ) {
        for id in affected {
            guard let record = requests[id] else { continue }
            let node = record.request.node
            let answer = Note(request: id, node: node, kind: rejection.map { .rejected($0) } ?? .timedOut)
            switch record.status {
            case .connected:
                continue
            case .pending:
                expected.append(answer)
            case .offered(let agentID):
                expected.append(answer)
                expected.append(Note(request: id, node: nil, kind: .withdrawn(agentID, reason)))
                endReservation(agentID, otherwise: .available(since: restore(of: agentID)), now: now)
            case .granted(let agentID):
                expected.append(Note(request: id, node: node, kind: .revoked(agentID, reason)))
                endReservation(agentID, otherwise: .available(since: restore(of: agentID)), now: now)
            }
            requests[id] = nil
        }
    }

    private mutating func takeOver(_ queue: QueueID, owner: QueueOwner, now: Moment) {
        owners[queue] = owner
        let affected = requests.values.filter { $0.request.queue == queue }.map(\.request.id)
        endRequests(affected, reason: .ownerChanged, rejection: .ownerChanged, now: now)
    }

    private func agentCheck(_ agentID: AgentID, _ operation: AgentOperation) -> Refusal? {
        guard let agent = agents[agentID] else { return .exactly(.unknownAgent(agentID)) }
        if agent.state == .loggedOut { return .notAllowed(operation, agentID) }
        return nil
    }

    // MARK: Agent events

    mutating func logIn(_ agentID: AgentID, skills: AgentSkills, now: Moment) -> Refusal? {
        if let agent = agents[agentID], agent.state != .loggedOut { return .notAllowed(.logIn, agentID) }
        agents[agentID] = Agent(skills: skills, state: .notReady(.loggedIn, since: now), pending: nil)
        return nil
    }

    mutating func updateSkills(_ agentID: AgentID, skills: AgentSkills) -> Refusal? {
        if let refusal = agentCheck(agentID, .updateSkills) { return refusal }
        agents[agentID]!.skills = skills
        return nil
    }

    mutating func makeReady(_ agentID: AgentID, now: Moment) -> Refusal? {
        if let refusal = agentCheck(agentID, .makeReady) { return refusal }
        switch agents[agentID]!.state {
        case .notReady: agents[agentID]!.state = .available(since: now)
        case .available, .loggedOut: break
        case .offered, .granted, .onCall: agents[agentID]!.pending = nil
        case .wrapUp:
            agents[agentID]!.pending = nil
            agents[agentID]!.state = .available(since: now)
        }
        return nil
    }

    mutating func pause(_ agentID: AgentID, reason: PauseReason, now: Moment) -> Refusal? {
        if let refusal = agentCheck(agentID, .pause) { return refusal }
        switch agents[agentID]!.state {
        case .available, .notReady: agents[agentID]!.state = .notReady(reason, since: now)
        case .offered, .granted, .onCall, .wrapUp: agents[agentID]!.pending = .pause(reason)
        case .loggedOut: break
        }
        return nil
    }

    mutating func logOut(_ agentID: AgentID) -> Refusal? {
        if let refusal = agentCheck(agentID, .logOut) { return refusal }
        switch agents[agentID]!.state {
        case .available, .notReady, .wrapUp:
            agents[agentID]!.state = .loggedOut
            agents[agentID]!.pending = nil
        case .offered, .granted, .onCall: agents[agentID]!.pending = .logOut
        case .loggedOut: break
        }
        return nil
    }

    mutating func disconnect(_ agentID: AgentID, now: Moment) -> Refusal? {
        if let refusal = agentCheck(agentID, .disconnect) { return refusal }
        switch agents[agentID]!.state {
        case .offered(let id, _, _):
            expected.append(Note(request: id, node: nil, kind: .withdrawn(agentID, .agentLost)))
            requests[id]!.status = .pending
            agents[agentID]!.state = .loggedOut
            agents[agentID]!.pending = nil
        case .granted(let id, _, _):
            expected.append(Note(request: id, node: requests[id]!.request.node, kind: .revoked(agentID, .agentLost)))
            requests[id] = nil
            agents[agentID]!.state = .loggedOut
            agents[agentID]!.pending = nil
        case .onCall:
            agents[agentID]!.pending = .logOut
        default:
            agents[agentID]!.state = .loggedOut
            agents[agentID]!.pending = nil
        }
        return nil
    }

    private func offerCheck(_ agentID: AgentID, _ id: RequestID) -> Refusal? {
        guard agents[agentID] != nil else { return .exactly(.unknownAgent(agentID)) }
        guard requests[id]?.status == .offered(agentID) else { return .exactly(.noSuchOffer(agentID, id)) }
        return nil
    }

    mutating func acceptOffer(_ agentID: AgentID, request id: RequestID, now: Moment) -> Refusal? {
        if let refusal = offerCheck(agentID, id) { return refusal }
        let leaseUntil = now + configuration.previewLease
        agents[agentID]!.state = .granted(id, restore: restore(of: agentID), leaseUntil: leaseUntil)
        requests[id]!.status = .granted(agentID)
        expected.append(Note(request: id, node: requests[id]!.request.node, kind: .acceptedGrant(agentID)))
        return nil
    }

    mutating func rejectOffer(_ agentID: AgentID, request id: RequestID, now: Moment) -> Refusal? {
        if let refusal = offerCheck(agentID, id) { return refusal }
        requests[id]!.status = .pending
        requests[id]!.skipped.insert(agentID)
        endReservation(agentID, otherwise: .available(since: now), now: now)
        return nil
    }

    mutating func finishWrapUp(_ agentID: AgentID, now: Moment) -> Refusal? {
        guard let agent = agents[agentID] else { return .exactly(.unknownAgent(agentID)) }
        guard case .wrapUp = agent.state else { return .notAllowed(.finishWrapUp, agentID) }
        endWrapUp(agentID, now: now)
        return nil
    }

    mutating func extendWrapUp(_ agentID: AgentID, by extra: Duration) -> Refusal? {
        guard let agent = agents[agentID] else { return .exactly(.unknownAgent(agentID)) }
        if extra < .zero { return .exactly(.negativeDuration(extra)) }
        guard case .wrapUp(let id, let endsAt) = agent.state else { return .notAllowed(.extendWrapUp, agentID) }
        agents[agentID]!.state = .wrapUp(id, endsAt: endsAt + extra)
        return nil
    }

    // MARK: Node events

    /// A node's request. With a newer epoch the takeover happens first; the request itself is
    /// added by `addDeferredRequest` when the book's output reaches it.
    mutating func request(_ request: ReservationRequest, now: Moment) -> Refusal? {
        if requests[request.id] != nil { return .exactly(.duplicateRequest(request.id)) }
        if let owner = owners[request.queue] {
            if request.epoch < owner.epoch {
                expected.append(
                    Note(request: request.id, node: request.node, kind: .rejected(.staleEpoch(current: owner.epoch)))
                )
                return nil
            }
            if request.epoch == owner.epoch && request.node != owner.node {
                expected.append(
                    Note(request: request.id, node: request.node, kind: .rejected(.notOwner(owner: owner.node)))
                )
                return nil
            }
            if request.epoch > owner.epoch {
                takeOver(request.queue, owner: QueueOwner(node: request.node, epoch: request.epoch), now: now)
            }
        } else {
            owners[request.queue] = QueueOwner(node: request.node, epoch: request.epoch)
        }
        deferredRequest = request
        return nil
    }

    /// Adds the request of the current event (after the takeover phase, if any).
    mutating func addDeferredRequest(now: Moment) {
        guard let request = deferredRequest else { return }
        deferredRequest = nil
        if request.deadline <= now {
            expected.append(Note(request: request.id, node: request.node, kind: .timedOut))
            return
        }
        requests[request.id] = Request(request: request, order: nextOrder, status: .pending)
        nextOrder += 1
    }

    mutating func confirm(_ id: RequestID, epoch: Epoch, now: Moment) -> Refusal? {
        guard let record = requests[id] else { return .exactly(.unknownRequest(id)) }
        guard epoch == record.request.epoch else {
            return .exactly(.staleEpoch(record.request.queue, current: record.request.epoch, received: epoch))
        }
        switch record.status {
        case .pending, .offered: return .exactly(.requestNotGranted(id))
        case .connected: return nil
        case .granted(let agentID):
            requests[id]!.status = .connected(agentID)
            agents[agentID]!.state = .onCall(id)
            return nil
        }
    }

    mutating func release(_ id: RequestID, now: Moment) -> Refusal? {
        guard let record = requests[id] else { return .exactly(.unknownRequest(id)) }
        switch record.status {
        case .pending, .offered: return .exactly(.requestNotGranted(id))
        case .connected: return .exactly(.requestConnected(id))
        case .granted(let agentID):
            requests[id] = nil
            endReservation(agentID, otherwise: .available(since: restore(of: agentID)), now: now)
            return nil
        }
    }

    mutating func cancel(_ id: RequestID, now: Moment) -> Refusal? {
        guard let record = requests[id] else { return .exactly(.unknownRequest(id)) }
        switch record.status {
        case .connected: return .exactly(.requestConnected(id))
        case .granted: return release(id, now: now)
        case .pending, .offered:
            endRequests([id], reason: .cancelled, rejection: .cancelled, now: now)
            return nil
        }
    }

    mutating func callEnded(_ id: RequestID, wrapUp: Duration, now: Moment) -> Refusal? {
        guard let record = requests[id] else { return .exactly(.unknownRequest(id)) }
        switch record.status {
        case .pending: return .exactly(.requestNotGranted(id))
        case .offered(let agentID), .granted(let agentID): return .notAllowed(.endCall, agentID)
        case .connected(let agentID):
            requests[id] = nil
            if agents[agentID]!.pending == .logOut {
                agents[agentID]!.state = .loggedOut
                agents[agentID]!.pending = nil
            } else if wrapUp == .zero {
                endWrapUp(agentID, now: now)
            } else {
                agents[agentID]!.state = .wrapUp(id, endsAt: now + wrapUp)
            }
            return nil
        }
    }

    mutating func setQueueOwner(_ queue: QueueID, node: MemberID, epoch: Epoch, now: Moment) -> Refusal? {
        let owner = QueueOwner(node: node, epoch: epoch)
        guard let current = owners[queue] else {
            owners[queue] = owner
            return nil
        }
        if epoch < current.epoch { return .exactly(.staleEpoch(queue, current: current.epoch, received: epoch)) }
        if epoch == current.epoch {
            if node == current.node { return nil }
            return .exactly(.epochConflict(queue, epoch, owner: current.node, claimant: node))
        }
        takeOver(queue, owner: owner, now: now)
        return nil
    }

    mutating func nodeLost(_ node: MemberID, now: Moment) {
        let affected = requests.values.filter { $0.request.node == node }.map(\.request.id)
        endRequests(affected, reason: .nodeLost, rejection: .nodeLost, now: now)
    }

    // MARK: Time

    /// A timer for `purpose` fired at `now`: the model acts if the thing it was for is due.
    mutating func timerFired(_ purpose: BookTimer.Purpose, now: Moment) {
        switch purpose {
        case .requestDeadline(let id):
            guard let record = requests[id], record.request.deadline <= now else { return }
            switch record.status {
            case .pending, .offered:
                endRequests([id], reason: .requestTimedOut, rejection: nil, now: now)
            case .granted, .connected:
                return
            }
        case .offer(let id):
            guard case .offered(let agentID) = requests[id]?.status,
                case .offered(_, _, let until) = agents[agentID]!.state, until <= now
            else { return }
            expected.append(Note(request: id, node: nil, kind: .withdrawn(agentID, .offerNotAnswered)))
            requests[id]!.status = .pending
            requests[id]!.skipped.insert(agentID)
            endReservation(agentID, otherwise: .notReady(.offerNotAnswered, since: now), now: now)
        case .lease(let id):
            guard case .granted(let agentID) = requests[id]?.status,
                case .granted(_, let restore, let leaseUntil) = agents[agentID]!.state, leaseUntil <= now
            else { return }
            expected.append(Note(request: id, node: requests[id]!.request.node, kind: .revoked(agentID, .leaseExpired)))
            requests[id] = nil
            endReservation(agentID, otherwise: .available(since: restore), now: now)
        case .wrapUp(let agentID):
            guard case .wrapUp(_, let endsAt) = agents[agentID]?.state, endsAt <= now else { return }
            endWrapUp(agentID, now: now)
        }
    }

    /// Things whose time has come by `now` but are still open: a timer the book failed to set.
    func overdue(at now: Moment) -> [String] {
        var found: [String] = []
        for record in requests.values {
            switch record.status {
            case .pending, .offered:
                if record.request.deadline <= now { found.append("request \(record.request.id) past its deadline") }
            default: break
            }
        }
        for (id, agent) in agents {
            switch agent.state {
            case .offered(let request, _, let until) where until <= now:
                found.append("offer \(request) to \(id) past its time")
            case .granted(let request, _, let leaseUntil) where leaseUntil <= now:
                found.append("lease \(request) of \(id) past its time")
            case .wrapUp(_, let endsAt) where endsAt <= now:
                found.append("wrap-up of \(id) past its end")
            default: break
            }
        }
        return found
    }
}
