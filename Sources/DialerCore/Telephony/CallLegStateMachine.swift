/// Which way a call goes.
public enum CallDirection: Hashable, Sendable {
    /// Placed by the dialer to a customer.
    case outbound
    /// Placed by a caller to one of the trunk's numbers (a DID).
    case inbound
}

/// Where a call leg is in its life.
public enum CallLegState: Hashable, Sendable {
    /// Outbound: placed, nothing heard back yet.
    case dialing
    /// Outbound: the called number is ringing.
    case ringing
    /// Outbound: answered at the moment given, and answering-machine detection is still
    /// classifying the answer.
    case classifying(answeredAt: Moment)
    /// Inbound: the caller is waiting for the node to answer.
    case offered
    /// Connected, neither bridged to an agent nor playing a message.
    case connected(CallAnswer)
    /// Connected and playing a message.
    case playing(CallMessage, CallAnswer)
    /// Connected to an agent.
    case bridged(AgentID, CallAnswer)
    /// Over; nothing follows.
    case ended(CallEnd, at: Moment)

    /// How the call was answered, once it has been.
    public var answer: CallAnswer? {
        switch self {
        case .connected(let answer), .playing(_, let answer), .bridged(_, let answer): answer
        case .dialing, .ringing, .classifying, .offered, .ended: nil
        }
    }
}

/// Why a call ended.
public enum CallEnd: Hashable, Sendable {
    /// The line was busy.
    case busy
    /// Nobody answered within the ring timeout.
    case noAnswer
    /// The number does not exist or cannot be reached.
    case invalidNumber
    /// The network or the trunk failed.
    case networkFailure
    /// One side hung up.
    case hungUp(by: CallParty)
}

/// What the node can ask a trunk to do with a call.
public enum CallOperation: Hashable, Sendable {
    /// Answer an inbound call.
    case accept
    /// Connect the call to an agent.
    case bridge(AgentID)
    /// Play a message into the call.
    case play(CallMessage)
    /// End the call (before the answer: stop dialing it).
    case hangUp
}

/// An event or operation that the call leg's state does not allow.
public enum CallLegError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The trunk reported an event that cannot follow the leg's state.
    case unexpectedEvent(CallProgress, state: CallLegState)
    /// The event's moment is earlier than the previous event's.
    case momentWentBackwards(CallProgress, previous: Moment)
    /// The node asked for an operation the leg's state does not allow.
    case operationNotAllowed(CallOperation, state: CallLegState)

    public var description: String {
        switch self {
        case .unexpectedEvent(let event, let state): "event \(event) cannot follow state \(state)"
        case .momentWentBackwards(let event, let previous): "event \(event) is earlier than the previous (\(previous))"
        case .operationNotAllowed(let operation, let state): "operation \(operation) is not allowed in state \(state)"
        }
    }
}

/// The life of one call leg, as a value: which progress events may follow which, and which
/// operations the node may ask for in each state.
///
/// The state moves only on the trunk's ``CallProgress`` events, so that the trunk is the one
/// source of truth: an operation (``check(_:)``) is only validated, and its effect arrives
/// as an event (``CallProgress/bridged(to:at:)`` after a bridge). A trunk keeps one of these
/// per call to refuse what is not allowed; a node can keep a copy fed from the same stream.
///
/// Outbound legs start in ``CallLegState/dialing``, inbound ones in ``CallLegState/offered``.
///
/// | state | events that may follow | operations allowed |
/// |---|---|---|
/// | `dialing` | ringing, answeredLive, answeredByMachine, busy, noAnswer, invalidNumber, networkFailure, hungUp(node) | hangUp |
/// | `ringing` | answeredLive, answeredByMachine, busy, noAnswer, invalidNumber, networkFailure, hungUp(node) | hangUp |
/// | `offered` | accepted, networkFailure, hungUp(customer or node) | accept, hangUp |
/// | `connected` | messageStarted, bridged, networkFailure, hungUp | play, bridge, hangUp |
/// | `playing` | messageStarted (a new message replaces it), messageFinished (of this message), bridged (stops it), networkFailure, hungUp | play, bridge, hangUp |
/// | `bridged` | networkFailure, hungUp | hangUp |
/// | `ended` | none | none |
///
/// Answers lead to `connected`, `accepted` to `connected` (inbound), `messageStarted` to
/// `playing`, `messageFinished` back to `connected`, `bridged` to `bridged`, and the final
/// events (busy, noAnswer, invalidNumber, networkFailure, hungUp) to `ended`.
/// A customer cannot hang up an outbound call that has not been answered: refusing it is
/// reported as busy, not answering as no answer.
public struct CallLegStateMachine: Hashable, Sendable {
    /// Which way the call goes.
    public let direction: CallDirection
    /// Where the call is.
    public private(set) var state: CallLegState
    /// The moment of the last event applied, if any.
    public private(set) var lastMoment: Moment?

    /// A leg in its first state: `dialing` when outbound, `offered` when inbound.
    public init(direction: CallDirection) {
        self.direction = direction
        self.state = direction == .outbound ? .dialing : .offered
    }

    /// Whether the call is over.
    public var isEnded: Bool {
        if case .ended = state { return true }
        return false
    }

    /// Moves the leg on for a progress event reported by the trunk.
    ///
    /// Throws, and leaves the state as it was, when the event cannot follow the current
    /// state or goes back in time: for a node that means the trunk broke its contract.
    public mutating func apply(_ event: CallProgress) throws(CallLegError) {
        if let lastMoment, event.moment < lastMoment {
            throw .momentWentBackwards(event, previous: lastMoment)
        }
        guard let next = next(after: event) else { throw .unexpectedEvent(event, state: state) }
        state = next
        lastMoment = event.moment
    }

    /// Whether `event` may be applied now.
    public func allows(_ event: CallProgress) -> Bool {
        if let lastMoment, event.moment < lastMoment { return false }
        return next(after: event) != nil
    }

    /// Throws when the node may not ask for `operation` in the current state.
    public func check(_ operation: CallOperation) throws(CallLegError) {
        let allowed: Bool
        switch (operation, state) {
        case (_, .ended):
            allowed = false
        case (.hangUp, _):
            allowed = true
        case (.accept, .offered):
            allowed = true
        case (.bridge, .connected), (.bridge, .playing), (.play, .connected), (.play, .playing):
            allowed = true
        case (.accept, _), (.bridge, _), (.play, _):
            allowed = false
        }
        if !allowed { throw .operationNotAllowed(operation, state: state) }
    }

    /// The state after `event`, or `nil` when the event cannot follow the current state.
    private func next(after event: CallProgress) -> CallLegState? {
        switch (state, event) {
        case (.ended, _):
            return nil

        // Any live leg can fail, and the node can always hang up.
        case (_, .networkFailure(let at)):
            return .ended(.networkFailure, at: at)
        case (_, .hungUp(.node, let at)):
            return .ended(.hungUp(by: .node), at: at)

        // Outbound, before the answer.
        case (.dialing, .ringing):
            return .ringing
        case (.dialing, .answeredLive(let at, let greetingEndsAt)),
            (.ringing, .answeredLive(let at, let greetingEndsAt)):
            return .connected(.live(answeredAt: at, greetingEndsAt: greetingEndsAt))
        case (.dialing, .answeredByMachine(let at, let detectedAt)),
            (.ringing, .answeredByMachine(let at, let detectedAt)):
            return .connected(.machine(answeredAt: at, detectedAt: detectedAt))
        case (.dialing, .answered(let at)), (.ringing, .answered(let at)):
            return .classifying(answeredAt: at)
        // The verdict names the answer the classification started from.
        case (.classifying(let answeredAt), .answeredLive(let at, let greetingEndsAt)) where at == answeredAt:
            return .connected(.live(answeredAt: at, greetingEndsAt: greetingEndsAt))
        case (.classifying(let answeredAt), .answeredByMachine(let at, let detectedAt)) where at == answeredAt:
            return .connected(.machine(answeredAt: at, detectedAt: detectedAt))
        // A person may hang up while the detector listens.
        case (.classifying, .hungUp(.customer, let at)):
            return .ended(.hungUp(by: .customer), at: at)
        case (.dialing, .busy(let at)), (.ringing, .busy(let at)):
            return .ended(.busy, at: at)
        case (.dialing, .noAnswer(let at)), (.ringing, .noAnswer(let at)):
            return .ended(.noAnswer, at: at)
        case (.dialing, .invalidNumber(let at)), (.ringing, .invalidNumber(let at)):
            return .ended(.invalidNumber, at: at)

        // Inbound, before the node answers: the caller may give up.
        case (.offered, .accepted(let at)):
            return .connected(.inbound(acceptedAt: at))
        case (.offered, .hungUp(.customer, let at)):
            return .ended(.hungUp(by: .customer), at: at)

        // Connected.
        case (.connected(let answer), .messageStarted(let message, _)),
            (.playing(_, let answer), .messageStarted(let message, _)):
            return .playing(message, answer)
        case (.playing(let playing, let answer), .messageFinished(let message, _)):
            return playing == message ? .connected(answer) : nil
        case (.connected(let answer), .bridged(let agent, _)), (.playing(_, let answer), .bridged(let agent, _)):
            return .bridged(agent, answer)
        case (.connected, .hungUp(.customer, let at)), (.playing, .hungUp(.customer, let at)),
            (.bridged, .hungUp(.customer, let at)):
            return .ended(.hungUp(by: .customer), at: at)

        default:
            return nil
        }
    }
}
