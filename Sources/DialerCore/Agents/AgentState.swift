/// Why an agent is not ready: chosen by the agent (a break, training) or set by the system.
public struct PauseReason: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// An agent starts not ready after logging in, so no call arrives before they are at the desk.
    public static let loggedIn = PauseReason("logged-in")
    /// The agent let a preview offer time out: offering them more would only delay customers.
    public static let offerNotAnswered = PauseReason("offer-not-answered")
}

/// An agent's reservation: one request (an offer or a grant) that holds the agent.
public struct Reservation: Hashable, Sendable {
    /// Where the reservation stands.
    public enum Phase: Hashable, Sendable {
        /// A preview offer shown to the agent, until the given moment.
        case offered(until: Moment)
        /// Granted to the node, which must confirm before `leaseUntil`.
        case granted(leaseUntil: Moment)
    }

    /// The request holding the agent.
    public var request: RequestID
    /// The request's queue.
    public var queue: QueueID
    /// What the agent is held for.
    public var kind: RequestKind
    /// The node the agent is held for.
    public var node: MemberID
    /// The queue's epoch when the request was made.
    public var epoch: Epoch
    /// When the agent was reserved.
    public var reservedAt: Moment
    /// Offered or granted.
    public var phase: Phase
    /// The agent's available-since before the reservation: a reservation that ends without a
    /// call gives it back, so an agent who did no work keeps their place in the longest-idle line.
    public var availableSince: Moment

    public init(
        request: RequestID,
        queue: QueueID,
        kind: RequestKind,
        node: MemberID,
        epoch: Epoch,
        reservedAt: Moment,
        phase: Phase,
        availableSince: Moment
    ) {
        self.request = request
        self.queue = queue
        self.kind = kind
        self.node = node
        self.epoch = epoch
        self.reservedAt = reservedAt
        self.phase = phase
        self.availableSince = availableSince
    }
}

/// A call connected to an agent.
public struct ActiveCall: Hashable, Sendable {
    /// The reservation the call came from.
    public var reservation: Reservation
    /// When the node confirmed the call (bridged it to the agent).
    public var connectedAt: Moment

    public init(reservation: Reservation, connectedAt: Moment) {
        self.reservation = reservation
        self.connectedAt = connectedAt
    }
}

/// After-call work: a preset length that the agent may extend, ended early by a disposition.
public struct WrapUp: Hashable, Sendable {
    /// The queue of the call being wrapped up.
    public var queue: QueueID
    /// The request of the call being wrapped up.
    public var request: RequestID
    /// When the call ended and wrap-up began.
    public var startedAt: Moment
    /// When wrap-up ends unless the agent ends it first (moves when extended).
    public var endsAt: Moment

    public init(queue: QueueID, request: RequestID, startedAt: Moment, endsAt: Moment) {
        self.queue = queue
        self.request = request
        self.startedAt = startedAt
        self.endsAt = endsAt
    }

    /// The wrap-up's current length, extensions included.
    public var length: Duration { endsAt - startedAt }

    /// How long the agent has been in wrap-up at `now`.
    public func elapsed(at now: Moment) -> Duration { now - startedAt }
}

/// What an agent is doing, as the gateway knows it.
public enum AgentState: Hashable, Sendable {
    case loggedOut
    /// Logged in, on a pause; gets nothing new.
    case notReady(PauseReason, since: Moment)
    /// Waiting for work since the given moment; the longest waiting goes first.
    case available(since: Moment)
    /// Held by one request: a preview offer or a grant not yet confirmed.
    case reserved(Reservation)
    /// On a call.
    case onCall(ActiveCall)
    /// Doing after-call work.
    case wrapUp(WrapUp)

    /// The state's name, for logs and error messages.
    public var name: String {
        switch self {
        case .loggedOut: "logged-out"
        case .notReady: "not-ready"
        case .available: "available"
        case .reserved: "reserved"
        case .onCall: "on-call"
        case .wrapUp: "wrap-up"
        }
    }

    /// Whether the agent is logged in.
    public var isLoggedIn: Bool {
        if case .loggedOut = self { return false }
        return true
    }

    /// The request that holds the agent (reserved or on a call), if any.
    public var heldBy: RequestID? {
        switch self {
        case .reserved(let reservation): reservation.request
        case .onCall(let call): call.reservation.request
        default: nil
        }
    }
}

/// A change the agent asked for while a reservation or call held them; it takes effect when
/// they are free, so that a pause never drops a customer who may already be on the line.
public enum PendingChange: Hashable, Sendable {
    case pause(PauseReason)
    case logOut
}

/// The operations on an agent, named in ``ReservationError/notAllowed(_:_:)``.
public enum AgentOperation: String, Hashable, Sendable, CaseIterable {
    case logIn
    case updateSkills
    case pause
    case makeReady
    case logOut
    case disconnect
    case reserve
    case acceptOffer
    case rejectOffer
    case connect
    case endReservation
    case endCall
    case extendWrapUp
    case finishWrapUp
}
