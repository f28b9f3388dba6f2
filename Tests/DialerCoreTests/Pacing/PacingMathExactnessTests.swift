import Foundation
import Testing

@testable import DialerCore

/// The predictive model's faster arithmetic against the way it was first written: the same
/// numbers to the bit, so that pacing decides exactly as before (the simulator's reports
/// depend on it).
@Suite("Pacing math: the faster forms are exact")
struct PacingMathExactnessTests {
    /// `AgentFreeing.fromCall` as first written: the wrap-up's CDF evaluated per agent and slice.
    private static func referenceFromCall(
        elapsed: Double, horizon: Double, talk: DurationModel, wrapUp: DurationModel, steps: Int = 24
    ) -> Double {
        let alive = talk.survival(elapsed)
        guard alive > AgentFreeing.negligibleSurvival, horizon > 0 else { return 0 }
        let width = horizon / Double(steps)
        var probability = 0.0
        var before = alive
        for step in 0..<steps {
            let after = talk.survival(elapsed + width * Double(step + 1))
            let endsInSlice = (before - after) / alive
            let remaining = horizon - width * (Double(step) + 0.5)
            probability += endsInSlice * wrapUp.cdf(remaining)
            before = after
        }
        return probability.isFinite ? min(1, max(0, probability)) : 0
    }

    /// `FreeAgentOutlook`'s tables as first written: every agent through the recurrence.
    private static func referenceTables(certain: Int, probabilities: [Double], maximumDemand: Int)
        -> (shortfall: [Double], waiting: [Double])
    {
        var pmf = [1.0]
        for p in probabilities {
            pmf.append(0)
            for k in stride(from: pmf.count - 1, through: 1, by: -1) {
                pmf[k] = pmf[k] * (1 - p) + pmf[k - 1] * p
            }
            pmf[0] *= 1 - p
        }
        var cumulative = [Double](repeating: 0, count: maximumDemand + 1)
        var running = 0.0
        for k in 0...maximumDemand {
            let uncertain = k - certain
            if uncertain >= 0, uncertain < pmf.count { running += pmf[uncertain] }
            cumulative[k] = min(1, running)
        }
        var shortfall = [Double](repeating: 0, count: maximumDemand + 1)
        var waiting = [Double](repeating: 0, count: maximumDemand + 1)
        for k in 0..<maximumDemand {
            shortfall[k + 1] = shortfall[k] + cumulative[k]
            waiting[k + 1] = waiting[k] + shortfall[k + 1]
        }
        return (shortfall, waiting)
    }

    @Test func callEndingIsFromCallToTheBit() {
        var generator = SeededGenerator(seed: 5)
        var compared = 0
        for _ in 0..<200 {
            let talk = DurationModel(
                mean: Double.random(in: 20...300, using: &generator),
                standardDeviation: Double.random(in: 0...250, using: &generator))
            let wrapUp = DurationModel(
                mean: Double.random(in: 0...60, using: &generator),
                standardDeviation: Double.random(in: 0...30, using: &generator))
            let horizon = [0, Double.random(in: 0.5...20, using: &generator)].randomElement(using: &generator)!
            let ending = AgentFreeing.CallEnding(horizon: horizon, talk: talk, wrapUp: wrapUp)
            for _ in 0..<50 {
                let elapsed = Double.random(in: 0...900, using: &generator)
                let expected = Self.referenceFromCall(elapsed: elapsed, horizon: horizon, talk: talk, wrapUp: wrapUp)
                #expect(ending.probability(elapsed: elapsed).bitPattern == expected.bitPattern)
                #expect(
                    AgentFreeing.fromCall(elapsed: elapsed, horizon: horizon, talk: talk, wrapUp: wrapUp).bitPattern
                        == expected.bitPattern)
                if expected > 0 { compared += 1 }
            }
        }
        #expect(compared > 1_000)
    }

    @Test func theOutlookIsTheRecurrenceOverEveryAgentToTheBit() {
        var generator = SeededGenerator(seed: 9)
        for _ in 0..<300 {
            let agents = Int.random(in: 0...60, using: &generator)
            // Some agents certain not to free, some certain to, the rest anywhere between.
            let probabilities = (0..<agents).map { _ -> Double in
                switch Int.random(in: 0..<5, using: &generator) {
                case 0: 0
                case 1: 1
                default: Double.random(in: 0...1, using: &generator)
                }
            }
            let certain = Int.random(in: 0...10, using: &generator)
            let demand = Int.random(in: 0...90, using: &generator)
            let outlook = FreeAgentOutlook(certain: certain, probabilities: probabilities, maximumDemand: demand)
            let expected = Self.referenceTables(certain: certain, probabilities: probabilities, maximumDemand: demand)
            #expect(outlook.shortfall.map(\.bitPattern) == expected.shortfall.map(\.bitPattern))
            #expect(outlook.waiting.map(\.bitPattern) == expected.waiting.map(\.bitPattern))
        }
    }
}
