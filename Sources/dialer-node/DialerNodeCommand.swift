import ArgumentParser
import DialerConfig
import DialerNode
import DialerRuntime
import FoundationEssentials
import Hummingbird
import Logging

/// A dialer node: works the queues the manager leases to it.
@main
struct DialerNodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dialer-node",
        abstract: "A dialer node: paces and places calls for the queues leased to it.",
        discussion: ProcessOptions.overrideHelp)

    @Option(name: .long, help: "This node's id (a [[node]] of the file, or a new one). Environment: DIALER_NODE_ID.")
    var id: String?

    @OptionGroup var options: ProcessOptions

    func run() async throws {
        guard let id = id ?? ProcessInfo.processInfo.environment[ConfigLoader.nodeIDEnvironmentVariable] else {
            throw ValidationError("a node needs an id: --id NAME or DIALER_NODE_ID")
        }
        let config = try options.load(role: "node", nodeID: id)
        guard let node = config.node(id: id) else { throw ValidationError("node \(id) is not configured") }
        // A trunk that cannot be used (a population file, a SIP entry) stops the node before it
        // joins: better than a node that joins and never dials.
        let telephony: NodeTelephonyFactory
        do {
            telephony = try NodeTrunks.telephony(config: config, node: node)
        } catch {
            throw ValidationError("\(error)")
        }
        let registry = ProcessBootstrap.bootstrap(logLevel: config.cluster.logLevel)
        var logger = Logger(label: "dialer.node")
        logger[metadataKey: "member"] = "\(id)"
        // With cluster.thread_slice_us set, threads woken by a frame preempt sooner (README).
        SchedulerSlice.apply(configured: config.cluster.threadSlice, logger: logger)
        let process = NodeProcess(
            config: config, node: node, registry: registry, readyFile: options.readyFile, logger: logger,
            telephony: telephony)
        try await process.application().runService()
    }
}
