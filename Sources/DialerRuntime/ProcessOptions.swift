public import ArgumentParser
public import DialerConfig
import FoundationEssentials

/// The options every cluster process takes. Each maps onto a configuration key, so the
/// precedence is the same for all of them: flag, then environment variable, then file, then
/// default.
public struct ProcessOptions: ParsableArguments, Sendable {
    @Option(name: .long, help: "The cluster configuration file (TOML). Environment: DIALER_CONFIG.")
    public var config: String?

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp(
            "Override one configuration key, e.g. --set cluster.lease_duration_ms=5000.", valueName: "key=value"))
    public var overrides: [String] = []

    @Option(name: .long, help: "This process's HTTP address (host:port; port 0 picks a free one).")
    public var httpAddress: String?

    @Option(
        name: .long,
        help: "The managers' cluster addresses (host:port, comma-separated: the active one is found among them).")
    public var managerAddress: String?

    @Option(name: .long, help: "The gateway's cluster address (host:port).")
    public var gatewayAddress: String?

    @Option(name: .long, help: "Write a JSON file with the bound addresses once listening (for tools and tests).")
    public var readyFile: String?

    public init() {}

    /// Loads the configuration for a process of `role` ("manager", "gateway" or "node").
    public func load(role: String, nodeID: String? = nil) throws -> ClusterConfig {
        let environment = ProcessInfo.processInfo.environment
        var overrides: [String] = []
        if let managerAddress {
            let first = managerAddress.split(separator: ",").first.map(String.init) ?? managerAddress
            overrides.append("manager.cluster_address=\(first)")
            overrides.append("manager.addresses=\(managerAddress)")
        }
        if let gatewayAddress { overrides.append("gateway.cluster_address=\(gatewayAddress)") }
        if let httpAddress { overrides.append("\(role).http_address=\(httpAddress)") }
        overrides += self.overrides
        do {
            return try ConfigLoader.load(
                path: config ?? environment["DIALER_CONFIG"], overrides: overrides, environment: environment,
                nodeID: nodeID)
        } catch {
            throw CommandFailure("configuration: \(error)")
        }
    }

    /// The `--help` text listing every key that can be overridden.
    public static var overrideHelp: String {
        var lines = [
            "Every configuration value can be set by flag (--set section.key=value) or by environment "
                + "variable (DIALER_SECTION_KEY); a flag beats the environment, which beats the file.",
            "",
            "Keys:",
        ]
        for (key, help) in ConfigLoader.overridableKeys {
            lines.append("  \(key)")
            lines.append("      \(help)")
        }
        return lines.joined(separator: "\n")
    }
}

/// A failure to report as one line, without the usage text ArgumentParser adds to a
/// `ValidationError` (the command line was fine; the file, the server or the state was not).
public struct CommandFailure: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
