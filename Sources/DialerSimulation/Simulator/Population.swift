import DialerCore
import Foundation

extension Simulator {
    /// Independent random streams keyed by purpose and index, all from one seed.
    ///
    /// Each contact and each agent's day draws from its own `SeededGenerator`, seeded by mixing the
    /// scenario seed with the stream and index, so a draw never depends on how many draws other
    /// contacts or agents made before it. That is what lets policies that dial different numbers
    /// of calls, in different orders, still meet the very same customers.
    enum RandomStreams {
        enum Stream: UInt64 {
            case contact = 1
            case agentDay = 2
        }

        static func generator(seed: UInt64, stream: Stream, index: UInt64) -> SeededGenerator {
            SeededGenerator(seed: mix(seed &+ mix(stream.rawValue &* 0x9E37_79B9_7F4A_7C15 &+ mix(index))))
        }

        /// SplitMix64's finaliser: a bijection that spreads nearby inputs over all 64 bits.
        static func mix(_ value: UInt64) -> UInt64 {
            var z = value &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }
}

extension SeededGenerator {
    /// A uniform draw in [0, 1) with 53 random bits.
    fileprivate mutating func unit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// A standard normal draw (Box–Muller; one of the pair is enough here).
    fileprivate mutating func standardNormal() -> Double {
        let radius = (-2 * log(1 - unit())).squareRoot()
        return radius * cos(2 * Double.pi * unit())
    }
}

extension DurationDistribution {
    /// Draws a duration, in whole nanoseconds (so that moments computed from it are exact).
    ///
    /// Always draws two numbers, whatever the case, so that streams stay aligned between
    /// scenarios that differ only in one distribution's shape.
    func sample(using random: inout SeededGenerator) -> Int64 {
        let z = random.standardNormal()
        let seconds: Double
        switch self {
        case .fixed(let value):
            seconds = value
        case .logNormal(let mean, let sd):
            let variance = log1p((sd / mean) * (sd / mean))
            seconds = exp(log(mean) - variance / 2 + variance.squareRoot() * z)
        }
        return Int64((min(seconds, 1e6) * 1e9).rounded())
    }
}

extension Simulator {
    /// What a call attempt to one contact does.
    enum CallOutcome: Hashable, Sendable {
        case live
        case machine
        case busy
        case noAnswer
        case invalid
        case failed
    }

    /// One contact's fixed draws: the same whichever policy dials it, and whenever.
    struct ContactFate: Sendable {
        /// Compared with the live-answer rate in force when the contact is dialed.
        var liveDraw: Double
        /// Picks the outcome among the non-live ones.
        var otherDraw: Double
        /// Time from the start of the attempt to an answer (live or machine), in nanoseconds.
        var ringNanoseconds: Int64
        var machineDetectionNanoseconds: Int64
        var signalNanoseconds: Int64
        var patienceNanoseconds: Int64
    }

    /// What happens to one attempt, resolved when it is dialed.
    struct AttemptPlan: Sendable {
        var outcome: CallOutcome
        /// From dialing to the answer (live, machine) or to the end of the attempt (the others).
        var untilResolved: Int64
    }

    /// The scenario's customers and agents, as seeded draws.
    struct Population: Sendable {
        let scenario: Scenario
        let seed: UInt64
        let ringTimeout: Int64

        init(scenario: Scenario, seed: UInt64) {
            self.scenario = scenario
            self.seed = seed
            self.ringTimeout = Int64((scenario.ringTimeoutSeconds * 1e9).rounded())
        }

        /// The draws of the contact at `index` in the list.
        func contact(_ index: Int) -> ContactFate {
            var random = RandomStreams.generator(seed: seed, stream: .contact, index: UInt64(index))
            // A fixed order and number of draws per contact, whatever its outcome.
            let liveDraw = random.unit()
            let otherDraw = random.unit()
            let ring = scenario.timeToAnswerSeconds.sample(using: &random)
            let machine = scenario.machineDetectionSeconds.sample(using: &random)
            let signal = scenario.signalSeconds.sample(using: &random)
            let patience = scenario.patienceSeconds.sample(using: &random)
            return ContactFate(
                liveDraw: liveDraw,
                otherDraw: otherDraw,
                ringNanoseconds: ring,
                machineDetectionNanoseconds: machine,
                signalNanoseconds: signal,
                patienceNanoseconds: patience
            )
        }

        /// The attempt's outcome when the contact is dialed `hoursIntoShift` after the shift starts.
        ///
        /// A lower live-answer rate turns the contacts with the highest live draws into
        /// non-answers, and never the other way round: policies dialing at different moments see
        /// the same customers, only more or fewer of them at home.
        func plan(_ fate: ContactFate, hoursIntoShift: Double) -> AttemptPlan {
            let live = scenario.liveRate(atHour: hoursIntoShift)
            let mix = scenario.outcomes
            let outcome: CallOutcome
            if fate.liveDraw < live {
                outcome = .live
            } else {
                // The non-live outcomes in proportion; the change in live answers is in the no-answers.
                let noAnswer = max(0, mix.noAnswer + mix.live - live)
                let parts: [(CallOutcome, Double)] = [
                    (.machine, mix.machine), (.busy, mix.busy), (.noAnswer, noAnswer), (.invalid, mix.invalid),
                    (.failed, mix.failed),
                ]
                let total = parts.reduce(0) { $0 + $1.1 }
                var threshold = fate.otherDraw * total
                var chosen = CallOutcome.noAnswer
                for (candidate, weight) in parts where weight > 0 {
                    chosen = candidate
                    if threshold < weight { break }
                    threshold -= weight
                }
                outcome = chosen
            }
            switch outcome {
            case .live, .machine:
                // An answer that would come after the ring timeout never comes.
                if fate.ringNanoseconds > ringTimeout {
                    return AttemptPlan(outcome: .noAnswer, untilResolved: ringTimeout)
                }
                return AttemptPlan(outcome: outcome, untilResolved: fate.ringNanoseconds)
            case .noAnswer:
                return AttemptPlan(outcome: .noAnswer, untilResolved: ringTimeout)
            case .busy, .invalid, .failed:
                return AttemptPlan(outcome: outcome, untilResolved: min(fate.signalNanoseconds, ringTimeout))
            }
        }
    }

    /// Talk and wrap-up times, drawn per agent and per call of the agent's day.
    ///
    /// The k-th call an agent takes on a given day lasts the same, and is followed by the same
    /// wrap-up, under every policy. Tying these to the agent's day rather than to the customer is
    /// what makes the clairvoyant bound provable (see ``Simulator``); the customers' own draws
    /// (outcome, ring time, patience) stay tied to the contact.
    struct AgentCallDurations: Sendable {
        struct Call: Sendable, Hashable {
            var talk: Int64
            var wrapUp: Int64
        }

        private let scenario: Scenario
        private let seed: UInt64
        private var day = -1
        private var generators: [SeededGenerator] = []
        private var drawn: [[Call]] = []

        init(scenario: Scenario, seed: UInt64) {
            self.scenario = scenario
            self.seed = seed
        }

        /// The durations of `agent`'s call number `index` (from 0) on `day`.
        mutating func call(day: Int, agent: Int, index: Int) -> Call {
            if day != self.day { start(day: day) }
            while drawn[agent].count <= index {
                let talk = scenario.talkSeconds.sample(using: &generators[agent])
                let wrapUp = scenario.wrapUpSeconds.sample(using: &generators[agent])
                drawn[agent].append(Call(talk: talk, wrapUp: wrapUp))
            }
            return drawn[agent][index]
        }

        private mutating func start(day: Int) {
            self.day = day
            generators = (0..<scenario.agents).map {
                RandomStreams.generator(seed: seed, stream: .agentDay, index: UInt64(day) << 32 | UInt64($0))
            }
            drawn = Array(repeating: [], count: scenario.agents)
        }
    }
}
