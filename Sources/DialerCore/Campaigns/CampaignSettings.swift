/// Whether a campaign dials.
public enum CampaignStatus: String, Hashable, Sendable, Codable, CaseIterable {
    /// Dials (within its calling windows, if it has any).
    case enabled
    /// Never dials.
    case disabled
    /// Switched on inside its calling windows only. On a day with several windows it stays
    /// switched on in the gaps between them (its agents stay on the campaign), but no contact
    /// is handed out there.
    case automatic
}

/// How the dialer decides how many calls to place.
public enum DialingMode: String, Hashable, Sendable, Codable, CaseIterable {
    /// An agent is reserved and shown the contact first, then accepts (the dialer calls) or skips.
    case preview
    /// An agent is reserved, then ``CampaignSettings/dialRate`` lines are placed for them.
    case progressive
    /// A fixed ratio of calls per ready agent plus per agent in wrap-up.
    case power
    /// The number of calls varies to keep agents busy while holding the abandon rate.
    case predictive
    /// No agents: each answered call plays a message or runs an IVR, up to the IVR ports.
    case agentless
}

/// What predictive pacing optimises for; every target is held under the target abandon rate.
public enum PredictiveTarget: String, Hashable, Sendable, Codable, CaseIterable {
    /// Dial as much as the abandon rate allows.
    case abandonRate
    /// Dial just enough to keep ``PredictiveSettings/targetBusyFactor`` of the agents busy.
    case busyFactor
    /// Dial as much as keeps an answered caller's expected wait under
    /// ``PredictiveSettings/targetAverageWait``.
    case averageWait
}

/// A rolling period over which a regulator bounds the abandon rate.
public enum RegulatedWindow: String, Hashable, Sendable, Codable, CaseIterable, Comparable {
    /// 24 hours (UK Ofcom).
    case twentyFourHours = "24h"
    /// 30 days (US FTC Telemarketing Sales Rule).
    case thirtyDays = "30d"

    /// The length of the window.
    public var length: Duration {
        switch self {
        case .twentyFourHours: .seconds(24 * 3600)
        case .thirtyDays: .seconds(30 * 24 * 3600)
        }
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.length < rhs.length }
}

/// The settings of predictive mode.
public struct PredictiveSettings: Hashable, Sendable, Codable {
    /// What pacing optimises for.
    public var target: PredictiveTarget
    /// The abandon rate (abandons over live answers) never to exceed, whatever the target:
    /// 0.03 is the regulated 3 %. From 0 to 1.
    public var targetAbandonRate: Double
    /// For ``PredictiveTarget/busyFactor``: the fraction of staffed agents to keep busy, above 0
    /// and at most 1.
    public var targetBusyFactor: Double
    /// For ``PredictiveTarget/averageWait``: the longest expected wait of an answered caller.
    public var targetAverageWait: Duration
    /// The windows over which the abandon rate is held (each one must stay under the target).
    public var regulatedWindows: [RegulatedWindow]
    /// The most lines dialing at once per available or soon-free agent, 1 to 10.
    public var maximumDialRate: Double
    /// How quickly the dial level follows the model between decisions: the fraction of the
    /// gap closed per decision, above 0 and at most 1.
    public var correctionPace: Double
    /// A multiplier on the dial level the model computes (1 = as computed), above 0 and at most 5.
    public var gain: Double

    /// Predictive settings; the defaults hold 3 % over both regulated windows.
    public init(
        target: PredictiveTarget = .abandonRate,
        targetAbandonRate: Double = 0.03,
        targetBusyFactor: Double = 0.9,
        targetAverageWait: Duration = .seconds(1),
        regulatedWindows: [RegulatedWindow] = [.twentyFourHours, .thirtyDays],
        maximumDialRate: Double = 3,
        correctionPace: Double = 0.5,
        gain: Double = 1
    ) {
        self.target = target
        self.targetAbandonRate = targetAbandonRate
        self.targetBusyFactor = targetBusyFactor
        self.targetAverageWait = targetAverageWait
        self.regulatedWindows = regulatedWindows
        self.maximumDialRate = maximumDialRate
        self.correctionPace = correctionPace
        self.gain = gain
    }

    private enum CodingKeys: String, CodingKey {
        case target, targetAbandonRate, targetBusyFactor, targetAverageWait, regulatedWindows
        case maximumDialRate, correctionPace, gain
    }

    /// Decodes the settings; a missing key takes its default, so that clients may send only
    /// what they change from the defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = PredictiveSettings()
        target = try container.decodeIfPresent(PredictiveTarget.self, forKey: .target) ?? defaults.target
        targetAbandonRate =
            try container.decodeIfPresent(Double.self, forKey: .targetAbandonRate) ?? defaults.targetAbandonRate
        targetBusyFactor =
            try container.decodeIfPresent(Double.self, forKey: .targetBusyFactor) ?? defaults.targetBusyFactor
        targetAverageWait =
            try container.decodeSecondsIfPresent(forKey: .targetAverageWait) ?? defaults.targetAverageWait
        regulatedWindows =
            try container.decodeIfPresent([RegulatedWindow].self, forKey: .regulatedWindows)
            ?? defaults.regulatedWindows
        maximumDialRate =
            try container.decodeIfPresent(Double.self, forKey: .maximumDialRate) ?? defaults.maximumDialRate
        correctionPace = try container.decodeIfPresent(Double.self, forKey: .correctionPace) ?? defaults.correctionPace
        gain = try container.decodeIfPresent(Double.self, forKey: .gain) ?? defaults.gain
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(target, forKey: .target)
        try container.encode(targetAbandonRate, forKey: .targetAbandonRate)
        try container.encode(targetBusyFactor, forKey: .targetBusyFactor)
        try container.encodeSeconds(targetAverageWait, forKey: .targetAverageWait)
        try container.encode(regulatedWindows, forKey: .regulatedWindows)
        try container.encode(maximumDialRate, forKey: .maximumDialRate)
        try container.encode(correctionPace, forKey: .correctionPace)
        try container.encode(gain, forKey: .gain)
    }
}

/// How long to wait before calling a contact again, per outcome of its last attempt.
///
/// `nil` for an outcome means the outcome closes the contact instead of retrying it.
public struct RetryIntervals: Hashable, Sendable, Codable {
    /// The shortest interval after an attempt whose outcome is unknown (its node was lost):
    /// the customer may have just been called, so such a contact is never retried at once.
    public static let minimumUnknown: Duration = .seconds(60)

    /// After a busy signal.
    public var busy: Duration?
    /// After the ring timeout passed without an answer.
    public var noAnswer: Duration?
    /// After an answering machine (whatever the AMD policy did with it).
    public var machine: Duration?
    /// After a network or trunk failure.
    public var networkFailure: Duration?
    /// After an attempt whose outcome is unknown because its node was lost; at least
    /// ``minimumUnknown``.
    public var unknown: Duration
    /// After an abandoned call. The default is 72 hours because Ofcom forbids calling an
    /// abandoned number again within 72 hours unless an agent is guaranteed.
    public var abandoned: Duration?
    /// After an agent's disposition that asks for a retry without naming a time.
    public var agentRetry: Duration

    /// Retry intervals; the defaults are common choices.
    public init(
        busy: Duration? = .seconds(10 * 60),
        noAnswer: Duration? = .seconds(2 * 3600),
        machine: Duration? = .seconds(4 * 3600),
        networkFailure: Duration? = .seconds(15 * 60),
        unknown: Duration = .seconds(30 * 60),
        abandoned: Duration? = .seconds(72 * 3600),
        agentRetry: Duration = .seconds(3600)
    ) {
        self.busy = busy
        self.noAnswer = noAnswer
        self.machine = machine
        self.networkFailure = networkFailure
        self.unknown = unknown
        self.abandoned = abandoned
        self.agentRetry = agentRetry
    }

    /// The interval after `outcome`, or `nil` when the outcome closes the contact (a live answer
    /// and an invalid number always do).
    public func interval(after outcome: AttemptOutcome) -> Duration? {
        switch outcome {
        case .connected, .invalidNumber: nil
        case .busy: busy
        case .noAnswer: noAnswer
        case .machine: machine
        case .networkFailure: networkFailure
        case .abandoned: abandoned
        case .unknown: max(unknown, Self.minimumUnknown)
        }
    }

    private enum CodingKeys: String, CodingKey {
        case busy, noAnswer, machine, networkFailure, unknown, abandoned, agentRetry
    }

    /// Decodes the intervals (in seconds). A missing key takes its default; an explicit `null`
    /// means "do not retry".
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = RetryIntervals()
        func optional(_ key: CodingKeys, _ fallback: Duration?) throws -> Duration? {
            guard container.contains(key) else { return fallback }
            return try container.decodeSecondsIfPresent(forKey: key)
        }
        busy = try optional(.busy, defaults.busy)
        noAnswer = try optional(.noAnswer, defaults.noAnswer)
        machine = try optional(.machine, defaults.machine)
        networkFailure = try optional(.networkFailure, defaults.networkFailure)
        abandoned = try optional(.abandoned, defaults.abandoned)
        unknown = try container.decodeSecondsIfPresent(forKey: .unknown) ?? defaults.unknown
        agentRetry = try container.decodeSecondsIfPresent(forKey: .agentRetry) ?? defaults.agentRetry
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        // Explicit nulls: a missing key would read back as the default, not as "no retry".
        func optional(_ value: Duration?, _ key: CodingKeys) throws {
            if let value {
                try container.encodeSeconds(value, forKey: key)
            } else {
                try container.encodeNil(forKey: key)
            }
        }
        try optional(busy, .busy)
        try optional(noAnswer, .noAnswer)
        try optional(machine, .machine)
        try optional(networkFailure, .networkFailure)
        try optional(abandoned, .abandoned)
        try container.encodeSeconds(unknown, forKey: .unknown)
        try container.encodeSeconds(agentRetry, forKey: .agentRetry)
    }
}

/// What happens to an answered call when no agent is free to take it.
public enum NoAgentPolicy: Hashable, Sendable, Codable {
    /// Play the campaign's abandon message (if the trunk has one) and hang up at once.
    case hangUp
    /// Play `message` (or music) while waiting for an agent, for at most `maximumHold`, then
    /// hang up. The call still counts as abandoned if no agent takes it within the regulated
    /// two seconds.
    case hold(message: String, maximumHold: Duration)

    private enum CodingKeys: String, CodingKey { case action, message, maximumHold }
    private enum Action: String, Codable { case hangUp, hold }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(Action.self, forKey: .action) {
        case .hangUp: self = .hangUp
        case .hold:
            self = .hold(
                message: try container.decode(String.self, forKey: .message),
                maximumHold: try container.decodeSeconds(forKey: .maximumHold))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .hangUp:
            try container.encode(Action.hangUp, forKey: .action)
        case .hold(let message, let maximumHold):
            try container.encode(Action.hold, forKey: .action)
            try container.encode(message, forKey: .message)
            try container.encodeSeconds(maximumHold, forKey: .maximumHold)
        }
    }
}

/// What answering-machine detection does.
public enum AnsweringMachinePolicy: Hashable, Sendable, Codable {
    /// No detection: every answer is treated as live and goes to an agent.
    case off
    /// Detect machines and hang up on them.
    case hangUp
    /// Detect machines and leave `message` (an id of a recorded message) after the beep.
    case leaveMessage(message: String)

    private enum CodingKeys: String, CodingKey { case action, message }
    private enum Action: String, Codable { case off, hangUp, leaveMessage }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(Action.self, forKey: .action) {
        case .off: self = .off
        case .hangUp: self = .hangUp
        case .leaveMessage: self = .leaveMessage(message: try container.decode(String.self, forKey: .message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .off: try container.encode(Action.off, forKey: .action)
        case .hangUp: try container.encode(Action.hangUp, forKey: .action)
        case .leaveMessage(let message):
            try container.encode(Action.leaveMessage, forKey: .action)
            try container.encode(message, forKey: .message)
        }
    }
}

/// A contact field the campaign's contacts can be ordered by.
///
/// Encoded as a string: `"priority"`, `"attempts"`, `"createdAt"`, `"lastAttemptAt"`, or
/// `"fields.NAME"` for the custom field `NAME`.
public enum SortField: Hashable, Sendable, Codable, CustomStringConvertible {
    /// ``Contact/priority``.
    case priority
    /// ``Contact/attempts``.
    case attempts
    /// ``Contact/createdAt``.
    case createdAt
    /// ``Contact/lastAttemptAt`` (contacts never attempted sort last).
    case lastAttemptAt
    /// A custom field of ``Contact/fields``, compared as numbers when both values are numbers,
    /// else as text; contacts without the field sort last.
    case field(String)

    private static let customPrefix = "fields."

    /// Parses the encoded form; `nil` for an unknown name.
    public init?(_ text: String) {
        switch text {
        case "priority": self = .priority
        case "attempts": self = .attempts
        case "createdAt": self = .createdAt
        case "lastAttemptAt": self = .lastAttemptAt
        default:
            guard text.hasPrefix(Self.customPrefix) else { return nil }
            self = .field(String(text.dropFirst(Self.customPrefix.count)))
        }
    }

    public var description: String {
        switch self {
        case .priority: "priority"
        case .attempts: "attempts"
        case .createdAt: "createdAt"
        case .lastAttemptAt: "lastAttemptAt"
        case .field(let name): Self.customPrefix + name
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let field = SortField(text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription:
                    "unknown sort field \"\(text)\" (priority, attempts, createdAt, lastAttemptAt, fields.NAME)"
            )
        }
        self = field
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A direction of sorting.
public enum SortOrder: String, Hashable, Sendable, Codable, CaseIterable {
    /// Smallest (earliest, first in text order) first.
    case ascending
    /// Largest (latest, last in text order) first.
    case descending
}

/// One key of a campaign's priority order.
public struct SortKey: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The field compared.
    public var field: SortField
    /// Which end goes first.
    public var order: SortOrder

    /// Sort by `field` in `order`.
    public init(_ field: SortField, _ order: SortOrder = .ascending) {
        self.field = field
        self.order = order
    }

    public var description: String { "\(field) \(order.rawValue)" }
}

/// Whether contacts never attempted go before contacts due for a retry.
public enum FreshRetryOrder: String, Hashable, Sendable, Codable, CaseIterable {
    /// Contacts never attempted first.
    case freshFirst
    /// Contacts due for a retry first.
    case retriesFirst
    /// No preference: by the time each became due.
    case interleaved
}

/// The settings of one campaign: everything an operator can set on it, and its status.
///
/// A value, so that a change is a new value: the store persists it as a whole and the manager
/// hands the new value to the rules. ``validate()`` names every bad field; the API rejects a
/// campaign whose settings have any. Decoding fills every missing key with its default.
public struct CampaignSettings: Hashable, Sendable, Codable {
    /// Whether the campaign dials.
    public var status: CampaignStatus
    /// How calls are paced.
    public var mode: DialingMode
    /// Power mode: calls per ready agent (e.g. 1 or 1.7), above 0 and at most 10.
    public var callsPerReadyAgent: Double
    /// Power mode: calls per agent in wrap-up (e.g. 0.1), 0 to 10.
    public var callsPerWrapUpAgent: Double
    /// Progressive mode: lines placed per reserved agent, 1 to 10.
    public var dialRate: Int
    /// Predictive mode's settings.
    public var predictive: PredictiveSettings
    /// Agentless mode: the IVR ports (simultaneous calls), 1 to 1000. Required for agentless.
    public var ivrPorts: Int?
    /// How long a call may ring before it is given up as not answered; at least 15 s (the FTC
    /// minimum, about four rings).
    public var ringTimeout: Duration
    /// The most attempts per contact (agent-scheduled callbacks excepted); at least 1.
    public var maximumAttempts: Int
    /// How long to wait before a retry, per outcome.
    public var retryIntervals: RetryIntervals
    /// While every agent talks: the most lines dialing, as a percentage (0 to 100) of the busy
    /// agents; `nil` for no limit.
    public var overdialLimitPercent: Double?
    /// The most new attempts in any 5-second slot; `nil` for no limit.
    public var attemptsPerFiveSeconds: Int?
    /// What happens to an answered call when no agent is free.
    public var noAgentPolicy: NoAgentPolicy
    /// The numbers presented to the called party.
    public var callerID: CallerIDSettings
    /// The IANA identifier of the campaign's time zone (e.g. `"Europe/Copenhagen"`): its
    /// windows are in it, and it is the calling-hours zone of contacts whose own is unknown.
    public var timeZone: String
    /// When the campaign may dial, in its time zone; none means at any time (for an enabled
    /// campaign; an automatic one needs at least one).
    public var windows: [CallingWindow]
    /// When a contact may be called, in the contact's own time zone.
    public var callingHours: CallingHours
    /// What answering-machine detection does.
    public var answeringMachine: AnsweringMachinePolicy
    /// The thresholds answering-machine detection runs with (Asterisk's defaults).
    public var answeringMachineDetection: AMDSettings
    /// The order in which dialable contacts are handed out, most significant key first.
    public var priorityOrder: [SortKey]
    /// Whether fresh contacts go before retries (after ``priorityOrder``).
    public var freshVersusRetry: FreshRetryOrder
    /// The regulator's rules the settings keep; `nil` for the cluster's profile
    /// (`manager.compliance_profile`).
    public var compliance: ComplianceProfile?
    /// What the agent's desktop shows during the campaign's calls: the call script, plain text.
    public var script: String

    /// Settings; the defaults describe a disabled progressive campaign in UTC with no windows,
    /// US calling hours, and contacts ordered by ascending priority number, fresh first.
    public init(
        status: CampaignStatus = .disabled,
        mode: DialingMode = .progressive,
        callsPerReadyAgent: Double = 1,
        callsPerWrapUpAgent: Double = 0,
        dialRate: Int = 1,
        predictive: PredictiveSettings = PredictiveSettings(),
        ivrPorts: Int? = nil,
        ringTimeout: Duration = .seconds(25),
        maximumAttempts: Int = 5,
        retryIntervals: RetryIntervals = RetryIntervals(),
        overdialLimitPercent: Double? = nil,
        attemptsPerFiveSeconds: Int? = nil,
        noAgentPolicy: NoAgentPolicy = .hangUp,
        callerID: CallerIDSettings = CallerIDSettings(),
        timeZone: String = "UTC",
        windows: [CallingWindow] = [],
        callingHours: CallingHours = .standard,
        answeringMachine: AnsweringMachinePolicy = .off,
        answeringMachineDetection: AMDSettings = AMDSettings(),
        priorityOrder: [SortKey] = [SortKey(.priority)],
        freshVersusRetry: FreshRetryOrder = .freshFirst,
        compliance: ComplianceProfile? = nil,
        script: String = ""
    ) {
        self.status = status
        self.mode = mode
        self.callsPerReadyAgent = callsPerReadyAgent
        self.callsPerWrapUpAgent = callsPerWrapUpAgent
        self.dialRate = dialRate
        self.predictive = predictive
        self.ivrPorts = ivrPorts
        self.ringTimeout = ringTimeout
        self.maximumAttempts = maximumAttempts
        self.retryIntervals = retryIntervals
        self.overdialLimitPercent = overdialLimitPercent
        self.attemptsPerFiveSeconds = attemptsPerFiveSeconds
        self.noAgentPolicy = noAgentPolicy
        self.callerID = callerID
        self.timeZone = timeZone
        self.windows = windows
        self.callingHours = callingHours
        self.answeringMachine = answeringMachine
        self.answeringMachineDetection = answeringMachineDetection
        self.priorityOrder = priorityOrder
        self.freshVersusRetry = freshVersusRetry
        self.compliance = compliance
        self.script = script
    }

    private enum CodingKeys: String, CodingKey {
        case status, mode, callsPerReadyAgent, callsPerWrapUpAgent, dialRate, predictive, ivrPorts
        case ringTimeout, maximumAttempts, retryIntervals, overdialLimitPercent, attemptsPerFiveSeconds
        case noAgentPolicy, callerID, timeZone, windows, callingHours, answeringMachine, answeringMachineDetection
        case priorityOrder, freshVersusRetry, compliance, script
    }

    /// Decodes settings (durations in seconds); a missing key takes its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let defaults = CampaignSettings()
        func value<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T {
            try container.decodeIfPresent(T.self, forKey: key) ?? fallback
        }
        status = try value(.status, defaults.status)
        mode = try value(.mode, defaults.mode)
        callsPerReadyAgent = try value(.callsPerReadyAgent, defaults.callsPerReadyAgent)
        callsPerWrapUpAgent = try value(.callsPerWrapUpAgent, defaults.callsPerWrapUpAgent)
        dialRate = try value(.dialRate, defaults.dialRate)
        predictive = try value(.predictive, defaults.predictive)
        ivrPorts = try container.decodeIfPresent(Int.self, forKey: .ivrPorts)
        ringTimeout = try container.decodeSecondsIfPresent(forKey: .ringTimeout) ?? defaults.ringTimeout
        maximumAttempts = try value(.maximumAttempts, defaults.maximumAttempts)
        retryIntervals = try value(.retryIntervals, defaults.retryIntervals)
        overdialLimitPercent = try container.decodeIfPresent(Double.self, forKey: .overdialLimitPercent)
        attemptsPerFiveSeconds = try container.decodeIfPresent(Int.self, forKey: .attemptsPerFiveSeconds)
        noAgentPolicy = try value(.noAgentPolicy, defaults.noAgentPolicy)
        callerID = try value(.callerID, defaults.callerID)
        timeZone = try value(.timeZone, defaults.timeZone)
        windows = try value(.windows, defaults.windows)
        callingHours = try value(.callingHours, defaults.callingHours)
        answeringMachine = try value(.answeringMachine, defaults.answeringMachine)
        answeringMachineDetection = try value(.answeringMachineDetection, defaults.answeringMachineDetection)
        priorityOrder = try value(.priorityOrder, defaults.priorityOrder)
        freshVersusRetry = try value(.freshVersusRetry, defaults.freshVersusRetry)
        compliance = try container.decodeIfPresent(ComplianceProfile.self, forKey: .compliance)
        script = try value(.script, defaults.script)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status, forKey: .status)
        try container.encode(mode, forKey: .mode)
        try container.encode(callsPerReadyAgent, forKey: .callsPerReadyAgent)
        try container.encode(callsPerWrapUpAgent, forKey: .callsPerWrapUpAgent)
        try container.encode(dialRate, forKey: .dialRate)
        try container.encode(predictive, forKey: .predictive)
        try container.encodeIfPresent(ivrPorts, forKey: .ivrPorts)
        try container.encodeSeconds(ringTimeout, forKey: .ringTimeout)
        try container.encode(maximumAttempts, forKey: .maximumAttempts)
        try container.encode(retryIntervals, forKey: .retryIntervals)
        try container.encodeIfPresent(overdialLimitPercent, forKey: .overdialLimitPercent)
        try container.encodeIfPresent(attemptsPerFiveSeconds, forKey: .attemptsPerFiveSeconds)
        try container.encode(noAgentPolicy, forKey: .noAgentPolicy)
        try container.encode(callerID, forKey: .callerID)
        try container.encode(timeZone, forKey: .timeZone)
        try container.encode(windows, forKey: .windows)
        try container.encode(callingHours, forKey: .callingHours)
        try container.encode(answeringMachine, forKey: .answeringMachine)
        try container.encode(answeringMachineDetection, forKey: .answeringMachineDetection)
        try container.encode(priorityOrder, forKey: .priorityOrder)
        try container.encode(freshVersusRetry, forKey: .freshVersusRetry)
        try container.encodeIfPresent(compliance, forKey: .compliance)
        try container.encode(script, forKey: .script)
    }
}

/// A campaign: its identity, its list and queue, and its settings.
public struct Campaign: Hashable, Sendable, Codable, Identifiable {
    public var id: CampaignID
    /// A short name shown to supervisors.
    public var name: String
    /// A longer description.
    public var description: String
    /// The one contact list the campaign dials.
    public var list: ContactListID
    /// The system queue the dialer feeds and the campaign's agents serve.
    public var queue: QueueID
    /// Everything else, status included.
    public var settings: CampaignSettings

    /// A campaign.
    public init(
        id: CampaignID,
        name: String,
        description: String = "",
        list: ContactListID,
        queue: QueueID,
        settings: CampaignSettings = CampaignSettings()
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.list = list
        self.queue = queue
        self.settings = settings
    }

    private enum CodingKeys: String, CodingKey { case id, name, description, list, queue, settings }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(CampaignID.self, forKey: .id)
        name = try container.decode(String.self, forKey: .name)
        description = try container.decodeIfPresent(String.self, forKey: .description) ?? ""
        list = try container.decode(ContactListID.self, forKey: .list)
        queue = QueueID(try container.decode(String.self, forKey: .queue))
        settings = try container.decodeIfPresent(CampaignSettings.self, forKey: .settings) ?? CampaignSettings()
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(description, forKey: .description)
        try container.encode(list, forKey: .list)
        try container.encode(queue.rawValue, forKey: .queue)
        try container.encode(settings, forKey: .settings)
    }
}
