public import Foundation

/// How one attempt to reach a contact ended, as call progress analysis (or its absence) says.
public enum AttemptOutcome: String, Hashable, Sendable, Codable, CaseIterable, CodingKeyRepresentable {
    /// A live person answered and was connected to an agent (or, agentless, to the IVR).
    case connected
    /// A live person answered and was not connected to an agent in time: a silent call that
    /// counts against the regulated abandon rate.
    case abandoned
    /// An answering machine answered.
    case machine
    /// The line was busy.
    case busy
    /// Nobody answered within the ring timeout.
    case noAnswer
    /// The number does not exist or cannot be reached; never retried.
    case invalidNumber
    /// The network or the trunk failed to place the call.
    case networkFailure
    /// Nobody knows: the node that held the attempt was lost. The customer may have been
    /// called, so the contact is retried only after the retry interval.
    case unknown

    /// Whether a live person answered (the denominator of the abandon rate).
    public var isLiveAnswer: Bool { self == .connected || self == .abandoned }
}

/// What an agent's disposition does to the contact.
public enum DispositionAction: Hashable, Sendable {
    /// The contact is done (a sale, a refusal, a wrong person ...).
    case final
    /// Call again after the campaign's ``RetryIntervals/agentRetry``, within the attempt limit.
    case retry
    /// Call back at `at`. With `privateAgent`, only that agent gets the call. A callback the
    /// agent promised is kept even when the contact has used its attempts.
    case callback(at: Date, privateAgent: AgentID?)
}

/// The outcome an agent records after a call: a named result and what it does to the contact.
public struct Disposition: Hashable, Sendable, Codable {
    /// The campaign's name for the result ("sale", "not interested", "call back" ...).
    public var name: String
    /// What the disposition does to the contact.
    public var action: DispositionAction

    /// A disposition named `name` doing `action`.
    public init(name: String, action: DispositionAction) {
        self.name = name
        self.action = action
    }

    /// A disposition that closes the contact.
    public static func final(_ name: String) -> Disposition { Disposition(name: name, action: .final) }

    /// A disposition that asks for a retry after the campaign's agent-retry interval.
    public static func retry(_ name: String) -> Disposition { Disposition(name: name, action: .retry) }

    /// A disposition that schedules a callback, private to `agent` when given.
    public static func callback(_ name: String, at date: Date, privateTo agent: AgentID? = nil) -> Disposition {
        Disposition(name: name, action: .callback(at: date, privateAgent: agent))
    }

    private enum CodingKeys: String, CodingKey { case name, action, callbackAt, privateAgent }
    private enum Action: String, Codable { case final, retry, callback }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        switch try container.decode(Action.self, forKey: .action) {
        case .final: action = .final
        case .retry: action = .retry
        case .callback:
            action = .callback(
                at: try container.decode(Date.self, forKey: .callbackAt),
                privateAgent: try container.decodeAgentIfPresent(forKey: .privateAgent))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        switch action {
        case .final: try container.encode(Action.final, forKey: .action)
        case .retry: try container.encode(Action.retry, forKey: .action)
        case .callback(let at, let agent):
            try container.encode(Action.callback, forKey: .action)
            try container.encode(at, forKey: .callbackAt)
            try container.encodeAgentIfPresent(agent, forKey: .privateAgent)
        }
    }
}

/// What a node (or the manager, for a lost node) reports about one attempt.
public struct AttemptResult: Hashable, Sendable, Codable {
    /// The attempt reported on; a second report of the same attempt changes nothing.
    public var attempt: AttemptID
    /// The contact the attempt was for.
    public var contact: ContactID
    /// How the call ended.
    public var outcome: AttemptOutcome
    /// The agent's disposition, when it is known with the result (it may also come later, see
    /// ``Contact/applyDisposition(_:attempt:settings:now:)``).
    public var disposition: Disposition?
    /// The agent who took the call, if any.
    public var agent: AgentID?
    /// When a live person or a machine answered, if anyone did.
    public var answeredAt: Date?
    /// When the node placed the call.
    public var dialedAt: Date?
    /// When the call was bridged to an agent.
    public var bridgedAt: Date?
    /// When the call itself ended, as the node saw it (not when the result reached the manager).
    public var callEndedAt: Date?
    /// The caller ID the call went out with, in E.164.
    public var callerID: String?
    /// Why the call was abandoned, for an ``AttemptOutcome/abandoned`` result.
    public var abandonCause: AbandonCause?

    /// A result.
    public init(
        attempt: AttemptID,
        contact: ContactID,
        outcome: AttemptOutcome,
        disposition: Disposition? = nil,
        agent: AgentID? = nil,
        answeredAt: Date? = nil,
        dialedAt: Date? = nil,
        bridgedAt: Date? = nil,
        callEndedAt: Date? = nil,
        callerID: String? = nil,
        abandonCause: AbandonCause? = nil
    ) {
        self.abandonCause = outcome == .abandoned ? abandonCause : nil
        self.attempt = attempt
        self.contact = contact
        self.outcome = outcome
        self.disposition = disposition
        self.agent = agent
        self.answeredAt = answeredAt
        self.dialedAt = dialedAt
        self.bridgedAt = bridgedAt
        self.callEndedAt = callEndedAt
        self.callerID = callerID
    }

    private enum CodingKeys: String, CodingKey {
        case attempt, contact, outcome, disposition, agent, answeredAt, dialedAt, bridgedAt, callEndedAt, callerID
        case abandonCause
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        attempt = try container.decode(AttemptID.self, forKey: .attempt)
        contact = try container.decode(ContactID.self, forKey: .contact)
        outcome = try container.decode(AttemptOutcome.self, forKey: .outcome)
        disposition = try container.decodeIfPresent(Disposition.self, forKey: .disposition)
        agent = try container.decodeAgentIfPresent(forKey: .agent)
        answeredAt = try container.decodeIfPresent(Date.self, forKey: .answeredAt)
        dialedAt = try container.decodeIfPresent(Date.self, forKey: .dialedAt)
        bridgedAt = try container.decodeIfPresent(Date.self, forKey: .bridgedAt)
        callEndedAt = try container.decodeIfPresent(Date.self, forKey: .callEndedAt)
        callerID = try container.decodeIfPresent(String.self, forKey: .callerID)
        // A cause this version does not know is kept as none rather than losing the result.
        abandonCause = try container.decodeIfPresent(String.self, forKey: .abandonCause).flatMap(AbandonCause.init)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(attempt, forKey: .attempt)
        try container.encode(contact, forKey: .contact)
        try container.encode(outcome, forKey: .outcome)
        try container.encodeIfPresent(disposition, forKey: .disposition)
        try container.encodeAgentIfPresent(agent, forKey: .agent)
        try container.encodeIfPresent(answeredAt, forKey: .answeredAt)
        try container.encodeIfPresent(dialedAt, forKey: .dialedAt)
        try container.encodeIfPresent(bridgedAt, forKey: .bridgedAt)
        try container.encodeIfPresent(callEndedAt, forKey: .callEndedAt)
        try container.encodeIfPresent(callerID, forKey: .callerID)
        try container.encodeIfPresent(abandonCause, forKey: .abandonCause)
    }
}

extension AttemptResult {
    /// The earliest call time a result may carry: anything before is a node's bug (a clock at
    /// its origin, a duration sent as a date), not a call.
    public static let earliestCallTime = Date(timeIntervalSince1970: 946_684_800)  // 2000-01-01
    /// The latest call time a result may carry (2100-01-01), for the same reason.
    public static let latestCallTime = Date(timeIntervalSince1970: 4_102_444_800)

    /// What is wrong with the call's details (its times and caller ID), one sentence each;
    /// empty when they can be kept.
    ///
    /// The times must lie between ``earliestCallTime`` and ``latestCallTime`` and follow the
    /// call: dialed, answered, bridged, ended, each no earlier than the ones before it that are
    /// present. The caller ID must be E.164. The outcome is never questioned here: it is what
    /// the contact's next step depends on, and the details are only a record of the call.
    public var callDetailProblems: [String] {
        timeProblems + (callerIDIsValid ? [] : ["caller ID \"\(callerID?.prefix(32) ?? "")\" is not an E.164 number"])
    }

    /// The result without the details ``callDetailProblems`` finds wrong: every time when any
    /// time is wrong (which one is wrong cannot be told), the caller ID when it is not E.164.
    /// The outcome, agent and disposition stay, so that bad details never cost the result.
    public func withoutInvalidCallDetails() -> AttemptResult {
        var result = self
        if !timeProblems.isEmpty {
            result.dialedAt = nil
            result.answeredAt = nil
            result.bridgedAt = nil
            result.callEndedAt = nil
        }
        if !callerIDIsValid { result.callerID = nil }
        return result
    }

    private var callerIDIsValid: Bool { callerID.map(PhoneNumbers.isE164) ?? true }

    private var timeProblems: [String] {
        var problems: [String] = []
        let times: [(name: String, date: Date?)] = [
            ("dialed", dialedAt), ("answered", answeredAt), ("bridged", bridgedAt), ("ended", callEndedAt),
        ]
        let present = times.compactMap { time in time.date.map { (name: time.name, date: $0) } }
        for time in present where time.date < Self.earliestCallTime || time.date >= Self.latestCallTime {
            problems.append("\(time.name) at \(time.date) is not a plausible call time")
        }
        for (earlier, later) in zip(present, present.dropFirst()) where later.date < earlier.date {
            problems.append("\(later.name) at \(later.date) is before \(earlier.name) at \(earlier.date)")
        }
        return problems
    }
}

/// One attempt as the manager keeps it: open from hand-out until its result, then closed.
public struct AttemptRecord: Hashable, Sendable, Codable, Identifiable {
    /// The attempt.
    public var id: AttemptID
    /// The contact attempted.
    public var contact: ContactID
    /// The node the attempt was handed to.
    public var node: MemberID?
    /// When the contact was handed out.
    public var startedAt: Date
    /// When the result was applied; `nil` while the attempt is open.
    public var endedAt: Date?
    /// When someone (or something) answered.
    public var answeredAt: Date?
    /// When the node placed the call, as it reported.
    public var dialedAt: Date?
    /// When the call was bridged to an agent, as the node reported.
    public var bridgedAt: Date?
    /// When the call itself ended, as the node reported (``endedAt`` is when the result was
    /// applied).
    public var callEndedAt: Date?
    /// The caller ID the call went out with, as the node reported.
    public var callerID: String?
    /// How it ended; `nil` while open.
    public var outcome: AttemptOutcome?
    /// The agent's disposition, if one was recorded.
    public var disposition: Disposition?
    /// The agent who took the call.
    public var agent: AgentID?
    /// Why the call was abandoned, when its outcome is ``AttemptOutcome/abandoned`` and the
    /// node said.
    public var abandonCause: AbandonCause?
    /// The node holding the call was lost while an agent was on it: the outcome is
    /// ``AttemptOutcome/unknown`` (nobody reported how the call ended), but an agent talked to
    /// the customer. Counted apart in the campaign report.
    public var nodeLostOnCall = false

    /// An open attempt.
    public init(id: AttemptID, contact: ContactID, node: MemberID? = nil, startedAt: Date) {
        self.id = id
        self.contact = contact
        self.node = node
        self.startedAt = startedAt
    }

    /// Whether no result has been applied yet.
    public var isOpen: Bool { outcome == nil }

    /// The instant the attempt counts at in a rolling abandon-rate window: its answer, else its
    /// end, else its start.
    public var countedAt: Date { answeredAt ?? endedAt ?? startedAt }

    private enum CodingKeys: String, CodingKey {
        case id, contact, node, startedAt, endedAt, answeredAt, outcome, disposition, agent, dialedAt, bridgedAt
        case callEndedAt, callerID, abandonCause, nodeLostOnCall
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(AttemptID.self, forKey: .id)
        contact = try container.decode(ContactID.self, forKey: .contact)
        node = try container.decodeMemberIfPresent(forKey: .node)
        startedAt = try container.decode(Date.self, forKey: .startedAt)
        endedAt = try container.decodeIfPresent(Date.self, forKey: .endedAt)
        answeredAt = try container.decodeIfPresent(Date.self, forKey: .answeredAt)
        outcome = try container.decodeIfPresent(AttemptOutcome.self, forKey: .outcome)
        disposition = try container.decodeIfPresent(Disposition.self, forKey: .disposition)
        agent = try container.decodeAgentIfPresent(forKey: .agent)
        dialedAt = try container.decodeIfPresent(Date.self, forKey: .dialedAt)
        bridgedAt = try container.decodeIfPresent(Date.self, forKey: .bridgedAt)
        callEndedAt = try container.decodeIfPresent(Date.self, forKey: .callEndedAt)
        callerID = try container.decodeIfPresent(String.self, forKey: .callerID)
        abandonCause = try container.decodeIfPresent(String.self, forKey: .abandonCause).flatMap(AbandonCause.init)
        nodeLostOnCall = try container.decodeIfPresent(Bool.self, forKey: .nodeLostOnCall) ?? false
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(contact, forKey: .contact)
        try container.encodeMemberIfPresent(node, forKey: .node)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encodeIfPresent(endedAt, forKey: .endedAt)
        try container.encodeIfPresent(answeredAt, forKey: .answeredAt)
        try container.encodeIfPresent(outcome, forKey: .outcome)
        try container.encodeIfPresent(disposition, forKey: .disposition)
        try container.encodeAgentIfPresent(agent, forKey: .agent)
        try container.encodeIfPresent(dialedAt, forKey: .dialedAt)
        try container.encodeIfPresent(bridgedAt, forKey: .bridgedAt)
        try container.encodeIfPresent(callEndedAt, forKey: .callEndedAt)
        try container.encodeIfPresent(callerID, forKey: .callerID)
        try container.encodeIfPresent(abandonCause, forKey: .abandonCause)
        if nodeLostOnCall { try container.encode(nodeLostOnCall, forKey: .nodeLostOnCall) }
    }
}
