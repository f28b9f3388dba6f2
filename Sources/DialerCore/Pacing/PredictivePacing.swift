/// Predictive mode: dials ahead of agents becoming free, as far as the abandon rate allows.
///
/// ## The model
///
/// Calls started now are answered, if at all, after the campaign's time to answer. An answered
/// caller must reach an agent within the grace time (2 s of the greeting) or the call is
/// abandoned. So each decision looks at the *horizon* h = the 10th percentile of the measured
/// time to answer + the grace time: an early answer is the risky one, because fewer agents
/// have freed by then.
///
/// 1. **Agents free at the horizon.** An available agent is free for certain. An agent in
///    wrap-up for e seconds is free with probability P(W ≤ e + h | W > e); an agent talking
///    for e seconds with probability P(residual talk + W ≤ h | T > e), the convolution taken
///    numerically. T and W are log-normal fits of the measured talk and wrap-up times (mean
///    and standard deviation, or median; a coefficient of variation of 1 for talk and 0.5 for
///    wrap-up when only the mean is known), so a call that has run long is expected to run on.
///    An agent past every plausible end of its state is assumed not to free. Reserved agents
///    are already promised to answered calls. The number free, F, is the sum of these
///    independent Bernoulli variables (a Poisson-binomial, computed exactly).
/// 2. **Demand at the horizon.** The answered calls still waiting (beyond the agents reserved
///    for them) plus the live answers among the D calls dialing and the N new ones:
///    L ~ Binomial(D + N, q), with q the measured live-answer rate raised by one standard error
///    (so a rate measured on few calls errs high).
/// 3. **Expected abandons** A(N) = E[(waiting + L − F)⁺]: callers left without an agent.
/// 4. **The abandon budget.** With ℓ the abandon limit lowered by ``safetyMargin``, the window
///    has earned ℓ × live answers − abandons so far − ``abandonCushion`` (a few abandons held
///    back against chance, which keeps the policy at 1:1 while the window holds few answers).
///    A positive balance is banked: only ``bankedBudgetShare`` of it may be put at risk at
///    once, because abandons spent now stay in the rolling window after the answers that
///    earned them have left it. A negative
///    balance is owed in full. The new answers earn ℓ × q × (D + N). N is allowed when
///    A(N) ≤ max(0, earned + banked share or debt): with no budget left, only calls certain to
///    find an agent (A = 0) start; with a target of 0, never more calls than agents certain
///    to be free.
/// 5. **The choice.** Each extra call adds q × P(its caller finds no agent) to A, a share that
///    grows with N, so A(N) − budget(N) is convex: once it rises above the budget no larger N
///    is allowed. The ``Target/abandonRate(_:)`` target takes the largest allowed N. The
///    ``Target/busyFactor(_:)`` target takes the fewest calls whose expected idle agents
///    E[(F − demand)⁺] fit the occupancy wanted, and the ``Target/averageWait(_:)`` target the
///    most calls whose expected caller wait fits, both never above the abandon-limited count.
///
/// The count is further bounded by ``maxDialRate`` lines per available-or-soon-free agent
/// (available + expected freeing − answered waiting), by the overdial limit while every agent
/// talks, and by the campaign's ``PacingLimits``.
///
/// Until ``minimumLiveAnswers`` live answers (or ``minimumAttempts`` attempts) are measured,
/// nothing above can be trusted and the policy dials like progressive 1:1: one line per
/// available agent not already covered by a call.
///
/// ## What the model leaves out
///
/// All answers are matched against the agents free at one horizon, so calls dialed a while
/// ago that answer early are treated as optimistically as new ones; the budget's feedback
/// (realised abandons are in the window counts) corrects the drift, and the safety margin
/// absorbs it. Other queues' demand on the same agents is counted only as it waits now
/// (``AgentPicture/demandAhead``), not as it is expected; machine answers are assumed not to
/// need an agent.
///
/// `dialLevel` in the decision is lines dialing per staffed agent.
public struct PredictivePacing: PacingPolicy {
    /// What the policy optimises for; every target is held under the abandon limit.
    public enum Target: Hashable, Sendable {
        /// Dial as much as the abandon rate (abandons / live answers over the window) allows.
        case abandonRate(Double)
        /// Dial just enough to keep this fraction of staffed agents busy (e.g. 0.9).
        case busyFactor(Double)
        /// Dial as much as keeps the expected wait of an answered caller under this.
        case averageWait(Duration)
    }

    /// What the policy optimises for.
    public let target: Target
    /// The abandon rate never to exceed, whatever the target (the regulatory 3 %).
    public let abandonLimit: Double
    /// The most lines dialing per available-or-soon-free agent.
    public let maxDialRate: Double
    /// While all agents talk: the most lines dialing, as a percentage of busy agents.
    public let overdialLimitPercent: Double?
    /// The regulated rolling window. The runner keeps an ``AbandonWindow`` of this length
    /// and passes its counts as ``CampaignStatistics/window``.
    public let window: Duration
    /// How soon after the greeting an answered caller must reach an agent.
    public let connectGrace: Duration
    /// The fraction by which the policy plans below the abandon limit, to absorb chance and
    /// model error (0.1 plans for 2.7 % under a 3 % limit).
    public let safetyMargin: Double
    /// The share of the window's unspent abandon budget that may be at risk at once.
    public let bankedBudgetShare: Double
    /// Abandons kept out of the budget against chance: calls in flight may abandon more than
    /// expected, which matters most while the window holds few answers.
    public let abandonCushion: Double
    /// Live answers to measure before the model is trusted.
    public let minimumLiveAnswers: Int
    /// Attempts after which the model is trusted even with fewer live answers (the answer
    /// rate is then known to be low).
    public let minimumAttempts: Int

    /// The abandon rate the policy plans for.
    public var plannedAbandonRate: Double {
        let limit =
            switch target {
            case .abandonRate(let rate): min(rate, abandonLimit)
            case .busyFactor, .averageWait: abandonLimit
            }
        return max(0, limit) * (1 - safetyMargin)
    }

    /// Creates the policy; the defaults hold 3 % over 24 hours (Ofcom; pass 30 days for the FTC).
    public init(
        target: Target = .abandonRate(0.03),
        abandonLimit: Double = 0.03,
        maxDialRate: Double = 3,
        overdialLimitPercent: Double? = nil,
        window: Duration = .seconds(24 * 3600),
        connectGrace: Duration = .seconds(2),
        safetyMargin: Double = 0.1,
        bankedBudgetShare: Double = 0.1,
        abandonCushion: Double = 2,
        minimumLiveAnswers: Int = 20,
        minimumAttempts: Int = 200
    ) {
        self.target = target
        self.abandonLimit = min(1, max(0, abandonLimit))
        self.maxDialRate = max(1, maxDialRate)
        self.overdialLimitPercent = overdialLimitPercent
        self.window = window
        self.connectGrace = max(.zero, connectGrace)
        self.safetyMargin = min(1, max(0, safetyMargin))
        self.bankedBudgetShare = min(1, max(0, bankedBudgetShare))
        self.abandonCushion = max(0, abandonCushion)
        self.minimumLiveAnswers = max(0, minimumLiveAnswers)
        self.minimumAttempts = max(0, minimumAttempts)
    }

    public mutating func decide(_ input: PacingInput) -> PacingDecision {
        let agents = input.agents
        let statistics = input.statistics
        guard agents.staffed > 0 else {
            return PacingDecision(callsToStart: 0, reason: .noAgents, dialLevel: 0)
        }
        if statistics.liveAnswers < minimumLiveAnswers, statistics.attempts < minimumAttempts {
            return warmUp(input)
        }
        return predict(input)
    }

    /// Progressive 1:1 until the statistics mean something.
    private func warmUp(_ input: PacingInput) -> PacingDecision {
        let agents = input.agents
        let calls = input.calls
        let waiting = Self.callersAhead(input)
        let free = agents.available.count - waiting
        let wanted = free - calls.dialing
        var caps = PacingCaps(limits: input.limits)
        caps.addAgentLimits(
            limits: input.limits,
            agents: agents,
            dialing: calls.dialing,
            agentBase: Double(max(0, free)),
            maximumDialRate: maxDialRate,
            overdialPercent: overdialLimitPercent
        )
        let (count, reason) = caps.apply(wanted, otherwise: wanted > 0 ? .warmingUp : .enoughInFlight)
        return PacingDecision(
            callsToStart: count,
            reason: reason,
            dialLevel: dialLevel(lines: calls.dialing + count, per: Double(agents.staffed))
        )
    }

    private func predict(_ input: PacingInput) -> PacingDecision {
        let agents = input.agents
        let calls = input.calls
        let statistics = input.statistics
        let dialing = calls.dialing
        // Answered callers whose agent is already reserved are served; the rest need one.
        let waiting = Self.callersAhead(input)

        let horizon = Self.horizon(statistics.timeToAnswer) + connectGrace.seconds
        let talk = DurationModel(statistics.talkTime, defaultVariation: 1)
        let wrapUp = DurationModel(statistics.wrapUpTime, defaultVariation: 0.5)
        let callEnding = AgentFreeing.CallEnding(horizon: horizon, talk: talk, wrapUp: wrapUp)
        var freeing = agents.onCall.map { callEnding.probability(elapsed: $0.seconds) }
        freeing += agents.wrapUp.map {
            AgentFreeing.fromWrapUp(elapsed: $0.seconds, horizon: horizon, wrapUp: wrapUp)
        }
        let soonFree = Double(agents.available.count) + freeing.reduce(0, +) - Double(waiting)

        var caps = PacingCaps(limits: input.limits)
        caps.addAgentLimits(
            limits: input.limits,
            agents: agents,
            dialing: dialing,
            agentBase: max(0, soonFree),
            maximumDialRate: maxDialRate,
            overdialPercent: overdialLimitPercent
        )
        let maximumNew = caps.maximum

        let outlook = FreeAgentOutlook(
            certain: agents.available.count,
            probabilities: freeing,
            maximumDemand: waiting + dialing + maximumNew
        )
        let measuredRate = statistics.answerRate
        let sample = Double(max(1, statistics.attempts))
        let demandRate = min(1, measuredRate + (measuredRate * (1 - measuredRate) / sample).squareRoot())
        var answers = AnswerDistribution(answerRate: demandRate, calls: dialing)

        let limit = plannedAbandonRate
        let balance =
            limit * Double(statistics.window.liveAnswers) - Double(statistics.window.abandons) - abandonCushion
        let carried = balance > 0 ? bankedBudgetShare * balance : balance

        // One pass over N: abandons for the limit, idle agents and caller wait for the targets.
        let tracksTargetMetrics = target.tracksAgentsAndCallers
        var largestAllowed: Int?
        var lastRefused: Int?
        var previousExcess = Double.infinity
        var idle: [Double] = []
        var waitSeconds: [Double] = []
        let handleTime = statistics.talkTime.mean.seconds + statistics.wrapUpTime.mean.seconds
        let agentsFreeingPerSecond = Double(max(1, agents.busy)) / max(1, handleTime)
        for new in 0...maximumNew {
            if new > 0 { answers.addCall() }
            let expectedAbandons = answers.expectation(of: outlook.shortfall, offset: waiting)
            let allowed = limit * measuredRate * Double(dialing + new) + carried
            let excess = expectedAbandons - allowed
            if expectedAbandons <= max(0, allowed) + 1e-12 {
                largestAllowed = new
            } else {
                lastRefused = new
                // Convex and rising: no larger N is allowed either.
                if excess >= previousExcess { break }
            }
            previousExcess = excess
            guard tracksTargetMetrics else { continue }
            idle.append(answers.expectation(offset: waiting) { outlook.idle(demand: $0) })
            // The k-th caller in excess waits about k / (rate agents free) seconds.
            let expectedCallers = Double(waiting) + demandRate * Double(dialing + new)
            let queueSum = answers.expectation(of: outlook.waiting, offset: waiting)
            waitSeconds.append(
                expectedCallers > 0 ? queueSum / agentsFreeingPerSecond / expectedCallers : 0
            )
        }
        let abandonCount = largestAllowed ?? 0
        // Whether the budget, rather than the limits, ended the allowed counts.
        let abandonBound = largestAllowed == nil || (lastRefused ?? -1) > abandonCount

        // Whether the target would take more calls than the abandon-limited count.
        var chosen = abandonCount
        var targetWantsMore = true
        switch target {
        case .abandonRate:
            break
        case .busyFactor(let busy):
            let idleAllowed = (1 - min(1, max(0, busy))) * Double(agents.staffed)
            if let enough = idle.indices.first(where: { $0 <= abandonCount && idle[$0] <= idleAllowed + 1e-9 }) {
                chosen = enough
                targetWantsMore = false
            }
        case .averageWait(let wait):
            let bound = wait.seconds + 1e-9
            chosen = waitSeconds.indices.last(where: { $0 <= abandonCount && waitSeconds[$0] <= bound }) ?? 0
            let next = chosen + 1
            targetWantsMore = next >= waitSeconds.count || waitSeconds[next] <= bound
        }

        let reason: PacingReason
        if chosen < abandonCount || !targetWantsMore {
            reason = chosen > 0 ? .dialing : .enoughInFlight
        } else if !abandonBound {
            // Every count up to the limits was within budget: a limit stopped the count.
            reason = caps.apply(maximumNew + 1, otherwise: chosen > 0 ? .dialing : .enoughInFlight).reason
        } else if chosen == 0 {
            reason = balance <= 0 ? .abandonBudgetExhausted : .enoughInFlight
        } else if case .abandonRate = target {
            reason = .dialing
        } else {
            reason = .capped(.abandonLimit)
        }
        return PacingDecision(
            callsToStart: chosen,
            reason: reason,
            dialLevel: dialLevel(lines: dialing + chosen, per: Double(agents.staffed))
        )
    }

    /// The callers who will take the next free agents before any new call's: answered calls
    /// waiting beyond the agents reserved for them, the expected live share of answers still
    /// being classified, and the requests of queues these agents rank higher.
    static func callersAhead(_ input: PacingInput) -> Int {
        let statistics = input.statistics
        let answered = statistics.answerRate + statistics.machineRate
        let liveShare = answered > 0 ? statistics.answerRate / answered : 1
        let classifyingLive = Int((Double(input.calls.classifying) * liveShare).rounded(.up))
        return max(0, input.calls.answeredWaiting + classifyingLive - input.agents.reserved) + input.agents.demandAhead
    }

    /// The early time to answer, in seconds: the measured 10th percentile, or the fitted one.
    static func horizon(_ timeToAnswer: DistributionSummary) -> Double {
        if let early = timeToAnswer.p10 { return max(0, early.seconds) }
        let model = DurationModel(timeToAnswer, defaultVariation: 0.5)
        return max(0, model.quantile(normalScore: DurationModel.tenthPercentileScore))
    }
}

extension PredictivePacing.Target {
    /// Whether choosing under this target needs expected idle agents and caller waits, beyond
    /// the expected abandons every target needs.
    fileprivate var tracksAgentsAndCallers: Bool {
        switch self {
        case .abandonRate: false
        case .busyFactor, .averageWait: true
        }
    }
}
