import DialerCore
import Testing

@Suite("Preview, progressive, power and agentless pacing")
struct SimplePacingTests {
    @Test func previewRequestsOneOfferPerAvailableAgentAndNeverDials() {
        var policy = PreviewPacing()
        let decision = policy.decide(PacingFixture.input(available: 3, onCall: [10], dialing: 0))
        #expect(decision.callsToStart == 0)
        #expect(decision.reservationsToRequest == 3)
        #expect(decision.reason == .previewOffers)
    }

    @Test func previewOffersAreBoundedByContacts() {
        var policy = PreviewPacing()
        let short = policy.decide(
            PacingFixture.input(available: 3, limits: PacingLimits(remainingContacts: 2))
        )
        #expect(short.reservationsToRequest == 2)
        #expect(short.reason == .capped(.remainingContacts))
        let none = policy.decide(PacingFixture.input(available: 3, limits: PacingLimits(remainingContacts: 0)))
        #expect(none.reservationsToRequest == 0)
        #expect(none.reason == .noContacts)
    }

    @Test func noStaffedAgentsMeansNoCallsInAnyAgentMode() {
        let input = PacingFixture.input(paused: 4, dialing: 0)
        var preview = PreviewPacing()
        var progressive = ProgressivePacing(dialRate: 3)
        var power = PowerPacing(callsPerReadyAgent: 2)
        var predictive = PredictivePacing()
        for decision in [
            preview.decide(input), progressive.decide(input), power.decide(input), predictive.decide(input),
        ] {
            #expect(decision.callsToStart == 0)
            #expect(decision.reservationsToRequest == 0)
            #expect(decision.reason == .noAgents)
        }
    }

    @Test func progressiveDialsRateLinesPerReservedAgentLessThoseInFlight() {
        var policy = ProgressivePacing(dialRate: 3)
        // 2 reserved agents × 3 lines − 1 dialing − 1 answered = 4.
        let decision = policy.decide(PacingFixture.input(available: 4, reserved: 2, dialing: 1, waiting: 1))
        #expect(decision.callsToStart == 4)
        #expect(decision.reservationsToRequest == 4)
        #expect(decision.reason == .dialing)
        #expect(decision.dialLevel == 2.5)
    }

    @Test func progressiveReservesAgentsBeforeDialing() {
        var policy = ProgressivePacing(dialRate: 3)
        let decision = policy.decide(PacingFixture.input(available: 2))
        #expect(decision.callsToStart == 0)
        #expect(decision.reservationsToRequest == 2)
        #expect(decision.reason == .reservingAgents)
        let covered = policy.decide(PacingFixture.input(reserved: 1, dialing: 3))
        #expect(covered.callsToStart == 0)
        #expect(covered.reason == .enoughInFlight)
    }

    @Test func progressiveReservesOnlyAgentsTheContactsCanFeed() {
        var policy = ProgressivePacing(dialRate: 3)
        let decision = policy.decide(
            PacingFixture.input(available: 5, reserved: 1, limits: PacingLimits(remainingContacts: 7))
        )
        #expect(decision.callsToStart == 3)
        // 4 contacts left after these lines feed ⌈4 / 3⌉ = 2 more agents.
        #expect(decision.reservationsToRequest == 2)
    }

    @Test func powerDialsTheReadyAndWrapUpRatios() {
        var policy = PowerPacing(callsPerReadyAgent: 1.7, callsPerWrapUpAgent: 0.1)
        // ⌊10 × 1.7 + 10 × 0.1⌋ = 18, less 5 in flight.
        let decision = policy.decide(
            PacingFixture.input(
                available: 10, onCall: [30, 40], wrapUp: Array(repeating: 3, count: 10), dialing: 4, waiting: 1)
        )
        #expect(decision.callsToStart == 13)
        #expect(decision.reason == .dialing)
        #expect(abs(decision.dialLevel - 17.0 / 20.0) < 1e-12)
    }

    @Test func powerFloorsTheRatioAndNeverGoesNegative() {
        var policy = PowerPacing(callsPerReadyAgent: 1.7, callsPerWrapUpAgent: 0.1)
        // ⌊3 × 1.7 + 4 × 0.1⌋ = ⌊5.5⌋ = 5.
        #expect(policy.decide(PacingFixture.input(available: 3, wrapUp: [1, 2, 3, 4])).callsToStart == 5)
        let over = policy.decide(PacingFixture.input(available: 3, dialing: 9))
        #expect(over.callsToStart == 0)
        #expect(over.reason == .enoughInFlight)
    }

    @Test func agentlessFillsItsPorts() {
        var policy = AgentlessPacing(ports: 50)
        let decision = policy.decide(PacingFixture.input(dialing: 10, waiting: 2, inIVR: 30))
        #expect(decision.callsToStart == 8)
        #expect(decision.reason == .dialing)
        let full = policy.decide(PacingFixture.input(dialing: 20, inIVR: 35))
        #expect(full.callsToStart == 0)
        #expect(full.reason == .enoughInFlight)
    }

    @Test func agentlessHonoursTheFiveSecondCapAndContacts() {
        var policy = AgentlessPacing(ports: 100)
        let capped = policy.decide(
            PacingFixture.input(limits: PacingLimits(attemptsPerFiveSeconds: 20, attemptsInCurrentFiveSeconds: 15))
        )
        #expect(capped.callsToStart == 5)
        #expect(capped.reason == .capped(.fiveSecondCap))
        let exhausted = policy.decide(PacingFixture.input(limits: PacingLimits(remainingContacts: 0)))
        #expect(exhausted.callsToStart == 0)
        #expect(exhausted.reason == .noContacts)
    }

    @Test func fiveSecondCapBoundsPower() {
        var policy = PowerPacing(callsPerReadyAgent: 2)
        let decision = policy.decide(
            PacingFixture.input(
                available: 10,
                limits: PacingLimits(attemptsPerFiveSeconds: 10, attemptsInCurrentFiveSeconds: 4)
            )
        )
        #expect(decision.callsToStart == 6)
        #expect(decision.reason == .capped(.fiveSecondCap))
        let spent = policy.decide(
            PacingFixture.input(
                available: 10,
                limits: PacingLimits(attemptsPerFiveSeconds: 10, attemptsInCurrentFiveSeconds: 12)
            )
        )
        #expect(spent.callsToStart == 0)
    }

    @Test func maximumDialRateBoundsLinesNotNewCalls() {
        var policy = PowerPacing(callsPerReadyAgent: 3)
        // At most 1.5 × 10 = 15 lines; 5 are dialing already.
        let decision = policy.decide(
            PacingFixture.input(available: 10, dialing: 5, limits: PacingLimits(maximumDialRate: 1.5))
        )
        #expect(decision.callsToStart == 10)
        #expect(decision.reason == .capped(.maximumDialRate))
    }

    @Test func remainingContactsBoundEveryMode() {
        let limits = PacingLimits(remainingContacts: 2)
        var power = PowerPacing(callsPerReadyAgent: 2)
        var progressive = ProgressivePacing(dialRate: 3)
        var agentless = AgentlessPacing(ports: 10)
        let input = PacingFixture.input(available: 5, reserved: 2, limits: limits)
        for decision in [power.decide(input), progressive.decide(input), agentless.decide(input)] {
            #expect(decision.callsToStart == 2)
            #expect(decision.reason == .capped(.remainingContacts))
        }
    }

    @Test func overdialLimitBoundsLinesWhileAllAgentsTalk() {
        var policy = PowerPacing(callsPerReadyAgent: 1, callsPerWrapUpAgent: 0.5)
        let talking = PacingFixture.input(
            onCall: [10, 20, 30, 40, 50, 60],
            wrapUp: [1, 2, 3, 4],
            limits: PacingLimits(overdialLimitPercent: 20)
        )
        // Wanted ⌊4 × 0.5⌋ = 2 lines; 20 % of 10 busy agents = 2 lines. With 1 dialing: 1 more.
        #expect(policy.decide(talking).callsToStart == 2)
        var oneDialing = talking
        oneDialing.calls.dialing = 1
        oneDialing.limits.overdialLimitPercent = 10
        let decision = policy.decide(oneDialing)
        #expect(decision.callsToStart == 0)
        #expect(decision.reason == .capped(.overdialLimit))
    }
}
