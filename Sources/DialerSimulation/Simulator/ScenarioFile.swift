import Foundation

/// Why a scenario could not be used: which file, which field, and what is wrong with it.
public struct ScenarioError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The scenario file, when the scenario came from one.
    public var path: String?
    /// The field at fault, as a path into the JSON (`policies[2].dialRate`), or `nil` when the
    /// file as a whole is at fault (unreadable, not JSON).
    public var field: String?
    /// What is wrong, in words.
    public var reason: String

    /// An error about `field` of the scenario (in the file at `path`).
    public init(path: String? = nil, field: String?, reason: String) {
        self.path = path
        self.field = field
        self.reason = reason
    }

    /// `path: field: reason`, leaving out what is not known.
    public var description: String {
        [path, field, reason].compactMap(\.self).joined(separator: ": ")
    }
}

extension Scenario {
    /// Reads, decodes and validates the scenario file at `path`.
    public static func load(path: String) throws(ScenarioError) -> Scenario {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ScenarioError(path: path, field: nil, reason: "cannot read the file (\(error.localizedDescription))")
        }
        do {
            return try decode(json: data)
        } catch {
            var error = error
            error.path = path
            throw error
        }
    }

    /// Decodes and validates a scenario from JSON text.
    public static func decode(json: String) throws(ScenarioError) -> Scenario {
        try decode(json: Data(json.utf8))
    }

    static func decode(json data: Data) throws(ScenarioError) -> Scenario {
        let scenario: Scenario
        do {
            scenario = try JSONDecoder().decode(Scenario.self, from: data)
        } catch let error as DecodingError {
            throw ScenarioError(decoding: error, data: data)
        } catch {
            throw ScenarioError(field: nil, reason: "\(error)")
        }
        try scenario.validate()
        return scenario
    }

    /// Checks what the types cannot: ranges, sums, orderings.
    public func validate() throws(ScenarioError) {
        func fail(_ field: String, _ reason: String) -> ScenarioError {
            ScenarioError(field: field, reason: reason)
        }
        if name.isEmpty { throw fail("name", "must not be empty") }
        if agents < 1 { throw fail("agents", "must be at least 1 (is \(agents))") }
        if !(shiftHours > 0 && shiftHours <= 24) { throw fail("shiftHours", "must be above 0 and at most 24") }
        if days < 1 { throw fail("days", "must be at least 1 (is \(days))") }
        if let contacts, contacts < 0 { throw fail("contacts", "must not be negative") }
        try outcomes.validate()
        var previousHour = -Double.infinity
        for (index, step) in answerRateSchedule.enumerated() {
            let field = "answerRateSchedule[\(index)]"
            if !(step.fromHour >= 0 && step.fromHour < shiftHours) {
                throw fail(field + ".fromHour", "must be within the shift (0 to \(shiftHours) hours)")
            }
            if step.fromHour <= previousHour { throw fail(field + ".fromHour", "steps must be in increasing order") }
            previousHour = step.fromHour
            // The change in live answers is taken from (or given to) the no-answers.
            let ceiling = outcomes.live + outcomes.noAnswer
            if !(step.live >= 0 && step.live <= ceiling) {
                throw fail(
                    field + ".live",
                    "must be between 0 and live + noAnswer (\(ceiling)): the change comes out of the no-answers"
                )
            }
        }
        if !(ringTimeoutSeconds > 0) { throw fail("ringTimeoutSeconds", "must be above 0") }
        try timeToAnswerSeconds.validate("timeToAnswerSeconds")
        try talkSeconds.validate("talkSeconds")
        if !(talkSeconds.mean > 0) { throw fail("talkSeconds", "the mean talk time must be above 0") }
        try wrapUpSeconds.validate("wrapUpSeconds")
        try machineDetectionSeconds.validate("machineDetectionSeconds")
        try signalSeconds.validate("signalSeconds")
        try patienceSeconds.validate("patienceSeconds")
        if !(connectGraceSeconds > 0) { throw fail("connectGraceSeconds", "must be above 0") }
        if !(targetAbandonRate >= 0 && targetAbandonRate < 1) {
            throw fail("targetAbandonRate", "must be a fraction from 0 up to 1 (0.03 is 3 %)")
        }
        if !(windowHours > 0) { throw fail("windowHours", "must be above 0") }
        if !(pacingIntervalSeconds >= 0.01 && pacingIntervalSeconds <= 60) {
            throw fail("pacingIntervalSeconds", "must be between 0.01 and 60")
        }
        if statisticsSample < 10 { throw fail("statisticsSample", "must be at least 10") }
        if let policies {
            if policies.isEmpty { throw fail("policies", "must name at least one policy (or be left out)") }
            var names: Set<String> = []
            for (index, policy) in policies.enumerated() {
                if !names.insert(policy.name).inserted {
                    throw fail("policies[\(index)].name", "\"\(policy.name)\" is used twice")
                }
                try policy.validate("policies[\(index)]")
            }
        }
    }
}

extension OutcomeMix {
    func validate() throws(ScenarioError) {
        let parts = [
            ("live", live), ("machine", machine), ("busy", busy), ("noAnswer", noAnswer), ("invalid", invalid),
            ("failed", failed),
        ]
        for (name, value) in parts where !(value >= 0 && value <= 1) {
            throw ScenarioError(field: "outcomes.\(name)", reason: "must be a probability from 0 to 1 (is \(value))")
        }
        if abs(total - 1) > 1e-6 {
            throw ScenarioError(
                field: "outcomes",
                reason: "the probabilities must add up to 1 (they add up to \((total * 1e9).rounded() / 1e9))")
        }
    }
}

extension DurationDistribution {
    func validate(_ field: String) throws(ScenarioError) {
        switch self {
        case .fixed(let seconds):
            if !(seconds >= 0 && seconds.isFinite) {
                throw ScenarioError(field: field + ".fixed", reason: "must be a duration of 0 or more seconds")
            }
        case .logNormal(let mean, let sd):
            if !(mean > 0 && mean.isFinite) { throw ScenarioError(field: field + ".mean", reason: "must be above 0") }
            if !(sd >= 0 && sd.isFinite) { throw ScenarioError(field: field + ".sd", reason: "must be 0 or more") }
        }
    }
}

extension PolicySpec {
    func validate(_ field: String) throws(ScenarioError) {
        if name.isEmpty || name == "all" || name.contains(",") {
            throw ScenarioError(field: field + ".name", reason: "must be a non-empty name without commas, not \"all\"")
        }
        switch kind {
        case .progressive(let dialRate):
            // ProgressivePacing traps outside its range: the file is refused instead.
            if !(1...10).contains(dialRate) {
                throw ScenarioError(field: field + ".dialRate", reason: "must be from 1 to 10 lines per agent")
            }
        case .power(let ready, let wrapUp):
            if !(ready >= 0) { throw ScenarioError(field: field + ".callsPerReadyAgent", reason: "must be 0 or more") }
            if !(wrapUp >= 0) {
                throw ScenarioError(field: field + ".callsPerWrapUpAgent", reason: "must be 0 or more")
            }
        case .predictive(let settings):
            if let target = settings.targetAbandonRate, !(target >= 0 && target < 1) {
                throw ScenarioError(field: field + ".targetAbandonRate", reason: "must be a fraction from 0 up to 1")
            }
        case .vicidial, .clairvoyant:
            break
        }
    }
}

// MARK: - Decoding

/// A key for any field name, so that every type can refuse the fields it does not know: a
/// misspelt field must not silently fall back to its default.
private struct FieldKey: CodingKey, ExpressibleByStringLiteral, Hashable {
    var stringValue: String
    var intValue: Int? { nil }

    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
    init(stringLiteral value: String) { self.stringValue = value }
}

extension KeyedDecodingContainer where Key == FieldKey {
    /// Throws for a field not in `known`, naming the ones that are.
    func refuseUnknownFields(_ known: [FieldKey]) throws {
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

    func value<T: Decodable>(_ key: FieldKey, default value: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? value
    }
}

extension Scenario: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: FieldKey.self)
        try c.refuseUnknownFields([
            "name", "description", "seed", "agents", "shiftHours", "days", "contacts", "outcomes",
            "answerRateSchedule", "ringTimeoutSeconds", "timeToAnswerSeconds", "talkSeconds", "wrapUpSeconds",
            "machineDetectionSeconds", "signalSeconds", "patienceSeconds", "connectGraceSeconds",
            "targetAbandonRate", "windowHours", "pacingIntervalSeconds", "statisticsSample", "policies",
        ])
        self.init(
            name: try c.decode(String.self, forKey: "name"),
            description: try c.decodeIfPresent(String.self, forKey: "description"),
            seed: try c.value("seed", default: 1),
            agents: try c.decode(Int.self, forKey: "agents"),
            shiftHours: try c.decode(Double.self, forKey: "shiftHours"),
            days: try c.value("days", default: 1),
            contacts: try c.decodeIfPresent(Int.self, forKey: "contacts"),
            outcomes: try c.decode(OutcomeMix.self, forKey: "outcomes"),
            answerRateSchedule: try c.value("answerRateSchedule", default: []),
            ringTimeoutSeconds: try c.value("ringTimeoutSeconds", default: 25),
            timeToAnswerSeconds: try c.decode(DurationDistribution.self, forKey: "timeToAnswerSeconds"),
            talkSeconds: try c.decode(DurationDistribution.self, forKey: "talkSeconds"),
            wrapUpSeconds: try c.decode(DurationDistribution.self, forKey: "wrapUpSeconds"),
            machineDetectionSeconds: try c.value("machineDetectionSeconds", default: .fixed(seconds: 2.5)),
            signalSeconds: try c.value("signalSeconds", default: .fixed(seconds: 3)),
            patienceSeconds: try c.value("patienceSeconds", default: .fixed(seconds: 10)),
            connectGraceSeconds: try c.value("connectGraceSeconds", default: 2),
            targetAbandonRate: try c.value("targetAbandonRate", default: 0.03),
            windowHours: try c.value("windowHours", default: 24),
            pacingIntervalSeconds: try c.value("pacingIntervalSeconds", default: 0.25),
            statisticsSample: try c.value("statisticsSample", default: 1000),
            policies: try c.decodeIfPresent([PolicySpec].self, forKey: "policies")
        )
    }
}

extension OutcomeMix: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: FieldKey.self)
        try c.refuseUnknownFields(["live", "machine", "busy", "noAnswer", "invalid", "failed"])
        self.init(
            live: try c.decode(Double.self, forKey: "live"),
            machine: try c.value("machine", default: 0),
            busy: try c.value("busy", default: 0),
            noAnswer: try c.value("noAnswer", default: 0),
            invalid: try c.value("invalid", default: 0),
            failed: try c.value("failed", default: 0)
        )
    }
}

extension AnswerRateStep: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: FieldKey.self)
        try c.refuseUnknownFields(["fromHour", "live"])
        self.init(
            fromHour: try c.decode(Double.self, forKey: "fromHour"), live: try c.decode(Double.self, forKey: "live"))
    }
}

extension DurationDistribution: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: FieldKey.self)
        try c.refuseUnknownFields(["fixed", "mean", "sd"])
        if let fixed = try c.decodeIfPresent(Double.self, forKey: "fixed") {
            guard !c.contains("mean"), !c.contains("sd") else {
                throw DecodingError.dataCorruptedError(
                    forKey: "fixed", in: c, debugDescription: "give either \"fixed\" or \"mean\" and \"sd\", not both")
            }
            self = .fixed(seconds: fixed)
            return
        }
        guard c.contains("mean"), c.contains("sd") else {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: c.codingPath,
                    debugDescription: "a duration is {\"fixed\": seconds} or {\"mean\": seconds, \"sd\": seconds}"
                )
            )
        }
        let mean = try c.decode(Double.self, forKey: "mean")
        let sd = try c.decode(Double.self, forKey: "sd")
        self = sd == 0 ? .fixed(seconds: mean) : .logNormal(mean: mean, standardDeviation: sd)
    }
}

extension PolicySpec: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: FieldKey.self)
        let name = try c.decode(String.self, forKey: "name")
        let kind = try c.decode(String.self, forKey: "kind")
        switch kind {
        case "progressive":
            try c.refuseUnknownFields(["name", "kind", "dialRate"])
            self.init(name: name, kind: .progressive(dialRate: try c.value("dialRate", default: 1)))
        case "power":
            try c.refuseUnknownFields(["name", "kind", "callsPerReadyAgent", "callsPerWrapUpAgent"])
            self.init(
                name: name,
                kind: .power(
                    callsPerReadyAgent: try c.decode(Double.self, forKey: "callsPerReadyAgent"),
                    callsPerWrapUpAgent: try c.value("callsPerWrapUpAgent", default: 0)
                )
            )
        case "predictive":
            try c.refuseUnknownFields([
                "name", "kind", "targetAbandonRate", "maxDialRate", "overdialLimitPercent", "safetyMargin",
                "bankedBudgetShare", "abandonCushion", "minimumLiveAnswers", "minimumAttempts",
            ])
            let settings = PredictiveSettings(
                targetAbandonRate: try c.decodeIfPresent(Double.self, forKey: "targetAbandonRate"),
                maxDialRate: try c.decodeIfPresent(Double.self, forKey: "maxDialRate"),
                overdialLimitPercent: try c.decodeIfPresent(Double.self, forKey: "overdialLimitPercent"),
                safetyMargin: try c.decodeIfPresent(Double.self, forKey: "safetyMargin"),
                bankedBudgetShare: try c.decodeIfPresent(Double.self, forKey: "bankedBudgetShare"),
                abandonCushion: try c.decodeIfPresent(Double.self, forKey: "abandonCushion"),
                minimumLiveAnswers: try c.decodeIfPresent(Int.self, forKey: "minimumLiveAnswers"),
                minimumAttempts: try c.decodeIfPresent(Int.self, forKey: "minimumAttempts")
            )
            self.init(name: name, kind: .predictive(settings))
        case "vicidial":
            try c.refuseUnknownFields([
                "name", "kind", "method", "maximumLevel", "intensity", "levelDifferenceTarget", "availableOnlyTally",
            ])
            let methodName = try c.value("method", default: VICIdialSettings.Method.hardLimit.rawValue)
            guard let method = VICIdialSettings.Method(rawValue: methodName) else {
                throw DecodingError.dataCorruptedError(
                    forKey: "method",
                    in: c,
                    debugDescription: "\"\(methodName)\" is not one of "
                        + VICIdialSettings.Method.allCases.map(\.rawValue).joined(separator: ", ")
                )
            }
            let settings = VICIdialSettings(
                method: method,
                maximumLevel: try c.decodeIfPresent(Double.self, forKey: "maximumLevel"),
                intensity: try c.decodeIfPresent(Double.self, forKey: "intensity"),
                levelDifferenceTarget: try c.decodeIfPresent(Double.self, forKey: "levelDifferenceTarget"),
                availableOnlyTally: try c.decodeIfPresent(Bool.self, forKey: "availableOnlyTally")
            )
            self.init(name: name, kind: .vicidial(settings))
        case "clairvoyant":
            try c.refuseUnknownFields(["name", "kind"])
            self.init(name: name, kind: .clairvoyant)
        default:
            throw DecodingError.dataCorruptedError(
                forKey: "kind",
                in: c,
                debugDescription: "\"\(kind)\" is not one of progressive, power, predictive, vicidial, clairvoyant"
            )
        }
    }
}

extension ScenarioError {
    /// Names the field a decoding error is about, and says what was wrong in plain words.
    init(decoding error: DecodingError, data: Data) {
        let (field, reason) = JSONDecodingProblem.describe(error, data: data)
        self.init(field: field, reason: reason)
    }
}
