import DialerCore
import Testing

@Suite("VICIdial adaptive baseline")
struct VICIdialAdaptiveBaselineTests {
    private let shiftEnd = Moment.origin + .seconds(20 * 3600)

    /// Feeds the same picture once a second for `seconds`, starting at `start`.
    private func run(
        _ policy: inout VICIdialAdaptiveBaseline,
        from start: Double = 0,
        seconds: Int,
        _ picture: (Double) -> PacingInput
    ) -> PacingDecision {
        var last = policy.decide(picture(start))
        for tick in 1...seconds { last = policy.decide(picture(start + Double(tick))) }
        return last
    }

    @Test func raisesTheLevelWhileAgentsWait() {
        var policy = VICIdialAdaptiveBaseline(method: .tapered(lastCallingMoment: shiftEnd))
        #expect(policy.level == 1)
        // 5 of 10 agents wait, no caller waits: +50 % per adjustment.
        _ = run(&policy, seconds: 15) { PacingFixture.input(now: $0, available: 5, onCall: [30, 30, 30, 30, 30]) }
        #expect(abs(policy.level - 1.5) < 1e-9)
        _ = run(&policy, from: 16, seconds: 14) {
            PacingFixture.input(now: $0, available: 5, onCall: [30, 30, 30, 30, 30])
        }
        #expect(abs(policy.level - 2.25) < 1e-9)
        let decision = run(&policy, from: 31, seconds: 60) {
            PacingFixture.input(now: $0, available: 5, onCall: [30, 30, 30, 30, 30])
        }
        #expect(policy.level == 3)  // adaptive_maximum_level
        #expect(decision.dialLevel == 3)
    }

    @Test func intensityAmplifiesRisesAndDampsFalls() {
        var eager = VICIdialAdaptiveBaseline(method: .average, maximumLevel: 5, intensity: 20, initialLevel: 2)
        _ = run(&eager, seconds: 15) { PacingFixture.input(now: $0, available: 5, onCall: [1, 1, 1, 1, 1]) }
        #expect(abs(eager.level - 2 * (1 + 0.5 * 1.2)) < 1e-9)

        var damped = VICIdialAdaptiveBaseline(method: .average, maximumLevel: 5, intensity: 20, initialLevel: 2)
        // 5 callers wait for 10 busy agents: −50 %, damped to −40 %.
        _ = run(&damped, seconds: 15) {
            PacingFixture.input(now: $0, onCall: Array(repeating: 1, count: 10), waiting: 5)
        }
        #expect(abs(damped.level - 2 * (1 - 0.5 * 0.8)) < 1e-9)
    }

    @Test func dialsTheLevelTimesCountedAgentsLessCallsUp() {
        var policy = VICIdialAdaptiveBaseline(method: .hardLimit, initialLevel: 2.5)
        // Counted: 2 ready + 4 talking = 6; goal ⌊2.5 × 6⌉ = 15; up: 3 dialing + 1 waiting + 4 talking.
        let decision = policy.decide(
            PacingFixture.input(available: 2, onCall: [1, 2, 3, 4], wrapUp: [5], dialing: 3, waiting: 1))
        #expect(decision.callsToStart == 7)

        var availableOnly = VICIdialAdaptiveBaseline(method: .hardLimit, availableOnlyTally: true, initialLevel: 2.5)
        // Counted: 2 ready; goal 5; up: 3 dialing + 1 waiting.
        let only = availableOnly.decide(
            PacingFixture.input(available: 2, onCall: [1, 2, 3, 4], dialing: 3, waiting: 1))
        #expect(only.callsToStart == 1)
    }

    /// A steady picture (no agents or callers waiting) with a given drop record.
    private func dropping(_ now: Double, abandons: Int, attempts: Int = 500) -> PacingInput {
        PacingFixture.input(
            now: now,
            onCall: [10, 20, 30, 40],
            statistics: PacingFixture.measured(attempts: attempts, windowLiveAnswers: 100, windowAbandons: abandons)
        )
    }

    @Test func lowersTheLevelWhenDropsExceedTheLimit() {
        var hard = VICIdialAdaptiveBaseline(method: .hardLimit, initialLevel: 2.5)
        _ = run(&hard, seconds: 15) { dropping($0, abandons: 5) }
        #expect(hard.level == 1)

        var average = VICIdialAdaptiveBaseline(method: .average, initialLevel: 2.5)
        _ = run(&average, seconds: 15) { dropping($0, abandons: 5) }
        #expect(average.level == 1.25)

        var within = VICIdialAdaptiveBaseline(method: .hardLimit, initialLevel: 2.5)
        _ = run(&within, seconds: 15) { dropping($0, abandons: 3) }
        #expect(within.level == 2.5)

        var early = VICIdialAdaptiveBaseline(method: .hardLimit, initialLevel: 2.5)
        _ = run(&early, seconds: 15) { dropping($0, abandons: 5, attempts: 40) }
        #expect(early.level == 2.5)  // the limit waits for 50 calls
    }

    @Test func taperedToleratesDropsEarlyAndTightensTowardsTheEnd() {
        func tapered(secondsLeft: Double) -> Double {
            let end = Moment.origin + .seconds(secondsLeft + 15)
            var policy = VICIdialAdaptiveBaseline(method: .tapered(lastCallingMoment: end), initialLevel: 2.5)
            _ = run(&policy, seconds: 15) { dropping($0, abandons: 5) }
            return policy.level
        }
        #expect(tapered(secondsLeft: 12 * 3600) == 2.5)
        #expect(abs(tapered(secondsLeft: 8 * 3600) - 2.0) < 1e-9)
        #expect(abs(tapered(secondsLeft: 2 * 3600) - 1.0) < 1e-9)  // 0.5, raised to the floor
        #expect(tapered(secondsLeft: -60) == 1)
    }
}
