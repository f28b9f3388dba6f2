public import DialerCore
public import DialerProtocol

// Conversions between the agent and reservation messages (60–65, 70–79, 100–113) and the
// core's agent types, shared by the gateway, the nodes and the manager.

extension Dialer_V1_RequestKind {
    /// The wire form of a request kind.
    public init(_ kind: RequestKind) {
        switch kind {
        case .outboundReservation: self = .outboundReservation
        case .inboundCall: self = .inboundCall
        case .previewOffer: self = .previewOffer
        case .connectAnsweredCall: self = .connectAnsweredCall
        }
    }

    /// The domain form; `nil` for an unspecified or unknown kind.
    public var domain: RequestKind? {
        switch self {
        case .outboundReservation: .outboundReservation
        case .inboundCall: .inboundCall
        case .previewOffer: .previewOffer
        case .connectAnsweredCall: .connectAnsweredCall
        default: nil
        }
    }
}

extension AgentSkills {
    /// Skills from their wire form (a queue named twice keeps its last rank).
    public init(wire ranks: [Dialer_V1_QueueRank]) {
        var skills = AgentSkills()
        for rank in ranks where !rank.queue.isEmpty { skills.setRank(Int(rank.rank), for: QueueID(rank.queue)) }
        self = skills
    }

    /// The wire form, best rank first.
    public var wire: [Dialer_V1_QueueRank] {
        queuesByRank.map { queue in
            var rank = Dialer_V1_QueueRank()
            rank.queue = queue.rawValue
            rank.rank = Int32(clamping: ranks[queue] ?? 0)
            return rank
        }
    }
}

extension RejectionReason {
    /// The reason's name in `AgentRequestAnswer.reason`.
    public var wireName: String {
        switch self {
        case .staleEpoch: "stale-epoch"
        case .notOwner: "not-owner"
        case .ownerChanged: "owner-changed"
        case .nodeLost: "node-lost"
        case .cancelled: "cancelled"
        }
    }
}

extension ReservationEndReason {
    /// The reason's name in `GrantRevoked.reason` and `AgentOfferWithdrawn.reason`.
    public var wireName: String {
        switch self {
        case .released: "released"
        case .cancelled: "cancelled"
        case .leaseExpired: "lease-expired"
        case .offerRejected: "offer-rejected"
        case .offerNotAnswered: "offer-not-answered"
        case .requestTimedOut: "request-timed-out"
        case .ownerChanged: "owner-changed"
        case .nodeLost: "node-lost"
        case .agentLost: "agent-lost"
        }
    }
}

extension Dialer_V1_AgentStatus {
    /// What the agent's desktop shows of `session` at `now`.
    public init(_ session: AgentSession, now: Moment) {
        self.init()
        agent = session.id.rawValue
        state = session.state.name
        switch session.state {
        case .loggedOut, .available:
            break
        case .notReady(let reason, _):
            self.reason = reason.rawValue
        case .reserved(let reservation):
            queue = reservation.queue.rawValue
            request = reservation.request.rawValue
        case .onCall(let call):
            queue = call.reservation.queue.rawValue
            request = call.reservation.request.rawValue
        case .wrapUp(let wrapUp):
            queue = wrapUp.queue.rawValue
            request = wrapUp.request.rawValue
            wrapUpRemainingMs = UInt32(clamping: max(.zero, wrapUp.endsAt - now).totalMilliseconds)
        }
        switch session.pendingChange {
        case .pause(let reason): pendingChange = "pause:\(reason.rawValue)"
        case .logOut: pendingChange = "logout"
        case nil: break
        }
    }
}

extension Dialer_V1_AgentRequestAnswer {
    /// The answer a reservation action carries to the requesting node, if it is one.
    public init?(_ action: ReservationAction) {
        self.init()
        switch action {
        case .granted(let grant):
            request = grant.request.rawValue
            answer = .granted
            agent = grant.agent.rawValue
            leaseMs = UInt32(clamping: max(.zero, grant.leaseUntil - grant.at).totalMilliseconds)
        case .rejected(let id, _, let reason):
            request = id.rawValue
            answer = .rejected
            self.reason = reason.wireName
            if case .staleEpoch(let current) = reason { currentEpoch = current.rawValue }
        case .timedOut(let id, _):
            request = id.rawValue
            answer = .timedOut
        default:
            return nil
        }
    }
}

extension Dialer_V1_AgentTime {
    init(agent: AgentID, elapsed: Duration, rank: Int?) {
        self.init()
        self.agent = agent.rawValue
        elapsedMs = UInt32(clamping: max(.zero, elapsed).totalMilliseconds)
        self.rank = Int32(clamping: rank ?? 0)
    }
}

extension Dialer_V1_QueuePictureUpdate {
    /// The wire form of a queue picture, with the queue's owner lease and a sequence number.
    public init(_ picture: QueuePicture, sequence: UInt64) {
        self.init()
        let at = picture.at
        lease = Dialer_V1_QueueLease(HeldLease(queue: picture.queue, epoch: picture.owner?.epoch ?? .zero))
        available = picture.available.map { .init(agent: $0.agent, elapsed: $0.idle, rank: $0.rank) }
        reserved = picture.reserved.map {
            .init(agent: $0.agent, elapsed: at - $0.reservation.reservedAt, rank: $0.rank)
        }
        onCall = picture.onCall.map { .init(agent: $0.agent, elapsed: $0.talking, rank: $0.rank) }
        wrapUp = picture.wrapUp.map { .init(agent: $0.agent, elapsed: $0.elapsed, rank: $0.rank) }
        notReady = UInt32(clamping: picture.notReady.count)
        pendingRequests = UInt32(clamping: picture.pending.count)
        reservedForQueue = UInt32(clamping: picture.reservedForQueue)
        onCallForQueue = UInt32(clamping: picture.onCallForQueue)
        wrapUpForQueue = UInt32(clamping: picture.wrapUpForQueue)
        pendingAhead = UInt32(clamping: picture.pendingAhead)
        self.sequence = sequence
    }
}

extension ReservationError {
    /// The non-fatal protocol error that answers an operation refused with this error.
    public var protocolCode: ProtocolErrorCode {
        switch self {
        case .notAllowed, .requestNotGranted, .requestConnected: .invalidState
        case .unknownAgent: .notLoggedIn
        case .unknownRequest, .noSuchOffer: .unknownRequest
        case .duplicateRequest, .negativeDuration: .invalidArgument
        case .staleEpoch: .staleEpoch
        case .epochConflict: .notOwner
        }
    }

    /// A message for the `Error` frame: what was refused and why, without personal data.
    public var protocolMessage: String {
        switch self {
        case .notAllowed(let operation, let state): "\(operation.rawValue) is not allowed while \(state.name)"
        case .unknownAgent(let agent): "agent \(agent) is not logged in"
        case .unknownRequest(let request): "request \(request) is not held"
        case .duplicateRequest(let request): "request \(request) is already held"
        case .requestNotGranted(let request): "request \(request) is not granted yet"
        case .requestConnected(let request): "request \(request) is connected: end the call instead"
        case .staleEpoch(let queue, let current, let received):
            "epoch \(received) of \(queue) is stale; current is \(current)"
        case .epochConflict(let queue, let epoch, let owner, _): "\(queue) under epoch \(epoch) belongs to \(owner)"
        case .noSuchOffer(let agent, let request): "request \(request) is not offered to \(agent)"
        case .negativeDuration(let duration): "duration \(duration) is negative"
        }
    }
}
