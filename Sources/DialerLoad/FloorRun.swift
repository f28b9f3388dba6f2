import DialerCore
public import DialerSimulation
import DialerTransport
import Foundation
public import Histogram

/// Synthetic agents at work on a cluster's campaigns for a bounded time, watched: every
/// second the campaigns' statistics (manager), the agents' phases, the gateway's grant log and,
/// with inbound queues, the nodes' inbound call counters are read. At the end the campaigns are
/// disabled and their calls in progress allowed to finish (the nodes' `dialer_node_calls_in_flight`
/// falls to 0), so that the final statistics are settled. Inbound callers keep arriving until
/// the cluster stops: the agents keep taking them meanwhile, and the inbound figures are those
/// of the final read.
public struct FloorRun: Sendable {
    /// Where the agents connect and how they behave.
    public struct Floor: Sendable {
        public var gatewayHost: String
        public var gatewayPort: Int
        public var secret: String
        public var accounts: [SyntheticAgent.Account]
        public var profile: SyntheticAgentProfile
        public var seed: UInt64
        /// Call seconds per wall second: the agents' timers run this much faster, as the trunk does.
        public var timeScale: Double

        public init(
            gatewayHost: String, gatewayPort: Int, secret: String, accounts: [SyntheticAgent.Account],
            profile: SyntheticAgentProfile, seed: UInt64, timeScale: Double
        ) {
            self.gatewayHost = gatewayHost
            self.gatewayPort = gatewayPort
            self.secret = secret
            self.accounts = accounts
            self.profile = profile
            self.seed = seed
            self.timeScale = timeScale
        }
    }

    /// A look at the run, once a second.
    public struct Progress: Sendable {
        public var elapsed: Duration
        /// True once the dialing time is over and the calls in progress are finishing.
        public var finishing: Bool
        public var reports: [CampaignReport]
        /// Agents logged in (not logging in or out).
        public var agentsLoggedIn: Int
        /// Agents reserved, offered, on a call or in wrap-up.
        public var agentsBusy: Int
        /// Grants seen in the gateway's log so far.
        public var grants: Int
        /// The inbound calls so far; nil without inbound queues.
        public var inbound: InboundTraffic?
    }

    /// What the run measured.
    public struct Outcome: Sendable {
        /// The dialing time (from the agents' start to disabling the campaigns).
        public var dialingSeconds: Double
        /// The whole run, finishing included.
        public var wallSeconds: Double
        public var reports: [CampaignReport]
        public var agents: SyntheticAgentPool.Summary
        /// Busy agent samples over logged-in agent samples, during the dialing time.
        public var occupancy: Double?
        /// Grants in the gateway's log during the run.
        public var grants: Int
        /// Grant to confirm, from the gateway's log (milliseconds resolution, in microseconds).
        public var grantToConfirm: Histogram<UInt64>
        /// Whether entries may have been lost between two reads of the gateway's bounded log.
        public var grantLogGaps: Bool
        /// Whether the calls in progress finished before the finishing timeout.
        public var settled: Bool
        /// The inbound calls whose wait ended between the agents' start and the final read; nil
        /// without inbound queues.
        public var inbound: InboundTraffic?
        /// Calls the agents were connected to by the reservation's queue, at the final read.
        public var agentCallsByQueue: [String: Int]
        /// Every node's Prometheus text just before the agents started, and at the final read
        /// (after the campaigns' calls ended): histograms of the run are their difference.
        public var nodeMetricsAtStart: String
        public var nodeMetricsAtEnd: String
        /// Every node's Prometheus text at the first look that found every agent started (its
        /// first set-ready answered), and the seconds from the run's start to that look; nil when
        /// some agent never started during the dialing time. The run's histograms less this
        /// read leave the login burst out.
        public var nodeMetricsOnceStarted: String?
        public var everyAgentStartedSeconds: Double?
        /// Each process's own Prometheus text (`gateway`, `node <address>`) at the same two
        /// reads, for figures that mean something per process only (one that did not answer is
        /// left out).
        public var processMetricsAtStart: [String: String]
        public var processMetricsAtEnd: [String: String]
    }

    public var floor: Floor
    public var campaigns: [String]
    public var duration: Duration
    /// The queues inbound callers are counted on: the inbound queues and the campaigns' queues
    /// (a caller routed to a campaign counts on its queue).
    public var inboundQueues: [String] = []
    /// The campaigns' queues, to tell callers routed to a campaign apart.
    public var campaignQueues: [String] = []
    /// The arrival rate of each inbound queue's number, calls per minute of call time, when
    /// the run configured the callers: for the expected arrivals.
    public var inboundCallsPerMinute: Double?
    /// The longest wait for the calls in progress after the dialing time.
    public var finishTimeout: Duration = .seconds(60)
    public var sampleInterval: Duration = .seconds(1)
    /// How often the campaigns' reports are read while dialing (for the progress line): a report
    /// reads every contact of its campaign at the manager (200,000 in agents-10000), which read
    /// every second took a third of the manager's time, load the product does not have. While
    /// finishing they are read once no agent is on a campaign's call, and once at the end.
    public var reportInterval: Duration = .seconds(10)
    /// How often the gateway's grant log is read: its JSON (up to 10,000 entries) took a tenth
    /// of the gateway's time when read every second; at the rates of these runs the bounded log
    /// holds well over this interval (a read that finds it wrapped is flagged as a gap).
    public var logInterval: Duration = .seconds(2)

    public init(floor: Floor, campaigns: [String], duration: Duration) {
        self.floor = floor
        self.campaigns = campaigns
        self.duration = duration
    }

    /// Runs the agents and watches; `meter` gets every agent event; `progress` is called about
    /// once a second.
    public func run(
        setup: CampaignSetup, probe: ClusterProbe, meter: AgentMeter,
        progress: @escaping @Sendable (Progress) -> Void
    ) async throws -> Outcome {
        let pool = SyntheticAgentPool(accounts: floor.accounts, profile: floor.profile, seed: floor.seed)
        let secret = floor.secret
        let members = try await probe.members()
        let metricsAtStart = await probe.metrics(nodes: members.nodes)
        let processMetricsAtStart = await processMetrics(probe, members)
        let started = ContinuousClock.now
        let (watched, summary) = try await pool.run(
            host: floor.gatewayHost, port: floor.gatewayPort,
            settings: {
                ConnectionSettings(localID: $0.login, localRole: .agent, secret: ClusterSecret(secret))
            },
            clock: ScaledClock(base: SystemClock(), scale: floor.timeScale),
            observe: { meter.observe($0, $1) }
        ) { agents in
            try await watch(
                agents: agents, started: started, setup: setup, probe: probe, members: members,
                metricsAtStart: metricsAtStart, processMetricsAtStart: processMetricsAtStart, meter: meter,
                progress: progress)
        }
        var outcome = watched
        outcome.agents = summary
        outcome.wallSeconds = (ContinuousClock.now - started).seconds
        return outcome
    }

    /// The inbound calls counted since `metricsAtStart`; nil without inbound queues.
    private func inbound(
        metricsAtStart: String, now metrics: String, since started: ContinuousClock.Instant
    ) -> InboundTraffic? {
        guard !inboundQueues.isEmpty else { return nil }
        var traffic = InboundTraffic(
            start: metricsAtStart, end: metrics, queues: Set(inboundQueues + campaignQueues),
            campaignQueues: Set(campaignQueues),
            source:
                "nodes' dialer_node_inbound_calls_total{queue,outcome}, counted when a caller's wait ends, from the "
                + "agents' start to the final read; callers refused by the carrier or still waiting are not in it")
        if let rate = inboundCallsPerMinute {
            traffic.callsPerMinute = rate
            let callMinutes = (ContinuousClock.now - started).seconds * floor.timeScale / 60
            traffic.expectedArrivals = rate * Double(inboundQueues.count) * callMinutes
        }
        return traffic
    }

    private func watch(
        agents: [SyntheticAgent], started: ContinuousClock.Instant, setup: CampaignSetup, probe: ClusterProbe,
        members: (gateway: String?, nodes: [String]), metricsAtStart: String,
        processMetricsAtStart: [String: String], meter: AgentMeter,
        progress: @Sendable (Progress) -> Void
    ) async throws -> Outcome {
        var grants = GrantTracker()
        var reports: [CampaignReport] = []
        var busySamples = 0
        var loggedInSamples = 0
        var dialingEnd: ContinuousClock.Instant?
        var settled = false
        var lastReportRead: ContinuousClock.Instant?
        var lastLogRead: ContinuousClock.Instant?

        /// Returns the agents busy with the campaigns' calls: looking at a (preview) offer or on a
        /// call of an attempt. An agent reserved is not counted: the call it is reserved for is in
        /// flight at a node while it is a campaign's, and inbound callers, who keep arriving,
        /// must not hold the finish back.
        @discardableResult
        func look(finishing: Bool) async -> Int {
            var loggedIn = 0
            var busy = 0
            var onCalls = 0
            for agent in agents {
                switch await agent.phase {
                case .loggedOut, .loggingIn: break
                case .available, .paused: loggedIn += 1
                case .wrappingUp:
                    loggedIn += 1
                    busy += 1
                case .consideringOffer, .onCall(_, .some):
                    loggedIn += 1
                    busy += 1
                    onCalls += 1
                case .reserved, .onCall(_, .none):
                    loggedIn += 1
                    busy += 1
                }
            }
            if !finishing {
                busySamples += busy
                loggedInSamples += loggedIn
            }
            let reportDue =
                finishing ? onCalls == 0 : lastReportRead.map { ContinuousClock.now - $0 >= reportInterval } ?? true
            if reportDue {
                lastReportRead = ContinuousClock.now
                var fresh: [CampaignReport] = []
                for campaign in campaigns {
                    if let report = try? await setup.report(campaign: campaign) { fresh.append(report) }
                }
                if fresh.count == campaigns.count { reports = fresh }
            }
            if lastLogRead.map({ ContinuousClock.now - $0 >= logInterval }) ?? true, let gateway = members.gateway {
                lastLogRead = ContinuousClock.now
                if let log = try? await probe.reservationLog(gateway: gateway, sinceMs: grants.nextSinceMs) {
                    grants.take(log)
                }
            }
            var inboundNow: InboundTraffic?
            if !inboundQueues.isEmpty {
                inboundNow = inbound(
                    metricsAtStart: metricsAtStart, now: await probe.metrics(nodes: members.nodes), since: started)
            }
            progress(
                Progress(
                    elapsed: ContinuousClock.now - started, finishing: finishing, reports: reports,
                    agentsLoggedIn: loggedIn, agentsBusy: busy, grants: grants.grants, inbound: inboundNow))
            return onCalls
        }

        var metricsOnceStarted: String?
        var everyAgentStarted: Double?
        while ContinuousClock.now - started < duration {
            await look(finishing: false)
            if metricsOnceStarted == nil, meter.startedAgents >= agents.count {
                everyAgentStarted = (ContinuousClock.now - started).seconds
                metricsOnceStarted = await probe.metrics(nodes: members.nodes)
            }
            let left = duration - (ContinuousClock.now - started)
            if left > .zero { try await Task.sleep(for: min(sampleInterval, left)) }
        }
        dialingEnd = ContinuousClock.now
        for campaign in campaigns { try await setup.disable(campaign: campaign) }
        // Settled: no call in progress at the nodes, no agent reserved or on a call, and the
        // statistics unchanged since the last look. (Contacts a node holds in its buffer stay
        // open attempts until the node is lost: they do not end.)
        let deadline = ContinuousClock.now + finishTimeout
        var lastFigures: [[Int]] = []
        while ContinuousClock.now < deadline {
            let onCalls = await look(finishing: true)
            let figures = reports.map { [$0.attempts, $0.openAttempts, $0.liveAnswers, $0.connected, $0.abandons] }
            if onCalls == 0, figures == lastFigures, await probe.callsInFlight(nodes: members.nodes) == 0 {
                settled = true
                break
            }
            lastFigures = figures
            try await Task.sleep(for: sampleInterval)
        }
        // The last reports come after the calls ended, so that they are final.
        var last: [CampaignReport] = []
        for campaign in campaigns { last.append(try await setup.report(campaign: campaign)) }
        if let gateway = members.gateway,
            let log = try? await probe.reservationLog(gateway: gateway, sinceMs: grants.nextSinceMs)
        {
            grants.take(log)
        }
        // The agents' calls first, the nodes' counters second: the gateway tells an agent of its
        // call as it acknowledges the node's confirm, and the node counts the caller taken on that
        // acknowledgement; read in this order, the counters hold every inbound call the agents
        // counted but one confirmed in the instant between the two reads.
        let agentCalls = meter.callsByQueue
        let metricsAtEnd = await probe.metrics(nodes: members.nodes)
        let processMetricsAtEnd = await processMetrics(probe, members)
        return Outcome(
            dialingSeconds: ((dialingEnd ?? ContinuousClock.now) - started).seconds, wallSeconds: 0, reports: last,
            agents: SyntheticAgentPool.Summary(),
            occupancy: loggedInSamples > 0 ? Double(busySamples) / Double(loggedInSamples) : nil,
            grants: grants.grants, grantToConfirm: grants.grantToConfirm, grantLogGaps: grants.gaps, settled: settled,
            inbound: inbound(metricsAtStart: metricsAtStart, now: metricsAtEnd, since: started),
            agentCallsByQueue: agentCalls, nodeMetricsAtStart: metricsAtStart, nodeMetricsAtEnd: metricsAtEnd,
            nodeMetricsOnceStarted: metricsOnceStarted, everyAgentStartedSeconds: everyAgentStarted,
            processMetricsAtStart: processMetricsAtStart, processMetricsAtEnd: processMetricsAtEnd)
    }

    private func processMetrics(
        _ probe: ClusterProbe, _ members: (gateway: String?, nodes: [String])
    ) async -> [String: String] {
        var texts: [String: String] = [:]
        if let gateway = members.gateway { texts["gateway"] = await probe.metrics(at: gateway) }
        for node in members.nodes { texts["node \(node)"] = await probe.metrics(at: node) }
        return texts
    }
}

/// Follows the gateway's bounded grant log across reads: counts grants once each and times
/// grant → confirm (`connected`) per request.
struct GrantTracker {
    private(set) var grants = 0
    private(set) var grantToConfirm = makeLatencyHistogram()
    private(set) var gaps = false
    /// Entries already counted that a later read may send again (those of its first millisecond),
    /// with their moment.
    private var seen: [String: Int64] = [:]
    private var grantedAt: [String: Int64] = [:]
    private var lastNowMs: Int64?
    /// The gateway's time at the first read: older entries are from before the run.
    private var startMs: Int64?

    /// What the next read asks for: the entries from the last read's `now_ms` on (the gateway
    /// reads its clock before its log, so nothing newer than the last read is missed).
    var nextSinceMs: Int64? { lastNowMs }

    mutating func take(_ log: ReservationLog) {
        guard let startMs else {
            startMs = log.nowMs
            lastNowMs = log.nowMs
            return
        }
        // The log keeps its newest entries only: entries since the last read may have been
        // dropped before this one.
        if log.truncated { gaps = true }
        for entry in log.entries where entry.momentMs >= startMs {
            let key = "\(entry.request)|\(entry.event)|\(entry.momentMs)"
            guard seen.updateValue(entry.momentMs, forKey: key) == nil else { continue }
            switch entry.event {
            case "granted":
                grants += 1
                grantedAt[entry.request] = entry.momentMs
            case "connected":
                if let granted = grantedAt.removeValue(forKey: entry.request) {
                    _ = grantToConfirm.record(UInt64(max(0, entry.momentMs - granted)) * 1000)
                }
            default:
                break
            }
        }
        lastNowMs = log.nowMs
        // The next read starts at this one's `now_ms`: older entries cannot come again.
        seen = seen.filter { $0.value >= log.nowMs }
    }
}
