public import DialerRuntime
public import Foundation

/// A real cluster on loopback for tests: the manager, the gateway and nodes as separate
/// processes from this build, every port ephemeral, fast lease timings, a fresh run directory.
///
/// Call ``shutdown()`` at the end (also on failure); ``logs()`` returns every process's log
/// for the failure message.
public final class LocalTestCluster: Sendable {
    public struct Timings: Sendable {
        public var heartbeatMs = 200
        public var missedHeartbeats = 4
        public var leaseMs = 2000
        public var renewMs = 400
        public var marginMs = 500
        /// Call seconds per wall second on the nodes' simulated trunks.
        public var trunkTimeScale = 1
        /// PBKDF2 rounds for agent passwords: low, so that tests create agents quickly.
        public var passwordIterations = 1_000
        /// The nodes' trunk population (JSON, see POPULATION.md), written beside the config;
        /// `nil`: the built-in one.
        public var trunkPopulationJSON: String?
        /// Written at the end of the cluster file: `[[trunk]]` entries, for instance.
        public var extraTOML = ""
        /// `manager.database`; `nil`: a SQLite file in the run directory.
        public var database: String?

        public init() {}
    }

    public let launcher: ClusterLauncher
    public let runDirectory: String
    public let configPath: String
    public let secret = "cluster-test-secret"
    private let nodes: [String]
    /// The `[[standby]]` managers' ids: they share the manager's database.
    public let standbys: [String]

    /// Writes the configuration (manager, gateway, `nodes`, `queues`) to a new directory.
    public init(
        nodes: [String], queues: [(id: String, kind: String)], dids: [String: [String]] = [:],
        standbys: [String] = [], timings: Timings = Timings()
    ) throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("dialer-cluster-\(UUID().uuidString.prefix(8))").path
        self.runDirectory = directory
        self.nodes = nodes
        self.standbys = standbys
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var toml = """
            [cluster]
            secret = "\(secret)"
            heartbeat_interval_ms = \(timings.heartbeatMs)
            missed_heartbeats = \(timings.missedHeartbeats)
            lease_duration_ms = \(timings.leaseMs)
            lease_renew_interval_ms = \(timings.renewMs)
            lease_safety_margin_ms = \(timings.marginMs)
            trunk_time_scale = \(timings.trunkTimeScale)
            log_level = "info"
            run_directory = "\(directory)"

            [manager]
            cluster_address = "127.0.0.1:0"
            http_address = "127.0.0.1:0"
            database = "\(timings.database ?? directory + "/dialer.sqlite")"
            password_iterations = \(timings.passwordIterations)

            [gateway]
            cluster_address = "127.0.0.1:0"
            http_address = "127.0.0.1:0"

            """
        for node in nodes {
            toml += "\n[[node]]\nid = \"\(node)\"\nhttp_address = \"127.0.0.1:0\"\n"
        }
        if !standbys.isEmpty {
            // The active manager's lease lasts as long as a queue lease.
            toml = toml.replacingOccurrences(
                of: "[manager]\n", with: "[manager]\nactive_lease_ms = \(timings.leaseMs)\n")
        }
        for standby in standbys {
            toml +=
                "\n[[standby]]\nid = \"\(standby)\"\ncluster_address = \"127.0.0.1:0\"\nhttp_address = \"127.0.0.1:0\"\n"
        }
        for queue in queues {
            toml += "\n[[queue]]\nid = \"\(queue.id)\"\nkind = \"\(queue.kind)\"\n"
            if let numbers = dids[queue.id] {
                toml += "dids = [" + numbers.map { "\"\($0)\"" }.joined(separator: ", ") + "]\n"
            }
        }
        if let population = timings.trunkPopulationJSON {
            let path = directory + "/population.json"
            try population.write(toFile: path, atomically: true, encoding: .utf8)
            toml = toml.replacingOccurrences(
                of: "[manager]\n", with: "trunk_population = \"\(path)\"\n\n[manager]\n")
        }
        toml += timings.extraTOML
        self.configPath = directory + "/cluster.toml"
        try toml.write(toFile: configPath, atomically: true, encoding: .utf8)
        self.launcher = try ClusterLauncher(binDirectory: ClusterLauncher.ownBinDirectory, runDirectory: directory)
    }

    /// Starts the manager, the standby managers, the gateway and every node.
    public func start() async throws {
        try await startManager()
        for standby in standbys { try await startManager(standby) }
        try await startGateway()
        for node in nodes { try await startNode(node) }
    }

    /// Starts the manager; `extraArguments` (such as `--set cluster.protocol_version_max=1`) are
    /// this process's own.
    public func startManager(extraArguments: [String] = []) async throws {
        try await launcher.start(
            executable: "dialer-manager", role: "manager", id: "manager",
            arguments: ["--config", configPath] + extraArguments)
    }

    /// Starts the `[[standby]]` manager `id`.
    public func startManager(_ id: String) async throws {
        try await launcher.start(
            executable: "dialer-manager", role: "manager", id: id, arguments: ["--config", configPath, "--id", id])
    }

    public func startGateway(extraArguments: [String] = []) async throws {
        try await launcher.start(
            executable: "agent-gateway", role: "gateway", id: "gateway",
            arguments: ["--config", configPath, "--manager-address", managerClusterAddresses] + extraArguments)
    }

    public func startNode(_ id: String, extraArguments: [String] = []) async throws {
        try await launcher.start(
            executable: "dialer-node", role: "node", id: id,
            arguments: [
                "--config", configPath, "--id", id, "--manager-address", managerClusterAddresses,
                "--gateway-address", gatewayClusterAddress,
            ] + extraArguments)
    }

    func member(_ id: String) -> ClusterLauncher.Member? { launcher.members.first { $0.id == id } }

    public var managerClusterAddress: String { member("manager")?.ready.clusterAddress ?? "" }
    /// Every manager's cluster address, comma-separated, as `--manager-address` takes them.
    public var managerClusterAddresses: String {
        (["manager"] + standbys).compactMap { member($0)?.ready.clusterAddress }.joined(separator: ",")
    }
    public var gatewayClusterAddress: String { member("gateway")?.ready.clusterAddress ?? "" }
    public func httpAddress(of id: String) -> String { member(id)?.ready.httpAddress ?? "" }

    /// The manager's HTTP API, with the admin token the manager created at its first start.
    public var manager: ManagerHTTPClient {
        ManagerHTTPClient(address: httpAddress(of: "manager"), token: adminToken)
    }

    /// The first admin token, which the manager writes to its run directory.
    public var adminToken: String? {
        (try? String(contentsOfFile: runDirectory + "/admin.token", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `/v1/cluster`.
    public func table() async throws -> ClusterTable {
        try await manager.get("v1/cluster", as: ClusterTable.self)
    }

    /// A node's own view of its leases, or nil if it does not answer within `timeout`.
    public func leases(of node: String, timeout: TimeInterval = 0.5) async -> NodeLeases? {
        try? await ManagerHTTPClient(address: httpAddress(of: node)).get(
            "v1/leases", as: NodeLeases.self, timeout: timeout)
    }

    /// The Prometheus text of a process.
    public func metrics(of id: String) async throws -> String {
        let (_, body) = try await ManagerHTTPClient(address: httpAddress(of: id)).send("GET", "metrics")
        return String(decoding: body, as: UTF8.self)
    }

    /// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
    public func waitUntil(timeout: Duration, _ condition: () async throws -> Bool) async -> Bool {
        await waitForCondition(timeout: timeout, condition)
    }

    /// Every process's log, for a failure message.
    public func logs() -> String {
        launcher.members.map {
            "===== \($0.id) (\($0.logFile)) =====\n" + ClusterLauncher.tail(of: $0.logFile, lines: 80)
        }
        .joined(separator: "\n")
    }

    /// Stops every process (gracefully, then by force) and removes the run directory.
    public func shutdown(keepFiles: Bool = false) async {
        await launcher.stopAll(grace: .seconds(5))
        if !keepFiles { try? FileManager.default.removeItem(atPath: runDirectory) }
    }
}
