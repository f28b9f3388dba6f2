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

    @Option(
        name: .long,
        help: "Which manager this process is: [manager]'s id (the default) or a [[standby]] entry's id.")
    var id: String?

    func run() async throws {
        var config = try options.load(role: "manager")
        if let id {
            guard let selected = config.asManager(id: id) else {
                let ids = ([config.manager.id] + config.standbys.map(\.id)).joined(separator: ", ")
                throw CommandFailure("--id \(id): no manager has this id (the managers are \(ids))")
            }
            config = selected
        }
        let registry = ProcessBootstrap.bootstrap(logLevel: config.cluster.logLevel)
        var logger = Logger(label: "dialer.manager")
        logger[metadataKey: "member"] = "\(config.manager.id)"
        let process = try await ManagerProcess.make(
            config: config, registry: registry, readyFile: options.readyFile, logger: logger)
        try await process.application().runService()
    }
}
