extension SimulatedTrunk {
    /// The customers a simulated trunk calls and is called by, and the carrier it stands for.
    ///
    /// Every time is in seconds of call time (the time scale only changes how fast call time
    /// passes). `POPULATION.md` beside this file documents the JSON form, every field and its
    /// default; ``decode(json:)`` reads it and ``validate()`` checks it.
    public struct Population: Hashable, Sendable {
        /// The seed of every draw: the same seed gives the same customers.
        public var seed: UInt64
        /// Seconds of call time per second of the clock the trunk is given (60: a minute of
        /// call per real second).
        public var timeScale: Double
        /// What becomes of an outbound call.
        public var outcomes: Outcomes
        /// From placing a call to its answer, for the calls that are answered (live or
        /// machine); an answer later than the ring timeout is a no-answer.
        public var ringSeconds: Distribution
        /// From placing a call to the busy, invalid-number or failure signal.
        public var signalSeconds: Distribution
        /// How long a person's greeting ("Hello?") lasts after the answer.
        public var greetingSeconds: Distribution
        /// How long an answering machine's greeting (its recorded announcement) lasts.
        public var machineGreetingSeconds: Distribution
        /// Answering-machine detection: how long it takes and how often it is wrong.
        public var machineDetection: MachineDetection
        /// From the bridge to an agent until the customer hangs up.
        public var talkSeconds: Distribution
        /// How long an answered customer holds on, waiting for an agent, before hanging up
        /// (an abandon): counted from the end of the greeting.
        public var patienceSeconds: Distribution
        /// The numbers (DIDs) calls arrive on.
        public var inbound: [InboundLine]
        /// Concurrent calls the trunk carries, outbound and inbound together.
        public var channels: Int
        /// Calls the carrier lets the trunk start in any one second of call time.
        public var callsPerSecond: Int
        /// The length of each named message (`CallMessage.id`), in seconds.
        public var messageSeconds: [String: Double]
        /// The length of a message not in ``messageSeconds`` and played without a length.
        public var defaultMessageSeconds: Double

        /// A population; the defaults are those of a JSON file that leaves the field out.
        public init(
            seed: UInt64 = 1,
            timeScale: Double = 1,
            outcomes: Outcomes = .standard,
            ringSeconds: Distribution = .logNormal(mean: 9, standardDeviation: 4),
            signalSeconds: Distribution = .fixed(seconds: 3),
            greetingSeconds: Distribution = .logNormal(mean: 1.5, standardDeviation: 0.5),
            machineGreetingSeconds: Distribution = .logNormal(mean: 10, standardDeviation: 4),
            machineDetection: MachineDetection = MachineDetection(),
            talkSeconds: Distribution = .logNormal(mean: 150, standardDeviation: 120),
            patienceSeconds: Distribution = .logNormal(mean: 8, standardDeviation: 4),
            inbound: [InboundLine] = [],
            channels: Int = 100,
            callsPerSecond: Int = 10,
            messageSeconds: [String: Double] = [:],
            defaultMessageSeconds: Double = 10
        ) {
            self.seed = seed
            self.timeScale = timeScale
            self.outcomes = outcomes
            self.ringSeconds = ringSeconds
            self.signalSeconds = signalSeconds
            self.greetingSeconds = greetingSeconds
            self.machineGreetingSeconds = machineGreetingSeconds
            self.machineDetection = machineDetection
            self.talkSeconds = talkSeconds
            self.patienceSeconds = patienceSeconds
            self.inbound = inbound
            self.channels = channels
            self.callsPerSecond = callsPerSecond
            self.messageSeconds = messageSeconds
            self.defaultMessageSeconds = defaultMessageSeconds
        }
    }

    /// What becomes of an outbound call, in truth (detection may report otherwise).
    public enum Outcome: String, Hashable, Sendable, CaseIterable, Codable {
        /// A person answers.
        case live
        /// An answering machine answers.
        case machine
        /// The line is busy.
        case busy
        /// Nobody answers (before the ring timeout).
        case noAnswer
        /// The number does not exist.
        case invalid
        /// The network fails to place the call.
        case failed
    }
}

extension SimulatedTrunk.Population {
    /// The probability of each outcome of an outbound call; they must sum to 1.
    public struct Outcomes: Hashable, Sendable {
        public var live: Double
        public var machine: Double
        public var busy: Double
        public var noAnswer: Double
        public var invalid: Double
        public var failed: Double

        public init(
            live: Double = 0, machine: Double = 0, busy: Double = 0, noAnswer: Double = 0, invalid: Double = 0,
            failed: Double = 0
        ) {
            self.live = live
            self.machine = machine
            self.busy = busy
            self.noAnswer = noAnswer
            self.invalid = invalid
            self.failed = failed
        }

        /// 30 % live, 15 % machine, 5 % busy, 40 % no answer, 5 % invalid, 5 % failed.
        public static let standard = Outcomes(
            live: 0.3, machine: 0.15, busy: 0.05, noAnswer: 0.4, invalid: 0.05, failed: 0.05)

        /// The probability of `outcome`.
        public subscript(outcome: SimulatedTrunk.Outcome) -> Double {
            switch outcome {
            case .live: live
            case .machine: machine
            case .busy: busy
            case .noAnswer: noAnswer
            case .invalid: invalid
            case .failed: failed
            }
        }

        /// The sum of the probabilities (1 when valid).
        public var total: Double { SimulatedTrunk.Outcome.allCases.reduce(0) { $0 + self[$1] } }
    }

    /// A distribution of durations, in seconds.
    public enum Distribution: Hashable, Sendable {
        /// Always the same.
        case fixed(seconds: Double)
        /// Evenly spread from `min` to `max`.
        case uniform(min: Double, max: Double)
        /// Log-normal with this mean and standard deviation: positive and right-skewed, as
        /// ring, talk and waiting times are.
        case logNormal(mean: Double, standardDeviation: Double)

        /// The mean, in seconds.
        public var mean: Double {
            switch self {
            case .fixed(let seconds): seconds
            case .uniform(let min, let max): (min + max) / 2
            case .logNormal(let mean, _): mean
            }
        }

        /// The standard deviation, in seconds.
        public var standardDeviation: Double {
            switch self {
            case .fixed: 0
            case .uniform(let min, let max): (max - min) / 12.0.squareRoot()
            case .logNormal(_, let sd): sd
            }
        }
    }

    /// Answering-machine detection.
    public struct MachineDetection: Hashable, Sendable {
        /// From the answer to the classification.
        public var seconds: Distribution
        /// The share of live answers classified as machines.
        public var falsePositiveRate: Double
        /// The share of machine answers classified as live.
        public var falseNegativeRate: Double

        public init(
            seconds: Distribution = .logNormal(mean: 2.5, standardDeviation: 0.8),
            falsePositiveRate: Double = 0.02,
            falseNegativeRate: Double = 0.1
        ) {
            self.seconds = seconds
            self.falsePositiveRate = falsePositiveRate
            self.falseNegativeRate = falseNegativeRate
        }
    }

    /// One number calls arrive on, and its callers.
    public struct InboundLine: Hashable, Sendable {
        /// The number called (E.164).
        public var did: String
        /// The mean arrival rate; arrivals are a Poisson process (exponential gaps).
        public var callsPerHour: Double
        /// The numbers callers call from, drawn evenly; when empty, made-up `+1555…` numbers.
        public var fromNumbers: [String]
        /// How long a caller waits, from the arrival, to be bridged before hanging up; the
        /// population's ``SimulatedTrunk/Population/patienceSeconds`` when `nil`.
        public var patienceSeconds: Distribution?
        /// Talk time after the bridge; the population's
        /// ``SimulatedTrunk/Population/talkSeconds`` when `nil`.
        public var talkSeconds: Distribution?

        public init(
            did: String,
            callsPerHour: Double,
            fromNumbers: [String] = [],
            patienceSeconds: Distribution? = nil,
            talkSeconds: Distribution? = nil
        ) {
            self.did = did
            self.callsPerHour = callsPerHour
            self.fromNumbers = fromNumbers
            self.patienceSeconds = patienceSeconds
            self.talkSeconds = talkSeconds
        }
    }
}
