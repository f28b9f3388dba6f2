/// One agent's session: skills, state, and a change asked for while busy.
///
/// This is the per-agent state machine. Each method is one event; an event that makes no sense in
/// the current state throws ``ReservationError/notAllowed(_:_:)`` and changes nothing. Matching
/// agents to requests is not done here but by ``ReservationBook``, which drives these sessions.
public struct AgentSession: Hashable, Sendable {
    /// The agent this session belongs to.
    public let id: AgentID
    /// The queues the agent serves, with ranks.
    public private(set) var skills: AgentSkills
    /// What the agent is doing now.
    public private(set) var state: AgentState
    /// A pause or log-out asked for while reserved, on a call or in wrap-up.
    public private(set) var pendingChange: PendingChange?

    /// A logged-out session.
    public init(id: AgentID, skills: AgentSkills = AgentSkills()) {
        self.id = id
        self.skills = skills
        self.state = .loggedOut
        self.pendingChange = nil
    }

    /// When the agent became available, if they are.
    public var availableSince: Moment? {
        if case .available(let since) = state { return since }
        return nil
    }

    // MARK: Agent events

    /// Logs the agent in with `skills`; they start not ready (``PauseReason/loggedIn``).
    public mutating func logIn(skills: AgentSkills, now: Moment) throws(ReservationError) {
        guard case .loggedOut = state else { throw .notAllowed(.logIn, state) }
        self.skills = skills
        self.state = .notReady(.loggedIn, since: now)
        self.pendingChange = nil
    }

    /// Replaces the agent's skills (a supervisor changed the agent's queues or ranks).
    public mutating func updateSkills(_ skills: AgentSkills) throws(ReservationError) {
        guard state.isLoggedIn else { throw .notAllowed(.updateSkills, state) }
        self.skills = skills
    }

    /// Pauses the agent now, or after the current reservation, call or wrap-up.
    ///
    /// - Returns: `true` when the pause took effect now, `false` when it was deferred.
    @discardableResult
    public mutating func pause(_ reason: PauseReason, now: Moment) throws(ReservationError) -> Bool {
        switch state {
        case .loggedOut:
            throw .notAllowed(.pause, state)
        case .available, .notReady:
            state = .notReady(reason, since: now)
            return true
        case .reserved, .onCall, .wrapUp:
            // A node may already be dialing for this agent or a customer may be on the line:
            // remember the pause (the latest wish wins) and apply it when the agent is free.
            pendingChange = .pause(reason)
            return false
        }
    }

    /// Makes the agent available.
    ///
    /// From not ready the agent is available since `now`. In wrap-up it ends the wrap-up (the
    /// agent is done). While reserved or on a call it withdraws a pending pause or log-out.
    /// Already available: nothing changes (a repeated click must not cost the agent their place).
    public mutating func makeReady(now: Moment) throws(ReservationError) {
        switch state {
        case .loggedOut:
            throw .notAllowed(.makeReady, state)
        case .available:
            return
        case .notReady:
            state = .available(since: now)
        case .reserved, .onCall:
            pendingChange = nil
        case .wrapUp:
            pendingChange = nil
            state = .available(since: now)
        }
    }

    /// Logs the agent out now, or after the current reservation or call.
    ///
    /// - Returns: `true` when the agent is logged out now, `false` when it was deferred.
    @discardableResult
    public mutating func logOut(now: Moment) throws(ReservationError) -> Bool {
        switch state {
        case .loggedOut:
            throw .notAllowed(.logOut, state)
        case .available, .notReady, .wrapUp:
            state = .loggedOut
            pendingChange = nil
            return true
        case .reserved, .onCall:
            pendingChange = .logOut
            return false
        }
    }

    // MARK: Reservation events (driven by the book)

    /// Reserves the available agent for `request`.
    public mutating func reserve(
        for request: ReservationRequest,
        phase: Reservation.Phase,
        now: Moment
    ) throws(ReservationError) {
        guard case .available(let since) = state else { throw .notAllowed(.reserve, state) }
        state = .reserved(
            Reservation(
                request: request.id,
                queue: request.queue,
                kind: request.kind,
                node: request.node,
                epoch: request.epoch,
                reservedAt: now,
                phase: phase,
                availableSince: since
            )
        )
    }

    /// The agent accepted the preview offer for `request`: it becomes a grant leased until `leaseUntil`.
    public mutating func acceptOffer(_ request: RequestID, leaseUntil: Moment) throws(ReservationError) {
        guard case .reserved(var reservation) = state else { throw .notAllowed(.acceptOffer, state) }
        guard reservation.request == request, case .offered = reservation.phase else {
            throw .noSuchOffer(id, request)
        }
        reservation.phase = .granted(leaseUntil: leaseUntil)
        state = .reserved(reservation)
    }

    /// The node confirmed the grant for `request`: the call is bridged to the agent.
    public mutating func connect(_ request: RequestID, now: Moment) throws(ReservationError) {
        guard case .reserved(let reservation) = state, reservation.request == request,
            case .granted = reservation.phase
        else { throw .notAllowed(.connect, state) }
        state = .onCall(ActiveCall(reservation: reservation, connectedAt: now))
    }

    /// Ends the reservation for `request` without a call.
    ///
    /// A pending log-out or pause takes effect now; otherwise the agent pauses with `pause` if
    /// given, else becomes available since `availableSince`.
    public mutating func endReservation(
        _ request: RequestID,
        availableSince: Moment,
        pause: PauseReason? = nil,
        now: Moment
    ) throws(ReservationError) {
        guard case .reserved(let reservation) = state, reservation.request == request else {
            throw .notAllowed(.endReservation, state)
        }
        switch pendingChange {
        case .logOut:
            state = .loggedOut
        case .pause(let reason):
            state = .notReady(reason, since: now)
        case nil:
            if let pause {
                state = .notReady(pause, since: now)
            } else {
                state = .available(since: availableSince)
            }
        }
        pendingChange = nil
    }

    /// The call for `request` ended: the agent goes to wrap-up for `wrapUpLength`.
    ///
    /// A pending log-out takes effect now (the agent asked to leave; no after-call work is
    /// expected). A zero length skips wrap-up.
    public mutating func endCall(
        _ request: RequestID,
        wrapUpLength: Duration,
        now: Moment
    ) throws(ReservationError) {
        guard wrapUpLength >= .zero else { throw .negativeDuration(wrapUpLength) }
        guard case .onCall(let call) = state, call.reservation.request == request else {
            throw .notAllowed(.endCall, state)
        }
        if pendingChange == .logOut {
            state = .loggedOut
            pendingChange = nil
            return
        }
        state = .wrapUp(
            WrapUp(queue: call.reservation.queue, request: request, startedAt: now, endsAt: now + wrapUpLength)
        )
        if wrapUpLength == .zero {
            try finishWrapUp(now: now)
        }
    }

    /// Adds `extra` to the current wrap-up.
    public mutating func extendWrapUp(by extra: Duration) throws(ReservationError) {
        guard extra >= .zero else { throw .negativeDuration(extra) }
        guard case .wrapUp(var wrapUp) = state else { throw .notAllowed(.extendWrapUp, state) }
        wrapUp.endsAt += extra
        state = .wrapUp(wrapUp)
    }

    /// Ends wrap-up (a disposition was recorded, or the time is up): the agent becomes available
    /// since `now`, or pauses if they asked to.
    public mutating func finishWrapUp(now: Moment) throws(ReservationError) {
        guard case .wrapUp = state else { throw .notAllowed(.finishWrapUp, state) }
        if case .pause(let reason) = pendingChange {
            state = .notReady(reason, since: now)
        } else {
            state = .available(since: now)
        }
        pendingChange = nil
    }
}
