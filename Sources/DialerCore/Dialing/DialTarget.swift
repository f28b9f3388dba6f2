/// A contact handed to the node to dial, as one open attempt.
public struct DialTarget: Hashable, Sendable {
    /// The attempt the manager opened for this call; every report names it.
    public var attempt: AttemptID
    /// The contact.
    public var contact: ContactID
    /// The number to dial, in E.164.
    public var phone: String
    /// The contact's own caller ID, if it has one.
    public var callerID: String?
    /// The contact's own IANA time zone, if it has one: its calling hours are checked again on
    /// its clock when it is dialed.
    public var timeZone: String?
    /// A private callback: only this agent may take the call.
    public var privateAgent: AgentID?
    /// What the agent's desktop shows.
    public var fields: [String: String]

    public init(
        attempt: AttemptID, contact: ContactID, phone: String, callerID: String? = nil, timeZone: String? = nil,
        privateAgent: AgentID? = nil, fields: [String: String] = [:]
    ) {
        self.attempt = attempt
        self.contact = contact
        self.phone = phone
        self.callerID = callerID
        self.timeZone = timeZone
        self.privateAgent = privateAgent
        self.fields = fields
    }
}

/// How one attempt ended, with its timestamps, as the node reports it to the manager.
public struct DialedAttempt: Hashable, Sendable {
    public var target: DialTarget
    public var outcome: AttemptOutcome
    /// The agent who took the call, if any.
    public var agent: AgentID?
    /// The caller ID the call went out with.
    public var callerID: String?
    public var dialedAt: Moment
    public var answeredAt: Moment?
    public var bridgedAt: Moment?
    public var endedAt: Moment
    /// Why the call was abandoned, when its outcome is ``AttemptOutcome/abandoned``.
    public var abandonCause: AbandonCause?
    /// When the runner learned that the answer was live (the detector's verdict, or the answer
    /// itself without detection): from here the node can connect an agent.
    public var liveAt: Moment?

    public init(
        target: DialTarget, outcome: AttemptOutcome, agent: AgentID? = nil, callerID: String? = nil,
        dialedAt: Moment, answeredAt: Moment? = nil, bridgedAt: Moment? = nil, endedAt: Moment,
        abandonCause: AbandonCause? = nil, liveAt: Moment? = nil
    ) {
        self.abandonCause = abandonCause
        self.liveAt = liveAt
        self.target = target
        self.outcome = outcome
        self.agent = agent
        self.callerID = callerID
        self.dialedAt = dialedAt
        self.answeredAt = answeredAt
        self.bridgedAt = bridgedAt
        self.endedAt = endedAt
    }
}
