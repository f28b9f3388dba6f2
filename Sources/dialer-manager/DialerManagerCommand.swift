import ArgumentParser
import DialerConfig
import DialerManager
import DialerRuntime
import Hummingbird
import Logging

/// The campaign manager: cluster membership, the queue map, and the HTTP API.
@main
struct DialerManagerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dialer-manager",
        abstract: "The dialer's campaign manager: membership, queue leases and the HTTP API.",
        discussion: ProcessOptions.overrideHelp)

    @OptionGroup var options: ProcessOptions

    func run() async throws {
        let config = try options.load(role: "manager")
        let registry = ProcessBootstrap.bootstrap(logLevel: config.cluster.logLevel)
        var logger = Logger(label: "dialer.manager")
        logger[metadataKey: "member"] = "\(config.manager.id)"
        let process = try await ManagerProcess.make(
            config: config, registry: registry, readyFile: options.readyFile, logger: logger)
        try await process.application().runService()
    }
}
