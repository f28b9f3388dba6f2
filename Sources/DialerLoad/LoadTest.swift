import DialerCore
import DialerRuntime
import DialerSimulation
import Foundation
import Histogram

#if canImport(Glibc)
import Glibc
#endif

/// `dialer-loadtest`: N synthetic agents and the scenario's campaigns on a cluster (one it
/// starts, or a running one) for a bounded time, measured.
///
/// What is measured where (also written into the result, beside each figure):
/// - reservation round trip: the nodes' `dialer_node_reservation_round_trip_seconds`
///   histogram, from the node's request for an agent to its receipt of the grant or refusal,
///   for requests the gateway answered on receipt; requests it held (no agent free, an offer
///   waiting for the agent) are apart, in `dialer_node_reservation_held_seconds`.
/// - grant to confirm: in the gateway's reservation log, the grant's way to the node, the node
///   bridging the call (at time scale 1, real ringing or bridging), the confirm's way back;
///   millisecond resolution (the log's).
/// - agent operation round trip: at the synthetic agents, request → reply of each operation
///   over the cluster protocol (HdrHistogram, µs); and apart, the operations each agent sent
///   after its first set-ready was answered (the floor at work, the login burst left out).
/// - answer to bridge: the nodes' `dialer_node_answer_to_bridge_seconds` histogram, in call
///   time; its Prometheus buckets bound the percentiles.
/// - agent ready to dial decision: the nodes' `dialer_node_ready_to_dial_decision_seconds`
///   histogram, in wall time, bounded the same way; said to be absent when the nodes lack it.
/// - inbound calls: the nodes' `dialer_node_inbound_calls_total` counters; in a cluster the
///   load tester starts, callers arrive on one number per inbound queue at the scenario's
///   `inboundCallsPerMinute`, and the simulated carrier's caps are sized for the scenario.
public struct LoadTest: Sendable {
    /// Where the cluster is.
    public enum Target: Sendable {
        /// Start a cluster of the scenario's nodes in `runDirectory` (a temporary one if nil).
        case start(runDirectory: String?, keepRunDirectory: Bool)
        /// A running cluster: the manager's HTTP address, the gateway's cluster address, an
        /// admin (or supervisor) token and the cluster secret the agents authenticate with.
        case running(manager: String, gateway: String, token: String, secret: String)
    }

    public var scenario: LoadScenario
    public var target: Target

    public init(scenario: LoadScenario, target: Target) {
        self.scenario = scenario
        self.target = target
    }

    /// Runs the load; `progress` gets a one-line picture about once a second (for a progress bar).
    public func run(progress: @escaping @Sendable (String) -> Void) async throws -> LoadTestResult {
        try scenario.validate()
        // One descriptor per synthetic agent's connection; the cluster started here inherits it.
        OpenFileLimit.raiseToHardLimit()
        switch target {
        case .start(let runDirectory, let keep):
            let directory =
                runDirectory
                ?? FileManager.default.temporaryDirectory.appendingPathComponent(
                    "dialer-loadtest-\(UUID().uuidString.prefix(8).lowercased())"
                ).path
            let dids = scenario.inboundQueues.indices.map { TrunkPlan.did($0) }
            var plan = LocalCluster.Plan(
                runDirectory: directory, nodes: (1...scenario.nodes).map { "node-\($0)" },
                queues: scenario.campaigns.map { .init(id: $0.queue, kind: "campaign") }
                    + zip(scenario.inboundQueues, dids).map { .init(id: $0, kind: "inbound", dids: [$1]) },
                trunkTimeScale: scenario.timeScale)
            let capacity = scenario.trunkCapacity
            plan.trunkPopulation = TrunkPlan.population(
                dids: dids, callsPerMinute: scenario.callersPerMinute, channels: capacity.channels,
                callsPerSecond: capacity.callsPerSecond, seed: scenario.seed)
            let cluster = try LocalCluster(plan: plan)
            progress("starting a cluster in \(directory)")
            do {
                try await cluster.start()
                let result = try await load(
                    manager: cluster.manager, gateway: cluster.gatewayClusterAddress, secret: cluster.secret,
                    probe: ClusterProbe(cluster: cluster),
                    members: { cluster.launcher.members.map { ($0.role, $0.id, $0.pid) } },
                    trunk: .init(channels: capacity.channels, callsPerSecond: capacity.callsPerSecond),
                    progress: progress)
                await cluster.stopUncancelled()
                if !keep { try? FileManager.default.removeItem(atPath: directory) }
                return result
            } catch {
                await cluster.stopUncancelled()
                if let member = cluster.exitedMember() {
                    throw LoadTestError("\(member.role) \(member.id) stopped (log: \(member.logFile)): \(error)")
                }
                throw error
            }
        case .running(let manager, let gateway, let token, let secret):
            return try await load(
                manager: ManagerHTTPClient(address: manager, token: token), gateway: gateway, secret: secret,
                probe: ClusterProbe(manager: ManagerHTTPClient(address: manager, token: token)), members: { [] },
                trunk: nil, progress: progress)
        }
    }

    private func load(
        manager: ManagerHTTPClient, gateway: String, secret: String, probe: ClusterProbe,
        members: @Sendable () -> [(role: String, id: String, pid: Int32)], trunk: LoadTestResult.Trunk?,
        progress: @escaping @Sendable (String) -> Void
    ) async throws -> LoadTestResult {
        let setup = CampaignSetup(api: manager)
        // A fresh prefix per run: a running cluster keeps what earlier runs created.
        let run = "lt\(UInt32.random(in: 0...UInt32.max) % 1_000_000)"
        progress("creating \(scenario.campaigns.count) campaign(s) and \(scenario.agents) agents (run \(run))")
        var ranking = scenario.inboundQueues.map { (queue: $0, rank: 1) }
        ranking += scenario.campaigns.map { (queue: $0.queue, rank: 2) }
        try await setup.createTeam(id: "\(run)-team", name: "Load \(run)", ranking: ranking)
        let accounts = (1...scenario.agents).map { (login: "\(run)-a\($0)", password: "\(run)-secret-\($0)") }
        try await setup.createAgents(accounts, team: "\(run)-team")
        // The floor logs in at once with resume tokens, as a shift does after its first login:
        // one HMAC each at the gateway instead of a password check at the manager.
        progress("issuing \(accounts.count) resume tokens")
        let tokens = try await setup.resumeTokens(for: accounts.map(\.login)) ?? [:]
        var campaignIDs: [String] = []
        for (index, campaign) in scenario.campaigns.enumerated() {
            let id = "\(run)-c\(index + 1)"
            try await setup.createList(id: id, name: "Load \(id)", contacts: campaign.contacts)
            try await setup.createCampaign(
                id: id, name: "Load \(id)", list: id, queue: campaign.queue, mode: campaign.mode,
                ivrPorts: max(1, scenario.agents), dispositions: ["sale", "no-sale"])
            campaignIDs.append(id)
        }

        let address = gateway.split(separator: ":")
        guard address.count == 2, let port = Int(address[1]) else {
            throw LoadTestError("the gateway's cluster address must be host:port (is \(gateway))")
        }
        func seconds(_ value: LoadScenario.Seconds) -> SyntheticAgentProfile.Distribution {
            value.standardDeviation == 0
                ? .fixed(seconds: value.mean) : .logNormal(mean: value.mean, standardDeviation: value.standardDeviation)
        }
        let floor = FloorRun.Floor(
            gatewayHost: String(address[0]), gatewayPort: port, secret: secret,
            accounts: accounts.map { .init(login: $0.login, password: $0.password, resumeToken: tokens[$0.login]) },
            profile: SyntheticAgentProfile(
                talkSeconds: seconds(scenario.talkSeconds), wrapUpSeconds: seconds(scenario.wrapUpSeconds),
                dispositions: [.init(name: "sale", weight: 1), .init(name: "no-sale", weight: 4)]),
            seed: scenario.seed, timeScale: Double(scenario.timeScale))
        let duration = Duration.milliseconds(Int64(scenario.durationSeconds * 1000))
        let meter = AgentMeter()
        let ownStart = ProcessUsage.read(pid: getpid(), role: "load-tester", id: "dialer-loadtest")
        let total = scenario.durationSeconds
        var floorRun = FloorRun(floor: floor, campaigns: campaignIDs, duration: duration)
        floorRun.inboundQueues = scenario.inboundQueues
        floorRun.campaignQueues = scenario.campaigns.map(\.queue)
        // A running cluster's callers are its own population's, at a rate the load tester does not know.
        floorRun.inboundCallsPerMinute = trunk == nil ? nil : scenario.callersPerMinute
        let outcome = try await floorRun.run(setup: setup, probe: probe, meter: meter) { look in
            progress(Self.bar(look, total: total))
        }

        // Read the processes before anything stops.
        var usage = members().compactMap { ProcessUsage.read(pid: $0.pid, role: $0.role, id: $0.id) }
        if var own = ProcessUsage.read(pid: getpid(), role: "load-tester", id: "dialer-loadtest") {
            own.cpuSeconds -= ownStart?.cpuSeconds ?? 0
            usage.append(own)
        }
        // The nodes' histograms over the run: the final read less the one before the agents started
        // (a running cluster keeps what earlier runs recorded).
        let bounds = "figures are the upper bounds of the Prometheus buckets holding each percentile"
        let answerToBridge = BucketedLatency(
            "dialer_node_answer_to_bridge_seconds", start: outcome.nodeMetricsAtStart, end: outcome.nodeMetricsAtEnd,
            source:
                "nodes' dialer_node_answer_to_bridge_seconds histogram (live answer to the agent's bridge) in CALL "
                + "time, on the trunk's clock: divide by the time scale for wall time; " + bounds)
        let liveToBridge = BucketedLatency(
            "dialer_node_live_to_bridge_seconds", start: outcome.nodeMetricsAtStart, end: outcome.nodeMetricsAtEnd,
            source:
                "nodes' dialer_node_live_to_bridge_seconds histogram in wall time: from the moment the node knew an "
                + "answer was live (the detector's verdict) to the agent's bridge; " + bounds)
        let reservationRoundTrip = BucketedLatency(
            "dialer_node_reservation_round_trip_seconds", start: outcome.nodeMetricsAtStart,
            end: outcome.nodeMetricsAtEnd,
            source:
                "nodes' dialer_node_reservation_round_trip_seconds histogram in wall time: from the node's request "
                + "for an agent to its receipt of the answer (grant or refusal), for requests the gateway answered "
                + "on receipt; includes both ways over the cluster protocol, the gateway's book and both processes' "
                + "scheduling; " + bounds)
        let reservationHeld = BucketedLatency(
            "dialer_node_reservation_held_seconds", start: outcome.nodeMetricsAtStart, end: outcome.nodeMetricsAtEnd,
            source:
                "nodes' dialer_node_reservation_held_seconds histogram in wall time: request to answer of the "
                + "requests the gateway held (no agent was free, or an offer waited for the agent): agent "
                + "availability, not the gateway's latency; " + bounds)
        let readyToDial = BucketedLatency(
            "dialer_node_ready_to_dial_decision_seconds", start: outcome.nodeMetricsAtStart,
            end: outcome.nodeMetricsAtEnd,
            source:
                "nodes' dialer_node_ready_to_dial_decision_seconds histogram in wall time: from the moment the "
                + "gateway's queue picture shows an agent newly ready (its readiness at the snapshot) to the node's "
                + "pacing decision on that picture; the picture's way from gateway to node is not included; " + bounds)
        var result = LoadTestResult(
            scenario: scenario, run: run, outcome: outcome, meter: meter, answerToBridge: answerToBridge,
            liveToBridge: liveToBridge, readyToDial: readyToDial, reservationRoundTrip: reservationRoundTrip,
            reservationHeld: reservationHeld, trunk: trunk, processes: usage,
            clusterStarted: members().isEmpty == false)
        result.loginCredential = tokens.isEmpty ? "password" : "resume token"
        if let end = outcome.processMetricsAtEnd["gateway"] {
            result.reservationAnswerAtGateway = BucketedLatency(
                "dialer_gateway_reservation_answer_seconds", start: outcome.processMetricsAtStart["gateway"] ?? "",
                end: end,
                source:
                    "the gateway's dialer_gateway_reservation_answer_seconds histogram in wall time: from a node's "
                    + "request taken off its connection to its answer queued for the node, for requests answered "
                    + "at once: the gateway's part of the round trip, its reservation service's wait included; "
                    + bounds)
        }
        for (process, end) in outcome.processMetricsAtEnd {
            result.schedulingLag[process] = BucketedLatency(
                "dialer_scheduling_lag_seconds", start: outcome.processMetricsAtStart[process] ?? "", end: end,
                source:
                    "the process's dialer_scheduling_lag_seconds histogram in wall time: how late each 10 ms sleep of "
                    + "its probe woke up, the wait of every actor's next step on its pool; " + bounds)
        }
        if let onceStarted = outcome.nodeMetricsOnceStarted, let seconds = outcome.everyAgentStartedSeconds {
            result.reservationRoundTripOnceStarted = BucketedLatency(
                "dialer_node_reservation_round_trip_seconds", start: onceStarted, end: outcome.nodeMetricsAtEnd,
                source:
                    "the same histogram from the first look that found every agent's first set-ready answered "
                    + String(format: "(%.1f s into the run)", seconds) + " to the end: the login burst left out; "
                    + bounds)
            result.everyAgentStartedSeconds = seconds
        }
        return result
    }

    /// `[#######.......]  45%  0:27/1:00  attempts 812 (30.1/s)  grants 240  busy 87%`
    static func bar(_ look: FloorRun.Progress, total: Double) -> String {
        let done = min(1, look.elapsed.seconds / total)
        let width = 24
        let filled = Int(done * Double(width))
        let attempts = look.reports.reduce(0) { $0 + $1.attempts }
        let rate = look.elapsed.seconds > 0 ? Double(attempts) / look.elapsed.seconds : 0
        let busy = look.agentsLoggedIn > 0 ? look.agentsBusy * 100 / look.agentsLoggedIn : 0
        let phase = look.finishing ? "  finishing calls" : ""
        let inbound = look.inbound.map { "  inbound \($0.taken)/\($0.arrived) taken" } ?? ""
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            + String(format: "%3d%%  ", Int(done * 100)) + Demo.format(look.elapsed.seconds) + "/" + Demo.format(total)
            + String(
                format: "  attempts %d (%.1f/s)  grants %d  agents %d, busy %d%%", attempts, rate, look.grants,
                look.agentsLoggedIn, busy) + inbound + phase
    }
}

/// A failed load test.
public struct LoadTestError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The load tester's result: the JSON file and the table.
public struct LoadTestResult: Codable, Sendable {
    /// The simulated carrier's caps of a cluster the load tester started.
    public struct Trunk: Codable, Hashable, Sendable {
        /// Concurrent calls, outbound and inbound together.
        public var channels: Int
        /// Calls placed in any one second of call time.
        public var callsPerSecond: Int
    }

    public struct Frames: Codable, Hashable, Sendable {
        public var sent: Int
        public var received: Int
        public var perSecond: Double
        public var source: String
    }

    public var scenario: String
    public var run: String
    public var agents: Int
    public var nodes: Int?
    public var timeScale: Int
    public var clusterStarted: Bool
    public var dialingSeconds: Double
    public var wallSeconds: Double
    public var attempts: Int
    public var attemptsPerSecond: Double
    public var liveAnswers: Int
    public var connected: Int
    public var abandoned: Int
    /// The campaigns' abandons by cause, summed.
    public var abandonsByCause: [String: Int]
    public var abandonRate: Double?
    public var grants: Int
    public var grantsPerSecond: Double
    public var grantLogGaps: Bool
    /// Busy agents over logged-in agents, sampled each second while dialing.
    public var occupancy: Double?
    public var frames: Frames
    /// The nodes' request for an agent to the answer, for answers given on receipt (wall time).
    public var reservationRoundTrip: BucketedLatency
    /// The reservation round trip from the moment every agent had started (its first set-ready
    /// answered) to the end: the floor at work, the login burst left out; nil when some agent
    /// never started during the dialing time.
    public var reservationRoundTripOnceStarted: BucketedLatency?
    /// Seconds from the run's start to the look that found every agent started.
    public var everyAgentStartedSeconds: Double?
    /// The gateway's part of the round trip: a request taken off its node's connection to its
    /// answer queued (the gateway's `dialer_gateway_reservation_answer_seconds`); nil when the
    /// gateway's metrics could not be read.
    public var reservationAnswerAtGateway: BucketedLatency?
    /// How late each process's cooperative pool ran a due task over the run, by `gateway` and
    /// `node <address>` (the processes' `SchedulingLagProbe`): the share of every latency
    /// above that is waiting for a thread.
    public var schedulingLag: [String: BucketedLatency] = [:]
    /// The same for requests the gateway held until an agent was free (wall time).
    public var reservationHeld: BucketedLatency
    /// Grant to confirm of each bridged call, from the gateway's reservation log.
    public var grantToConfirm: LatencySummary
    public var agentOperationRoundTrip: LatencySummary
    public var agentOperationRoundTripByOperation: [String: LatencySummary]
    /// Every operation an agent sent after its session start (its login and the operations up
    /// to its first set-ready answered): the floor at work, apart from the login burst.
    public var agentOperationRoundTripWorking: LatencySummary
    /// What the agents logged in with: `resume token` (one HMAC at the gateway) or `password`.
    public var loginCredential = "password"
    /// In call time (the trunk's clock).
    public var answerToBridge: BucketedLatency
    /// From the live verdict to the bridge, wall time (the node's and gateway's share of the grace).
    public var liveToBridge: BucketedLatency
    /// In wall time; a ``BucketedLatency/note`` instead of figures when the nodes lack the histogram.
    public var agentReadyToDialDecision: BucketedLatency
    /// The inbound callers; nil without inbound queues.
    public var inboundTraffic: InboundTraffic?
    /// Inbound calls the synthetic agents were connected to (on the inbound queues).
    public var agentInboundCalls: Int
    /// The carrier's caps; nil against a running cluster (its own file's).
    public var trunk: Trunk?
    /// Refused agent operations and lost connections, by `operation: code`.
    public var errors: [String: Int]
    /// Agents whose connection failed or ended early.
    public var agentFailures: Int
    /// Times an agent's connection to the gateway ended and the agent connected again, logged
    /// in and resumed its session (a gateway restart, a network failure).
    public var agentReconnections: Int
    /// Whether the calls in progress ended before the final statistics were read.
    public var settled: Bool
    public var processes: [ProcessUsage]
    public var campaigns: [CampaignReport]

    init(
        scenario: LoadScenario, run: String, outcome: FloorRun.Outcome, meter: AgentMeter,
        answerToBridge: BucketedLatency, liveToBridge: BucketedLatency, readyToDial: BucketedLatency,
        reservationRoundTrip: BucketedLatency, reservationHeld: BucketedLatency, trunk: Trunk?,
        processes: [ProcessUsage],
        clusterStarted: Bool
    ) {
        self.scenario = scenario.name
        self.run = run
        agents = scenario.agents
        nodes = clusterStarted ? scenario.nodes : nil
        timeScale = scenario.timeScale
        self.clusterStarted = clusterStarted
        dialingSeconds = outcome.dialingSeconds
        wallSeconds = outcome.wallSeconds
        attempts = outcome.reports.reduce(0) { $0 + $1.attempts }
        attemptsPerSecond = dialingSeconds > 0 ? Double(attempts) / dialingSeconds : 0
        liveAnswers = outcome.reports.reduce(0) { $0 + $1.liveAnswers }
        connected = outcome.reports.reduce(0) { $0 + $1.connected }
        abandoned = outcome.reports.reduce(0) { $0 + $1.abandons }
        var causes: [String: Int] = [:]
        for report in outcome.reports { causes.merge(report.abandonsByCause ?? [:], uniquingKeysWith: +) }
        abandonsByCause = causes
        abandonRate = liveAnswers > 0 ? Double(abandoned) / Double(liveAnswers) : nil
        grants = outcome.grants
        grantsPerSecond = dialingSeconds > 0 ? Double(outcome.grants) / dialingSeconds : 0
        grantLogGaps = outcome.grantLogGaps
        occupancy = outcome.occupancy
        let frames = outcome.agents.frames
        self.frames = Frames(
            sent: frames.sent, received: frames.received,
            perSecond: outcome.wallSeconds > 0 ? Double(frames.sent + frames.received) / outcome.wallSeconds : 0,
            source:
                "application frames between the synthetic agents and the gateway, both ways, over the whole run "
                + "(handshakes, heartbeats and node traffic not counted)")
        self.reservationRoundTrip = reservationRoundTrip
        self.reservationHeld = reservationHeld
        grantToConfirm = LatencySummary(
            microseconds: outcome.grantToConfirm,
            source:
                "gateway reservation log: grant -> confirm of each bridged call (grant to the node, the node bridges "
                + "the call, which at time scale 1 can span real ringing, confirm back), millisecond resolution; not "
                + "the reservation round trip")
        agentOperationRoundTrip = meter.roundTrips(
            source: "synthetic agents: request -> reply of every agent operation over the cluster protocol")
        agentOperationRoundTripByOperation = meter.roundTripsByOperation(source: "synthetic agents")
        agentOperationRoundTripWorking = meter.workingRoundTrips(
            source:
                "synthetic agents: request -> reply of every agent operation after the agent's first set-ready was "
                + "answered (the login burst left out)")
        self.answerToBridge = answerToBridge
        self.liveToBridge = liveToBridge
        agentReadyToDialDecision = readyToDial
        inboundTraffic = outcome.inbound
        agentInboundCalls = scenario.inboundQueues.reduce(0) { $0 + (outcome.agentCallsByQueue[$1] ?? 0) }
        self.trunk = trunk
        errors = meter.refusals
        agentFailures = outcome.agents.failures.count
        agentReconnections = outcome.agents.tally.reconnections
        settled = outcome.settled
        self.processes = processes
        campaigns = outcome.reports
    }

    /// The result as a table.
    public func table() -> String {
        func ms(_ value: Double?) -> String { value.map { String(format: "%.2f ms", $0) } ?? "-" }
        func latency(_ summary: LatencySummary) -> String {
            summary.count == 0
                ? "no samples"
                : "p50 \(ms(summary.p50Ms))  p99 \(ms(summary.p99Ms))  p99.9 \(ms(summary.p999Ms))  (\(summary.count))"
        }
        func bucketed(_ latency: BucketedLatency, _ clock: String) -> String {
            if let note = latency.note { return "not measured: \(note)" }
            return "p50 <= \(ms(latency.p50AtMostMs))  p99 <= \(ms(latency.p99AtMostMs))  "
                + "p99.9 <= \(ms(latency.p999AtMostMs))  mean \(ms(latency.meanMs))  (\(Int(latency.count)), \(clock))"
        }
        let rate = abandonRate.map { String(format: "%.2f %%", $0 * 100) } ?? "-"
        let abandonCauses = abandonsByCause.sorted { ($0.value, $1.key) > ($1.value, $0.key) }
            .map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        var rows: [(String, String)] = [
            ("scenario", "\(scenario) (run \(run)): \(agents) agents, \(timeScale)x call time"),
            ("dialing time", String(format: "%.1f s (whole run %.1f s)", dialingSeconds, wallSeconds)),
            ("attempts", String(format: "%d (%.1f/s)", attempts, attemptsPerSecond)),
            ("live answers", "\(liveAnswers), connected \(connected), abandoned \(abandoned) (\(rate))"),
            ("abandon causes", abandonCauses.isEmpty ? "-" : abandonCauses),
            (
                "grants",
                String(format: "%d (%.1f/s)", grants, grantsPerSecond)
                    + (grantLogGaps ? " (log gaps: a lower bound)" : "")
            ),
            ("occupancy", occupancy.map { String(format: "%.1f %%", $0 * 100) } ?? "-"),
            (
                "agent frames",
                String(format: "%d sent, %d received (%.0f/s)", frames.sent, frames.received, frames.perSecond)
            ),
            ("reservation round trip", bucketed(reservationRoundTrip, "answered on receipt")),
            (
                "  once every agent started",
                reservationRoundTripOnceStarted.map {
                    bucketed($0, "answered on receipt")
                        + String(format: ", from %.1f s", everyAgentStartedSeconds ?? 0)
                } ?? "not measured: some agent never started during the dialing time"
            ),
            (
                "  at the gateway",
                reservationAnswerAtGateway.map { bucketed($0, "taken to answer queued") }
                    ?? "not measured: the gateway's metrics could not be read"
            ),
            ("reservation held", bucketed(reservationHeld, "waited for an agent")),
        ]
        rows += schedulingLag.sorted { $0.key < $1.key }.map {
            ("scheduling lag, \($0.key)", bucketed($0.value, "10 ms sleeps"))
        }
        rows += [
            ("grant to confirm", latency(grantToConfirm)),
            ("agent operation round trip", latency(agentOperationRoundTrip)),
            ("  after each agent's start", latency(agentOperationRoundTripWorking)),
            (
                "login round trip",
                agentOperationRoundTripByOperation["agent_login"].map(latency).map { $0 + " by \(loginCredential)" }
                    ?? "no samples"
            ),
            ("answer to bridge", bucketed(answerToBridge, "call time")),
            ("live verdict to bridge", bucketed(liveToBridge, "wall time")),
            ("agent ready to dial decision", bucketed(agentReadyToDialDecision, "wall time")),
            (
                "errors",
                errors.isEmpty
                    ? "none" : errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            ),
            ("agent failures", "\(agentFailures)"),
            ("agent reconnections", "\(agentReconnections)"),
        ]
        if let inbound = inboundTraffic {
            var text = inbound.line + ", agents took \(agentInboundCalls)"
            if let expected = inbound.expectedArrivals, let rate = inbound.callsPerMinute {
                text += String(format: " (about %.0f expected at %g/min of call time per number)", expected, rate)
            }
            rows.insert(("inbound calls", text), at: 4)
        }
        if let trunk {
            rows.append(("trunk caps", "\(trunk.channels) channels, \(trunk.callsPerSecond) calls/s of call time"))
        }
        if !settled { rows.append(("note", "calls were still in progress at the end")) }
        let width = rows.map(\.0.count).max() ?? 0
        var text = rows.map { $0.0.padding(toLength: width + 2, withPad: " ", startingAt: 0) + $0.1 }.joined(
            separator: "\n")
        if !processes.isEmpty {
            text += "\n\nprocess            cpu s   peak MiB\n"
            for process in processes {
                text +=
                    "\(process.role)/\(process.id)".padding(toLength: 17, withPad: " ", startingAt: 0)
                    + String(format: "%7.2f  %9.1f\n", process.cpuSeconds, process.peakMemoryMiB)
            }
        }
        return text + "\n"
    }
}
