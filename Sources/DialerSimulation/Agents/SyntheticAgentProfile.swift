import DialerCore

/// How a synthetic agent behaves: the distributions it draws its times from and the chances
/// of its choices. One profile can drive a whole pool; each agent draws from its own seed.
///
/// Times are in call time (seconds of the simulated day): an agent run on a ``ScaledClock``
/// at scale 60 takes a 120 s wrap-up in 2 s of wall time.
public struct SyntheticAgentProfile: Hashable, Sendable {
    public typealias Distribution = SimulatedTrunk.Population.Distribution

    /// From a preview offer to the agent's answer.
    public var acceptSeconds: Distribution
    /// The chance that the agent skips a preview offer instead of accepting it.
    public var rejectProbability: Double
    /// From being connected to the agent hanging up, if the customer has not hung up first;
    /// `nil`: the agent never hangs up first.
    public var talkSeconds: Distribution?
    /// From the call's end to the disposition being sent (the agent writing notes).
    public var wrapUpSeconds: Distribution
    /// The chance of a pause after a call instead of going ready at once.
    public var pauseProbability: Double
    /// How long a pause lasts.
    public var pauseSeconds: Distribution
    /// The reason given for a pause.
    public var pauseReason: String
    /// The dispositions the agent picks from after a call, with their weights.
    public var dispositions: [WeightedDisposition]

    /// A disposition name with its weight among the others.
    public struct WeightedDisposition: Hashable, Sendable {
        public var name: String
        public var weight: Double

        public init(name: String, weight: Double) {
            self.name = name
            self.weight = weight
        }
    }

    public init(
        acceptSeconds: Distribution = .uniform(min: 1, max: 4),
        rejectProbability: Double = 0,
        talkSeconds: Distribution? = nil,
        wrapUpSeconds: Distribution = .logNormal(mean: 15, standardDeviation: 8),
        pauseProbability: Double = 0,
        pauseSeconds: Distribution = .logNormal(mean: 120, standardDeviation: 60),
        pauseReason: String = "break",
        dispositions: [WeightedDisposition] = [WeightedDisposition(name: "completed", weight: 1)]
    ) {
        self.acceptSeconds = acceptSeconds
        self.rejectProbability = rejectProbability
        self.talkSeconds = talkSeconds
        self.wrapUpSeconds = wrapUpSeconds
        self.pauseProbability = pauseProbability
        self.pauseSeconds = pauseSeconds
        self.pauseReason = pauseReason
        self.dispositions = dispositions
    }

    /// Checks every field; the error names the first bad one.
    public func validate() throws(SyntheticAgentProfileError) {
        func check(_ distribution: Distribution, _ field: String) throws(SyntheticAgentProfileError) {
            do {
                try distribution.validate(field)
            } catch {
                throw SyntheticAgentProfileError(field: error.field ?? field, reason: error.reason)
            }
        }
        try check(acceptSeconds, "acceptSeconds")
        if let talkSeconds { try check(talkSeconds, "talkSeconds") }
        try check(wrapUpSeconds, "wrapUpSeconds")
        try check(pauseSeconds, "pauseSeconds")
        for (field, probability) in [("rejectProbability", rejectProbability), ("pauseProbability", pauseProbability)]
        where !(probability >= 0 && probability <= 1) {
            throw SyntheticAgentProfileError(field: field, reason: "must be from 0 to 1 (is \(probability))")
        }
        if pauseReason.isEmpty {
            throw SyntheticAgentProfileError(field: "pauseReason", reason: "must not be empty")
        }
        if dispositions.isEmpty {
            throw SyntheticAgentProfileError(field: "dispositions", reason: "needs at least one disposition")
        }
        for (index, disposition) in dispositions.enumerated() {
            if disposition.name.isEmpty {
                throw SyntheticAgentProfileError(field: "dispositions[\(index)].name", reason: "must not be empty")
            }
            if !(disposition.weight > 0 && disposition.weight.isFinite) {
                throw SyntheticAgentProfileError(
                    field: "dispositions[\(index)].weight", reason: "must be above 0 (is \(disposition.weight))")
            }
        }
    }

    /// Picks a disposition by weight.
    func pickDisposition(_ random: inout SeededGenerator) -> String {
        let total = dispositions.reduce(0) { $0 + $1.weight }
        var point = Double.random(in: 0..<total, using: &random)
        for disposition in dispositions {
            if point < disposition.weight { return disposition.name }
            point -= disposition.weight
        }
        return dispositions[dispositions.count - 1].name
    }
}

/// A profile field with a value a synthetic agent cannot use.
public struct SyntheticAgentProfileError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The field, as written in a scenario file.
    public var field: String
    /// What is wrong with it.
    public var reason: String

    public var description: String { "synthetic agent profile: \(field) \(reason)" }
}
