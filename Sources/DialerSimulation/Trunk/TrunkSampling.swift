import DialerCore
import Foundation

extension SimulatedTrunk {
    /// Everything a simulated outbound call will do, drawn when it is placed.
    ///
    /// Every duration is drawn whatever the outcome, in a fixed order, so the draws of a call
    /// do not depend on its outcome and a change to one distribution leaves the others' draws
    /// as they were.
    public struct Fate: Hashable, Sendable {
        /// What truly happens: who answers, or why nobody does.
        public var outcome: Outcome
        /// From placing the call to the answer (for live and machine outcomes).
        public var ringTime: Duration
        /// From placing the call to the busy, invalid or failure signal.
        public var signalTime: Duration
        /// The greeting after the answer: a person's, or a machine's announcement.
        public var greetingLength: Duration
        /// From the answer to the detector's classification.
        public var detectionTime: Duration
        /// Whether detection gets it wrong: a live answer taken for a machine (false
        /// positive), or a machine taken for a person (false negative).
        public var misclassified: Bool
        /// From the bridge to the customer hanging up (a person only: a machine never does).
        public var talkTime: Duration
        /// How long the answered person holds on after the greeting, if never bridged.
        public var patience: Duration

        /// What answering-machine detection reports for an answered call: `.live` or
        /// `.machine`, or `nil` when nobody answers.
        public var detectedAs: Outcome? {
            switch outcome {
            case .live: misclassified ? .machine : .live
            case .machine: misclassified ? .live : .machine
            case .busy, .noAnswer, .invalid, .failed: nil
            }
        }
    }

    /// Everything a simulated inbound call will do, drawn when it arrives.
    public struct InboundFate: Hashable, Sendable {
        /// The caller's number.
        public var from: String
        /// How long the caller waits, from the arrival, to be bridged before hanging up.
        public var patience: Duration
        /// From the bridge to the caller hanging up.
        public var talkTime: Duration
    }
}

extension SimulatedTrunk.Population {
    /// The fate of the call number `attempt` (from 0) to `number`.
    ///
    /// It depends only on the seed, the number and the attempt, never on other calls: the
    /// same customer answers the same way however many other calls were placed before, and
    /// in whichever order.
    public func fate(number: String, attempt: Int) -> SimulatedTrunk.Fate {
        var random = TrunkStreams.generator(
            seed: seed, stream: .outbound, key: TrunkStreams.hash(number), index: UInt64(attempt))
        // A fixed number and order of draws, whatever the outcome (see `Fate`).
        let outcomeDraw = TrunkStreams.unit(&random)
        let classificationDraw = TrunkStreams.unit(&random)
        let ring = ringSeconds.sample(&random)
        let signal = signalSeconds.sample(&random)
        let greeting = greetingSeconds.sample(&random)
        let detection = machineDetection.seconds.sample(&random)
        let talk = talkSeconds.sample(&random)
        let patience = patienceSeconds.sample(&random)
        // Drawn last, so that adding it left every earlier draw of a call as it was.
        let machineGreeting = machineGreetingSeconds.sample(&random)

        let outcome = outcomes.outcome(for: outcomeDraw)
        let misclassified =
            switch outcome {
            case .live: classificationDraw < machineDetection.falsePositiveRate
            case .machine: classificationDraw < machineDetection.falseNegativeRate
            case .busy, .noAnswer, .invalid, .failed: false
            }
        return SimulatedTrunk.Fate(
            outcome: outcome,
            ringTime: ring,
            signalTime: signal,
            greetingLength: outcome == .machine ? machineGreeting : greeting,
            detectionTime: detection,
            misclassified: misclassified,
            talkTime: talk,
            patience: patience
        )
    }

    /// The fate of the inbound call number `index` (from 0) on `line`.
    public func inboundFate(line: InboundLine, index: Int) -> SimulatedTrunk.InboundFate {
        var random = TrunkStreams.generator(
            seed: seed, stream: .inboundCaller, key: TrunkStreams.hash(line.did), index: UInt64(index))
        let fromDraw = random.next()
        let patience = (line.patienceSeconds ?? patienceSeconds).sample(&random)
        let talk = (line.talkSeconds ?? talkSeconds).sample(&random)
        let from =
            line.fromNumbers.isEmpty
            ? "+1555" + String(1_000_000 + fromDraw % 9_000_000)
            : line.fromNumbers[Int(fromDraw % UInt64(line.fromNumbers.count))]
        return SimulatedTrunk.InboundFate(from: from, patience: patience, talkTime: talk)
    }

    /// The generator of `line`'s arrival gaps.
    func arrivalGenerator(line: InboundLine) -> SeededGenerator {
        TrunkStreams.generator(seed: seed, stream: .arrivals, key: TrunkStreams.hash(line.did), index: 0)
    }

    /// The length of `message` when played by this population's trunk.
    func length(of message: CallMessage) -> Duration {
        message.length ?? TrunkStreams.duration(seconds: messageSeconds[message.id] ?? defaultMessageSeconds)
    }
}

extension SimulatedTrunk.Population.InboundLine {
    /// The gap to the next arrival: exponential with the line's rate, so arrivals are Poisson.
    /// `nil` when the line has no calls.
    func arrivalGap(_ random: inout SeededGenerator) -> Duration? {
        guard callsPerHour > 0 else { return nil }
        let u = TrunkStreams.unit(&random)
        let seconds = -log1p(-u) * 3600 / callsPerHour
        return TrunkStreams.duration(seconds: seconds)
    }
}

extension SimulatedTrunk.Population.Outcomes {
    /// The outcome a uniform draw in [0, 1) falls on, in the fixed order of `Outcome`.
    func outcome(for draw: Double) -> SimulatedTrunk.Outcome {
        var threshold = draw * total
        var chosen = SimulatedTrunk.Outcome.live
        for outcome in SimulatedTrunk.Outcome.allCases where self[outcome] > 0 {
            chosen = outcome
            if threshold < self[outcome] { break }
            threshold -= self[outcome]
        }
        return chosen
    }
}

extension SimulatedTrunk.Population.Distribution {
    /// Draws a duration, rounded to whole nanoseconds so that moments made from it are exact.
    ///
    /// Always takes two numbers from `random`, whatever the shape, so that the draws after
    /// it stay the same when a distribution's shape changes.
    func sample(_ random: inout SeededGenerator) -> Duration {
        let u1 = TrunkStreams.unit(&random)
        let u2 = TrunkStreams.unit(&random)
        let seconds: Double
        switch self {
        case .fixed(let value):
            seconds = value
        case .uniform(let min, let max):
            seconds = min + u1 * (max - min)
        case .logNormal(let mean, let sd):
            // Box–Muller for a standard normal, then the log-normal with this mean and sd.
            let z = (-2 * log1p(-u1)).squareRoot() * cos(2 * Double.pi * u2)
            let variance = log1p((sd / mean) * (sd / mean))
            seconds = exp(log(mean) - variance / 2 + variance.squareRoot() * z)
        }
        return TrunkStreams.duration(seconds: seconds)
    }
}

/// Independent random streams keyed by purpose, key (a number's hash) and index.
///
/// Every draw comes from a generator seeded by mixing these, so a call's draws never depend
/// on how many draws other calls made before it: that is what makes a population the same
/// across runs whatever the order the node dials in.
enum TrunkStreams {
    enum Stream: UInt64 {
        case outbound = 1
        case inboundCaller = 2
        case arrivals = 3
    }

    static func generator(seed: UInt64, stream: Stream, key: UInt64, index: UInt64) -> SeededGenerator {
        SeededGenerator(seed: mix(seed &+ mix(stream.rawValue &+ mix(key &+ mix(index)))))
    }

    /// SplitMix64's finaliser: a bijection that spreads nearby inputs over all 64 bits.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// FNV-1a over the UTF-8 bytes: stable across runs and platforms, unlike `Hasher`.
    static func hash(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }

    /// A uniform draw in [0, 1) with 53 random bits.
    static func unit(_ random: inout SeededGenerator) -> Double {
        Double(random.next() >> 11) * 0x1p-53
    }

    /// Seconds as a duration of whole nanoseconds, kept within the population's longest.
    static func duration(seconds: Double) -> Duration {
        guard !seconds.isNaN else { return .zero }
        let bounded = Swift.min(Swift.max(seconds, 0), SimulatedTrunk.Population.longestSeconds)
        return .nanoseconds(Int64((bounded * 1e9).rounded()))
    }
}
