public import DialerRuntime
public import DialerSimulation
import Foundation

/// A whole cluster on this machine for the demo and the load tester: a generated
/// configuration in a run directory, the manager (embedded store), the agent gateway and the
/// nodes as separate processes of this build, every port chosen free by the system.
///
/// Call ``stop()`` at the end, also on failure.
public final class LocalCluster: Sendable {
    /// A queue declared in the cluster file.
    public struct QueueDeclaration: Hashable, Sendable {
        public var id: String
        /// `campaign` or `inbound`.
        public var kind: String
        /// The numbers whose calls come to the queue (`[[queue]] dids`): an inbound queue's lines.
        public var dids: [String]

        public init(id: String, kind: String, dids: [String] = []) {
            self.id = id
            self.kind = kind
            self.dids = dids
        }
    }

    /// What to start.
    public struct Plan: Sendable {
        /// Where the configuration, logs, ready files and the database go.
        public var runDirectory: String
        public var nodes: [String]
        public var queues: [QueueDeclaration]
        /// Call seconds per wall second on the nodes' simulated trunks.
        public var trunkTimeScale: Int
        /// The nodes' simulated trunk population (callers of the DIDs, carrier caps), written
        /// beside the configuration; nil: the nodes' built-in population, which has no callers.
        public var trunkPopulation: SimulatedTrunk.Population?
        /// PBKDF2 rounds for agent passwords: low, because the demo and load tests create
        /// hundreds of synthetic agents whose passwords protect nothing.
        public var passwordIterations = 1_000
        public var logLevel = "notice"
        /// Appended to the cluster file: `[[trunk]]` entries (the demo's SIP carrier).
        public var extraTOML = ""

        public init(runDirectory: String, nodes: [String], queues: [QueueDeclaration], trunkTimeScale: Int) {
            self.runDirectory = runDirectory
            self.nodes = nodes
            self.queues = queues
            self.trunkTimeScale = trunkTimeScale
        }
    }

    public let plan: Plan
    public let launcher: ClusterLauncher
    /// The generated cluster file.
    public let configPath: String
    /// The cluster secret, random for each run; synthetic agents authenticate with it.
    public let secret: String

    /// The embedded store.
    public var databasePath: String { plan.runDirectory + "/dialer.sqlite" }
    /// The file where the manager writes its first admin token.
    public var adminTokenPath: String { plan.runDirectory + "/admin.token" }

    /// Writes the configuration; starts nothing yet.
    public init(plan: Plan, binDirectory: String = ClusterLauncher.ownBinDirectory) throws {
        self.plan = plan
        let directory = plan.runDirectory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.secret = (0..<4).map { _ in String(UInt64.random(in: 0...UInt64.max), radix: 16) }.joined()
        var populationLine = ""
        if let population = plan.trunkPopulation {
            let path = directory + "/trunk-population.json"
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(population).write(to: URL(fileURLWithPath: path))
            populationLine = "trunk_population = \"\(path)\""
        }
        var toml = """
            # Generated for one run of the demo or the load tester.
            [cluster]
            secret = "\(secret)"
            trunk_time_scale = \(plan.trunkTimeScale)
            log_level = "\(plan.logLevel)"
            run_directory = "\(directory)"
            \(populationLine)

            [manager]
            cluster_address = "127.0.0.1:0"
            http_address = "127.0.0.1:0"
            database = "\(directory)/dialer.sqlite"
            password_iterations = \(plan.passwordIterations)

            [gateway]
            cluster_address = "127.0.0.1:0"
            http_address = "127.0.0.1:0"

            """
        for node in plan.nodes {
            toml += "\n[[node]]\nid = \"\(node)\"\nhttp_address = \"127.0.0.1:0\"\n"
        }
        for queue in plan.queues {
            toml += "\n[[queue]]\nid = \"\(queue.id)\"\nkind = \"\(queue.kind)\"\n"
            if !queue.dids.isEmpty {
                toml += "dids = [" + queue.dids.map { "\"\($0)\"" }.joined(separator: ", ") + "]\n"
            }
        }
        toml += plan.extraTOML
        self.configPath = directory + "/cluster.toml"
        try toml.write(toFile: configPath, atomically: true, encoding: .utf8)
        // The file holds the secret.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: configPath)
        self.launcher = try ClusterLauncher(binDirectory: binDirectory, runDirectory: directory)
    }

    /// Starts the manager, the gateway and every node, each once the one before is ready.
    public func start() async throws {
        let manager = try await launcher.start(
            executable: "dialer-manager", role: "manager", id: "manager", arguments: ["--config", configPath])
        let managerAddress = manager.ready.clusterAddress ?? ""
        let gateway = try await launcher.start(
            executable: "agent-gateway", role: "gateway", id: "gateway",
            arguments: ["--config", configPath, "--manager-address", managerAddress])
        let gatewayAddress = gateway.ready.clusterAddress ?? ""
        for node in plan.nodes {
            try await launcher.start(
                executable: "dialer-node", role: "node", id: node,
                arguments: [
                    "--config", configPath, "--id", node, "--manager-address", managerAddress,
                    "--gateway-address", gatewayAddress,
                ])
        }
    }

    private func member(_ id: String) -> ClusterLauncher.Member? { launcher.members.first { $0.id == id } }

    /// The manager's HTTP address (`host:port`).
    public var managerHTTPAddress: String { member("manager")?.ready.httpAddress ?? "" }
    /// The gateway's cluster address, where synthetic agents connect.
    public var gatewayClusterAddress: String { member("gateway")?.ready.clusterAddress ?? "" }

    /// The first admin token, which the manager writes at its first start.
    public var adminToken: String? {
        (try? String(contentsOfFile: adminTokenPath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The manager's API with the admin token.
    public var manager: ManagerHTTPClient { ManagerHTTPClient(address: managerHTTPAddress, token: adminToken) }

    /// The first process that exited on its own, if any, with its log file.
    public func exitedMember() -> ClusterLauncher.Member? {
        launcher.members.first { !launcher.isRunning($0.id) }
    }

    /// Stops every process: nodes first, so that they hand their queues back.
    public func stop() async {
        await launcher.stopAll(grace: .seconds(5))
    }

    /// ``stop()`` even when the calling task was cancelled (Ctrl-C): the stop's own waits
    /// must not end early, or the processes would be killed without a graceful stop.
    public func stopUncancelled() async {
        await Task { await self.stop() }.value
    }
}
