/// Identifies one call on a trunk, outbound or inbound.
///
/// The trunk chooses the id when it places or receives the call; the node quotes it in
/// every operation on the call. A real trunk's ids are its own (a SIP Call-ID, say), so the
/// id is opaque text.
public struct CallID: StringIdentifier {
    public var rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
}

/// Who ended a call.
public enum CallParty: Hashable, Sendable {
    /// The person (or machine) at the far end: the called customer, or the inbound caller.
    case customer
    /// This side: the node hung up (an agent finished, a machine was dropped, a dial was
    /// cancelled).
    case node
}

/// A recorded message played into a call: the abandon (no-agent) message, hold music, the
/// message left on an answering machine.
public struct CallMessage: Hashable, Sendable {
    /// The name of the recording, as campaign settings name it (e.g. `"no-agent"`).
    public var id: String
    /// How long it plays, or `nil` for the length of the recording itself (which the trunk
    /// knows, and the node usually does not).
    public var length: Duration?

    public init(id: String, length: Duration? = nil) {
        self.id = id
        self.length = length
    }

    /// The message played to a live customer whom no agent could take in time (the
    /// regulators' abandon message), at the length of its recording.
    public static let noAgent = CallMessage(id: "no-agent")
}

/// How a call came to be connected, with the moments that matter afterwards.
public enum CallAnswer: Hashable, Sendable {
    /// A person answered (or, with detection off or mistaken, what was taken for one).
    ///
    /// `greetingEndsAt` is when the person finished saying hello: regulators count the
    /// seconds to an agent from there, so it is what the node's abandon clock starts from.
    case live(answeredAt: Moment, greetingEndsAt: Moment)
    /// Answering-machine detection classified the answer as a machine at `detectedAt`.
    case machine(answeredAt: Moment, detectedAt: Moment)
    /// The node answered an inbound call at `acceptedAt`.
    case inbound(acceptedAt: Moment)
}

/// What a trunk reports about one call, in the order it happens.
///
/// Every event carries the moment it happened on the trunk's clock. A trunk may report an
/// event after its moment (answering-machine detection, for instance, reports the answer
/// once it has classified it), but the moments of one call's events never go backwards.
/// ``CallLegStateMachine`` says which event may follow which.
public enum CallProgress: Hashable, Sendable {
    /// The called number is ringing.
    case ringing(at: Moment)
    /// The call was answered at `at` and answering-machine detection is classifying it: a
    /// verdict (``answeredLive(at:greetingEndsAt:)`` or ``answeredByMachine(at:detectedAt:)``)
    /// follows with the same answer moment. Sent only with detection on, at the answer, so
    /// that the node can secure an agent while the detector listens instead of after it.
    case answered(at: Moment)
    /// A person answered at `at` and finished their greeting at `greetingEndsAt`.
    case answeredLive(at: Moment, greetingEndsAt: Moment)
    /// A machine answered at `at`; detection classified it so at `detectedAt`.
    case answeredByMachine(at: Moment, detectedAt: Moment)
    /// The line was busy. Final.
    case busy(at: Moment)
    /// Nobody answered within the ring timeout. Final.
    case noAnswer(at: Moment)
    /// The number does not exist or cannot be reached. Final.
    case invalidNumber(at: Moment)
    /// The network or the trunk failed: before the answer the call was never placed,
    /// after it the connection dropped. Final.
    case networkFailure(at: Moment)
    /// The node answered an inbound call.
    case accepted(at: Moment)
    /// The call was connected to an agent.
    case bridged(to: AgentID, at: Moment)
    /// A message started to play into the call (it replaces one already playing).
    case messageStarted(CallMessage, at: Moment)
    /// A message played to its end; the call is connected and idle again.
    case messageFinished(CallMessage, at: Moment)
    /// The call ended because one side hung up. Final.
    case hungUp(by: CallParty, at: Moment)

    /// When it happened.
    public var moment: Moment {
        switch self {
        case .ringing(let at), .answered(let at), .answeredLive(let at, _), .answeredByMachine(let at, _),
            .busy(let at),
            .noAnswer(let at), .invalidNumber(let at), .networkFailure(let at), .accepted(let at),
            .bridged(_, let at), .messageStarted(_, let at), .messageFinished(_, let at), .hungUp(_, let at):
            at
        }
    }

    /// Whether the call is over after this event: nothing follows it and its stream ends.
    public var isFinal: Bool {
        switch self {
        case .busy, .noAnswer, .invalidNumber, .networkFailure, .hungUp: true
        case .ringing, .answered, .answeredLive, .answeredByMachine, .accepted, .bridged, .messageStarted,
            .messageFinished:
            false
        }
    }
}
