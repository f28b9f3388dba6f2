public import Foundation

/// What `dialer-loadtest` runs: the agents, the campaigns, the inbound queues and the time.
/// Read from a scenario file (JSON, unknown fields refused) and/or from flags.
public struct LoadScenario: Hashable, Sendable {
    /// One campaign of the run.
    public struct Campaign: Hashable, Sendable {
        /// The campaign's queue; in a cluster the load tester starts, it is declared for it.
        public var queue: String
        public var mode: DialingMode
        public var contacts: Int

        public init(queue: String, mode: DialingMode, contacts: Int) {
            self.queue = queue
            self.mode = mode
            self.contacts = contacts
        }
    }

    /// A time an agent draws: fixed, or log-normal with a mean and a standard deviation.
    public struct Seconds: Hashable, Sendable {
        public var mean: Double
        public var standardDeviation: Double

        public init(mean: Double, standardDeviation: Double) {
            self.mean = mean
            self.standardDeviation = standardDeviation
        }
    }

    public var name = "flags"
    public var agents = 100
    /// Dialer nodes of a cluster the load tester starts.
    public var nodes = 2
    public var durationSeconds = 60.0
    public var timeScale = 30
    public var seed: UInt64 = 1
    public var campaigns = [Campaign(queue: "load-1", mode: .predictive, contacts: 20_000)]
    /// Inbound queues the agents serve first (rank 1), one number (DID) each in a cluster the
    /// load tester starts.
    public var inboundQueues = ["load-inbound"]
    /// Callers per minute of call time on each inbound queue's number (a Poisson process), in a
    /// cluster the load tester starts; nil: one for every 10 agents (see ``callersPerMinute``);
    /// 0: none.
    public var inboundCallsPerMinute: Double?
    /// The simulated carrier's concurrent calls in a cluster the load tester starts; nil: sized
    /// from the agents and callers (``TrunkPlan/capacity(agents:inboundCallsPerMinute:)``).
    public var trunkChannels: Int?
    /// The carrier's calls per second of call time; nil: sized like ``trunkChannels``.
    public var trunkCallsPerSecond: Int?
    public var talkSeconds = Seconds(mean: 90, standardDeviation: 45)
    public var wrapUpSeconds = Seconds(mean: 15, standardDeviation: 8)

    public init() {}

    /// Checks every field; the error names the first bad one.
    public func validate() throws(LoadScenarioError) {
        func fail(_ field: String, _ reason: String) -> LoadScenarioError {
            LoadScenarioError(file: nil, field: field, reason: reason)
        }
        guard (1...20_000).contains(agents) else { throw fail("agents", "must be from 1 to 20000 (is \(agents))") }
        guard (1...16).contains(nodes) else { throw fail("nodes", "must be from 1 to 16 (is \(nodes))") }
        guard durationSeconds > 0, durationSeconds.isFinite else {
            throw fail("durationSeconds", "must be above 0 (is \(durationSeconds))")
        }
        guard (1...3600).contains(timeScale) else {
            throw fail("timeScale", "must be from 1 to 3600 (is \(timeScale))")
        }
        guard !campaigns.isEmpty else { throw fail("campaigns", "needs at least one campaign") }
        var queues = Set<String>()
        for (index, campaign) in campaigns.enumerated() {
            guard (1...1_000_000).contains(campaign.contacts) else {
                throw fail("campaigns[\(index)].contacts", "must be from 1 to 1000000 (is \(campaign.contacts))")
            }
            guard Self.isIdentifier(campaign.queue) else {
                throw fail("campaigns[\(index)].queue", "must be made of letters, digits, '-', '_' and '.'")
            }
            guard queues.insert(campaign.queue).inserted else {
                throw fail("campaigns[\(index)].queue", "\(campaign.queue) is used twice; one campaign per queue")
            }
        }
        for (index, queue) in inboundQueues.enumerated() {
            guard Self.isIdentifier(queue), queues.insert(queue).inserted else {
                throw fail("inboundQueues[\(index)]", "must be a distinct queue id (is \(queue))")
            }
        }
        if let rate = inboundCallsPerMinute, !rate.isFinite || !(0...100_000).contains(rate) {
            throw fail("inboundCallsPerMinute", "must be from 0 to 100000 (is \(rate))")
        }
        if let trunkChannels, !(1...10_000_000).contains(trunkChannels) {
            throw fail("trunkChannels", "must be from 1 to 10000000 (is \(trunkChannels))")
        }
        if let trunkCallsPerSecond, !(1...1_000_000).contains(trunkCallsPerSecond) {
            throw fail("trunkCallsPerSecond", "must be from 1 to 1000000 (is \(trunkCallsPerSecond))")
        }
        for (field, seconds) in [("talkSeconds", talkSeconds), ("wrapUpSeconds", wrapUpSeconds)] {
            guard seconds.mean > 0, seconds.standardDeviation >= 0 else {
                throw fail(field, "needs a mean above 0 and an sd of 0 or more")
            }
        }
    }

    /// Callers per minute of call time on each inbound number, the default applied: one for
    /// every 10 agents, who can take about 6 a minute at the default talk and wrap-up times, so
    /// that a sixth of the floor or so serves callers and the rest the campaigns.
    public var callersPerMinute: Double { inboundCallsPerMinute ?? Double(agents) / 10 }

    /// The carrier's caps of a cluster the load tester starts: the scenario's, else sized from
    /// the agents and the callers.
    public var trunkCapacity: (channels: Int, callsPerSecond: Int) {
        let sized = TrunkPlan.capacity(
            agents: agents, inboundCallsPerMinute: callersPerMinute * Double(inboundQueues.count))
        return (trunkChannels ?? sized.channels, trunkCallsPerSecond ?? sized.callsPerSecond)
    }

    static func isIdentifier(_ text: String) -> Bool {
        !text.isEmpty
            && text.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0)
                    || "-_.".unicodeScalars.contains($0)
            }
    }

    /// Reads a scenario file; errors name the file, the field and the reason.
    public static func load(path: String) throws(LoadScenarioError) -> LoadScenario {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw LoadScenarioError(file: path, field: nil, reason: "cannot be read (\(error.localizedDescription))")
        }
        return try decode(data, file: path)
    }

    /// Decodes a scenario from JSON; `file` names it in errors.
    public static func decode(_ data: Data, file: String) throws(LoadScenarioError) -> LoadScenario {
        let scenario: LoadScenario
        do {
            scenario = try JSONDecoder().decode(LoadScenario.self, from: data)
        } catch let error as DecodingError {
            let (field, reason) = describe(error)
            throw LoadScenarioError(file: file, field: field, reason: reason)
        } catch {
            throw LoadScenarioError(file: file, field: nil, reason: "\(error)")
        }
        do {
            try scenario.validate()
        } catch {
            throw LoadScenarioError(file: file, field: error.field, reason: error.reason)
        }
        return scenario
    }

    private static func describe(_ error: DecodingError) -> (String?, String) {
        func path(_ keys: [any CodingKey]) -> String? {
            var text = ""
            for key in keys {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? key.stringValue : "." + key.stringValue
                }
            }
            return text.isEmpty ? nil : text
        }
        switch error {
        case .keyNotFound(let key, let context): return (path(context.codingPath + [key]), "missing (required)")
        case .typeMismatch(let type, let context): return (path(context.codingPath), "expected \(type)")
        case .valueNotFound(let type, let context): return (path(context.codingPath), "expected \(type), found null")
        case .dataCorrupted(let context) where context.codingPath.isEmpty: return (nil, "not valid JSON")
        case .dataCorrupted(let context): return (path(context.codingPath), context.debugDescription)
        @unknown default: return (nil, "\(error)")
        }
    }
}

/// A scenario file or flag the load tester cannot use.
public struct LoadScenarioError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String?
    public var field: String?
    public var reason: String

    public var description: String {
        [file, field].compactMap { $0 }.joined(separator: ": ") + (file == nil && field == nil ? "" : ": ") + reason
    }
}

// MARK: - Strict decoding

/// Any field name, so that each type can refuse the ones it does not know: a misspelt field
/// must not fall back to its default silently.
private struct FieldKey: CodingKey, Hashable {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension KeyedDecodingContainer where Key == FieldKey {
    fileprivate func refuseUnknownFields(_ known: [String]) throws {
        for key in allKeys.sorted(by: { $0.stringValue < $1.stringValue }) where !known.contains(key.stringValue) {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self,
                debugDescription: "unknown field; the known fields are \(known.sorted().joined(separator: ", "))")
        }
    }

    fileprivate func value<T: Decodable>(_ name: String, default value: T) throws -> T {
        try decodeIfPresent(T.self, forKey: FieldKey(stringValue: name)) ?? value
    }

    /// A whole number, or nil when the field is absent. Read as a `Double` first: decoding `2.5`
    /// as an `Int` fails with an error that names no field.
    fileprivate func wholeNumber(_ name: String) throws -> Int? {
        let key = FieldKey(stringValue: name)
        guard let number = try decodeIfPresent(Double.self, forKey: key) else { return nil }
        guard number.rounded() == number, let whole = Int(exactly: number) else {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self, debugDescription: "expected a whole number (is \(number))")
        }
        return whole
    }
}

extension LoadScenario: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: FieldKey.self)
        try c.refuseUnknownFields([
            "name", "description", "agents", "nodes", "durationSeconds", "timeScale", "seed", "campaigns",
            "inboundQueues", "inboundCallsPerMinute", "trunkChannels", "trunkCallsPerSecond", "talkSeconds",
            "wrapUpSeconds",
        ])
        let defaults = LoadScenario()
        self.init()
        name = try c.value("name", default: defaults.name)
        agents = try c.wholeNumber("agents") ?? defaults.agents
        nodes = try c.wholeNumber("nodes") ?? defaults.nodes
        durationSeconds = try c.value("durationSeconds", default: defaults.durationSeconds)
        timeScale = try c.wholeNumber("timeScale") ?? defaults.timeScale
        seed = try c.value("seed", default: defaults.seed)
        campaigns = try c.value("campaigns", default: defaults.campaigns)
        inboundQueues = try c.value("inboundQueues", default: defaults.inboundQueues)
        inboundCallsPerMinute = try c.decodeIfPresent(
            Double.self, forKey: FieldKey(stringValue: "inboundCallsPerMinute"))
        trunkChannels = try c.wholeNumber("trunkChannels")
        trunkCallsPerSecond = try c.wholeNumber("trunkCallsPerSecond")
        talkSeconds = try c.value("talkSeconds", default: defaults.talkSeconds)
        wrapUpSeconds = try c.value("wrapUpSeconds", default: defaults.wrapUpSeconds)
    }
}

extension LoadScenario.Campaign: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: FieldKey.self)
        try c.refuseUnknownFields(["queue", "mode", "contacts"])
        let modeName = try c.decode(String.self, forKey: FieldKey(stringValue: "mode"))
        guard let mode = DialingMode(rawValue: modeName) else {
            throw DecodingError.dataCorruptedError(
                forKey: FieldKey(stringValue: "mode"), in: c,
                debugDescription:
                    "\(modeName) is not a mode; use \(DialingMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let contacts = try c.wholeNumber("contacts") else {
            throw DecodingError.keyNotFound(
                FieldKey(stringValue: "contacts"), .init(codingPath: c.codingPath, debugDescription: "missing"))
        }
        self.init(
            queue: try c.decode(String.self, forKey: FieldKey(stringValue: "queue")), mode: mode, contacts: contacts)
    }
}

extension LoadScenario.Seconds: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: FieldKey.self)
        try c.refuseUnknownFields(["mean", "sd", "fixed"])
        if let fixed = try c.decodeIfPresent(Double.self, forKey: FieldKey(stringValue: "fixed")) {
            self.init(mean: fixed, standardDeviation: 0)
        } else {
            self.init(
                mean: try c.decode(Double.self, forKey: FieldKey(stringValue: "mean")),
                standardDeviation: try c.value("sd", default: 0))
        }
    }
}
