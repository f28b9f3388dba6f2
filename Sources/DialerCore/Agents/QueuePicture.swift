/// The node that owns a queue, and under which epoch.
public struct QueueOwner: Hashable, Sendable {
    /// The owning node.
    public var node: MemberID
    /// The lease's epoch (fencing token).
    public var epoch: Epoch

    public init(node: MemberID, epoch: Epoch) {
        self.node = node
        self.epoch = epoch
    }
}

/// A queue's agents and pending requests at one moment: what pacing needs to decide how many
/// calls to start.
///
/// It lists every logged-in agent skilled for the queue, whatever queue their current work is
/// for (with blending, an agent talking on another queue's call will come back to this one), plus
/// agents whose current work is for this queue even if the skill was removed meanwhile. Each
/// entry says which queue the work is for, so pacing can count either way.
public struct QueuePicture: Hashable, Sendable {
    /// An available agent.
    public struct AvailableAgent: Hashable, Sendable {
        public var agent: AgentID
        /// The agent's rank for this queue (`nil`: not skilled for it).
        public var rank: Int?
        /// Available since.
        public var since: Moment
        /// How long the agent has been available.
        public var idle: Duration
    }

    /// A reserved agent (an offer shown or a grant not yet confirmed).
    public struct ReservedAgent: Hashable, Sendable {
        public var agent: AgentID
        public var rank: Int?
        public var reservation: Reservation
    }

    /// An agent on a call.
    public struct AgentOnCall: Hashable, Sendable {
        public var agent: AgentID
        public var rank: Int?
        public var call: ActiveCall
        /// How long the call has been connected.
        public var talking: Duration
    }

    /// An agent in wrap-up.
    public struct AgentInWrapUp: Hashable, Sendable {
        public var agent: AgentID
        public var rank: Int?
        public var wrapUp: WrapUp
        /// Time spent in wrap-up so far.
        public var elapsed: Duration
        /// Time left until wrap-up ends by itself.
        public var remaining: Duration
    }

    /// A paused agent.
    public struct PausedAgent: Hashable, Sendable {
        public var agent: AgentID
        public var rank: Int?
        public var reason: PauseReason
        /// Paused since.
        public var since: Moment
    }

    /// A request not yet answered.
    public struct PendingRequest: Hashable, Sendable {
        public var request: ReservationRequest
        /// When the gateway received the request.
        public var arrivedAt: Moment
        /// How long the request has waited.
        public var waiting: Duration
        /// The agent a preview offer is shown to right now, if any.
        public var offeredTo: AgentID?
    }

    /// The queue pictured.
    public var queue: QueueID
    /// The moment the picture was taken.
    public var at: Moment
    /// The queue's owner, if known.
    public var owner: QueueOwner?
    /// Longest available first.
    public var available: [AvailableAgent]
    /// By agent id.
    public var reserved: [ReservedAgent]
    /// By agent id.
    public var onCall: [AgentOnCall]
    /// By agent id.
    public var wrapUp: [AgentInWrapUp]
    /// By agent id.
    public var notReady: [PausedAgent]
    /// Oldest first.
    public var pending: [PendingRequest]
    /// Requests waiting (not yet granted) on other queues that at least one of this picture's
    /// agents ranks above this queue: each will take one of them before this queue can.
    public var pendingAhead: Int = 0

    /// Agents logged in and skilled for the queue (or working for it).
    public var loggedInCount: Int {
        available.count + reserved.count + onCall.count + wrapUp.count + notReady.count
    }

    /// Agents reserved for this queue's requests.
    public var reservedForQueue: Int { reserved.count { $0.reservation.queue == queue } }

    /// Agents talking on this queue's calls.
    public var onCallForQueue: Int { onCall.count { $0.call.reservation.queue == queue } }

    /// Agents wrapping up this queue's calls.
    public var wrapUpForQueue: Int { wrapUp.count { $0.wrapUp.queue == queue } }
}
