/// A comparison baseline: the adaptive dial-level rule of VICIdial's ADAPT dial methods,
/// reimplemented from its documentation and behaviour (not its code) so the simulator can
/// measure predictive pacing against the open-source dialer most centres know.
///
/// ## The rule
///
/// VICIdial dials `round(dial level × counted agents) − calls already up`, where counted
/// agents are those ready or on a call (only the ready ones with *available-only tally*),
/// and calls already up include those talking to agents unless available-only tally is on.
/// Its `AST_VDadapt` process moves the dial level periodically (every 15 s):
///
/// 1. It averages, over the last minute, the *differential* (agents waiting for a call minus
///    answered calls waiting for an agent) and the number of agents logged in, and adds the
///    *dial level difference target* (−1 aims for one agent always waiting, +1 for one caller).
/// 2. The relative change is differential ÷ average agents, amplified on the way up and
///    damped on the way down by a positive *intensity* (percent; a negative intensity does the
///    reverse): × (1 + intensity/100) when rising, × |intensity/100 − 1| when falling.
/// 3. The new level is the old × (1 + change), capped at the *maximum adapt dial level*.
/// 4. Once more than 50 calls were placed, if the drop (abandon) percentage of live answers
///    exceeds the *drop percentage limit*: ADAPT_HARD_LIMIT sets the level to 1.0;
///    ADAPT_AVERAGE halves it; ADAPT_TAPERED scales it by the share left of a ten-hour run-up
///    to the campaign's last calling time (no cut with ten hours or more to go, level 1.0
///    once that time has passed). Tapered thus tolerates overshoot early in the shift and
///    gets stricter towards its end, when the day's rate can no longer be won back.
/// 5. The level never goes below 1.0.
///
/// VICIdial's further rule that halves the level when more than half of the last minute's
/// calls dropped needs per-minute counts that ``CampaignStatistics`` does not carry, and is
/// left out; the per-day drop percentage is taken from ``CampaignStatistics/window``, and the
/// call count from ``CampaignStatistics/attempts``.
///
/// `dialLevel` in the decision is the adaptive level itself.
public struct VICIdialAdaptiveBaseline: PacingPolicy {
    /// What happens to the level when the drop percentage is over its limit.
    public enum Method: Hashable, Sendable {
        /// ADAPT_HARD_LIMIT: back to 1.0 until the percentage is under the limit again.
        case hardLimit
        /// ADAPT_TAPERED: scaled down as the campaign's last calling moment approaches.
        case tapered(lastCallingMoment: Moment)
        /// ADAPT_AVERAGE: halved.
        case average
    }

    /// The drop-limit method.
    public let method: Method
    /// `adaptive_dropped_percentage`: the drop limit, in percent of live answers (e.g. 3).
    public let droppedPercentageLimit: Double
    /// `adaptive_maximum_level`: the highest dial level.
    public let maximumLevel: Double
    /// `adaptive_intensity`: percent by which rises are amplified and falls damped.
    public let intensity: Double
    /// `adaptive_dl_diff_target`: agents waiting (negative) or callers waiting (positive) aimed for.
    public let levelDifferenceTarget: Double
    /// `available_only_ratio_tally`: count only ready agents, and not calls with agents.
    public let availableOnlyTally: Bool
    /// How often the level is adjusted.
    public let adjustmentInterval: Duration
    /// The period the differential and the agents are averaged over.
    public let averagingPeriod: Duration
    /// The run-up over which ADAPT_TAPERED tightens before the last calling moment.
    public let taperPeriod: Duration
    /// Calls that must have been placed before the drop limit is enforced.
    public let minimumAttemptsForDropLimit: Int

    /// The current dial level (lines per counted agent).
    public private(set) var level: Double

    private struct Sample {
        var moment: Moment
        var differential: Double
        var agents: Double
    }

    private var samples: [Sample] = []
    private var lastAdjustment: Moment?

    /// Creates the baseline with VICIdial's defaults (3 % drops, level 1.0 to 3.0, no intensity).
    public init(
        method: Method,
        droppedPercentageLimit: Double = 3,
        maximumLevel: Double = 3,
        intensity: Double = 0,
        levelDifferenceTarget: Double = 0,
        availableOnlyTally: Bool = false,
        initialLevel: Double = 1,
        adjustmentInterval: Duration = .seconds(15),
        averagingPeriod: Duration = .seconds(60),
        taperPeriod: Duration = .seconds(10 * 3600),
        minimumAttemptsForDropLimit: Int = 50
    ) {
        self.method = method
        self.droppedPercentageLimit = max(0, droppedPercentageLimit)
        self.maximumLevel = max(1, maximumLevel)
        self.intensity = min(100, max(-100, intensity))
        self.levelDifferenceTarget = levelDifferenceTarget
        self.availableOnlyTally = availableOnlyTally
        self.adjustmentInterval = max(.nanoseconds(1), adjustmentInterval)
        self.averagingPeriod = max(.nanoseconds(1), averagingPeriod)
        self.taperPeriod = max(.nanoseconds(1), taperPeriod)
        self.minimumAttemptsForDropLimit = max(0, minimumAttemptsForDropLimit)
        self.level = min(self.maximumLevel, max(1, initialLevel))
    }

    public mutating func decide(_ input: PacingInput) -> PacingDecision {
        let agents = input.agents
        let calls = input.calls
        observe(input)
        if let lastAdjustment {
            if input.now - lastAdjustment >= adjustmentInterval {
                adjust(input)
                self.lastAdjustment = input.now
            }
        } else {
            // The first adjustment waits a full interval, so it averages real samples.
            lastAdjustment = input.now
        }

        guard agents.staffed > 0 else {
            return PacingDecision(callsToStart: 0, reason: .noAgents, dialLevel: level)
        }
        let counted =
            availableOnlyTally ? agents.available.count : agents.available.count + agents.reserved + agents.onCall.count
        let up = calls.dialing + calls.answeredWaiting + (availableOnlyTally ? 0 : agents.onCall.count)
        // VICIdial rounds the goal to the nearest whole line.
        let goal = Int((level * Double(counted)).rounded(.toNearestOrEven))
        let wanted = goal - up
        var caps = PacingCaps(limits: input.limits)
        caps.addAgentLimits(limits: input.limits, agents: agents, dialing: calls.dialing, agentBase: Double(counted))
        let (count, reason) = caps.apply(wanted, otherwise: wanted > 0 ? .dialing : .enoughInFlight)
        return PacingDecision(callsToStart: count, reason: reason, dialLevel: level)
    }

    private mutating func observe(_ input: PacingInput) {
        let agents = input.agents
        let differential = Double(agents.available.count - input.calls.answeredWaiting)
        let loggedIn = Double(agents.staffed + agents.paused)
        samples.append(Sample(moment: input.now, differential: differential, agents: loggedIn))
        let oldest = input.now - averagingPeriod
        samples.removeAll { $0.moment < oldest }
    }

    private mutating func adjust(_ input: PacingInput) {
        guard !samples.isEmpty else { return }
        let count = Double(samples.count)
        let differential = samples.reduce(0) { $0 + $1.differential } / count + levelDifferenceTarget
        let agents = samples.reduce(0) { $0 + $1.agents } / count
        let change = agents != 0 ? differential / agents : 0
        let factor = intensity / 100
        let damped = change < 0 ? change * abs(factor - 1) : change * (factor + 1)
        var next = min(maximumLevel, level * (1 + damped))

        let statistics = input.statistics
        if statistics.attempts > minimumAttemptsForDropLimit, let rate = statistics.window.rate,
            rate * 100 > droppedPercentageLimit
        {
            switch method {
            case .hardLimit:
                next = 1
            case .average:
                next /= 2
            case .tapered(let lastCallingMoment):
                let left = lastCallingMoment - input.now
                next = left < .zero ? 1 : next * min(1, left.seconds / taperPeriod.seconds)
            }
        }
        level = max(1, next)
    }
}
