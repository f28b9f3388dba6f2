/// Everything a pacing policy may look at when it decides how many calls to start for one queue.
///
/// The queue runner builds one of these each time it paces (on every agent or call event and
/// on a short tick) from the gateway's agent picture, its own calls and the campaign's
/// measured statistics. Policies never read a clock or any other state: what is not in the
/// input does not exist for them, which is what lets the simulator replay them in virtual time.
public struct PacingInput: Sendable, Hashable {
    /// The moment of the decision, on the runner's clock.
    public var now: Moment
    /// The queue's agents, by state.
    public var agents: AgentPicture
    /// The queue's calls that have started and are not yet with an agent (or in an IVR).
    public var calls: CallsInFlight
    /// The campaign's measured statistics.
    public var statistics: CampaignStatistics
    /// The campaign's hard limits on dialing.
    public var limits: PacingLimits

    /// Creates an input; the defaults describe a queue with no calls, no measurements and no limits.
    public init(
        now: Moment,
        agents: AgentPicture,
        calls: CallsInFlight = CallsInFlight(),
        statistics: CampaignStatistics = CampaignStatistics(),
        limits: PacingLimits = PacingLimits()
    ) {
        self.now = now
        self.agents = agents
        self.calls = calls
        self.statistics = statistics
        self.limits = limits
    }
}

/// The agents that serve one queue, by state, with how long each has been in its state.
///
/// Elapsed times rather than counts are given for the states an agent leaves by itself
/// (available, on a call, in wrap-up) because the predictive policy estimates from them how
/// soon each agent will be free.
public struct AgentPicture: Sendable, Hashable {
    /// For each available (ready, unreserved) agent: how long it has been available.
    public var available: [Duration]
    /// Agents reserved for this queue and not yet on a call.
    ///
    /// In progressive mode these are the agents the runner places lines for; in predictive
    /// and power modes they are agents being connected to answered calls.
    public var reserved: Int
    /// For each agent on a call: the talk time elapsed so far.
    public var onCall: [Duration]
    /// For each agent in wrap-up (after-call work): the wrap-up time elapsed so far.
    public var wrapUp: [Duration]
    /// Agents logged in to the queue but paused (not ready); they are never paced for.
    public var paused: Int
    /// Who the available agents are, in the order of ``available`` (empty when unknown), so
    /// that a runner can leave out the agents already granted to it.
    public var availableAgents: [AgentID]
    /// Requests waiting on queues that these agents rank above this one (inbound callers
    /// waiting, other campaigns' answered calls): each will take the next of these agents to
    /// free before this queue can.
    public var demandAhead: Int

    /// Creates a picture; negative counts are taken as 0.
    public init(
        available: [Duration] = [],
        reserved: Int = 0,
        onCall: [Duration] = [],
        wrapUp: [Duration] = [],
        paused: Int = 0,
        availableAgents: [AgentID] = [],
        demandAhead: Int = 0
    ) {
        self.available = available
        self.reserved = max(0, reserved)
        self.onCall = onCall
        self.wrapUp = wrapUp
        self.paused = max(0, paused)
        self.availableAgents = availableAgents
        self.demandAhead = max(0, demandAhead)
    }

    /// Agents who are not paused: the staff the queue is paced for.
    public var staffed: Int { available.count + reserved + onCall.count + wrapUp.count }

    /// Agents who are working a call (reserved, talking or in wrap-up).
    public var busy: Int { reserved + onCall.count + wrapUp.count }
}

/// The queue's calls in progress that do not yet hold an agent, by stage.
public struct CallsInFlight: Sendable, Hashable {
    /// Calls being dialed or ringing: not answered yet.
    public var dialing: Int
    /// Calls answered live and waiting to be connected to an agent (including those whose
    /// agent has been reserved but not yet bridged).
    public var answeredWaiting: Int
    /// Calls connected to a message or an IVR (agentless campaigns): they hold a port.
    public var inIVR: Int
    /// Calls answered and still being classified by answering-machine detection: each needs
    /// an agent if it proves live (an agent may already be reserved for it meanwhile).
    public var classifying: Int

    /// Creates the counts; negative counts are taken as 0.
    public init(dialing: Int = 0, answeredWaiting: Int = 0, inIVR: Int = 0, classifying: Int = 0) {
        self.dialing = max(0, dialing)
        self.answeredWaiting = max(0, answeredWaiting)
        self.inIVR = max(0, inIVR)
        self.classifying = max(0, classifying)
    }

    /// Calls that may still need an agent: dialing, being classified, answered and waiting.
    public var awaitingAgent: Int { dialing + classifying + answeredWaiting }
}

/// A summary of a measured distribution of durations.
///
/// Only the mean is required; the spread and the percentiles sharpen the predictive model
/// when they are known (a histogram of the campaign's recent calls gives them all).
public struct DistributionSummary: Sendable, Hashable {
    /// The mean.
    public var mean: Duration
    /// The standard deviation, when measured.
    public var standardDeviation: Duration?
    /// The 10th percentile, when measured.
    public var p10: Duration?
    /// The median, when measured.
    public var p50: Duration?
    /// The 90th percentile, when measured.
    public var p90: Duration?

    /// Creates a summary from what was measured.
    public init(
        mean: Duration,
        standardDeviation: Duration? = nil,
        p10: Duration? = nil,
        p50: Duration? = nil,
        p90: Duration? = nil
    ) {
        self.mean = mean
        self.standardDeviation = standardDeviation
        self.p10 = p10
        self.p50 = p50
        self.p90 = p90
    }
}

/// Live answers and abandons inside the regulated rolling window, as of the decision.
///
/// An abandon is a live answer that was not connected to an agent within the grace time
/// (2 s of the greeting in the US and UK rules); it is counted in both numbers.
public struct AbandonCounts: Sendable, Hashable {
    /// The length of the rolling window (e.g. 24 h for Ofcom, 30 days for the FTC).
    public var window: Duration
    /// Live answers in the window.
    public var liveAnswers: Int
    /// Abandoned calls in the window.
    public var abandons: Int

    /// Creates the counts of a window of the given length.
    public init(window: Duration, liveAnswers: Int = 0, abandons: Int = 0) {
        self.window = window
        self.liveAnswers = max(0, liveAnswers)
        self.abandons = max(0, abandons)
    }

    /// Abandons over live answers, or `nil` when nothing was answered.
    public var rate: Double? { liveAnswers > 0 ? Double(abandons) / Double(liveAnswers) : nil }
}

/// The campaign's measured statistics that pacing depends on.
///
/// The rates and distributions come from the campaign's recent attempts (the runner chooses
/// the sample); ``attempts`` and ``liveAnswers`` say how large that sample is, so that a
/// policy can tell a measured rate from a guess.
public struct CampaignStatistics: Sendable, Hashable {
    /// Attempts measured so far (the sample behind the rates).
    public var attempts: Int
    /// Live answers measured so far (the sample behind the rates).
    public var liveAnswers: Int
    /// The fraction of attempts answered by a live person (who then needs an agent).
    public var answerRate: Double
    /// The fraction of attempts answered by a machine (informational: machines are not
    /// connected to agents and do not count towards the abandon rate).
    public var machineRate: Double
    /// Time from the start of an attempt to its live answer.
    public var timeToAnswer: DistributionSummary
    /// Talk time of connected calls.
    public var talkTime: DistributionSummary
    /// Wrap-up (after-call work) time.
    public var wrapUpTime: DistributionSummary
    /// Live answers and abandons in the regulated rolling window.
    public var window: AbandonCounts

    /// Creates statistics; the defaults describe a campaign that has measured nothing yet.
    public init(
        attempts: Int = 0,
        liveAnswers: Int = 0,
        answerRate: Double = 0,
        machineRate: Double = 0,
        timeToAnswer: DistributionSummary = DistributionSummary(mean: .seconds(15)),
        talkTime: DistributionSummary = DistributionSummary(mean: .seconds(120)),
        wrapUpTime: DistributionSummary = DistributionSummary(mean: .seconds(15)),
        window: AbandonCounts = AbandonCounts(window: .seconds(24 * 3600))
    ) {
        self.attempts = max(0, attempts)
        self.liveAnswers = max(0, liveAnswers)
        self.answerRate = min(1, max(0, answerRate))
        self.machineRate = min(1, max(0, machineRate))
        self.timeToAnswer = timeToAnswer
        self.talkTime = talkTime
        self.wrapUpTime = wrapUpTime
        self.window = window
    }
}

/// The campaign's hard limits, applied on top of whatever a policy wants.
///
/// `nil` means "no limit". Every policy honours the five-second cap and the remaining
/// contacts; policies that dial for agents also honour the dial-rate and overdial limits.
public struct PacingLimits: Sendable, Hashable {
    /// The most lines dialing at once per agent the policy dials for.
    public var maximumDialRate: Double?
    /// When no agent is available or reserved (all talk or wrap up): the most lines dialing
    /// at once, as a percentage of the busy agents (e.g. 20 → 2 lines for 10 agents).
    public var overdialLimitPercent: Double?
    /// The most new attempts in any 5-second slot.
    public var attemptsPerFiveSeconds: Int?
    /// Attempts already started in the current 5-second slot.
    public var attemptsInCurrentFiveSeconds: Int
    /// Contacts that can still be dialed now (the runner's buffer plus what the manager holds).
    public var remainingContacts: Int

    /// Creates limits; the defaults limit nothing.
    public init(
        maximumDialRate: Double? = nil,
        overdialLimitPercent: Double? = nil,
        attemptsPerFiveSeconds: Int? = nil,
        attemptsInCurrentFiveSeconds: Int = 0,
        remainingContacts: Int = .max
    ) {
        self.maximumDialRate = maximumDialRate
        self.overdialLimitPercent = overdialLimitPercent
        self.attemptsPerFiveSeconds = attemptsPerFiveSeconds
        self.attemptsInCurrentFiveSeconds = max(0, attemptsInCurrentFiveSeconds)
        self.remainingContacts = max(0, remainingContacts)
    }
}
