import AgentGateway
import ArgumentParser
import DialerConfig
import DialerRuntime
import Hummingbird
import Logging

/// The agent gateway: agent sessions, reservations and queue fencing.
@main
struct AgentGatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent-gateway",
        abstract: "The dialer's agent gateway: agent sessions, reservations, queue fencing.",
        discussion: ProcessOptions.overrideHelp)

    @OptionGroup var options: ProcessOptions

    func run() async throws {
        let config = try options.load(role: "gateway")
        let registry = ProcessBootstrap.bootstrap(logLevel: config.cluster.logLevel)
        var logger = Logger(label: "dialer.gateway")
        logger[metadataKey: "member"] = "\(config.gateway.id)"
        // One descriptor per agent connection: 10,000 agents need more than the usual 1,024.
        if let limit = OpenFileLimit.raiseToHardLimit() {
            logger.info("open file limit", metadata: ["soft": "\(limit)"])
        }
        // With cluster.thread_slice_us set, threads woken by a frame preempt sooner (README).
        SchedulerSlice.apply(configured: config.cluster.threadSlice, logger: logger)
        let process = GatewayProcess(config: config, registry: registry, readyFile: options.readyFile, logger: logger)
        try await process.application().runService()
    }
}
