import Testing

@testable import DialerCore

@Suite("Predictive pacing")
struct PredictivePacingTests {
    /// Ten agents talking; `elapsed` says how far into the measured 60 s (± 15 s) calls they are.
    private func talking(
        _ elapsed: Double,
        available: Int = 0,
        dialing: Int = 0,
        statistics: CampaignStatistics = PacingFixture.measured(),
        limits: PacingLimits = PacingLimits()
    ) -> PacingInput {
        PacingFixture.input(
            available: available,
            onCall: Array(repeating: elapsed, count: 10),
            dialing: dialing,
            statistics: statistics,
            limits: limits
        )
    }

    @Test func startsLikeProgressiveOneToOneUntilItHasMeasuredEnough() {
        var policy = PredictivePacing()
        let fresh = CampaignStatistics(attempts: 30, liveAnswers: 5, answerRate: 0.17)
        let decision = policy.decide(
            PacingFixture.input(available: 4, onCall: [50, 55], dialing: 1, statistics: fresh))
        #expect(decision.callsToStart == 3)
        #expect(decision.reason == .warmingUp)
        let covered = policy.decide(PacingFixture.input(available: 2, dialing: 1, waiting: 1, statistics: fresh))
        #expect(covered.callsToStart == 0)
        #expect(covered.reason == .enoughInFlight)
    }

    @Test func dialsMoreWhenAgentsAreAboutToFree() {
        var policy = PredictivePacing()
        let justStarted = policy.decide(talking(5))
        let nearlyDone = policy.decide(talking(58))
        #expect(justStarted.callsToStart == 0)
        #expect(nearlyDone.callsToStart > 3)
        #expect(nearlyDone.reason == .dialing)
    }

    @Test func dialsMoreWhenTheAnswerRateIsLow() {
        var policy = PredictivePacing()
        let low = policy.decide(talking(55, statistics: PacingFixture.measured(answerRate: 0.15)))
        let high = policy.decide(talking(55, statistics: PacingFixture.measured(answerRate: 0.5)))
        #expect(high.callsToStart > 0)
        #expect(low.callsToStart > high.callsToStart)
    }

    @Test func dialsLessAsTheAbandonBudgetIsUsed() {
        var policy = PredictivePacing()
        let counts = [0, 2, 4, 5, 8].map { abandons in
            policy.decide(
                talking(55, available: 1, statistics: PacingFixture.measured(windowAbandons: abandons))
            ).callsToStart
        }
        #expect(counts == counts.sorted(by: >))
        #expect(counts.first! > counts.last!)
    }

    @Test func neverDialsWhenTheBudgetIsExhaustedAndNoAgentIsFree() {
        var policy = PredictivePacing()
        for elapsed in [5.0, 40, 58, 70] {
            let decision = policy.decide(
                talking(elapsed, statistics: PacingFixture.measured(windowLiveAnswers: 200, windowAbandons: 7))
            )
            #expect(decision.callsToStart == 0)
        }
        let decision = policy.decide(
            talking(58, statistics: PacingFixture.measured(windowLiveAnswers: 200, windowAbandons: 7))
        )
        #expect(decision.reason == .abandonBudgetExhausted)
    }

    @Test func stillDialsForCertainlyFreeAgentsWhenTheBudgetIsExhausted() {
        var policy = PredictivePacing()
        let decision = policy.decide(
            talking(58, available: 3, dialing: 1, statistics: PacingFixture.measured(windowAbandons: 7))
        )
        #expect(decision.callsToStart == 2)
    }

    @Test func aZeroTargetNeverDialsMoreThanAgentsCertainToBeFree() {
        var policy = PredictivePacing(target: .abandonRate(0))
        // Wrap-ups that vary: no busy agent is certain to be free at the horizon.
        let statistics = PacingFixture.measured(answerRate: 0.1, wrapUp: 10, wrapUpDeviation: 3)
        for available in 0...4 {
            for dialing in 0...3 {
                for waiting in 0...2 {
                    for elapsed in [5.0, 50, 59, 65] {
                        let input = PacingFixture.input(
                            available: available,
                            onCall: Array(repeating: elapsed, count: 6),
                            wrapUp: [2, 5, 8, 9.5],
                            dialing: dialing,
                            waiting: waiting,
                            statistics: statistics
                        )
                        let decision = policy.decide(input)
                        #expect(decision.callsToStart <= max(0, available - dialing - waiting))
                    }
                }
            }
        }
    }

    @Test func aZeroTargetCountsFixedWrapUpsEndingBeforeTheAnswerAsFree() {
        var policy = PredictivePacing(target: .abandonRate(0))
        // A fixed 12 s wrap-up; answers come no sooner than ~8.5 s (+ 2 s grace): the agents
        // 2 s and 5 s into their wrap-up are certain to be free, the one 0.1 s in is not.
        let statistics = PacingFixture.measured(answerRate: 0.1, wrapUp: 12)
        let decision = policy.decide(
            PacingFixture.input(available: 1, wrapUp: [0.1, 2, 5], dialing: 1, statistics: statistics)
        )
        #expect(decision.callsToStart == 2)
    }

    @Test func respectsTheMaximumDialRate() {
        var policy = PredictivePacing(maxDialRate: 2)
        // Nobody answers: abandons cannot happen, so only the dial rate limits the count.
        let decision = policy.decide(
            PacingFixture.input(available: 5, dialing: 3, statistics: PacingFixture.measured(answerRate: 0))
        )
        #expect(decision.callsToStart == 7)
        #expect(decision.reason == .capped(.maximumDialRate))
    }

    @Test func respectsTheOverdialLimitWhileAllAgentsTalk() {
        var policy = PredictivePacing(overdialLimitPercent: 10)
        let decision = policy.decide(talking(58))
        #expect(decision.callsToStart == 1)
        #expect(decision.reason == .capped(.overdialLimit))
    }

    @Test func respectsTheFiveSecondCapAndTheContactsLeft() {
        var policy = PredictivePacing()
        let capped = policy.decide(
            talking(58, limits: PacingLimits(attemptsPerFiveSeconds: 10, attemptsInCurrentFiveSeconds: 8))
        )
        #expect(capped.callsToStart == 2)
        #expect(capped.reason == .capped(.fiveSecondCap))
        let short = policy.decide(talking(58, limits: PacingLimits(remainingContacts: 1)))
        #expect(short.callsToStart == 1)
        #expect(short.reason == .capped(.remainingContacts))
    }

    @Test func busyFactorDialsNoMoreThanTheAbandonLimitAllows() {
        var byRate = PredictivePacing(target: .abandonRate(0.03))
        var relaxed = PredictivePacing(target: .busyFactor(0.5))
        var strict = PredictivePacing(target: .busyFactor(0.99))
        let input = talking(55, available: 2)
        let limit = byRate.decide(input).callsToStart
        let few = relaxed.decide(input)
        let most = strict.decide(input)
        #expect(few.callsToStart < limit)
        #expect(most.callsToStart == limit)
        #expect(most.reason == .capped(.abandonLimit))
    }

    @Test func averageWaitDialsMoreForALongerWait() {
        var byRate = PredictivePacing(target: .abandonRate(0.03))
        let input = talking(55, available: 1)
        let limit = byRate.decide(input).callsToStart
        var previous = 0
        for wait in [0.0, 0.2, 1, 10] {
            var policy = PredictivePacing(target: .averageWait(.seconds(wait)))
            let count = policy.decide(input).callsToStart
            #expect(count >= previous)
            #expect(count <= limit)
            previous = count
        }
    }

    @Test func reportsLinesPerStaffedAgentAsTheDialLevel() {
        var policy = PredictivePacing()
        let decision = policy.decide(talking(58, dialing: 2))
        #expect(decision.dialLevel == Double(2 + decision.callsToStart) / 10)
    }

    @Test func agentFreeingFollowsElapsedTime() {
        let talk = DurationModel(mean: 60, standardDeviation: 15)
        let wrapUp = DurationModel(mean: 10, standardDeviation: 0)
        let early = AgentFreeing.fromCall(elapsed: 5, horizon: 14, talk: talk, wrapUp: wrapUp)
        let late = AgentFreeing.fromCall(elapsed: 55, horizon: 14, talk: talk, wrapUp: wrapUp)
        #expect(early < 0.001)
        #expect(late > 0.1)
        #expect(late < 1)
        // A fixed 10 s wrap-up 6 s in ends within a 14 s horizon for sure, and not within 3 s.
        #expect(AgentFreeing.fromWrapUp(elapsed: 6, horizon: 14, wrapUp: wrapUp) == 1)
        #expect(AgentFreeing.fromWrapUp(elapsed: 6, horizon: 3, wrapUp: wrapUp) == 0)
    }

    @Test func durationModelMatchesItsSummary() {
        let model = DurationModel(mean: 90, standardDeviation: 60)
        // Median of a log-normal with mean 90 and sd 60 is 90 / √(1 + (60/90)²) ≈ 74.9.
        #expect(abs(model.cdf(90 / (1 + 4.0 / 9).squareRoot()) - 0.5) < 1e-9)
        let fromMedian = DurationModel(
            DistributionSummary(mean: .seconds(90), p50: .seconds(74.88)), defaultVariation: 1)
        #expect(abs(fromMedian.sigma - model.sigma) < 0.01)
        let fixed = DurationModel(mean: 10, standardDeviation: 0)
        #expect(fixed.survival(9.99) == 1)
        #expect(fixed.survival(10) == 0)
    }

    @Test func freeAgentOutlookTabulatesExpectedShortfall() {
        // One certain agent and one free with probability 0.5.
        let outlook = FreeAgentOutlook(certain: 1, probabilities: [0.5], maximumDemand: 3)
        #expect(outlook.shortfall == [0, 0, 0.5, 1.5])
        #expect(outlook.idle(demand: 0) == 1.5)
        #expect(outlook.idle(demand: 2) == 0)
        // Queue positions: demand 3 leaves 1 or 2 callers waiting: E[X(X+1)/2] = (1 + 3) / 2.
        #expect(outlook.waiting[3] == 2)
    }
}
