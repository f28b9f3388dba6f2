import DialerCore
import Foundation

extension SimulatedTrunk {
    /// Why a population cannot be used: which field, and what is wrong with it.
    public struct PopulationError: Error, Hashable, Sendable, CustomStringConvertible {
        /// The file, when the population came from one.
        public var path: String?
        /// The field at fault as a path into the JSON (`machineDetection.falsePositiveRate`,
        /// `inbound[1].did`), or `nil` when the text as a whole is at fault.
        public var field: String?
        /// What is wrong, in words.
        public var reason: String

        public init(path: String? = nil, field: String?, reason: String) {
            self.path = path
            self.field = field
            self.reason = reason
        }

        /// `path: field: reason`, leaving out what is not known.
        public var description: String {
            ["population", path, field, reason].compactMap(\.self).joined(separator: ": ")
        }
    }
}

extension SimulatedTrunk.Population {
    /// Reads, decodes and validates the population file (JSON) at `path`.
    public static func load(path: String) throws(SimulatedTrunk.PopulationError) -> Self {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw SimulatedTrunk.PopulationError(
                path: path, field: nil, reason: "cannot read the file (\(error.localizedDescription))")
        }
        do {
            return try decode(data)
        } catch {
            var error = error
            error.path = path
            throw error
        }
    }

    /// Decodes and validates a population from JSON text; a field left out takes its default.
    public static func decode(json: String) throws(SimulatedTrunk.PopulationError) -> Self {
        try decode(Data(json.utf8))
    }

    static func decode(_ data: Data) throws(SimulatedTrunk.PopulationError) -> Self {
        let population: Self
        do {
            population = try JSONDecoder().decode(Self.self, from: data)
        } catch let error as DecodingError {
            throw SimulatedTrunk.PopulationError(decoding: error, data: data)
        } catch {
            throw SimulatedTrunk.PopulationError(field: nil, reason: "\(error)")
        }
        try population.validate()
        return population
    }

    /// The population as JSON text, in the form ``decode(json:)`` reads.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding plain numbers, strings and arrays cannot fail.
        return String(decoding: try! encoder.encode(self), as: UTF8.self)
    }

    /// Checks what the types cannot: probabilities, their sum, ranges, unique numbers.
    ///
    /// The error names the first field at fault.
    public func validate() throws(SimulatedTrunk.PopulationError) {
        func fail(_ field: String, _ reason: String) -> SimulatedTrunk.PopulationError {
            SimulatedTrunk.PopulationError(field: field, reason: reason)
        }
        if !(timeScale > 0 && timeScale <= 1_000_000) {
            throw fail("timeScale", "must be above 0 and at most 1000000 (is \(timeScale))")
        }
        try outcomes.validate()
        try ringSeconds.validate("ringSeconds")
        try signalSeconds.validate("signalSeconds")
        try greetingSeconds.validate("greetingSeconds")
        try machineGreetingSeconds.validate("machineGreetingSeconds")
        try machineDetection.seconds.validate("machineDetection.seconds")
        for (name, rate) in [
            ("falsePositiveRate", machineDetection.falsePositiveRate),
            ("falseNegativeRate", machineDetection.falseNegativeRate),
        ] where !(rate >= 0 && rate <= 1) {
            throw fail("machineDetection.\(name)", "must be a probability from 0 to 1 (is \(rate))")
        }
        try talkSeconds.validate("talkSeconds")
        try patienceSeconds.validate("patienceSeconds")
        var dids: Set<String> = []
        for (index, line) in inbound.enumerated() {
            let field = "inbound[\(index)]"
            if line.did.isEmpty { throw fail(field + ".did", "must not be empty") }
            if !dids.insert(line.did).inserted { throw fail(field + ".did", "\"\(line.did)\" is listed twice") }
            if !(line.callsPerHour >= 0 && line.callsPerHour.isFinite) {
                throw fail(field + ".callsPerHour", "must be 0 or more (is \(line.callsPerHour))")
            }
            if line.fromNumbers.contains(where: \.isEmpty) {
                throw fail(field + ".fromNumbers", "must not contain an empty number")
            }
            try line.patienceSeconds?.validate(field + ".patienceSeconds")
            try line.talkSeconds?.validate(field + ".talkSeconds")
        }
        if channels < 1 { throw fail("channels", "must be at least 1 (is \(channels))") }
        if callsPerSecond < 1 { throw fail("callsPerSecond", "must be at least 1 (is \(callsPerSecond))") }
        for (name, seconds) in messageSeconds.sorted(by: { $0.key < $1.key })
        where !(seconds >= 0 && seconds <= Self.longestSeconds) {
            throw fail("messageSeconds.\(name)", "must be from 0 to \(Self.longestSeconds) seconds (is \(seconds))")
        }
        if !(defaultMessageSeconds >= 0 && defaultMessageSeconds <= Self.longestSeconds) {
            throw fail(
                "defaultMessageSeconds",
                "must be from 0 to \(Self.longestSeconds) seconds (is \(defaultMessageSeconds))")
        }
    }

    /// Longer than any call; keeps every duration well inside `Moment`'s range.
    static let longestSeconds: Double = 1_000_000
}

extension SimulatedTrunk.Population.Outcomes {
    func validate() throws(SimulatedTrunk.PopulationError) {
        for outcome in SimulatedTrunk.Outcome.allCases where !(self[outcome] >= 0 && self[outcome] <= 1) {
            throw SimulatedTrunk.PopulationError(
                field: "outcomes.\(outcome.rawValue)", reason: "must be a probability from 0 to 1 (is \(self[outcome]))"
            )
        }
        if abs(total - 1) > 1e-6 {
            // Only the outcomes given, rounded as a person would write them.
            let terms = SimulatedTrunk.Outcome.allCases.filter { self[$0] != 0 }
                .map { "\($0.rawValue) \(String(format: "%g", self[$0]))" }
            let sum =
                terms.isEmpty ? "they are all 0" : "\(terms.joined(separator: " + ")) = \(String(format: "%g", total))"
            throw SimulatedTrunk.PopulationError(
                field: "outcomes", reason: "the probabilities must sum to 1, but \(sum)")
        }
    }
}

extension SimulatedTrunk.Population.Distribution {
    func validate(_ field: String) throws(SimulatedTrunk.PopulationError) {
        func fail(_ key: String, _ reason: String) -> SimulatedTrunk.PopulationError {
            SimulatedTrunk.PopulationError(field: "\(field).\(key)", reason: reason)
        }
        let longest = SimulatedTrunk.Population.longestSeconds
        switch self {
        case .fixed(let seconds):
            if !(seconds >= 0 && seconds <= longest) {
                throw fail("fixed", "must be from 0 to \(longest) seconds (is \(seconds))")
            }
        case .uniform(let min, let max):
            if !(min >= 0 && min <= longest) { throw fail("min", "must be from 0 to \(longest) seconds (is \(min))") }
            if !(max >= min && max <= longest) {
                throw fail("max", "must be from min (\(min)) to \(longest) seconds (is \(max))")
            }
        case .logNormal(let mean, let sd):
            if !(mean > 0 && mean <= longest) {
                throw fail("mean", "must be above 0 and at most \(longest) seconds (is \(mean))")
            }
            if !(sd >= 0 && sd <= longest) { throw fail("sd", "must be from 0 to \(longest) seconds (is \(sd))") }
        }
    }
}

// MARK: - JSON

/// A JSON object key; any name, so that unknown fields can be named in errors.
private struct PopulationKey: CodingKey, ExpressibleByStringLiteral, Hashable {
    var stringValue: String
    var intValue: Int? { nil }

    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
    init(stringLiteral value: String) { self.stringValue = value }
}

extension KeyedDecodingContainer where Key == PopulationKey {
    /// Throws for a field not in `known`: a misspelt field would otherwise silently take its
    /// default.
    fileprivate func rejectFields(notIn known: [PopulationKey]) throws {
        let allowed = Set(known.map(\.stringValue))
        for key in allKeys.sorted(by: { $0.stringValue < $1.stringValue }) where !allowed.contains(key.stringValue) {
            throw DecodingError.dataCorruptedError(
                forKey: key,
                in: self,
                debugDescription:
                    "unknown field; the known fields are \(known.map(\.stringValue).sorted().joined(separator: ", "))"
            )
        }
    }

    fileprivate func field<T: Decodable>(_ key: PopulationKey, default value: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? value
    }

    /// A whole number, with an error that names the field whatever is wrong with it: Linux
    /// Foundation reports a negative or fractional number for an unsigned or whole type as
    /// invalid JSON, with no field.
    fileprivate func wholeNumber<T: FixedWidthInteger & Decodable>(_ key: PopulationKey, default value: T) throws -> T {
        do {
            return try decodeIfPresent(T.self, forKey: key) ?? value
        } catch {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self,
                debugDescription: T.min == 0 ? "expected a whole number, 0 or more" : "expected a whole number")
        }
    }
}

extension SimulatedTrunk.Population: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: PopulationKey.self)
        try c.rejectFields(notIn: [
            "seed", "timeScale", "outcomes", "ringSeconds", "signalSeconds", "greetingSeconds",
            "machineGreetingSeconds",
            "machineDetection", "talkSeconds", "patienceSeconds", "inbound", "channels", "callsPerSecond",
            "messageSeconds",
            "defaultMessageSeconds",
        ])
        let defaults = Self()
        self.init(
            seed: try c.wholeNumber("seed", default: defaults.seed),
            timeScale: try c.field("timeScale", default: defaults.timeScale),
            outcomes: try c.field("outcomes", default: defaults.outcomes),
            ringSeconds: try c.field("ringSeconds", default: defaults.ringSeconds),
            signalSeconds: try c.field("signalSeconds", default: defaults.signalSeconds),
            greetingSeconds: try c.field("greetingSeconds", default: defaults.greetingSeconds),
            machineGreetingSeconds: try c.field("machineGreetingSeconds", default: defaults.machineGreetingSeconds),
            machineDetection: try c.field("machineDetection", default: defaults.machineDetection),
            talkSeconds: try c.field("talkSeconds", default: defaults.talkSeconds),
            patienceSeconds: try c.field("patienceSeconds", default: defaults.patienceSeconds),
            inbound: try c.field("inbound", default: defaults.inbound),
            channels: try c.wholeNumber("channels", default: defaults.channels),
            callsPerSecond: try c.wholeNumber("callsPerSecond", default: defaults.callsPerSecond),
            messageSeconds: try c.field("messageSeconds", default: defaults.messageSeconds),
            defaultMessageSeconds: try c.field("defaultMessageSeconds", default: defaults.defaultMessageSeconds)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: PopulationKey.self)
        try c.encode(seed, forKey: "seed")
        try c.encode(timeScale, forKey: "timeScale")
        try c.encode(outcomes, forKey: "outcomes")
        try c.encode(ringSeconds, forKey: "ringSeconds")
        try c.encode(signalSeconds, forKey: "signalSeconds")
        try c.encode(greetingSeconds, forKey: "greetingSeconds")
        try c.encode(machineGreetingSeconds, forKey: "machineGreetingSeconds")
        try c.encode(machineDetection, forKey: "machineDetection")
        try c.encode(talkSeconds, forKey: "talkSeconds")
        try c.encode(patienceSeconds, forKey: "patienceSeconds")
        try c.encode(inbound, forKey: "inbound")
        try c.encode(channels, forKey: "channels")
        try c.encode(callsPerSecond, forKey: "callsPerSecond")
        try c.encode(messageSeconds, forKey: "messageSeconds")
        try c.encode(defaultMessageSeconds, forKey: "defaultMessageSeconds")
    }
}

extension SimulatedTrunk.Population.Outcomes: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: PopulationKey.self)
        let names = SimulatedTrunk.Outcome.allCases.map { PopulationKey(stringValue: $0.rawValue) }
        try c.rejectFields(notIn: names)
        // An outcome left out has probability 0, so that a mix can name only what it has.
        self.init(
            live: try c.field("live", default: 0),
            machine: try c.field("machine", default: 0),
            busy: try c.field("busy", default: 0),
            noAnswer: try c.field("noAnswer", default: 0),
            invalid: try c.field("invalid", default: 0),
            failed: try c.field("failed", default: 0)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: PopulationKey.self)
        for outcome in SimulatedTrunk.Outcome.allCases {
            try c.encode(self[outcome], forKey: PopulationKey(stringValue: outcome.rawValue))
        }
    }
}

extension SimulatedTrunk.Population.Distribution: Codable {
    /// A number (fixed seconds), `{"fixed": s}`, `{"min": a, "max": b}` (uniform) or
    /// `{"mean": m, "sd": s}` (log-normal; an `sd` of 0 is fixed), as in scenario files.
    public init(from decoder: any Decoder) throws {
        if let single = try? decoder.singleValueContainer(), let seconds = try? single.decode(Double.self) {
            self = .fixed(seconds: seconds)
            return
        }
        let shapesText = "seconds, {\"fixed\": s}, {\"min\": a, \"max\": b} or {\"mean\": m, \"sd\": s}"
        guard let c = try? decoder.container(keyedBy: PopulationKey.self) else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "a duration is \(shapesText)"))
        }
        try c.rejectFields(notIn: ["fixed", "min", "max", "mean", "sd"])
        let shapes = [
            c.contains("fixed") ? "fixed" : nil,
            c.contains("min") || c.contains("max") ? "min/max" : nil,
            c.contains("mean") || c.contains("sd") ? "mean/sd" : nil,
        ].compactMap(\.self)
        guard shapes.count == 1 else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: c.codingPath,
                    debugDescription: shapes.isEmpty
                        ? "a duration is \(shapesText)"
                        : "give one shape of duration, not \(shapes.joined(separator: " and "))"
                )
            )
        }
        switch shapes[0] {
        case "fixed":
            self = .fixed(seconds: try c.decode(Double.self, forKey: "fixed"))
        case "min/max":
            self = .uniform(
                min: try c.decode(Double.self, forKey: "min"), max: try c.decode(Double.self, forKey: "max"))
        default:
            let mean = try c.decode(Double.self, forKey: "mean")
            let sd = try c.decode(Double.self, forKey: "sd")
            self = sd == 0 ? .fixed(seconds: mean) : .logNormal(mean: mean, standardDeviation: sd)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: PopulationKey.self)
        switch self {
        case .fixed(let seconds):
            try c.encode(seconds, forKey: "fixed")
        case .uniform(let min, let max):
            try c.encode(min, forKey: "min")
            try c.encode(max, forKey: "max")
        case .logNormal(let mean, let sd):
            try c.encode(mean, forKey: "mean")
            try c.encode(sd, forKey: "sd")
        }
    }
}

extension SimulatedTrunk.Population.MachineDetection: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: PopulationKey.self)
        try c.rejectFields(notIn: ["seconds", "falsePositiveRate", "falseNegativeRate"])
        let defaults = Self()
        self.init(
            seconds: try c.field("seconds", default: defaults.seconds),
            falsePositiveRate: try c.field("falsePositiveRate", default: defaults.falsePositiveRate),
            falseNegativeRate: try c.field("falseNegativeRate", default: defaults.falseNegativeRate)
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: PopulationKey.self)
        try c.encode(seconds, forKey: "seconds")
        try c.encode(falsePositiveRate, forKey: "falsePositiveRate")
        try c.encode(falseNegativeRate, forKey: "falseNegativeRate")
    }
}

extension SimulatedTrunk.Population.InboundLine: Codable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: PopulationKey.self)
        try c.rejectFields(notIn: ["did", "callsPerHour", "fromNumbers", "patienceSeconds", "talkSeconds"])
        self.init(
            did: try c.decode(String.self, forKey: "did"),
            callsPerHour: try c.decode(Double.self, forKey: "callsPerHour"),
            fromNumbers: try c.field("fromNumbers", default: []),
            patienceSeconds: try c.decodeIfPresent(
                SimulatedTrunk.Population.Distribution.self, forKey: "patienceSeconds"),
            talkSeconds: try c.decodeIfPresent(SimulatedTrunk.Population.Distribution.self, forKey: "talkSeconds")
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: PopulationKey.self)
        try c.encode(did, forKey: "did")
        try c.encode(callsPerHour, forKey: "callsPerHour")
        if !fromNumbers.isEmpty { try c.encode(fromNumbers, forKey: "fromNumbers") }
        try c.encodeIfPresent(patienceSeconds, forKey: "patienceSeconds")
        try c.encodeIfPresent(talkSeconds, forKey: "talkSeconds")
    }
}

extension SimulatedTrunk.PopulationError {
    /// Names the field a decoding error is about, and says what was wrong in plain words.
    init(decoding error: DecodingError, data: Data) {
        let (field, reason) = JSONDecodingProblem.describe(error, data: data)
        self.init(field: field, reason: reason)
    }
}
