public import DialerCore
public import Foundation

/// A simulated cluster: campaigns and inbound queues sharing a floor of agents, the trunk's
/// population, and what the cluster adds between them (the node–gateway latency, the gateway's
/// picture interval, the time scale). ``ClusterRun`` runs the product's own queue runner and
/// reservation book over it in virtual time.
///
/// Scenario files name it with `"engine": "cluster"` (see `scenarios/README.md`); every time is
/// in seconds of call time unless its name says milliseconds (wall time) or hours.
public struct ClusterScenario: Sendable, Hashable {
    /// A campaign: one queue runner on its queue.
    public struct Campaign: Sendable, Hashable {
        /// The campaign's queue.
        public var queue: QueueID
        /// The dialing mode and the rest of the settings, as the manager would hand them out.
        public var settings: CampaignSettings
        /// Contacts in the list, or `nil` for an endless list.
        public var contacts: Int?

        public init(queue: QueueID, settings: CampaignSettings, contacts: Int? = nil) {
            self.queue = queue
            self.settings = settings
            self.contacts = contacts
        }

        /// The settings a campaign created by the demo or the load tester gets: enabled, one
        /// attempt per contact, answering machines detected and hung up on.
        public static func loadTestSettings(mode: DialingMode) -> CampaignSettings {
            CampaignSettings(status: .enabled, mode: mode, maximumAttempts: 1, answeringMachine: .hangUp)
        }
    }

    /// Agents with the same queue ranking (a team).
    public struct Team: Sendable, Hashable {
        /// How many agents.
        public var agents: Int
        /// Each queue they serve, with its rank (1 first).
        public var ranks: [QueueID: Int]

        public init(agents: Int, ranks: [QueueID: Int]) {
            self.agents = agents
            self.ranks = ranks
        }
    }

    /// From `fromHour` into the shift on, a share `live` of outbound calls is answered by a
    /// person; the difference goes to (or comes from) no-answers.
    public struct AnswerRateStep: Sendable, Hashable {
        public var fromHour: Double
        public var live: Double

        public init(fromHour: Double, live: Double) {
            self.fromHour = fromHour
            self.live = live
        }
    }

    public var name: String
    public var description: String?
    /// The seed of the customers, the callers and the agents (it replaces the population's).
    public var seed: UInt64
    /// How long the campaigns dial and callers arrive, in hours of call time; the calls in
    /// progress then finish.
    public var shiftHours: Double
    /// Seconds of call time per second of wall time, as a cluster on a scaled trunk runs:
    /// every wall-time figure below is multiplied by it.
    public var timeScale: Double
    /// One way, node to gateway or back, in wall milliseconds: requests, answers, pictures,
    /// confirmations and hang-up notices each take this long.
    public var gatewayLatencyMilliseconds: Double
    /// One way, node to manager or back (contacts), in wall milliseconds.
    public var managerLatencyMilliseconds: Double
    /// The gateway sends a queue's picture on change, but at most once per this many wall
    /// milliseconds (the gateway's `picture_interval`, 100 ms by default).
    public var pictureIntervalMilliseconds: Double
    /// The gateway's preset wrap-up, in wall seconds (agents end it with their disposition).
    public var gatewayWrapUpSeconds: Double
    /// How often each queue runner ticks, in call-time milliseconds (200, as a node's).
    public var tickMilliseconds: Double
    /// From the end of the greeting, how long a live answer may wait for an agent.
    public var connectGraceSeconds: Double
    /// The runner's connect allowance (the detector must decide by the grace less this); `nil`:
    /// as a node sets it for the time scale (half a second, or 40 wall ms, at most 1.5 s).
    public var connectAllowanceSeconds: Double?
    /// The trunk's customers, callers and carrier (`Trunk/POPULATION.md`); its `seed` and
    /// `timeScale` are replaced by the scenario's.
    public var population: SimulatedTrunk.Population
    /// Changes of the live-answer rate through the shift.
    public var answerRateSchedule: [AnswerRateStep]
    /// The campaigns, one runner each.
    public var campaigns: [Campaign]
    /// The inbound queue of each of the population's inbound lines, in order.
    public var inboundQueues: [QueueID]
    /// The agents, team by team.
    public var teams: [Team]
    /// How the agents behave (the synthetic agents' profile).
    public var agentProfile: SyntheticAgentProfile

    public init(
        name: String, description: String? = nil, seed: UInt64 = 1, shiftHours: Double, timeScale: Double = 1,
        gatewayLatencyMilliseconds: Double = 1, managerLatencyMilliseconds: Double = 5,
        pictureIntervalMilliseconds: Double = 100, gatewayWrapUpSeconds: Double = 30, tickMilliseconds: Double = 200,
        connectGraceSeconds: Double = 2, connectAllowanceSeconds: Double? = nil,
        population: SimulatedTrunk.Population = SimulatedTrunk.Population(),
        answerRateSchedule: [AnswerRateStep] = [], campaigns: [Campaign], inboundQueues: [QueueID] = [],
        teams: [Team], agentProfile: SyntheticAgentProfile = SyntheticAgentProfile()
    ) {
        self.name = name
        self.description = description
        self.seed = seed
        self.shiftHours = shiftHours
        self.timeScale = timeScale
        self.gatewayLatencyMilliseconds = gatewayLatencyMilliseconds
        self.managerLatencyMilliseconds = managerLatencyMilliseconds
        self.pictureIntervalMilliseconds = pictureIntervalMilliseconds
        self.gatewayWrapUpSeconds = gatewayWrapUpSeconds
        self.tickMilliseconds = tickMilliseconds
        self.connectGraceSeconds = connectGraceSeconds
        self.connectAllowanceSeconds = connectAllowanceSeconds
        self.population = population
        self.answerRateSchedule = answerRateSchedule
        self.campaigns = campaigns
        self.inboundQueues = inboundQueues
        self.teams = teams
        self.agentProfile = agentProfile
    }

    /// The work of a `dialer-loadtest` or `dialerctl demo` run, as they set it up: one team
    /// serving the inbound queues first (rank 1) and the campaigns second (rank 2), campaigns
    /// with the settings the load tester creates (``Campaign/loadTestSettings(mode:)``), the
    /// trunk population the run writes for its nodes (`TrunkPlan.population` in DialerLoad,
    /// its inbound lines in the order of `inboundQueues`), the agents' profile, dialing for
    /// `wallSeconds` at `timeScale`.
    public static func replay(
        name: String, seed: UInt64, agents: Int, timeScale: Double, wallSeconds: Double,
        campaigns: [(queue: QueueID, mode: DialingMode, contacts: Int?)], inboundQueues: [QueueID],
        population: SimulatedTrunk.Population, agentProfile: SyntheticAgentProfile,
        gatewayLatencyMilliseconds: Double = 1, pictureIntervalMilliseconds: Double = 100
    ) -> ClusterScenario {
        var ranks: [QueueID: Int] = [:]
        for queue in inboundQueues { ranks[queue] = 1 }
        for campaign in campaigns { ranks[campaign.queue] = inboundQueues.isEmpty ? 1 : 2 }
        return ClusterScenario(
            name: name, description: "replay", seed: seed, shiftHours: wallSeconds * timeScale / 3600,
            timeScale: timeScale, gatewayLatencyMilliseconds: gatewayLatencyMilliseconds,
            pictureIntervalMilliseconds: pictureIntervalMilliseconds, population: population,
            campaigns: campaigns.map {
                Campaign(queue: $0.queue, settings: Campaign.loadTestSettings(mode: $0.mode), contacts: $0.contacts)
            },
            inboundQueues: inboundQueues, teams: [Team(agents: agents, ranks: ranks)], agentProfile: agentProfile)
    }

    /// Agents on the floor.
    public var agents: Int { teams.reduce(0) { $0 + $1.agents } }

    /// The connect allowance in force (see ``connectAllowanceSeconds``).
    public var connectAllowance: Duration {
        if let connectAllowanceSeconds { return .seconds(connectAllowanceSeconds) }
        // As a node sets it.
        return QueueRunnerStateMachine.Configuration.connectAllowance(timeScale: timeScale)
    }

    /// A wall-time figure in call time.
    func callTime(wallMilliseconds: Double) -> Duration {
        .nanoseconds(Int64((wallMilliseconds * timeScale * 1e6).rounded()))
    }

    /// The live-answer rate in force `hours` into the shift, or `nil` for the population's own.
    func liveRate(atHour hours: Double) -> Double? {
        answerRateSchedule.last { $0.fromHour <= hours }?.live
    }

    /// Checks what the types cannot; the error names the field.
    public func validate() throws(ScenarioError) {
        func fail(_ field: String, _ reason: String) -> ScenarioError { ScenarioError(field: field, reason: reason) }
        func check(_ value: Double, _ range: ClosedRange<Double>, _ field: String) throws(ScenarioError) {
            guard value.isFinite, range.contains(value) else {
                throw fail(field, "must be from \(range.lowerBound) to \(range.upperBound) (is \(value))")
            }
        }
        if name.isEmpty { throw fail("name", "must not be empty") }
        try check(shiftHours, 0.001...240, "shiftHours")
        try check(timeScale, 0.01...3600, "timeScale")
        try check(gatewayLatencyMilliseconds, 0...60_000, "gatewayLatencyMilliseconds")
        try check(managerLatencyMilliseconds, 0...60_000, "managerLatencyMilliseconds")
        try check(pictureIntervalMilliseconds, 0...60_000, "pictureIntervalMilliseconds")
        try check(gatewayWrapUpSeconds, 1...3600, "gatewayWrapUpSeconds")
        try check(tickMilliseconds, 1...60_000, "tickMilliseconds")
        try check(connectGraceSeconds, 0.1...60, "connectGraceSeconds")
        if let connectAllowanceSeconds { try check(connectAllowanceSeconds, 0...60, "connectAllowanceSeconds") }
        do {
            try population.validate()
        } catch {
            throw fail("population" + (error.field.map { "." + $0 } ?? ""), error.reason)
        }
        var previous = -Double.infinity
        for (index, step) in answerRateSchedule.enumerated() {
            let field = "answerRateSchedule[\(index)]"
            try check(step.fromHour, 0...shiftHours, field + ".fromHour")
            if step.fromHour <= previous { throw fail(field + ".fromHour", "steps must be in increasing order") }
            previous = step.fromHour
            let room = population.outcomes.live + population.outcomes.noAnswer
            try check(step.live, 0...room, field + ".live")
        }
        if campaigns.isEmpty && inboundQueues.isEmpty { throw fail("campaigns", "give a campaign or an inbound queue") }
        var queues: Set<QueueID> = []
        for (index, campaign) in campaigns.enumerated() {
            guard queues.insert(campaign.queue).inserted, !campaign.queue.rawValue.isEmpty else {
                throw fail("campaigns[\(index)].queue", "must be a new, non-empty queue name")
            }
            if let contacts = campaign.contacts, !(1...10_000_000).contains(contacts) {
                throw fail("campaigns[\(index)].contacts", "must be from 1 to 10000000 (is \(contacts))")
            }
            if campaign.settings.mode == .agentless {
                throw fail("campaigns[\(index)].mode", "agentless campaigns are not simulated here")
            }
        }
        if inboundQueues.count > population.inbound.count {
            throw fail(
                "inboundQueues",
                "names \(inboundQueues.count) queue(s) but the population has \(population.inbound.count) inbound line(s)"
            )
        }
        for (index, queue) in inboundQueues.enumerated() {
            guard queues.insert(queue).inserted, !queue.rawValue.isEmpty else {
                throw fail("inboundQueues[\(index)]", "must be a new, non-empty queue name")
            }
        }
        if teams.isEmpty { throw fail("teams", "needs at least one team") }
        for (index, team) in teams.enumerated() {
            if !(1...100_000).contains(team.agents) {
                throw fail("teams[\(index)].agents", "must be from 1 to 100000 (is \(team.agents))")
            }
            for (queue, rank) in team.ranks {
                if !queues.contains(queue) { throw fail("teams[\(index)].ranks.\(queue)", "no such queue") }
                if !(1...1000).contains(rank) { throw fail("teams[\(index)].ranks.\(queue)", "must be from 1 to 1000") }
            }
        }
        if agents > 100_000 { throw fail("teams", "at most 100000 agents in all (is \(agents))") }
        do {
            try agentProfile.validate()
        } catch {
            throw fail("agentProfile." + error.field, error.reason)
        }
    }
}

// MARK: - JSON

/// A JSON object key of any name, so that unknown fields can be named in errors.
struct AnyKey: CodingKey, ExpressibleByStringLiteral {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
    init(stringLiteral value: String) { self.stringValue = value }
}

extension KeyedDecodingContainer where Key == AnyKey {
    func rejectUnknown(_ known: Set<String>) throws {
        if let unknown = allKeys.map(\.stringValue).sorted().first(where: { !known.contains($0) }) {
            throw DecodingError.dataCorrupted(
                .init(
                    codingPath: codingPath + [AnyKey(stringValue: unknown)],
                    debugDescription: "unknown field (known: \(known.sorted().joined(separator: ", ")))"))
        }
    }
}

extension ClusterScenario: Decodable {
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: AnyKey.self)
        try c.rejectUnknown([
            "engine", "name", "description", "seed", "shiftHours", "timeScale", "gatewayLatencyMilliseconds",
            "managerLatencyMilliseconds", "pictureIntervalMilliseconds", "gatewayWrapUpSeconds", "tickMilliseconds",
            "connectGraceSeconds", "connectAllowanceSeconds", "population", "answerRateSchedule", "campaigns",
            "inboundQueues", "teams", "agents", "agentProfile",
        ])
        let campaigns = try c.decode([CampaignEntry].self, forKey: "campaigns").map(\.campaign)
        let inbound = try c.decodeIfPresent([String].self, forKey: "inboundQueues")?.map(QueueID.init) ?? []
        var teams = try c.decodeIfPresent([TeamEntry].self, forKey: "teams")?.map(\.team)
        if let agents = try c.decodeIfPresent(Int.self, forKey: "agents") {
            guard teams == nil else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: c.codingPath + [AnyKey(stringValue: "agents")],
                        debugDescription: "give agents or teams, not both"))
            }
            // One team: the inbound queues first, then the campaigns.
            var ranks: [QueueID: Int] = [:]
            for queue in inbound { ranks[queue] = 1 }
            for campaign in campaigns { ranks[campaign.queue] = inbound.isEmpty ? 1 : 2 }
            teams = [Team(agents: agents, ranks: ranks)]
        }
        self.init(
            name: try c.decode(String.self, forKey: "name"),
            description: try c.decodeIfPresent(String.self, forKey: "description"),
            seed: try c.decodeIfPresent(UInt64.self, forKey: "seed") ?? 1,
            shiftHours: try c.decode(Double.self, forKey: "shiftHours"),
            timeScale: try c.decodeIfPresent(Double.self, forKey: "timeScale") ?? 1,
            gatewayLatencyMilliseconds: try c.decodeIfPresent(Double.self, forKey: "gatewayLatencyMilliseconds") ?? 1,
            managerLatencyMilliseconds: try c.decodeIfPresent(Double.self, forKey: "managerLatencyMilliseconds") ?? 5,
            pictureIntervalMilliseconds: try c.decodeIfPresent(Double.self, forKey: "pictureIntervalMilliseconds")
                ?? 100,
            gatewayWrapUpSeconds: try c.decodeIfPresent(Double.self, forKey: "gatewayWrapUpSeconds") ?? 30,
            tickMilliseconds: try c.decodeIfPresent(Double.self, forKey: "tickMilliseconds") ?? 200,
            connectGraceSeconds: try c.decodeIfPresent(Double.self, forKey: "connectGraceSeconds") ?? 2,
            connectAllowanceSeconds: try c.decodeIfPresent(Double.self, forKey: "connectAllowanceSeconds"),
            population: try c.decodeIfPresent(SimulatedTrunk.Population.self, forKey: "population")
                ?? SimulatedTrunk.Population(),
            answerRateSchedule: try c.decodeIfPresent([StepEntry].self, forKey: "answerRateSchedule")?.map(\.step)
                ?? [],
            campaigns: campaigns, inboundQueues: inbound, teams: teams ?? [],
            agentProfile: try c.decodeIfPresent(ProfileEntry.self, forKey: "agentProfile")?.profile
                ?? SyntheticAgentProfile())
    }

    private struct CampaignEntry: Decodable {
        var campaign: Campaign
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            try c.rejectUnknown([
                "queue", "mode", "contacts", "answeringMachine", "targetAbandonRate", "maximumDialRate",
            ])
            let modeName = try c.decode(String.self, forKey: "mode")
            guard let mode = DialingMode(rawValue: modeName) else {
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: c.codingPath + [AnyKey(stringValue: "mode")],
                        debugDescription: "must be preview, progressive, power or predictive (is \(modeName))"))
            }
            var settings = Campaign.loadTestSettings(mode: mode)
            switch try c.decodeIfPresent(String.self, forKey: "answeringMachine") ?? "hangUp" {
            case "hangUp": settings.answeringMachine = .hangUp
            case "off": settings.answeringMachine = .off
            default:
                throw DecodingError.dataCorrupted(
                    .init(
                        codingPath: c.codingPath + [AnyKey(stringValue: "answeringMachine")],
                        debugDescription: "must be hangUp or off"))
            }
            if let target = try c.decodeIfPresent(Double.self, forKey: "targetAbandonRate") {
                guard target > 0, target <= 0.5 else {
                    throw DecodingError.dataCorrupted(
                        .init(
                            codingPath: c.codingPath + [AnyKey(stringValue: "targetAbandonRate")],
                            debugDescription: "must be above 0 and at most 0.5 (is \(target))"))
                }
                settings.predictive.targetAbandonRate = target
            }
            if let rate = try c.decodeIfPresent(Double.self, forKey: "maximumDialRate") {
                guard rate >= 1, rate <= 10 else {
                    throw DecodingError.dataCorrupted(
                        .init(
                            codingPath: c.codingPath + [AnyKey(stringValue: "maximumDialRate")],
                            debugDescription: "must be from 1 to 10 (is \(rate))"))
                }
                settings.predictive.maximumDialRate = rate
            }
            campaign = Campaign(
                queue: QueueID(try c.decode(String.self, forKey: "queue")), settings: settings,
                contacts: try c.decodeIfPresent(Int.self, forKey: "contacts"))
        }
    }

    private struct TeamEntry: Decodable {
        var team: Team
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            try c.rejectUnknown(["agents", "ranks"])
            let ranks = try c.decode([String: Int].self, forKey: "ranks")
            team = Team(
                agents: try c.decode(Int.self, forKey: "agents"),
                ranks: Dictionary(uniqueKeysWithValues: ranks.map { (QueueID($0.key), $0.value) }))
        }
    }

    private struct StepEntry: Decodable {
        var step: AnswerRateStep
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            try c.rejectUnknown(["fromHour", "live"])
            step = AnswerRateStep(
                fromHour: try c.decode(Double.self, forKey: "fromHour"), live: try c.decode(Double.self, forKey: "live")
            )
        }
    }

    private struct ProfileEntry: Decodable {
        var profile: SyntheticAgentProfile
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            try c.rejectUnknown([
                "acceptSeconds", "rejectProbability", "talkSeconds", "wrapUpSeconds", "pauseProbability",
                "pauseSeconds",
            ])
            typealias D = SimulatedTrunk.Population.Distribution
            let defaults = SyntheticAgentProfile()
            profile = SyntheticAgentProfile(
                acceptSeconds: try c.decodeIfPresent(D.self, forKey: "acceptSeconds") ?? defaults.acceptSeconds,
                rejectProbability: try c.decodeIfPresent(Double.self, forKey: "rejectProbability") ?? 0,
                talkSeconds: try c.decodeIfPresent(D.self, forKey: "talkSeconds"),
                wrapUpSeconds: try c.decodeIfPresent(D.self, forKey: "wrapUpSeconds") ?? defaults.wrapUpSeconds,
                pauseProbability: try c.decodeIfPresent(Double.self, forKey: "pauseProbability") ?? 0,
                pauseSeconds: try c.decodeIfPresent(D.self, forKey: "pauseSeconds") ?? defaults.pauseSeconds,
                dispositions: defaults.dispositions)
        }
    }

    /// Reads, decodes and validates a cluster scenario file.
    public static func load(path: String) throws(ScenarioError) -> ClusterScenario {
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

    /// Decodes and validates a cluster scenario from JSON.
    public static func decode(json data: Data) throws(ScenarioError) -> ClusterScenario {
        let scenario: ClusterScenario
        do {
            scenario = try JSONDecoder().decode(ClusterScenario.self, from: data)
        } catch let error as DecodingError {
            let (field, reason) = JSONDecodingProblem.describe(error, data: data)
            throw ScenarioError(field: field, reason: reason)
        } catch {
            throw ScenarioError(field: nil, reason: "\(error)")
        }
        try scenario.validate()
        return scenario
    }

    /// Whether a scenario file asks for this engine (`"engine": "cluster"`).
    public static func isClusterScenario(path: String) -> Bool {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path)),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return false }
        return object["engine"] as? String == "cluster"
    }
}
