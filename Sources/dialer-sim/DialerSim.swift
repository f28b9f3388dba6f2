import ArgumentParser
import DialerCore
import DialerLoad
import DialerSimulation
import Foundation
import Synchronization

/// `dialer-sim`: compares pacing policies on a scenario in virtual time.
@main
struct DialerSim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dialer-sim",
        abstract: "Simulate a campaign in virtual time and compare pacing policies on the same customers.",
        discussion: """
            Runs the product's own pacing policies and reservation book over a scenario file \
            (see scenarios/) and prints, per policy: occupancy, talk minutes per agent-hour, \
            abandon rate over the shift and its worst rolling 24 h and 1 h windows, wait between \
            calls and contacts per hour. Same scenario and seed, same figures.

            A scenario with "engine": "cluster" runs the cluster simulator instead: the product's \
            queue runners and reservation book, synthetic agents, inbound callers, latency, the \
            gateway's picture interval and the time scale (see scenarios/README.md). \
            --replay runs the same engine on the work of a dialer-loadtest scenario file or of \
            `dialerctl demo` (--replay demo), for a side-by-side with the cluster.
            """
    )

    @Option(help: "The scenario file (JSON).")
    var scenario: String?

    @Option(help: "A load scenario file (load-scenarios/), or 'demo': simulate that run's work on the cluster engine.")
    var replay: String?

    @Option(help: "With --replay: call seconds per wall second, instead of the run's.")
    var timeScale: Int?

    @Option(help: "With --replay: dialing time in wall seconds, instead of the run's.")
    var duration: Double?

    @Option(help: "With --replay: agents, instead of the run's.")
    var agents: Int?

    @Option(help: "With --replay: node-gateway latency one way, in wall milliseconds (default 1).")
    var latencyMs: Double?

    @Option(help: "With --replay: the gateway's picture interval in wall milliseconds (default 100).")
    var pictureIntervalMs: Double?

    @Option(help: "Comma-separated policy names from the scenario (or the standard set), or 'all'.")
    var policies = "all"

    @Option(help: "The seed, instead of the scenario's.")
    var seed: UInt64?

    @Option(help: "Also write the report as JSON to this file.")
    var json: String?

    @Option(help: "Policies simulated at once (default: the processor count).")
    var parallel: Int?

    @Flag(help: "Do not print progress to standard error.")
    var quiet = false

    func run() async throws {
        if let replay {
            if self.scenario != nil { Self.fail("give --scenario or --replay, not both") }
            runCluster(replayScenario(replay))
            return
        }
        guard let path = self.scenario else { Self.fail("give --scenario FILE or --replay FILE") }
        if ClusterScenario.isClusterScenario(path: path) {
            do {
                var cluster = try ClusterScenario.load(path: path)
                if let seed { cluster.seed = seed }
                runCluster(cluster)
            } catch {
                Self.fail("bad scenario: \(error)")
            }
            return
        }
        let scenario: Scenario
        do {
            scenario = try Scenario.load(path: path)
        } catch {
            // path: field: reason, on one line, as compilers report errors.
            Self.fail("bad scenario: \(error)")
        }
        let selected = select(from: scenario.effectivePolicies)
        let simulator = Simulator(scenario: scenario)
        let started = ContinuousClock.now
        let progress = ProgressPrinter(enabled: !quiet)
        let report = await simulator.compare(selected, seed: seed, parallelism: parallel) { policy, done in
            progress.update(policy: policy, done: done)
        }
        let elapsed = ContinuousClock.now - started

        print(
            "scenario \(report.scenario): \(report.agents) agents, \(report.shiftHours) h × \(report.days) day(s), "
                + "target abandon \(report.targetAbandonRate * 100) %, seed \(report.seed)")
        print(report.table())
        if !quiet {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            Self.standardError("simulated in " + String(format: "%.1f", seconds) + " s (wall clock)")
        }
        if let json {
            do {
                try Data((report.json() + "\n").utf8).write(to: URL(fileURLWithPath: json))
            } catch {
                Self.fail("cannot write \(json): \(error.localizedDescription)")
            }
        }
    }

    /// Runs the cluster engine and prints (and writes) its report.
    private func runCluster(_ scenario: ClusterScenario) {
        let started = ContinuousClock.now
        var last = -1
        let report = ClusterRun(scenario: scenario).run { done in
            let tenth = Int(done * 10)
            guard !quiet, tenth > last else { return }
            last = tenth
            Self.standardError("  \(tenth * 10) %")
        }
        let elapsed = ContinuousClock.now - started
        print(
            "scenario \(report.scenario) (cluster engine): \(report.agents) agents, "
                + String(format: "%.3g", report.shiftHours) + " h of call time at time scale "
                + String(format: "%g", report.timeScale) + ", latency "
                + String(format: "%g", report.gatewayLatencyMilliseconds) + " ms, pictures every "
                + String(format: "%g", report.pictureIntervalMilliseconds) + " ms (wall), seed \(report.seed)")
        print(report.table())
        if !quiet {
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            Self.standardError("simulated in " + String(format: "%.1f", seconds) + " s (wall clock)")
        }
        if let json {
            do {
                try Data((report.json() + "\n").utf8).write(to: URL(fileURLWithPath: json))
            } catch {
                Self.fail("cannot write \(json): \(error.localizedDescription)")
            }
        }
    }

    /// The cluster scenario of a load test's or the demo's work: the same trunk population
    /// (`TrunkPlan`), campaigns, team ranking and agent profile as the run builds.
    private func replayScenario(_ source: String) -> ClusterScenario {
        var load = LoadScenario()
        var profile: SyntheticAgentProfile
        var name: String
        if source == "demo" {
            // `dialerctl demo`'s defaults (Demo.Options) and its agents (Demo.profile).
            let demo = Demo.Options()
            load.agents = demo.agents
            load.timeScale = demo.timeScale
            load.durationSeconds = demo.duration.seconds
            load.seed = demo.seed
            load.campaigns = [.init(queue: Demo.Names.campaignQueue, mode: demo.mode, contacts: demo.contacts)]
            load.inboundQueues = [Demo.Names.inboundQueue]
            load.inboundCallsPerMinute = demo.inboundCallsPerMinute
            profile = SyntheticAgentProfile(
                talkSeconds: .logNormal(mean: 90, standardDeviation: 45),
                wrapUpSeconds: .logNormal(mean: 15, standardDeviation: 8), pauseProbability: 0.05,
                pauseSeconds: .logNormal(mean: 60, standardDeviation: 30),
                dispositions: [.init(name: "sale", weight: 1), .init(name: "no-sale", weight: 4)])
            name = "replay-demo"
        } else {
            do {
                load = try LoadScenario.load(path: source)
            } catch {
                Self.fail("bad load scenario: \(error)")
            }
            func seconds(_ value: LoadScenario.Seconds) -> SyntheticAgentProfile.Distribution {
                value.standardDeviation == 0
                    ? .fixed(seconds: value.mean)
                    : .logNormal(mean: value.mean, standardDeviation: value.standardDeviation)
            }
            // As LoadTest builds its floor.
            profile = SyntheticAgentProfile(
                talkSeconds: seconds(load.talkSeconds), wrapUpSeconds: seconds(load.wrapUpSeconds),
                dispositions: [.init(name: "sale", weight: 1), .init(name: "no-sale", weight: 4)])
            name = "replay-" + load.name
        }
        if let agents { load.agents = agents }
        if let timeScale { load.timeScale = timeScale }
        if let duration { load.durationSeconds = duration }
        if let seed { load.seed = seed }
        guard (1...20_000).contains(load.agents) else { Self.fail("--agents must be from 1 to 20000") }
        guard (1...3600).contains(load.timeScale) else { Self.fail("--time-scale must be from 1 to 3600") }
        guard load.durationSeconds > 0, load.durationSeconds <= 86_400 else {
            Self.fail("--duration must be above 0 and at most 86400 seconds")
        }
        let dids = load.inboundQueues.indices.map { TrunkPlan.did($0) }
        let capacity = load.trunkCapacity
        let population = TrunkPlan.population(
            dids: dids, callsPerMinute: load.callersPerMinute, channels: capacity.channels,
            callsPerSecond: capacity.callsPerSecond, seed: load.seed)
        let scenario = ClusterScenario.replay(
            name: name, seed: load.seed, agents: load.agents, timeScale: Double(load.timeScale),
            wallSeconds: load.durationSeconds,
            campaigns: load.campaigns.map {
                (
                    queue: QueueID($0.queue), mode: DialerCore.DialingMode(rawValue: $0.mode.rawValue) ?? .predictive,
                    contacts: $0.contacts
                )
            },
            inboundQueues: load.inboundQueues.map(QueueID.init), population: population, agentProfile: profile,
            gatewayLatencyMilliseconds: latencyMs ?? 1, pictureIntervalMilliseconds: pictureIntervalMs ?? 100)
        do {
            try scenario.validate()
        } catch {
            Self.fail("cannot replay \(source): \(error)")
        }
        return scenario
    }

    private func select(from available: [PolicySpec]) -> [PolicySpec] {
        let names = policies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        if names == ["all"] { return available }
        return names.map { name in
            guard let policy = available.first(where: { $0.name == name }) else {
                Self.fail(
                    "unknown policy '\(name)'; this scenario has: \(available.map(\.name).joined(separator: ", "))")
            }
            return policy
        }
    }

    static func standardError(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }

    /// Says what is wrong and exits with status 2, without the usage text: the arguments were
    /// well-formed, what they named was not.
    static func fail(_ message: String) -> Never {
        standardError("dialer-sim: " + message)
        Self.exit(withError: ExitCode(2))
    }
}

/// Prints each policy's progress to standard error in steps of a tenth, so a long run shows
/// it is alive without flooding the terminal.
final class ProgressPrinter: Sendable {
    private let enabled: Bool
    private let reported = Mutex<[String: Int]>([:])

    init(enabled: Bool) {
        self.enabled = enabled
    }

    func update(policy: String, done: Double) {
        guard enabled else { return }
        let tenth = Int((done * 10).rounded(.down))
        let isNew = reported.withLock { reported in
            guard tenth > reported[policy, default: -1] else { return false }
            reported[policy] = tenth
            return true
        }
        if isNew { DialerSim.standardError("  \(policy): \(tenth * 10) %") }
    }
}
