/// A simulated campaign: its agents and shift, its customers, and what is measured.
///
/// Scenarios are JSON files (see `scenarios/` in the repository); every time is in seconds
/// unless its name says hours. A field may be left out when it has a default below.
///
/// ```json
/// {
///   "name": "agents-100", "seed": 1, "agents": 100, "shiftHours": 8,
///   "outcomes": { "live": 0.3, "machine": 0.15, "busy": 0.05, "noAnswer": 0.4, "invalid": 0.05, "failed": 0.05 },
///   "timeToAnswerSeconds": { "mean": 9, "sd": 5 },
///   "talkSeconds": { "mean": 150, "sd": 120 },
///   "wrapUpSeconds": { "mean": 20, "sd": 10 },
///   "machineDetectionSeconds": { "mean": 2.5, "sd": 0.8 },
///   "patienceSeconds": { "mean": 8, "sd": 4 },
///   "answerRateSchedule": [ { "fromHour": 4, "live": 0.2 } ]
/// }
/// ```
///
/// Customers are an endless list (or ``contacts`` of them); each one's outcome, ring time,
/// machine-detection time, signalling time and patience are fixed by the seed and its place in
/// the list, so every policy meets the same customers in the same order.
public struct Scenario: Sendable, Hashable {
    /// A short name, used in reports.
    public var name: String
    /// What the scenario is meant to show.
    public var description: String?
    /// The seed of every random draw: the same seed gives the same run.
    public var seed: UInt64
    /// Agents staffed for the whole shift.
    public var agents: Int
    /// Length of the shift (dialing stops at its end; calls in progress finish).
    public var shiftHours: Double
    /// Consecutive shifts, one per day; the rolling windows carry over between them.
    public var days: Int
    /// Contacts in the list, or `nil` for an endless list.
    public var contacts: Int?
    /// What becomes of an attempt, at the start of the shift.
    public var outcomes: OutcomeMix
    /// The live-answer rate through the shift; the difference goes to (or comes from) no-answers.
    public var answerRateSchedule: [AnswerRateStep]
    /// The ring (no-answer) timeout: a call not answered by then is a no-answer.
    public var ringTimeoutSeconds: Double
    /// Time from the start of an attempt to its answer (live or machine).
    public var timeToAnswerSeconds: DurationDistribution
    /// Talk time of a connected call.
    public var talkSeconds: DurationDistribution
    /// The agent's wrap-up (after-call work) after a call.
    public var wrapUpSeconds: DurationDistribution
    /// Time the answering-machine detection takes; the line stays busy until then.
    public var machineDetectionSeconds: DurationDistribution
    /// Time until a busy, invalid or failed attempt is signalled.
    public var signalSeconds: DurationDistribution
    /// How long a live-answered customer holds on in silence before hanging up.
    public var patienceSeconds: DurationDistribution
    /// How soon after the greeting an answered call must reach an agent (2 s in the US and UK).
    public var connectGraceSeconds: Double
    /// The abandon rate the predictive policy is configured for, and the baseline's drop limit.
    public var targetAbandonRate: Double
    /// The regulated rolling window the policies are given (24 h Ofcom, 720 h FTC).
    public var windowHours: Double
    /// How often the runner asks the policy how many calls to start.
    public var pacingIntervalSeconds: Double
    /// How many recent attempts (and calls) the measured statistics are taken over.
    public var statisticsSample: Int
    /// The policies compared, or `nil` for ``PolicySpec/standardSet``.
    public var policies: [PolicySpec]?

    /// Creates a scenario; the defaults are those a JSON file gets for a missing field.
    public init(
        name: String,
        description: String? = nil,
        seed: UInt64 = 1,
        agents: Int,
        shiftHours: Double,
        days: Int = 1,
        contacts: Int? = nil,
        outcomes: OutcomeMix,
        answerRateSchedule: [AnswerRateStep] = [],
        ringTimeoutSeconds: Double = 25,
        timeToAnswerSeconds: DurationDistribution,
        talkSeconds: DurationDistribution,
        wrapUpSeconds: DurationDistribution,
        machineDetectionSeconds: DurationDistribution = .fixed(seconds: 2.5),
        signalSeconds: DurationDistribution = .fixed(seconds: 3),
        patienceSeconds: DurationDistribution = .fixed(seconds: 10),
        connectGraceSeconds: Double = 2,
        targetAbandonRate: Double = 0.03,
        windowHours: Double = 24,
        pacingIntervalSeconds: Double = 0.25,
        statisticsSample: Int = 1000,
        policies: [PolicySpec]? = nil
    ) {
        self.name = name
        self.description = description
        self.seed = seed
        self.agents = agents
        self.shiftHours = shiftHours
        self.days = days
        self.contacts = contacts
        self.outcomes = outcomes
        self.answerRateSchedule = answerRateSchedule
        self.ringTimeoutSeconds = ringTimeoutSeconds
        self.timeToAnswerSeconds = timeToAnswerSeconds
        self.talkSeconds = talkSeconds
        self.wrapUpSeconds = wrapUpSeconds
        self.machineDetectionSeconds = machineDetectionSeconds
        self.signalSeconds = signalSeconds
        self.patienceSeconds = patienceSeconds
        self.connectGraceSeconds = connectGraceSeconds
        self.targetAbandonRate = targetAbandonRate
        self.windowHours = windowHours
        self.pacingIntervalSeconds = pacingIntervalSeconds
        self.statisticsSample = statisticsSample
        self.policies = policies
    }

    /// The policies a run compares when none are named: the scenario's own, or the standard set.
    public var effectivePolicies: [PolicySpec] { policies ?? PolicySpec.standardSet }

    /// The live-answer rate in force `hours` into the shift.
    public func liveRate(atHour hours: Double) -> Double {
        answerRateSchedule.last { $0.fromHour <= hours }?.live ?? outcomes.live
    }
}

/// The share of attempts ending in each outcome; they add up to 1.
public struct OutcomeMix: Sendable, Hashable {
    /// Answered by a person, who then needs an agent.
    public var live: Double
    /// Answered by a machine (detected, then hung up).
    public var machine: Double
    /// Busy signal.
    public var busy: Double
    /// Rang until the ring timeout.
    public var noAnswer: Double
    /// Invalid number.
    public var invalid: Double
    /// Network failure.
    public var failed: Double

    /// Creates a mix; outcomes left out are 0.
    public init(
        live: Double,
        machine: Double = 0,
        busy: Double = 0,
        noAnswer: Double = 0,
        invalid: Double = 0,
        failed: Double = 0
    ) {
        self.live = live
        self.machine = machine
        self.busy = busy
        self.noAnswer = noAnswer
        self.invalid = invalid
        self.failed = failed
    }

    var total: Double { live + machine + busy + noAnswer + invalid + failed }
}

/// From `fromHour` into each shift on, a share `live` of attempts is answered live.
public struct AnswerRateStep: Sendable, Hashable {
    /// Hours since the start of the shift.
    public var fromHour: Double
    /// The live-answer rate from then on.
    public var live: Double

    /// A step of the schedule.
    public init(fromHour: Double, live: Double) {
        self.fromHour = fromHour
        self.live = live
    }
}

/// A distribution of durations in seconds: `{"fixed": 15}` or `{"mean": 120, "sd": 90}`
/// (log-normal with that mean and standard deviation; `"sd": 0` is fixed).
public enum DurationDistribution: Sendable, Hashable {
    /// Always the same.
    case fixed(seconds: Double)
    /// Log-normal: positive and right-skewed, as call and handling times are.
    case logNormal(mean: Double, standardDeviation: Double)

    /// The mean, in seconds.
    public var mean: Double {
        switch self {
        case .fixed(let seconds): seconds
        case .logNormal(let mean, _): mean
        }
    }
}
