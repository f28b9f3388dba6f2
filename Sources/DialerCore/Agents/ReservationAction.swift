/// A timer the book asked for. It comes back to ``ReservationBook/timerFired(_:now:)``.
///
/// Each timer has a fresh id, so a timer that was replaced (an extended wrap-up, a request offered
/// to another agent) is recognised as stale when it fires and ignored; cancelling is an
/// optimisation for the holder, never needed for correctness.
public struct BookTimer: Hashable, Sendable, CustomStringConvertible {
    /// What the timer is for.
    public enum Purpose: Hashable, Sendable {
        /// A pending request's deadline.
        case requestDeadline(RequestID)
        /// A preview offer's answer time.
        case offer(RequestID)
        /// An unconfirmed grant's lease.
        case lease(RequestID)
        /// The end of an agent's wrap-up.
        case wrapUp(AgentID)
    }

    /// Unique within one book.
    public var id: UInt64
    /// What the timer is for.
    public var purpose: Purpose

    public init(id: UInt64, purpose: Purpose) {
        self.id = id
        self.purpose = purpose
    }

    public var description: String { "timer#\(id)(\(purpose))" }
}

/// What the holder of a ``ReservationBook`` must do after an event, in order.
public enum ReservationAction: Hashable, Sendable {
    /// Tell the node: the request is answered with this agent.
    case granted(Grant)
    /// Tell the node: the request is answered `rejected`.
    case rejected(RequestID, node: MemberID, reason: RejectionReason)
    /// Tell the node: no agent became available before the request's deadline.
    case timedOut(RequestID, node: MemberID)
    /// Tell the node: the gateway took back an unconfirmed grant; do not bridge to the agent.
    case grantRevoked(RequestID, node: MemberID, agent: AgentID, reason: ReservationEndReason)
    /// Show a preview offer on the agent's desktop.
    case offer(Offer)
    /// Remove a preview offer from the agent's desktop.
    case offerWithdrawn(RequestID, agent: AgentID, reason: ReservationEndReason)
    /// Push the agent's new state to their desktop (and to supervisors).
    ///
    /// One event may move an agent more than once (returned, then reserved again); each step is
    /// reported in order, so the last one for an agent is its current state.
    case agentChanged(AgentSession)
    /// Call ``ReservationBook/timerFired(_:now:)`` with `timer` at `at`.
    case scheduleTimer(BookTimer, at: Moment)
    /// The timer is no longer needed.
    case cancelTimer(BookTimer)
}

/// One line of the reservation log: what happened to an agent's reservation, and when.
///
/// Used to audit that no agent is granted twice without a return or a call's end in between.
public struct ReservationLogEntry: Hashable, Sendable {
    /// A step of a reservation's life.
    public enum Event: Hashable, Sendable {
        /// A preview offer was shown to the agent.
        case offered
        /// The agent was granted to the node (for a preview: the agent accepted).
        case granted
        /// The node confirmed: the agent is on the call.
        case connected
        /// The reservation ended without a call; the agent is free of it.
        case returned(ReservationEndReason)
        /// The call ended; the agent is free of it.
        case callEnded
    }

    /// When it happened.
    public var moment: Moment
    /// The agent reserved.
    public var agent: AgentID
    /// The request holding the agent.
    public var request: RequestID
    /// The request's queue.
    public var queue: QueueID
    /// What happened.
    public var event: Event

    /// When the request reached the book, on offers and grants: with ``moment`` it tells how
    /// long the request waited, and which requests were waiting at any moment of the log.
    public var requestedAt: Moment?

    public init(
        moment: Moment, agent: AgentID, request: RequestID, queue: QueueID, event: Event, requestedAt: Moment? = nil
    ) {
        self.moment = moment
        self.agent = agent
        self.request = request
        self.queue = queue
        self.event = event
        self.requestedAt = requestedAt
    }
}
