/// What a node asks for when it places a call.
public struct OriginateRequest: Hashable, Sendable {
    /// The number to call, in E.164 form (`+4512345678`).
    public var number: String
    /// The number presented to the called party.
    public var callerID: String
    /// How long to let the number ring before giving up with ``CallProgress/noAnswer(at:)``.
    public var ringTimeout: Duration
    /// Whether to run answering-machine detection on the answer. Without it every answer is
    /// reported as live, at the moment of the answer; with it the answer is reported once
    /// classified, live or machine, and the classification can be wrong.
    public var detectsMachines: Bool
    /// With detection on: how long after the end of the greeting the detector may still listen.
    /// An answer it has not classified by then is reported live at that moment (a detector
    /// "not sure" goes to an agent rather than be abandoned); `nil` sets no limit.
    ///
    /// The node sets it from the connect grace, less the time it needs to connect an agent, so
    /// that a live answer is always known while the customer can still be connected in time.
    public var detectionLimit: Duration?
    /// The detector's thresholds (the campaign's `answering_machine_detection`), for a trunk
    /// that listens to the audio itself; the simulated trunk draws its verdicts instead.
    public var machineDetection: AMDSettings

    public init(
        number: String, callerID: String, ringTimeout: Duration, detectsMachines: Bool = true,
        detectionLimit: Duration? = nil, machineDetection: AMDSettings = AMDSettings()
    ) {
        self.machineDetection = machineDetection
        self.number = number
        self.callerID = callerID
        self.ringTimeout = ringTimeout
        self.detectsMachines = detectsMachines
        self.detectionLimit = detectionLimit
    }
}

/// A call the node placed.
public struct OutboundCall: Sendable {
    /// The trunk's id of the call, for ``Trunk/bridge(_:to:)`` and the other operations.
    public let id: CallID
    /// The number called (E.164).
    public let number: String
    /// When the trunk placed the call, on its clock.
    public let originatedAt: Moment
    /// The call's events, in order; it finishes after the final one (see
    /// ``CallProgress/isFinal``). Read it from one task.
    public let progress: AsyncStream<CallProgress>

    public init(id: CallID, number: String, originatedAt: Moment, progress: AsyncStream<CallProgress>) {
        self.id = id
        self.number = number
        self.originatedAt = originatedAt
        self.progress = progress
    }
}

/// A call that arrived on one of the trunk's numbers.
///
/// It waits in ``CallLegState/offered`` until the node accepts it (``Trunk/accept(_:)``),
/// and its caller hangs up if nobody takes the call soon enough.
public struct InboundCall: Sendable {
    /// The trunk's id of the call.
    public let id: CallID
    /// The caller's number (E.164), as the network presents it.
    public let from: String
    /// The number called: one of the trunk's DIDs.
    public let did: String
    /// When the call arrived, on the trunk's clock.
    public let arrivedAt: Moment
    /// The call's events from its arrival on; it finishes after the final one.
    public let progress: AsyncStream<CallProgress>

    public init(id: CallID, from: String, did: String, arrivedAt: Moment, progress: AsyncStream<CallProgress>) {
        self.id = id
        self.from = from
        self.did = did
        self.arrivedAt = arrivedAt
        self.progress = progress
    }
}

/// The telephony a node places and receives calls through.
///
/// A call is an id and a stream of ``CallProgress`` events; operations name the call by id
/// and return once the trunk has taken them, their effect arriving as events in the call's
/// stream (a bridge as ``CallProgress/bridged(to:at:)``, a played message as
/// ``CallProgress/messageStarted(_:at:)`` then ``CallProgress/messageFinished(_:at:)``).
/// That keeps one ordered account of each call, which a node can replay through a
/// ``CallLegStateMachine``; its table says which operation is allowed when.
///
/// A trunk forgets a call once it has ended, so an operation on it throws
/// ``TrunkError/unknownCall(_:)``. That is the normal outcome of a race (the customer hung up
/// as the node bridged): the call's stream reports the end either way.
///
/// Implementations: `SimulatedTrunk` (DialerSimulation) for the demo, tests and load tests;
/// a SIP trunk later.
public protocol Trunk: Sendable {
    /// Places a call. Throws ``TrunkError/channelCapacityExhausted(channels:)`` when every
    /// channel is in use and ``TrunkError/callsPerSecondExceeded(limit:)`` when the carrier
    /// refuses the rate; a number that cannot be called is reported in the stream instead
    /// (``CallProgress/invalidNumber(at:)``), as a network reports it.
    func originate(_ request: OriginateRequest) async throws(TrunkError) -> OutboundCall

    /// Calls arriving on the trunk's numbers, in order of arrival. Read it from one task.
    var inboundCalls: AsyncStream<InboundCall> { get }

    /// Says which numbers' calls the carrier delivers to this node from now on (`nil`: all of
    /// them, the default). A SIP trunk registers them; a node takes the numbers of the queues it
    /// owns, so that with several nodes each call reaches one node, the one owning its queue.
    func receiveCalls(to numbers: Set<String>?) async

    /// Answers an inbound call.
    func accept(_ call: CallID) async throws(TrunkError)

    /// Connects an answered call to an agent (stopping any message playing).
    func bridge(_ call: CallID, to agent: AgentID) async throws(TrunkError)

    /// Connects an answered call to an agent whose phone is `phone` (a SIP URI the agent gave
    /// at login; `nil`: none). A trunk without phones ignores it (the default).
    func bridge(_ call: CallID, to agent: AgentID, phone: String?) async throws(TrunkError)

    /// Plays a message into an answered call, replacing any message playing.
    func play(_ message: CallMessage, on call: CallID) async throws(TrunkError)

    /// Ends a call, or stops dialing it if it has not been answered.
    func hangUp(_ call: CallID) async throws(TrunkError)
}

extension Trunk {
    public func bridge(_ call: CallID, to agent: AgentID, phone: String?) async throws(TrunkError) {
        try await bridge(call, to: agent)
    }

    /// Places a call; see ``originate(_:)``.
    public func originate(
        number: String,
        callerID: String,
        ringTimeout: Duration,
        detectsMachines: Bool = true
    ) async throws(TrunkError) -> OutboundCall {
        try await originate(
            OriginateRequest(
                number: number, callerID: callerID, ringTimeout: ringTimeout, detectsMachines: detectsMachines))
    }
}
