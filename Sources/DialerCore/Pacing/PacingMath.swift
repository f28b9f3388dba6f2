// The C math library gives erfc, log and exp; Foundation would be a far larger dependency for
// three functions.
#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(ucrt)
import ucrt
#endif

/// A duration distribution fitted to a measured summary: log-normal, or a fixed value when
/// the spread is negligible.
///
/// Log-normal because talk and handle times are positive and right-skewed, and because its
/// residual life grows with the time already spent: a call that has run long is expected to
/// run on, which is what observed talk times do. Its two parameters follow from a mean and a
/// standard deviation (or a median), which is all a campaign's statistics summarise.
struct DurationModel: Sendable, Hashable {
    /// Parameters of ln X ~ Normal(mu, sigma²); unused when `fixed` is set.
    let mu: Double
    let sigma: Double
    /// Set when the duration is (nearly) constant, e.g. a preset wrap-up time.
    let fixed: Double?

    /// Below this coefficient of variation the log-normal is too narrow to evaluate reliably
    /// in the tails; a step function is then both safer and exact enough.
    static let minimumVariation = 0.02

    init(mean: Double, standardDeviation: Double) {
        guard mean > 0, mean.isFinite else {
            self.init(fixed: 0)
            return
        }
        let variation = standardDeviation / mean
        guard variation.isFinite, variation >= Self.minimumVariation else {
            self.init(fixed: mean)
            return
        }
        let variance = log1p(variation * variation)
        self.init(mu: log(mean) - variance / 2, sigma: variance.squareRoot(), fixed: nil)
    }

    private init(fixed: Double) {
        self.init(mu: 0, sigma: 0, fixed: fixed)
    }

    private init(mu: Double, sigma: Double, fixed: Double?) {
        self.mu = mu
        self.sigma = sigma
        self.fixed = fixed
    }

    /// Fits a summary in seconds. Without a measured spread, the median (if any) gives it;
    /// failing that, `defaultVariation` (the coefficient of variation to assume).
    init(_ summary: DistributionSummary, defaultVariation: Double) {
        let mean = summary.mean.seconds
        if let sd = summary.standardDeviation {
            self.init(mean: mean, standardDeviation: sd.seconds)
        } else if let median = summary.p50?.seconds, median > 0, mean > median {
            // For a log-normal, mean / median = exp(sigma² / 2).
            let variance = 2 * log(mean / median)
            self.init(mean: mean, standardDeviation: mean * (exp(variance) - 1).squareRoot())
        } else {
            self.init(mean: mean, standardDeviation: mean * defaultVariation)
        }
    }

    /// P(X > x).
    func survival(_ x: Double) -> Double {
        if let fixed { return x < fixed ? 1 : 0 }
        guard x > 0 else { return 1 }
        // erfc keeps precision in the upper tail, where 1 - cdf would round to 0.
        return 0.5 * erfc((log(x) - mu) / (sigma * 2.0.squareRoot()))
    }

    /// P(X ≤ x).
    func cdf(_ x: Double) -> Double { 1 - survival(x) }

    /// The quantile at the standard normal score `z` (e.g. -1.2816 for the 10th percentile).
    func quantile(normalScore z: Double) -> Double {
        if let fixed { return fixed }
        return exp(mu + sigma * z)
    }

    /// The standard normal score of the 10th percentile.
    static let tenthPercentileScore = -1.2815515655446004
}

/// Estimates of when busy agents become free.
enum AgentFreeing {
    /// Below this survival probability a state is treated as outside the model (an agent who
    /// has overstayed every measured call); such an agent is assumed not to free soon, which
    /// errs towards fewer calls and so fewer abandons.
    static let negligibleSurvival = 1e-9

    /// Probability that an agent in wrap-up for `elapsed` seconds finishes within `horizon`.
    static func fromWrapUp(elapsed: Double, horizon: Double, wrapUp: DurationModel) -> Double {
        let alive = wrapUp.survival(elapsed)
        guard alive > negligibleSurvival else { return 0 }
        return clampProbability((alive - wrapUp.survival(elapsed + horizon)) / alive)
    }

    /// Probability that an agent talking for `elapsed` seconds ends the call and then the
    /// whole wrap-up within `horizon`: the residual talk time and the wrap-up are convolved
    /// numerically over `steps` slices of the horizon.
    static func fromCall(
        elapsed: Double,
        horizon: Double,
        talk: DurationModel,
        wrapUp: DurationModel,
        steps: Int = 24
    ) -> Double {
        CallEnding(horizon: horizon, talk: talk, wrapUp: wrapUp, steps: steps).probability(elapsed: elapsed)
    }

    /// ``fromCall(elapsed:horizon:talk:wrapUp:steps:)`` for the many agents of one decision.
    ///
    /// The wrap-up's chance to fit in what is left of the horizon after each slice depends on
    /// the slice alone, not on the agent, so it is computed once per decision instead of once
    /// per agent and slice: half the `erfc`s of a busy floor's decision. The arithmetic is the
    /// same, operation for operation, so the probabilities are the same to the bit.
    struct CallEnding {
        let horizon: Double
        let talk: DurationModel
        let width: Double
        /// `wrapUpFits[step]`: P(wrap-up ≤ the horizon left after the middle of slice `step`).
        let wrapUpFits: [Double]

        init(horizon: Double, talk: DurationModel, wrapUp: DurationModel, steps: Int = 24) {
            self.horizon = horizon
            self.talk = talk
            let width = horizon / Double(steps)
            self.width = width
            // Wrap-up starts, on average, mid-slice; it must fit in what is left of the horizon.
            wrapUpFits = (0..<max(0, steps)).map { step in wrapUp.cdf(horizon - width * (Double(step) + 0.5)) }
        }

        func probability(elapsed: Double) -> Double {
            let alive = talk.survival(elapsed)
            guard alive > negligibleSurvival, horizon > 0 else { return 0 }
            var probability = 0.0
            var before = alive
            for step in wrapUpFits.indices {
                let after = talk.survival(elapsed + width * Double(step + 1))
                let endsInSlice = (before - after) / alive
                probability += endsInSlice * wrapUpFits[step]
                before = after
            }
            return clampProbability(probability)
        }
    }

    private static func clampProbability(_ p: Double) -> Double {
        p.isFinite ? min(1, max(0, p)) : 0
    }
}

/// The distribution of the number of agents free at the horizon, and the expectations over
/// it that pacing needs, tabulated by demand (the number of answered calls wanting an agent).
struct FreeAgentOutlook {
    /// Expected agents free at the horizon.
    let expectedFree: Double
    /// `shortfall[k]` = E[(k − F)⁺]: expected callers without an agent when `k` want one.
    private(set) var shortfall: [Double]
    /// `waiting[k]` = E[X(X+1)/2] with X = (k − F)⁺: the expected sum of queue positions of
    /// those callers, which the average-wait target turns into seconds.
    private(set) var waiting: [Double]
    /// `cumulative[k]` = P(F ≤ k).
    private let cumulative: [Double]

    /// - Parameters:
    ///   - certain: agents free for sure (available now).
    ///   - probabilities: for each busy agent, the probability it is free at the horizon.
    ///   - maximumDemand: the largest demand the tables must cover.
    init(certain: Int, probabilities: [Double], maximumDemand: Int) {
        // Poisson-binomial by dynamic programming: exact, and cheap for a queue's agents.
        // An agent certain not to free (p = 0) leaves every entry as it is (x·1 + y·0 = x), so
        // it is skipped; the entries past those computed stay 0, as they would.
        // Only P(uncertain free = j) for j ≤ maximumDemand − certain is read below, and each
        // entry's update reads entries below it alone: the table stops there, which takes a
        // busy floor's decision from O(busy²) to O(busy × demand) with the same entries.
        let kept = min(probabilities.count, max(0, maximumDemand - certain)) + 1
        var pmf = [Double](repeating: 0, count: kept)
        pmf[0] = 1
        pmf.withUnsafeMutableBufferPointer { pmf in
            var count = 1
            for p in probabilities where p != 0 {
                if count < kept { count += 1 }
                var k = count - 1
                while k >= 1 {
                    pmf[k] = pmf[k] * (1 - p) + pmf[k - 1] * p
                    k -= 1
                }
                pmf[0] *= 1 - p
            }
        }
        expectedFree = Double(certain) + probabilities.reduce(0, +)

        var cumulative = [Double](repeating: 0, count: maximumDemand + 1)
        var running = 0.0
        for k in 0...maximumDemand {
            let uncertain = k - certain
            if uncertain >= 0, uncertain < pmf.count { running += pmf[uncertain] }
            cumulative[k] = min(1, running)
        }
        self.cumulative = cumulative

        // E[(k+1 − F)⁺] − E[(k − F)⁺] = P(F ≤ k); the wait sum grows by the new shortfall.
        var shortfall = [Double](repeating: 0, count: maximumDemand + 1)
        var waiting = [Double](repeating: 0, count: maximumDemand + 1)
        for k in 0..<maximumDemand {
            shortfall[k + 1] = shortfall[k] + cumulative[k]
            waiting[k + 1] = waiting[k] + shortfall[k + 1]
        }
        self.shortfall = shortfall
        self.waiting = waiting
    }

    /// E[(F − k)⁺]: expected agents left idle when `k` callers want one.
    func idle(demand k: Int) -> Double {
        max(0, expectedFree - Double(k) + shortfall[k])
    }
}

/// The binomial distribution of live answers among `n` calls, grown one call at a time.
struct AnswerDistribution {
    let answerRate: Double
    /// `pmf[l]` = P(l of the calls are answered live).
    private(set) var pmf: [Double] = [1]

    init(answerRate: Double, calls: Int) {
        self.answerRate = answerRate
        for _ in 0..<max(0, calls) { addCall() }
    }

    /// Adds one call: a convex combination, so it stays stable where closed forms underflow.
    mutating func addCall() {
        pmf.append(0)
        for l in stride(from: pmf.count - 1, through: 1, by: -1) {
            pmf[l] = pmf[l] * (1 - answerRate) + pmf[l - 1] * answerRate
        }
        pmf[0] *= 1 - answerRate
    }

    /// E[f(offset + L)] for a table indexed by demand.
    func expectation(of table: [Double], offset: Int) -> Double {
        var total = 0.0
        for (l, p) in pmf.enumerated() where p > 0 { total += p * table[offset + l] }
        return total
    }

    /// E[g(offset + L)].
    func expectation(offset: Int, _ g: (Int) -> Double) -> Double {
        var total = 0.0
        for (l, p) in pmf.enumerated() where p > 0 { total += p * g(offset + l) }
        return total
    }
}
