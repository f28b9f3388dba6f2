/// Identifies one request for an agent, chosen by the requesting node.
///
/// It must be unique among the requests the gateway still holds (pending, granted or connected),
/// across all nodes; a node usually prefixes its member id and a per-process incarnation.
public struct RequestID: StringIdentifier {
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// What a node wants an agent for. The kind decides the lease length and whether the agent is
/// asked first (preview) or reserved at once.
public enum RequestKind: String, Hashable, Sendable, CaseIterable {
    /// Progressive or power dialing: reserve an agent, then place calls for them.
    case outboundReservation
    /// An inbound customer is waiting on the line.
    case inboundCall
    /// Preview dialing: offer a contact to an agent, who accepts (then the node dials) or skips.
    case previewOffer
    /// Predictive dialing: a customer has answered and must reach an agent before the deadline
    /// (a regulated couple of seconds), or the call counts as abandoned.
    case connectAnsweredCall
}

/// A node's request for an agent, as the gateway receives it.
public struct ReservationRequest: Hashable, Sendable {
    /// The node's id for the request; every reply names it.
    public var id: RequestID
    /// The queue the agent must be skilled for.
    public var queue: QueueID
    /// The queue's epoch as the requesting node knows it (the fencing token).
    public var epoch: Epoch
    /// The node asking, which must own the queue under `epoch`.
    public var node: MemberID
    /// What the agent is wanted for.
    public var kind: RequestKind
    /// For a private callback: the only agent who may take the request.
    public var namedAgent: AgentID?
    /// When the node stops waiting: a request still unanswered then is answered `.timedOut`.
    public var deadline: Moment
    /// An inbound call routed to another queue (a customer calling back a campaign): that
    /// queue's agents take it, at their rank for it. The request stays fenced by `queue`, the
    /// queue of the number called, which the node owns.
    public var servingQueue: QueueID?

    /// The queue whose agents may take the request, and whose rank orders it.
    public var agentQueue: QueueID { servingQueue ?? queue }

    public init(
        id: RequestID,
        queue: QueueID,
        epoch: Epoch,
        node: MemberID,
        kind: RequestKind,
        namedAgent: AgentID? = nil,
        deadline: Moment,
        servingQueue: QueueID? = nil
    ) {
        self.servingQueue = servingQueue
        self.id = id
        self.queue = queue
        self.epoch = epoch
        self.node = node
        self.kind = kind
        self.namedAgent = namedAgent
        self.deadline = deadline
    }
}

/// An agent given to a node: the answer `granted` to a request.
///
/// A grant is a lease: the node must confirm it (the call is bridged to the agent) before
/// `leaseUntil`, or release it; otherwise the gateway takes the agent back.
public struct Grant: Hashable, Sendable {
    /// The request answered.
    public var request: RequestID
    /// The requesting node, to which the grant goes.
    public var node: MemberID
    /// The request's queue.
    public var queue: QueueID
    /// The request's epoch; the confirm must carry it.
    public var epoch: Epoch
    /// The request's kind.
    public var kind: RequestKind
    /// The agent granted.
    public var agent: AgentID
    /// When the grant was made.
    public var at: Moment
    /// When an unconfirmed grant expires.
    public var leaseUntil: Moment

    public init(
        request: RequestID,
        node: MemberID,
        queue: QueueID,
        epoch: Epoch,
        kind: RequestKind,
        agent: AgentID,
        at: Moment,
        leaseUntil: Moment
    ) {
        self.request = request
        self.node = node
        self.queue = queue
        self.epoch = epoch
        self.kind = kind
        self.agent = agent
        self.at = at
        self.leaseUntil = leaseUntil
    }
}

/// A preview offer shown to an agent, who must accept or reject it before `until`.
public struct Offer: Hashable, Sendable {
    /// The preview request offered.
    public var request: RequestID
    /// The node that will dial if the agent accepts.
    public var node: MemberID
    /// The request's queue.
    public var queue: QueueID
    /// The agent shown the offer.
    public var agent: AgentID
    /// When the offer was made.
    public var at: Moment
    /// When an unanswered offer is withdrawn and goes to the next agent.
    public var until: Moment

    public init(request: RequestID, node: MemberID, queue: QueueID, agent: AgentID, at: Moment, until: Moment) {
        self.request = request
        self.node = node
        self.queue = queue
        self.agent = agent
        self.at = at
        self.until = until
    }
}

/// Why a request was answered `rejected`.
public enum RejectionReason: Hashable, Sendable {
    /// The request carried an epoch older than the queue's current one.
    case staleEpoch(current: Epoch)
    /// Another node owns the queue under the request's epoch.
    case notOwner(owner: MemberID)
    /// The queue moved to a new epoch while the request was pending.
    case ownerChanged
    /// The requesting node was declared lost while the request was pending.
    case nodeLost
    /// The node cancelled the request.
    case cancelled
}

/// Why a reservation (an offer or an unconfirmed grant) ended without a call.
public enum ReservationEndReason: String, Hashable, Sendable, CaseIterable {
    /// The node released the agent (e.g. no live answer).
    case released
    /// The node cancelled the request.
    case cancelled
    /// The node did not confirm the grant in time.
    case leaseExpired
    /// The agent skipped the preview offer.
    case offerRejected
    /// The agent did not answer the preview offer in time.
    case offerNotAnswered
    /// The request's deadline passed while its offer was shown.
    case requestTimedOut
    /// The queue moved to a new epoch.
    case ownerChanged
    /// The requesting node was declared lost.
    case nodeLost
    /// The agent's connection was lost.
    case agentLost
}
