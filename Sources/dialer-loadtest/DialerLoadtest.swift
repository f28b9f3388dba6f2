import ArgumentParser
import DialerLoad
import Foundation
import UnixSignals

/// Puts synthetic agents and campaigns on a cluster for a bounded time and measures it.
@main
struct DialerLoadtest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dialer-loadtest",
        abstract: "Run synthetic agents and campaigns against a cluster (started here by default) and measure it.",
        discussion: """
            Without --manager, starts a cluster (manager, gateway, --nodes nodes) from this build in a temporary \
            directory. With --manager, --gateway, --token and --secret (or DIALER_CLUSTER_SECRET), runs against a \
            running cluster whose file declares the campaigns' queues. Flags override the scenario file's fields.
            """)

    @Option(name: .long, help: "Scenario file (JSON; see BENCHMARKS.md). Unknown fields are refused.")
    var scenario: String?
    @Option(name: .long, help: "Synthetic agents.") var agents: Int?
    @Option(name: .long, help: "Dialer nodes of the cluster started here.") var nodes: Int?
    @Option(name: .long, help: "Dialing time in wall seconds.") var duration: Double?
    @Option(name: .long, help: "Call seconds per wall second.") var timeScale: Int?
    @Option(name: .long, help: "Contacts of each campaign.") var contacts: Int?
    @Option(name: .long, help: "Mode of every campaign (preview, progressive, power, predictive, agentless).")
    var mode: String?
    @Option(name: .long, help: "Campaign queues, comma-separated (one campaign each).") var queues: String?
    @Option(name: .long, help: "Seed of the agents' behaviour.") var seed: UInt64?
    @Option(name: .long, help: "Inbound queues, comma-separated (none: an empty string).") var inboundQueues: String?
    @Option(name: .long, help: "Callers per minute of call time on each inbound queue's number (0: none).")
    var inboundCallsPerMinute: Double?
    @Option(name: .long, help: "The simulated carrier's concurrent calls (default: sized for the agents).")
    var trunkChannels: Int?
    @Option(name: .long, help: "The carrier's calls per second of call time (default: sized for the agents).")
    var trunkCallsPerSecond: Int?

    @Option(name: .long, help: "A running cluster's manager HTTP address (host:port).") var manager: String?
    @Option(name: .long, help: "The running cluster's gateway cluster address (host:port).") var gateway: String?
    @Option(name: .long, help: "API token (admin). Environment: DIALER_TOKEN.") var token: String?
    @Option(name: .long, help: "Cluster secret for the agents. Environment: DIALER_CLUSTER_SECRET.") var secret: String?

    @Option(name: .long, help: "Run directory of the cluster started here (default: temporary, removed).")
    var runDirectory: String?
    @Option(name: .long, help: "Where to write the result as JSON.") var json = "loadtest-result.json"
    @Flag(name: .long, help: "No progress bar on standard error.") var quiet = false

    func run() async throws {
        var plan = LoadScenario()
        if let scenario {
            do {
                plan = try LoadScenario.load(path: scenario)
            } catch {
                throw ValidationError(error.description)
            }
        }
        if let agents { plan.agents = agents }
        if let nodes { plan.nodes = nodes }
        if let duration { plan.durationSeconds = duration }
        if let timeScale { plan.timeScale = timeScale }
        if let seed { plan.seed = seed }
        if let inboundQueues { plan.inboundQueues = inboundQueues.split(separator: ",").map(String.init) }
        if let inboundCallsPerMinute { plan.inboundCallsPerMinute = inboundCallsPerMinute }
        if let trunkChannels { plan.trunkChannels = trunkChannels }
        if let trunkCallsPerSecond { plan.trunkCallsPerSecond = trunkCallsPerSecond }
        if let queues {
            let mode = plan.campaigns.first?.mode ?? .predictive
            let contacts = plan.campaigns.first?.contacts ?? 20_000
            plan.campaigns = queues.split(separator: ",").map {
                LoadScenario.Campaign(queue: String($0), mode: mode, contacts: contacts)
            }
        }
        if let mode {
            guard let mode = DialingMode(rawValue: mode) else {
                throw ValidationError(
                    "--mode must be one of \(DialingMode.allCases.map(\.rawValue).joined(separator: ", ")) (is \(mode))"
                )
            }
            for index in plan.campaigns.indices { plan.campaigns[index].mode = mode }
        }
        if let contacts { for index in plan.campaigns.indices { plan.campaigns[index].contacts = contacts } }
        do {
            try plan.validate()
        } catch {
            throw ValidationError("--\(error.field ?? "flags") (or the scenario's field): \(error.reason)")
        }

        let target: LoadTest.Target
        if let manager {
            let environment = ProcessInfo.processInfo.environment
            guard let gateway else {
                throw ValidationError("--manager needs --gateway (the gateway's cluster address)")
            }
            guard let token = token ?? environment["DIALER_TOKEN"] else {
                throw ValidationError("--manager needs --token or DIALER_TOKEN")
            }
            guard let secret = secret ?? environment["DIALER_CLUSTER_SECRET"] else {
                throw ValidationError("--manager needs --secret or DIALER_CLUSTER_SECRET (the agents authenticate)")
            }
            target = .running(manager: manager, gateway: gateway, token: token, secret: secret)
        } else {
            target = .start(runDirectory: runDirectory, keepRunDirectory: runDirectory != nil)
        }

        let quiet = self.quiet
        let result = try await Self.cancelledOnSignal { [plan] in
            try await LoadTest(scenario: plan, target: target).run { line in
                guard !quiet else { return }
                FileHandle.standardError.write(Data(("\r" + line + "\u{1B}[K").utf8))
            }
        }
        if !quiet { FileHandle.standardError.write(Data("\n".utf8)) }
        print(result.table())
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        try encoder.encode(result).write(to: URL(fileURLWithPath: json))
        print("result written to \(json)")
    }

    /// Runs `work`, and cancels it on SIGINT or SIGTERM instead of dying on the signal: a
    /// cancelled load test stops the cluster it started (gracefully, nodes first) before it
    /// throws, so that `kill -INT` from a script leaves no process behind, as Ctrl-C does.
    static func cancelledOnSignal<Result: Sendable>(
        _ work: @escaping @Sendable () async throws -> Result
    ) async throws -> Result {
        try await withThrowingTaskGroup(of: Result?.self) { group in
            group.addTask { try await work() }
            group.addTask {
                for await signal in await UnixSignalsSequence(trapping: .sigint, .sigterm) {
                    FileHandle.standardError.write(Data("\n\(signal): stopping the run and its cluster\n".utf8))
                    return nil
                }
                return nil
            }
            while let next = try await group.next() {
                guard let result = next else {
                    // The signal: cancel the work and wait for it to stop what it started.
                    group.cancelAll()
                    continue
                }
                group.cancelAll()
                return result
            }
            throw CancellationError()
        }
    }
}
