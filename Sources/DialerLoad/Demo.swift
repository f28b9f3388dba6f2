import DialerRuntime
import DialerSimulation
import Foundation

/// `dialerctl demo`: a local cluster on the embedded store, a predictive campaign over a
/// generated list, an inbound queue ranked above it with callers arriving on its number,
/// synthetic agents logged in, a bounded run with one live progress line, and a summary.
public struct Demo: Sendable {
    /// The demo's options (the command line's flags).
    public struct Options: Sendable {
        public var agents = 20
        public var contacts = 2_000
        public var mode = DialingMode.predictive
        public var timeScale = 30
        public var duration: Duration = .seconds(120)
        public var nodes = 2
        public var seed: UInt64 = 1
        /// Callers per minute of call time on the inbound queue's number; nil: one for every 10
        /// agents (about a fifth of what the floor can take), 0: none.
        public var inboundCallsPerMinute: Double?
        /// Where the configuration, logs and database go; default: a new temporary directory.
        public var runDirectory: String?
        /// Where to write the summary as JSON, if anywhere.
        public var summaryJSON: String?
        /// Keep the cluster running after the summary until `waitForStop` returns.
        public var keepRunning = false
        /// Dial through SIP: SIPp as the carrier and the agents' phones, one node, real time.
        public var sip = false
        /// Where the SIPp scenarios are (the repository's `sipp/`).
        public var sippScenarios = "sipp"

        public init() {}

        /// Checks every option; the error names the first bad one.
        public func validate() throws(DemoError) {
            guard (1...5_000).contains(agents) else {
                throw DemoError("--agents must be from 1 to 5000 (is \(agents))")
            }
            guard (1...1_000_000).contains(contacts) else {
                throw DemoError("--contacts must be from 1 to 1000000 (is \(contacts))")
            }
            guard (1...3600).contains(timeScale) else {
                throw DemoError("--time-scale must be from 1 to 3600 (is \(timeScale))")
            }
            guard duration > .zero else { throw DemoError("--duration must be above 0") }
            guard (1...16).contains(nodes) else { throw DemoError("--nodes must be from 1 to 16 (is \(nodes))") }
            if let rate = inboundCallsPerMinute, !rate.isFinite || !(0...10_000).contains(rate) {
                throw DemoError("--inbound-calls-per-minute must be from 0 to 10000 (is \(rate))")
            }
            if sip, timeScale != 1 || nodes != 1 {
                throw DemoError("--trunk sip runs in real time on one node: --time-scale 1 --nodes 1")
            }
        }

        /// The callers per minute of call time on the inbound number, the default applied (none
        /// over SIP: the carrier only answers).
        public var callersPerMinute: Double { sip ? 0 : inboundCallsPerMinute ?? Double(agents) / 10 }
    }

    /// The ids the demo creates.
    public enum Names {
        public static let campaignQueue = "sales"
        public static let inboundQueue = "support"
        public static let campaign = "demo"
        public static let list = "demo-leads"
        public static let team = "floor"
    }

    public var options: Options

    public init(options: Options) {
        self.options = options
    }

    /// Runs the demo, writing to `output` (the progress line with carriage returns);
    /// `waitForStop` is awaited before stopping the cluster when ``Options/keepRunning`` is set.
    public func run(
        output: @escaping @Sendable (String) -> Void, waitForStop: @Sendable () async -> Void
    ) async throws -> DemoSummary {
        try options.validate()
        let runDirectory =
            options.runDirectory
            ?? FileManager.default.temporaryDirectory.appendingPathComponent(
                "dialer-demo-\(UUID().uuidString.prefix(8).lowercased())"
            ).path
        let did = TrunkPlan.did(0)
        var plan = LocalCluster.Plan(
            runDirectory: runDirectory, nodes: (1...options.nodes).map { "node-\($0)" },
            queues: [
                .init(id: Names.campaignQueue, kind: "campaign"),
                .init(id: Names.inboundQueue, kind: "inbound", dids: [did]),
            ],
            trunkTimeScale: options.timeScale)
        let capacity = TrunkPlan.capacity(agents: options.agents, inboundCallsPerMinute: options.callersPerMinute)
        plan.trunkPopulation = TrunkPlan.population(
            dids: [did], callsPerMinute: options.callersPerMinute, channels: capacity.channels,
            callsPerSecond: capacity.callsPerSecond, seed: options.seed)
        plan.logLevel = "notice"
        var carrier: DemoCarrier?
        if options.sip {
            try FileManager.default.createDirectory(atPath: runDirectory, withIntermediateDirectories: true)
            let started = try DemoCarrier.start(
                scenarios: options.sippScenarios, directory: runDirectory, calls: options.contacts)
            plan.extraTOML = started.trunkTOML
            carrier = started
            output(
                "SIPp: the carrier on 127.0.0.1:\(started.carrierPort), the agents' phones on "
                    + "127.0.0.1:\(started.phonesPort) (screens: \(runDirectory)/sipp-*.log)\n")
        }
        defer { carrier?.stop() }
        let cluster = try LocalCluster(plan: plan)
        output("starting a local cluster in \(runDirectory) ...\n")
        do {
            try await cluster.start()
            if let stopped = carrier?.exited() {
                throw DemoError("SIPp (\(stopped)) stopped; see \(runDirectory)/sipp-*.log")
            }
            let summary = try await demo(on: cluster, carrier: carrier, output: output)
            if options.keepRunning {
                output("\nthe cluster keeps running; Ctrl-C stops it.\n")
                await waitForStop()
            }
            output("stopping the cluster ...\n")
            await cluster.stopUncancelled()
            return summary
        } catch {
            await cluster.stopUncancelled()
            if let member = cluster.exitedMember() {
                throw DemoError("\(member.role) \(member.id) stopped (log: \(member.logFile)): \(error)")
            }
            throw error
        }
    }

    private func demo(
        on cluster: LocalCluster, carrier: DemoCarrier?, output: @escaping @Sendable (String) -> Void
    ) async throws -> DemoSummary {
        let setup = CampaignSetup(api: cluster.manager)
        output(
            "creating a \(options.mode.rawValue) campaign, \(options.contacts) contacts, \(options.agents) agents ...\n"
        )
        try await setup.createList(id: Names.list, name: "Demo leads", contacts: options.contacts)
        // Agents serve the inbound queue first (rank 1), the campaign when no call waits.
        try await setup.createTeam(
            id: Names.team, name: "Floor",
            ranking: [(queue: Names.inboundQueue, rank: 1), (queue: Names.campaignQueue, rank: 2)])
        let accounts = (1...options.agents).map { index in
            (login: "agent-\(index)", password: "demo-\(UInt32.random(in: 0...UInt32.max))-\(index)")
        }
        try await setup.createAgents(accounts, team: Names.team)
        try await setup.createCampaign(
            id: Names.campaign, name: "Demo", list: Names.list, queue: Names.campaignQueue, mode: options.mode,
            ivrPorts: max(1, options.agents), dispositions: ["sale", "no-sale"])

        let address = cluster.gatewayClusterAddress.split(separator: ":")
        guard address.count == 2, let port = Int(address[1]) else {
            throw DemoError("the gateway reported no cluster address")
        }
        let floor = FloorRun.Floor(
            gatewayHost: String(address[0]), gatewayPort: port, secret: cluster.secret,
            accounts: accounts.map {
                .init(login: $0.login, password: $0.password, phone: carrier?.phone(of: $0.login))
            },
            profile: Self.profile, seed: options.seed, timeScale: Double(options.timeScale))
        var run = FloorRun(floor: floor, campaigns: [Names.campaign], duration: options.duration)
        run.inboundQueues = [Names.inboundQueue]
        run.campaignQueues = [Names.campaignQueue]
        run.inboundCallsPerMinute = options.callersPerMinute
        let agents = options.agents
        output(
            "dialing for \(Self.format(options.duration.seconds)) at \(options.timeScale)x call time; callers on "
                + "\(TrunkPlan.did(0)) (\(Names.inboundQueue)): \(String(format: "%g", options.callersPerMinute)) a minute of call time\n"
        )
        let outcome = try await run.run(
            setup: setup, probe: ClusterProbe(cluster: cluster), meter: AgentMeter()
        ) { progress in
            output("\r" + Self.progressLine(progress, agents: agents))
        }
        output("\n")
        let summary = DemoSummary(options: options, outcome: outcome, cluster: cluster)
        output(summary.table())
        if let path = options.summaryJSON {
            let encoder = JSONEncoder()
            // Keys as the fields are named (camelCase); the manager's report inside keeps the API's.
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(summary).write(to: URL(fileURLWithPath: path))
            output("summary written to \(path)\n")
        }
        return summary
    }

    /// How the demo's agents behave, in call time: they talk until the customer or they hang
    /// up, write notes for a while, and now and then take a short break.
    static let profile = SyntheticAgentProfile(
        talkSeconds: .logNormal(mean: 90, standardDeviation: 45),
        wrapUpSeconds: .logNormal(mean: 15, standardDeviation: 8), pauseProbability: 0.05,
        pauseSeconds: .logNormal(mean: 60, standardDeviation: 30),
        dispositions: [.init(name: "sale", weight: 1), .init(name: "no-sale", weight: 4)])

    /// The one live line: elapsed, attempts, live answers, connected, abandoned and its rate (the
    /// campaign's), inbound callers taken of those whose wait ended, agents busy, contacts left.
    static func progressLine(_ progress: FloorRun.Progress, agents: Int) -> String {
        let report = progress.reports.first
        let attempts = report?.attempts ?? 0
        let live = report?.liveAnswers ?? 0
        let abandoned = report?.abandons ?? 0
        let rate = live > 0 ? String(format: "%.1f%%", Double(abandoned) / Double(live) * 100) : "-"
        let busy = progress.agentsLoggedIn > 0 ? progress.agentsBusy * 100 / progress.agentsLoggedIn : 0
        let phase = progress.finishing ? " finishing calls" : ""
        let inbound = progress.inbound.map { "  inbound \($0.taken)/\($0.arrived) taken" } ?? ""
        return
            "\(format(progress.elapsed.seconds))  attempts \(attempts)  live \(live)  connected \(report?.connected ?? 0)  abandoned \(abandoned) (\(rate))\(inbound)  agents busy \(busy)% of \(progress.agentsLoggedIn)/\(agents)  contacts left \(report?.contactsLeft ?? 0)\(phase)   "
    }

    static func format(_ seconds: Double) -> String {
        let whole = Int(seconds.rounded())
        return String(format: "%d:%02d", whole / 60, whole % 60)
    }
}

/// A bad demo option or a failed demo.
public struct DemoError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// What the demo shows at the end; also its `--summary-json`.
public struct DemoSummary: Codable, Sendable {
    public var campaign: String
    public var mode: String
    public var agents: Int
    public var contacts: Int
    public var timeScale: Int
    public var dialingSeconds: Double
    public var wallSeconds: Double
    /// From the manager's statistics after the calls in progress ended.
    public var attempts: Int
    public var liveAnswers: Int
    public var connected: Int
    public var abandoned: Int
    public var abandonRate: Double?
    public var machines: Int
    public var contactsLeft: Int
    public var openAttempts: Int
    public var attemptsByOutcome: [String: Int]
    /// The inbound callers (the `support` queue's number), from the nodes' counters at the final
    /// read; apart from the campaign's figures above, but for ``InboundTraffic/takenForCampaigns``.
    public var inbound: InboundTraffic
    /// What the synthetic agents counted. Calls at the final read: every call, the campaign's
    /// outbound calls (on its queue), the inbound callers (on the inbound queue). Dispositions
    /// and errors when the agents stopped.
    public var agentCalls: Int
    public var agentCampaignCalls: Int
    public var agentInboundCalls: Int
    public var agentDispositions: Int
    public var agentErrors: Int
    public var agentFailures: Int
    /// Times an agent's connection to the gateway ended and the agent connected again.
    public var agentReconnections: Int
    /// Busy agents over logged-in agents, sampled each second while dialing.
    public var occupancy: Double?
    /// Grants in the gateway's log.
    public var grants: Int
    /// Whether the calls in progress ended before the summary was taken.
    public var settled: Bool
    /// The manager's report as read at the end.
    public var managerReport: CampaignReport
    public var api: String
    public var adminTokenFile: String
    public var database: String
    public var runDirectory: String
    public var configFile: String

    init(options: Demo.Options, outcome: FloorRun.Outcome, cluster: LocalCluster) {
        let report = outcome.reports[0]
        campaign = report.campaign
        mode = options.mode.rawValue
        agents = options.agents
        contacts = report.contacts
        timeScale = options.timeScale
        dialingSeconds = outcome.dialingSeconds
        wallSeconds = outcome.wallSeconds
        attempts = report.attempts
        liveAnswers = report.liveAnswers
        connected = report.connected
        abandoned = report.abandons
        abandonRate = report.abandonRate
        machines = report.machines
        contactsLeft = report.contactsLeft
        openAttempts = report.openAttempts
        attemptsByOutcome = report.attemptsByOutcome
        inbound =
            outcome.inbound
            ?? InboundTraffic(start: "", end: "", queues: [], campaignQueues: [], source: "no inbound queue")
        agentCalls = outcome.agentCallsByQueue.values.reduce(0, +)
        agentCampaignCalls = outcome.agentCallsByQueue[Demo.Names.campaignQueue] ?? 0
        agentInboundCalls = outcome.agentCallsByQueue[Demo.Names.inboundQueue] ?? 0
        agentDispositions = outcome.agents.tally.dispositions
        agentErrors = outcome.agents.tally.errors
        agentFailures = outcome.agents.failures.count
        agentReconnections = outcome.agents.tally.reconnections
        occupancy = outcome.occupancy
        grants = outcome.grants
        settled = outcome.settled
        managerReport = report
        api = "http://\(cluster.managerHTTPAddress)/v1"
        adminTokenFile = cluster.adminTokenPath
        database = cluster.databasePath
        runDirectory = cluster.plan.runDirectory
        configFile = cluster.configPath
    }

    /// The summary table and where things are.
    public func table() -> String {
        func percent(_ value: Double?) -> String { value.map { String(format: "%.1f %%", $0 * 100) } ?? "-" }
        var rows: [(String, String)] = [
            ("campaign", "\(campaign) (\(mode)), \(agents) agents, \(contacts) contacts, \(timeScale)x call time"),
            (
                "dialing time",
                String(
                    format: "%.0f s wall (%.0f min of call time)", dialingSeconds,
                    dialingSeconds * Double(timeScale) / 60)
            ),
            ("attempts", "\(attempts)"),
        ]
        for (outcome, count) in attemptsByOutcome.sorted(by: { $0.value > $1.value }) {
            rows.append(("  \(outcome)", "\(count)"))
        }
        rows += [
            ("live answers", "\(liveAnswers)"),
            ("connected", "\(connected)"),
            ("abandoned", "\(abandoned) (\(percent(abandonRate)) of live answers)"),
            ("  by cause", (managerReport.abandonsByCause ?? [:]).isEmpty ? "-" : managerReport.abandonCausesLine),
            ("inbound callers", inbound.line),
            (
                "agents' calls",
                "\(agentCalls) (\(agentCampaignCalls) campaign, \(agentInboundCalls) inbound), "
                    + "\(agentDispositions) dispositions, \(agentErrors) errors, "
                    + "\(agentReconnections) reconnections"
            ),
            ("agent occupancy", percent(occupancy)),
            ("contacts left", "\(contactsLeft) (\(openAttempts) attempts still open)"),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        var text =
            "\n"
            + rows.map { $0.0.padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0.1 }
            .joined(separator: "\n")
        if !settled { text += "\n(calls were still in progress when the summary was taken)" }
        text += """


            API:          \(api)   (openapi.yaml)
            admin token:  \(adminTokenFile)
            database:     \(database)
            logs, config: \(runDirectory)
              curl -H "Authorization: Bearer $(cat \(adminTokenFile))" \(api)/campaigns/\(campaign)/report

            """
        return text
    }
}
