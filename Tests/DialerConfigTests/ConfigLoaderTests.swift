import Foundation
import Testing

@testable import DialerConfig

/// Loads `toml` as the file `test.toml`.
func load(
    _ toml: String = "[cluster]\nsecret = \"s\"", overrides: [String] = [], environment: [String: String] = [:],
    nodeID: String? = nil, requireSecret: Bool = true
) throws(ConfigError) -> ClusterConfig {
    try ConfigLoader.load(
        contents: toml, fileName: "test.toml", overrides: overrides, environment: environment, nodeID: nodeID,
        requireSecret: requireSecret)
}

/// The error loading `toml` gives, or nil when it loads.
func loadError(
    _ toml: String = "[cluster]\nsecret = \"s\"", overrides: [String] = [], environment: [String: String] = [:],
    nodeID: String? = nil, requireSecret: Bool = true
) -> ConfigError? {
    do {
        _ = try load(toml, overrides: overrides, environment: environment, nodeID: nodeID, requireSecret: requireSecret)
        return nil
    } catch {
        return error
    }
}

/// A temporary file holding `contents`, removed by the caller.
func temporaryFile(_ contents: String) throws -> String {
    let path = FileManager.default.temporaryDirectory
        .appendingPathComponent("dialer-config-test-\(UUID().uuidString)").path
    try contents.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

@Suite("Config loader")
struct ConfigLoaderTests {
    // MARK: - Defaults

    @Test func withoutAFileEverythingHasItsDefault() throws {
        let config = try ConfigLoader.load(
            path: nil, overrides: [], environment: [:], nodeID: nil, requireSecret: false)
        #expect(config.cluster.secret == nil)
        #expect(config.cluster.maxFrameBytes == 1_048_576)
        #expect(config.cluster.heartbeatInterval == .milliseconds(1000))
        #expect(config.cluster.missedHeartbeats == 3)
        #expect(config.cluster.leaseDuration == .milliseconds(10_000))
        #expect(config.cluster.leaseRenewInterval == .milliseconds(2500))
        #expect(config.cluster.leaseSafetyMargin == .milliseconds(1500))
        #expect(config.cluster.logLevel == .info)
        #expect(config.cluster.runDirectory == ".dialer/local")
        #expect(config.manager.id == "manager")
        #expect(config.manager.clusterAddress == HostPort(host: "127.0.0.1", port: 7400))
        #expect(config.manager.httpAddress == HostPort(host: "127.0.0.1", port: 8080))
        #expect(config.manager.database == ".dialer/local/dialer.sqlite")
        #expect(config.manager.watchDirectory == ".dialer/local/watch")
        #expect(config.manager.watchInterval == .seconds(2))
        #expect(config.manager.maxImportBytes == 2 << 30)
        #expect(config.manager.defaultRegion == "US")
        #expect(config.manager.passwordIterations == 600_000)
        #expect(config.gateway.id == "gateway")
        #expect(config.gateway.clusterAddress == HostPort(host: "127.0.0.1", port: 7500))
        #expect(config.gateway.httpAddress == HostPort(host: "127.0.0.1", port: 8090))
        #expect(config.nodes.isEmpty)
        #expect(config.queues.isEmpty)
        #expect(config == ClusterConfig())
    }

    @Test func aPartialFileKeepsTheOtherDefaults() throws {
        let config = try load(
            """
            [cluster]
            secret = "s"
            lease_duration_ms = 20000
            [gateway]
            http_address = "0.0.0.0:9000"
            """)
        var expected = ClusterConfig()
        expected.cluster.secret = "s"
        expected.cluster.leaseDuration = .milliseconds(20_000)
        expected.gateway.httpAddress = HostPort(host: "0.0.0.0", port: 9000)
        #expect(config == expected)
    }

    @Test func readsEveryKey() throws {
        let config = try load(
            """
            [cluster]
            secret = "abc"
            max_frame_bytes = 2048
            heartbeat_interval_ms = 500
            missed_heartbeats = 4
            lease_duration_ms = 8_000
            lease_renew_interval_ms = 2000
            lease_safety_margin_ms = 1000
            log_level = "debug"
            run_directory = "/var/lib/dialer"
            [manager]
            id = "m1"
            cluster_address = "10.0.0.1:1"
            http_address = "[::1]:2"
            database = "db.sqlite"
            watch_directory = "/srv/drop"
            watch_interval_ms = 500
            max_import_bytes = 4096
            default_region = "DK"
            password_iterations = 1000
            [gateway]
            id = "g1"
            cluster_address = "gw.example:3"
            http_address = "localhost:0"
            [[node]]
            id = "n1"
            http_address = "10.0.0.2:8101"
            [[node]]
            id = "n2"
            [[queue]]
            id = "sales"
            [[queue]]
            id = "support"
            kind = "inbound"
            """)
        let expected = ClusterConfig(
            cluster: ClusterSettings(
                secret: "abc", maxFrameBytes: 2048, heartbeatInterval: .milliseconds(500), missedHeartbeats: 4,
                leaseDuration: .milliseconds(8000), leaseRenewInterval: .milliseconds(2000),
                leaseSafetyMargin: .milliseconds(1000), logLevel: .debug, runDirectory: "/var/lib/dialer"),
            manager: ManagerSettings(
                id: "m1", clusterAddress: HostPort(host: "10.0.0.1", port: 1),
                httpAddress: HostPort(host: "::1", port: 2), database: "db.sqlite", watchDirectory: "/srv/drop",
                watchInterval: .milliseconds(500), maxImportBytes: 4096, defaultRegion: "DK", passwordIterations: 1000),
            gateway: GatewaySettings(
                id: "g1", clusterAddress: HostPort(host: "gw.example", port: 3),
                httpAddress: HostPort(host: "localhost", port: 0)),
            nodes: [
                NodeSettings(id: "n1", httpAddress: HostPort(host: "10.0.0.2", port: 8101)),
                NodeSettings(id: "n2"),
            ],
            queues: [QueueSettings(id: "sales", kind: .campaign), QueueSettings(id: "support", kind: .inbound)])
        #expect(config == expected)
        #expect(config.node(id: "n2") == NodeSettings(id: "n2", httpAddress: HostPort(host: "127.0.0.1", port: 0)))
        #expect(config.node(id: "n3") == nil)
    }

    @Test func theDatabaseFollowsTheRunDirectoryUnlessSet() throws {
        #expect(try load(overrides: ["cluster.run_directory=/srv/d"]).manager.database == "/srv/d/dialer.sqlite")
        #expect(try load(overrides: ["cluster.run_directory=/srv/d/"]).manager.database == "/srv/d/dialer.sqlite")
        #expect(try load(overrides: ["cluster.run_directory=/srv/d"]).manager.watchDirectory == "/srv/d/watch")
        let both = try load(overrides: ["cluster.run_directory=/srv/d", "manager.database=/db/x.sqlite"])
        #expect(both.manager.database == "/db/x.sqlite")
    }

    // MARK: - Precedence

    @Test func aFlagBeatsTheEnvironmentWhichBeatsTheFile() throws {
        let file = "[cluster]\nsecret = \"s\"\nlease_duration_ms = 20000"
        let environment = ["DIALER_CLUSTER_LEASE_DURATION_MS": "30000"]
        let flags = ["cluster.lease_duration_ms=40000"]
        #expect(try load(file).cluster.leaseDuration == .milliseconds(20_000))
        #expect(try load(file, environment: environment).cluster.leaseDuration == .milliseconds(30_000))
        #expect(
            try load(file, overrides: flags, environment: environment).cluster.leaseDuration == .milliseconds(40_000))
        #expect(try load(file, overrides: flags).cluster.leaseDuration == .milliseconds(40_000))
        #expect(try load(environment: environment).cluster.leaseDuration == .milliseconds(30_000))
    }

    @Test func theLastOfRepeatedFlagsWins() throws {
        let config = try load(overrides: ["manager.id=first", "manager.id=second"])
        #expect(config.manager.id == "second")
    }

    @Test func aBadValueReplacedByAHigherLayerIsNotAnError() throws {
        let file = "[cluster]\nsecret = \"s\"\nlease_duration_ms = \"ten seconds\""
        #expect(loadError(file) != nil)
        let config = try load(file, environment: ["DIALER_CLUSTER_LEASE_DURATION_MS": "10000"])
        #expect(config.cluster.leaseDuration == .milliseconds(10_000))
    }

    @Test func overrideValuesAreParsedAsTheKeysType() throws {
        let config = try load(
            overrides: [
                "cluster.max_frame_bytes=2_048", "cluster.log_level=warning", "manager.http_address=[::]:80",
                "cluster.secret=a=b",
            ],
            environment: ["DIALER_MANAGER_ID": "m", "DIALER_GATEWAY_CLUSTER_ADDRESS": "gw:1"])
        #expect(config.cluster.maxFrameBytes == 2048)
        #expect(config.cluster.logLevel == .warning)
        #expect(config.manager.httpAddress == HostPort(host: "::", port: 80))
        #expect(config.cluster.secret == "a=b")
        #expect(config.manager.id == "m")
        #expect(config.gateway.clusterAddress == HostPort(host: "gw", port: 1))
    }

    @Test func otherEnvironmentVariablesAreIgnored() throws {
        let environment = [
            "PATH": "/usr/bin", "DIALER_CONFIG": "x.toml", "DIALER_NODE_ID": "node-1", "DIALER_QUEUE_X": "1",
            "DIALER_NODE_HTTP_ADDRESS": "not an address",  // not a node process: node variables do not apply
        ]
        #expect(try load(environment: environment) == load())
    }

    // MARK: - Override errors

    @Test func badOverrideValuesNameTheirSource() {
        #expect(
            loadError(overrides: ["cluster.lease_duration_ms=abc"])?.description
                == "--set cluster.lease_duration_ms=abc: expected an integer")
        #expect(
            loadError(environment: ["DIALER_CLUSTER_LEASE_DURATION_MS": "abc"])?.description
                == "environment DIALER_CLUSTER_LEASE_DURATION_MS: expected an integer")
        #expect(
            loadError("[cluster]\nsecret = \"s\"\nlease_duration_ms = \"abc\"")?.description
                == "test.toml:3: cluster.lease_duration_ms: expected an integer, found a string")
        #expect(
            loadError(overrides: ["manager.http_address=localhost"])?.description
                == #"--set manager.http_address=localhost: expected host:port, got "localhost""#)
        #expect(loadError(overrides: ["cluster.lease_duration_ms=abc"])?.kind == .invalidValue)
    }

    @Test func unknownOverrideKeysAreErrors() {
        let flag = loadError(overrides: ["cluster.lease_duraton_ms=5"])
        #expect(
            flag?.description
                == "--set cluster.lease_duraton_ms: unknown key cluster.lease_duraton_ms "
                + "(did you mean cluster.lease_duration_ms?)")
        #expect(flag?.kind == .unknownKey)
        #expect(loadError(overrides: ["nothing=1"])?.description == "--set nothing: unknown key nothing")
        #expect(
            loadError(environment: ["DIALER_CLUSTER_LEASE_DURATON_MS": "5"])?.description
                == "environment DIALER_CLUSTER_LEASE_DURATON_MS: unknown setting "
                + "(did you mean DIALER_CLUSTER_LEASE_DURATION_MS?)")
        #expect(
            loadError(environment: ["DIALER_NODE_HTTP_ADRESS": "x:1"], nodeID: "node-1")?.kind == .unknownKey)
        #expect(
            loadError(overrides: ["queue.kind=inbound"])?.description
                == "--set queue.kind=inbound: queue.kind can only be set in the cluster file")
        #expect(
            loadError(overrides: ["node.id=x"], nodeID: "node-1")?.message
                == "node.id can only be set in the cluster file")
        #expect(
            loadError(overrides: ["node.http_address=x:1"])?.description
                == "--set node.http_address=x:1: node.* keys apply only to a node process")
        #expect(
            loadError(overrides: ["cluster.lease_duration_ms"])?.description
                == "--set cluster.lease_duration_ms: expected section.key=value")
    }

    // MARK: - Node selection

    static let twoNodes = """
        [cluster]
        secret = "s"
        [[node]]
        id = "node-1"
        http_address = "127.0.0.1:8101"
        [[node]]
        id = "node-2"
        http_address = "127.0.0.1:8102"
        """

    @Test func nodeOverridesApplyToTheSelectedNodeOnly() throws {
        let config = try load(
            Self.twoNodes, overrides: ["node.http_address=0.0.0.0:9102"], nodeID: "node-2")
        #expect(config.node(id: "node-1")?.httpAddress == HostPort(host: "127.0.0.1", port: 8101))
        #expect(config.node(id: "node-2")?.httpAddress == HostPort(host: "0.0.0.0", port: 9102))
        let fromEnvironment = try load(
            Self.twoNodes, environment: ["DIALER_NODE_HTTP_ADDRESS": "0.0.0.0:9101"], nodeID: "node-1")
        #expect(fromEnvironment.node(id: "node-1")?.httpAddress == HostPort(host: "0.0.0.0", port: 9101))
        #expect(fromEnvironment.node(id: "node-2")?.httpAddress == HostPort(host: "127.0.0.1", port: 8102))
    }

    @Test func aNodeMissingFromTheFileIsAddedWithDefaults() throws {
        let plain = try load(Self.twoNodes, nodeID: "node-9")
        #expect(plain.nodes.map(\.id) == ["node-1", "node-2", "node-9"])
        #expect(plain.node(id: "node-9") == NodeSettings(id: "node-9"))
        let overridden = try load(
            Self.twoNodes, overrides: ["node.http_address=127.0.0.1:8109"], nodeID: "node-9")
        #expect(overridden.node(id: "node-9")?.httpAddress == HostPort(host: "127.0.0.1", port: 8109))
        #expect(try load(Self.twoNodes, nodeID: "node-1").nodes.count == 2)
    }

    @Test func theSelectedNodesIdIsValidated() {
        #expect(
            loadError(nodeID: "bad id")?.description
                == #"node id "bad id" may contain only ASCII letters, digits, '-', '_' and '.'"#)
        #expect(loadError(nodeID: "")?.description == "node id must not be empty")
        #expect(loadError(nodeID: "manager")?.description == #"node id "manager" is also manager.id"#)
    }

    // MARK: - Validation

    /// Overrides that must fail, and the key and message part the error must contain.
    struct Invalid: Sendable, CustomTestStringConvertible {
        var override: String
        var key: String
        var message: String
        var testDescription: String { override }
    }

    static let invalidOverrides: [Invalid] = [
        Invalid(override: "cluster.max_frame_bytes=1023", key: "cluster.max_frame_bytes", message: "between 1024 and"),
        Invalid(override: "cluster.max_frame_bytes=67108865", key: "cluster.max_frame_bytes", message: "(64 MiB)"),
        Invalid(override: "cluster.trunk_time_scale=0", key: "cluster.trunk_time_scale", message: "between 1 and 3600"),
        Invalid(
            override: "cluster.trunk_time_scale=3601", key: "cluster.trunk_time_scale", message: "between 1 and 3600"),
        Invalid(
            override: "cluster.heartbeat_interval_ms=0", key: "cluster.heartbeat_interval_ms",
            message: "must be 1 to 3600000, got 0"),
        Invalid(
            override: "cluster.heartbeat_interval_ms=9223372036854775807", key: "cluster.heartbeat_interval_ms",
            message: "must be 1 to 3600000, got 9223372036854775807"),
        Invalid(
            override: "cluster.agent_heartbeat_interval_ms=0", key: "cluster.agent_heartbeat_interval_ms",
            message: "must be 1 to 3600000, got 0"),
        Invalid(
            override: "cluster.agent_heartbeat_interval_ms=3600001", key: "cluster.agent_heartbeat_interval_ms",
            message: "must be 1 to 3600000, got 3600001"),
        Invalid(
            override: "cluster.missed_heartbeats=1001", key: "cluster.missed_heartbeats", message: "1 to 1000, got 1001"
        ),
        Invalid(
            override: "cluster.lease_duration_ms=86400001", key: "cluster.lease_duration_ms", message: "1 to 86400000"),
        Invalid(override: "gateway.agent_grace_ms=-1", key: "gateway.agent_grace_ms", message: "0 to 86400000, got -1"),
        Invalid(override: "gateway.picture_interval_ms=0", key: "gateway.picture_interval_ms", message: "1 to 60000"),
        Invalid(
            override: "cluster.missed_heartbeats=0", key: "cluster.missed_heartbeats", message: "1 to 1000, got 0"),
        Invalid(override: "cluster.lease_duration_ms=0", key: "cluster.lease_duration_ms", message: "1 to 86400000"),
        Invalid(
            override: "cluster.lease_renew_interval_ms=-3", key: "cluster.lease_renew_interval_ms", message: "got -3"),
        Invalid(
            override: "cluster.lease_safety_margin_ms=-1", key: "cluster.lease_safety_margin_ms", message: "negative"),
        Invalid(
            override: "cluster.lease_safety_margin_ms=10000", key: "cluster.lease_safety_margin_ms",
            message: "cluster.lease_safety_margin_ms (10000) must be less than cluster.lease_duration_ms (10000)"),
        Invalid(
            override: "cluster.lease_renew_interval_ms=8500", key: "cluster.lease_renew_interval_ms",
            message: "cluster.lease_renew_interval_ms (8500) + cluster.lease_safety_margin_ms (1500) must be less than "
                + "cluster.lease_duration_ms (10000)"),
        Invalid(
            override: "cluster.log_level=loud", key: "cluster.log_level",
            message: #"expected one of trace, debug, info, notice, warning, error, critical, got "loud""#),
        Invalid(override: "cluster.run_directory=", key: "cluster.run_directory", message: "must not be empty"),
        Invalid(override: "manager.database=", key: "manager.database", message: "must not be empty"),
        Invalid(override: "manager.watch_directory=", key: "manager.watch_directory", message: "must not be empty"),
        Invalid(
            override: "manager.watch_interval_ms=5", key: "manager.watch_interval_ms", message: "10 to 86400000, got 5"),
        Invalid(override: "manager.max_import_bytes=10", key: "manager.max_import_bytes", message: "1024 to"),
        Invalid(override: "manager.default_region=dk", key: "manager.default_region", message: "two capital letters"),
        Invalid(
            override: "manager.password_iterations=0", key: "manager.password_iterations", message: "1 to 10,000,000"),
        Invalid(
            override: "manager.http_address=127.0.0.1:70000", key: "manager.http_address",
            message: "port 70000 is out of range 0...65535"),
        Invalid(override: "manager.cluster_address=:80", key: "manager.cluster_address", message: "missing host"),
        Invalid(override: "gateway.http_address=h:x", key: "gateway.http_address", message: "is not a number"),
        Invalid(override: "manager.id=", key: "manager.id", message: "manager.id must not be empty"),
        Invalid(override: "manager.id=a/b", key: "manager.id", message: #"manager.id "a/b" may contain only"#),
        Invalid(
            override: "gateway.id=manager", key: "gateway.id", message: #"gateway.id "manager" is also manager.id"#),
        Invalid(
            override: "cluster.protocol_version_max=3", key: "cluster.protocol_version_max", message: "1 to 2, got 3"),
        Invalid(
            override: "cluster.protocol_version_max=0", key: "cluster.protocol_version_max", message: "1 to 2, got 0"),
        Invalid(
            override: "cluster.thread_slice_us=50", key: "cluster.thread_slice_us",
            message: "0 (the kernel's default) or 100 to 100000, got 50"),
        Invalid(
            override: "cluster.thread_slice_us=100001", key: "cluster.thread_slice_us",
            message: "0 to 100000, got 100001"),
        Invalid(override: "cluster.thread_slice_us=-1", key: "cluster.thread_slice_us", message: "0 to 100000, got -1"),
        Invalid(
            override: "manager.active_lease_ms=100", key: "manager.active_lease_ms", message: "500 to 600000, got 100"),
        Invalid(
            override: "manager.addresses=127.0.0.1:7400,nope", key: "manager.addresses", message: "expected host:port"),
        Invalid(override: "manager.addresses=", key: "manager.addresses", message: "at least one address"),
    ]

    @Test(arguments: invalidOverrides)
    func validationErrorsNameTheKey(_ invalid: Invalid) {
        let error = loadError(overrides: [invalid.override])
        #expect(error?.kind == .invalidValue)
        #expect(error?.source == "--set \(invalid.override)")
        #expect(error?.description.contains(invalid.key) == true)
        #expect(error?.message.contains(invalid.message) == true, "\(String(describing: error))")
    }

    @Test func standbyManagersAreReadAndEachManagerIsSelectedByID() throws {
        let toml = """
            [cluster]
            secret = "s"
            [manager]
            id = "m1"
            cluster_address = "10.0.0.1:7400"
            http_address = "10.0.0.1:8080"
            [[standby]]
            id = "m2"
            cluster_address = "10.0.0.2:7400"
            http_address = "10.0.0.2:8080"
            """
        let config = try load(toml)
        #expect(config.hasStandbys)
        #expect(config.manager.addresses.map(\.description) == ["10.0.0.1:7400", "10.0.0.2:7400"])
        let standby = try #require(config.asManager(id: "m2"))
        #expect(standby.manager.id == "m2")
        #expect(standby.manager.clusterAddress.description == "10.0.0.2:7400")
        #expect(standby.manager.httpAddress.description == "10.0.0.2:8080")
        #expect(standby.manager.database == config.manager.database)
        #expect(config.asManager(id: "m1") == config)
        #expect(config.asManager(id: "m3") == nil)
        // Nodes may be pointed at the managers with a flag-style list.
        let dialed = try load(toml, overrides: ["manager.addresses=10.0.0.9:1, 10.0.0.8:2"])
        #expect(dialed.manager.addresses.map(\.description) == ["10.0.0.9:1", "10.0.0.8:2"])
        #expect(config.manager.activeLease == .seconds(5))
    }

    @Test func standbyIDsAreCheckedLikeOtherIDs() {
        #expect(
            loadError("[cluster]\nsecret = \"s\"\n[[standby]]\ncluster_address = \"127.0.0.1:1\"")?.message
                == "[[standby]] has no id: add id = \"...\"")
        #expect(
            loadError("[cluster]\nsecret = \"s\"\n[[standby]]\nid = \"gateway\"")?.message.contains(
                "is also the id of another manager") == true)
        #expect(
            loadError("[cluster]\nsecret = \"s\"\n[[standby]]\nid = \"b\"\nhttp_address = \"x\"")?.description
                .contains("standby.http_address") == true)
        #expect(loadError("[cluster]\nsecret = \"s\"\n[standby]\nid = \"b\"")?.message.contains("[[standby]]") == true)
    }

    @Test func validationErrorsPointAtTheFileLine() {
        #expect(
            loadError("[cluster]\nsecret = \"s\"\nmissed_heartbeats = 0")?.description
                == "test.toml:3: cluster.missed_heartbeats must be 1 to 1000, got 0")
        #expect(
            loadError("[manager]\nhttp_address = \"127.0.0.1:65536\"", requireSecret: false)?.description
                == "test.toml:2: manager.http_address: port 65536 is out of range 0...65535")
        // A relation between keys is reported where the most recently layered of them was set.
        #expect(
            loadError(
                "[cluster]\nsecret = \"s\"\nlease_safety_margin_ms = 1500",
                environment: ["DIALER_CLUSTER_LEASE_DURATION_MS": "1000"])?.source
                == "environment DIALER_CLUSTER_LEASE_DURATION_MS")
    }

    @Test func queuesListTheirNumbers() throws {
        let header = "[cluster]\nsecret = \"s\"\n"
        let config = try load(
            header + "[[queue]]\nid = \"support\"\nkind = \"inbound\"\ndids = [\"+15550100\", \"+15550101\"]\n"
                + "[[queue]]\nid = \"sales\"")
        #expect(config.queues.map(\.dids) == [["+15550100", "+15550101"], []])
        #expect(
            loadError(header + "[[queue]]\nid = \"q\"\ndids = [\"5550100\"]")?.description
                == #"test.toml:4: queue "q": dids: "5550100" is not an E.164 number (+ then 8 to 15 digits)"#)
        #expect(
            loadError(header + "[[queue]]\nid = \"q\"\ndids = \"+15550100\"")?.description
                == "test.toml:5: queue.dids: expected an array of strings, found a string")
        #expect(
            loadError(
                header + "[[queue]]\nid = \"a\"\ndids = [\"+15550100\"]\n[[queue]]\nid = \"b\"\ndids = [\"+15550100\"]")?
                .description == #"test.toml:7: queue "b": dids: +15550100 is already a number of queue "a""#)
    }

    @Test func nodeAndQueueErrorsPointAtTheirEntries() {
        let header = "[cluster]\nsecret = \"s\"\n"
        #expect(
            loadError(header + "[[node]]\nid = \"node-1\"\n[[node]]\nid = \"node-1\"")?.description
                == #"test.toml:6: node id "node-1" is used by two nodes (first at test.toml:4)"#)
        #expect(
            loadError(header + "[[queue]]\nid = \"q\"\n[[queue]]\nid = \"q\"")?.description
                == #"test.toml:6: queue id "q" is used by two queues (first at test.toml:4)"#)
        #expect(
            loadError(header + "[[node]]\nhttp_address = \"127.0.0.1:1\"")?.description
                == #"test.toml:3: [[node]] has no id: add id = "...""#)
        #expect(
            loadError(header + "[[queue]]\nkind = \"inbound\"")?.description
                == #"test.toml:3: [[queue]] has no id: add id = "...""#)
        #expect(loadError(header + "[[node]]\nid = \"\"")?.description == "test.toml:4: node id must not be empty")
        #expect(
            loadError(header + "[[queue]]\nid = \"sales q\"")?.description
                == #"test.toml:4: queue id "sales q" may contain only ASCII letters, digits, '-', '_' and '.'"#)
        #expect(
            loadError(header + "[[queue]]\nid = \"q\"\nkind = \"outbound\"")?.description
                == #"test.toml:5: queue.kind: expected one of campaign, inbound, got "outbound""#)
        #expect(
            loadError(header + "[[node]]\nid = \"gateway\"")?.description
                == #"test.toml:4: node id "gateway" is also gateway.id"#)
        #expect(
            loadError(header + "[[node]]\nid = 7")?.description
                == "test.toml:4: node.id: expected a string, found an integer")
    }

    // MARK: - File structure errors

    @Test func unknownSectionsAndKeysInTheFileAreErrors() {
        #expect(
            loadError("[cluster]\nsecret = \"s\"\nlease_duraton_ms = 5")?.description
                == #"test.toml:3: unknown key "lease_duraton_ms" in [cluster] (did you mean "lease_duration_ms"?)"#)
        #expect(loadError("[clustr]")?.description == "test.toml:1: unknown section [clustr] (did you mean [cluster]?)")
        #expect(
            loadError("[[nodes]]")?.description == "test.toml:1: unknown section [[nodes]] (did you mean [[node]]?)")
        #expect(loadError("[database]")?.description == "test.toml:1: unknown section [database]")
        #expect(loadError("[[queue]]\nid = \"q\"\nrank = 1")?.kind == .unknownKey)
        #expect(
            loadError("secret = \"s\"")?.description
                == #"test.toml:1: key "secret" is outside any section: put it under [cluster], [manager], [gateway], "#
                + "[[node]] or [[queue]]")
        #expect(
            loadError("[node]\nid = \"n\"")?.description == "test.toml:1: write [[node]] (one per node), not [node]")
        #expect(
            loadError("[[cluster]]")?.description
                == "test.toml:1: write [cluster], not [[cluster]]: there is one cluster section")
        #expect(
            loadError("[cluster]\n[cluster]")?.description
                == "test.toml:2: duplicate table [cluster] (first defined on line 1)")
    }

    @Test func aMissingOrUnreadableFileIsAnError() {
        #expect(
            throws: ConfigError(
                kind: .unreadableFile, source: "/nonexistent/x.toml",
                message: "cannot read the cluster config: no such file")
        ) {
            try ConfigLoader.load(path: "/nonexistent/x.toml", overrides: [], environment: [:], nodeID: nil)
        }
    }

    @Test func aSyntaxErrorInAFileNamesThePath() throws {
        let path = try temporaryFile("[cluster]\nsecret = \"s\"\nlease_duration_ms 5\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(
            throws: ConfigError(
                kind: .syntax, source: "\(path):3", line: 3, message: #"expected '=' after key "lease_duration_ms""#)
        ) {
            try ConfigLoader.load(path: path, overrides: [], environment: [:], nodeID: nil)
        }
    }

    // MARK: - The secret

    @Test func aMissingSecretSaysHowToSetIt() throws {
        let error = loadError("")
        #expect(error?.kind == .missingSecret)
        #expect(error?.source == nil)
        for hint in [
            "[cluster]", "secret_file", "DIALER_CLUSTER_SECRET", "DIALER_CLUSTER_SECRET_FILE", "--set cluster.secret=",
        ] {
            #expect(error?.description.contains(hint) == true, "\(hint) missing from \(String(describing: error))")
        }
        #expect(loadError("", requireSecret: false) == nil)
        // A tool that loaded without a secret and then connects gets the same error, not "".
        let withoutSecret = try ConfigLoader.load(
            path: nil, overrides: [], environment: [:], nodeID: nil, requireSecret: false)
        #expect(throws: ConfigError.self) { try withoutSecret.cluster.requiredSecret() }
        #expect(try load(environment: ["DIALER_CLUSTER_SECRET": "e"]).cluster.requiredSecret() == "e")
        #expect(try load(environment: ["DIALER_CLUSTER_SECRET": "e"]).cluster.secret == "e")
        #expect(try load("", environment: ["DIALER_CLUSTER_SECRET": "e"]).cluster.secret == "e")
    }

    @Test func theSecretIsNeverShownInMessages() throws {
        let empty = loadError(overrides: ["cluster.secret="])
        #expect(empty?.description == "--set cluster.secret=<redacted>: cluster.secret must not be empty")
        let both = loadError(overrides: ["cluster.secret=hunter2", "cluster.secret_file=/x"])
        #expect(
            both?.description == "--set cluster.secret_file=/x: set only one of cluster.secret and cluster.secret_file")
        let typo = loadError(overrides: ["cluster.secret=hunter2", "cluster.secrt=hunter2"])
        #expect(typo?.description == "--set cluster.secrt: unknown key cluster.secrt (did you mean cluster.secret?)")
        let config = try load(overrides: ["cluster.secret=hunter2"])
        #expect(!String(describing: config).contains("hunter2"))
        #expect(String(describing: config.cluster).contains("<redacted>"))
    }

    @Test func theSecretCanComeFromAFile() throws {
        let path = try temporaryFile("  file-secret \n\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fromFile = try load("[cluster]\nsecret_file = \"\(path)\"")
        #expect(fromFile.cluster.secret == "file-secret")
        // The higher layer decides between secret and secret_file.
        let environment = ["DIALER_CLUSTER_SECRET_FILE": path]
        #expect(try load("[cluster]\nsecret = \"inline\"", environment: environment).cluster.secret == "file-secret")
        #expect(
            try load("", overrides: ["cluster.secret=flag"], environment: environment).cluster.secret == "flag")
        #expect(
            try load("[cluster]\nsecret_file = \"\(path)\"", overrides: ["cluster.secret=flag"]).cluster.secret
                == "flag")
        #expect(
            loadError("[cluster]\nsecret = \"a\"\nsecret_file = \"\(path)\"")?.description
                == "test.toml:3: set only one of cluster.secret and cluster.secret_file")
    }

    @Test func aBadSecretFileIsAnError() throws {
        let missing = loadError("[cluster]\nsecret_file = \"/nonexistent/secret\"")
        #expect(missing?.kind == .unreadableFile)
        #expect(
            missing?.description == #"test.toml:2: cannot read cluster.secret_file "/nonexistent/secret": no such file"#
        )
        let path = try temporaryFile(" \n\t\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(
            loadError(environment: ["DIALER_CLUSTER_SECRET_FILE": path])?.description
                == "environment DIALER_CLUSTER_SECRET_FILE: cluster.secret_file \(path.debugDescription) is empty")
    }

    // MARK: - The key table

    @Test func overridableKeysListEveryKeyWithHelp() {
        let keys = ConfigLoader.overridableKeys
        #expect(Set(keys.map(\.key)).count == keys.count)
        #expect(keys.allSatisfy { !$0.help.isEmpty })
        #expect(keys.first { $0.key == "cluster.lease_duration_ms" }?.help.contains("default 10000") == true)
        #expect(
            keys.first { $0.key == "cluster.lease_duration_ms" }?.help.contains("DIALER_CLUSTER_LEASE_DURATION_MS")
                == true)
        #expect(keys.first { $0.key == "cluster.secret" }?.help.contains("no default") == true)
        #expect(!keys.contains { $0.key == "node.id" || $0.key.hasPrefix("queue.") || $0.key.hasPrefix("trunk.") })
        #expect(keys.count == 41)
        #expect(ConfigLoader.environmentVariable(forKey: "manager.http_address") == "DIALER_MANAGER_HTTP_ADDRESS")
        #expect(ConfigLoader.environmentVariable(forKey: "node.http_address") == "DIALER_NODE_HTTP_ADDRESS")
        #expect(ConfigLoader.environmentVariable(forKey: "queue.kind") == nil)
        #expect(ConfigLoader.environmentVariable(forKey: "cluster.nope") == nil)
    }

    @Test func documentedDefaultsAreTheDefaults() throws {
        let baseline = try load(nodeID: "node-1")
        for key in ConfigKey.all where key.isOverridable {
            guard let text = key.defaultText, !text.hasPrefix("<") else { continue }
            let config = try load(overrides: ["\(key.qualifiedName)=\(text)"], nodeID: "node-1")
            #expect(config == baseline, "the documented default of \(key.qualifiedName) is not its default")
        }
    }

    @Test func theThreadSliceIsTheKernelsUnlessSet() throws {
        #expect(try load(overrides: [], nodeID: "node-1").cluster.threadSlice == nil)
        #expect(try load(overrides: ["cluster.thread_slice_us=0"], nodeID: "node-1").cluster.threadSlice == nil)
        #expect(
            try load(overrides: ["cluster.thread_slice_us=100"], nodeID: "node-1").cluster.threadSlice
                == .microseconds(100))
        #expect(
            try load(overrides: ["cluster.thread_slice_us=100000"], nodeID: "node-1").cluster.threadSlice
                == .milliseconds(100))
    }

    @Test func everyOverridableKeyTakesEffect() throws {
        let samples = [
            "cluster.max_frame_bytes": "2048", "cluster.heartbeat_interval_ms": "500",
            "cluster.agent_heartbeat_interval_ms": "30000",
            "cluster.missed_heartbeats": "5", "cluster.lease_duration_ms": "20000",
            "cluster.lease_renew_interval_ms": "3000", "cluster.lease_safety_margin_ms": "1000",
            "cluster.log_level": "debug", "cluster.run_directory": "elsewhere", "manager.id": "m",
            "manager.cluster_address": "0.0.0.0:1", "manager.http_address": "0.0.0.0:2", "manager.database": "d.sqlite",
            "gateway.id": "g", "gateway.cluster_address": "0.0.0.0:3", "gateway.http_address": "0.0.0.0:4",
            "node.http_address": "0.0.0.0:5", "cluster.secret": "other", "manager.watch_directory": "/tmp/w",
            "manager.watch_interval_ms": "100", "manager.max_import_bytes": "4096", "manager.default_region": "DK",
            "manager.password_iterations": "1000", "manager.database_connections": "4",
            "manager.compliance_profile": "us-ftc",
            "gateway.agent_grace_ms": "5000", "gateway.picture_interval_ms": "250",
            "cluster.trunk_time_scale": "60", "cluster.trunk_population": "population.json",
            "cluster.outbound_high_water_bytes": "65536", "cluster.outbound_hard_limit_bytes": "33554432",
            "cluster.tls_certificate": "c.pem", "cluster.tls_key": "k.pem", "cluster.tls_ca": "ca.pem",
            "cluster.tls_client_auth": "require", "node.trunk": "simulated", "cluster.protocol_version_max": "1",
            "cluster.thread_slice_us": "250",
            "manager.addresses": "10.0.0.1:7400,10.0.0.2:7400", "manager.active_lease_ms": "3000",
        ]
        // TLS keys take effect only together: each is tried against a configuration with TLS on.
        let tlsOn = ["cluster.tls_certificate": "a.pem", "cluster.tls_key": "b.pem", "cluster.tls_ca": "d.pem"]
        for (key, _) in ConfigLoader.overridableKeys where key != "cluster.secret_file" {
            guard let sample = samples[key] else {
                Issue.record("no sample value for \(key)")
                continue
            }
            let companions = key.hasPrefix("cluster.tls_") ? tlsOn.filter { $0.key != key }.map { "\($0)=\($1)" } : []
            let baseline = try load(
                overrides: companions + (tlsOn[key].map { ["\(key)=\($0)"] } ?? []), nodeID: "node-1")
            #expect(
                try load(overrides: companions + ["\(key)=\(sample)"], nodeID: "node-1") != baseline,
                "\(key) has no effect")
            let variable = try #require(ConfigLoader.environmentVariable(forKey: key))
            #expect(
                try load(overrides: companions, environment: [variable: sample], nodeID: "node-1") != baseline,
                "\(variable) has no effect")
        }
    }
}
