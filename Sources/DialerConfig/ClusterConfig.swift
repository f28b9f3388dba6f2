/// The whole cluster as a cluster-config file describes it, after overrides and validation.
///
/// Every process loads the same file with ``ConfigLoader``, so they agree on addresses,
/// timings and the secret before they ever talk to each other.
public struct ClusterConfig: Sendable, Equatable {
    /// Settings every process shares: the secret, the frame limit, heartbeat and lease timings.
    public var cluster: ClusterSettings
    /// The manager's id, addresses and database.
    public var manager: ManagerSettings
    /// The agent gateway's id and addresses.
    public var gateway: GatewaySettings
    /// The nodes in file order, plus the running node when it is not in the file.
    public var nodes: [NodeSettings]
    /// The queues in file order.
    public var queues: [QueueSettings]
    /// The `[[trunk]]` entries in file order: the telephony nodes place and receive calls through.
    /// None: every node dials through the built-in simulated trunk.
    public var trunks: [TrunkSettings]
    /// The `[[standby]]` managers in file order: with any, the managers share one database and
    /// one of them at a time is active, through a lease in the database.
    public var standbys: [StandbyManagerSettings] = []

    /// A configuration with the given parts; every part defaults to the built-in defaults.
    public init(
        cluster: ClusterSettings = ClusterSettings(),
        manager: ManagerSettings = ManagerSettings(),
        gateway: GatewaySettings = GatewaySettings(),
        nodes: [NodeSettings] = [],
        queues: [QueueSettings] = [],
        trunks: [TrunkSettings] = []
    ) {
        self.cluster = cluster
        self.manager = manager
        self.gateway = gateway
        self.nodes = nodes
        self.queues = queues
        self.trunks = trunks
    }

    /// Whether several managers share the database, one active at a time.
    public var hasStandbys: Bool { !standbys.isEmpty }

    /// The configuration as the manager `id` runs it: `[manager]`'s own id, or a `[[standby]]`
    /// entry's, whose id and addresses then replace `[manager]`'s (the database and the other
    /// settings are shared). `nil` when no manager has this id.
    public func asManager(id: String) -> ClusterConfig? {
        if id == manager.id { return self }
        guard let standby = standbys.first(where: { $0.id == id }) else { return nil }
        var config = self
        config.manager.id = standby.id
        config.manager.clusterAddress = standby.clusterAddress
        config.manager.httpAddress = standby.httpAddress
        return config
    }

    /// The node with this id, if the configuration has one.
    public func node(id: String) -> NodeSettings? {
        nodes.first { $0.id == id }
    }

    /// The trunk with this id, if the configuration has one.
    public func trunk(id: String) -> TrunkSettings? {
        trunks.first { $0.id == id }
    }

    /// The trunk `node` places and receives calls through: the `[[trunk]]` its `trunk` key names,
    /// else the first `[[trunk]]` of the file; `nil` for the built-in simulated trunk (no entries,
    /// or `trunk = "simulated"`).
    public func trunk(for node: NodeSettings) -> TrunkSettings? {
        guard let name = node.trunk else { return trunks.first }
        return trunk(id: name)
    }
}

/// The `[cluster]` section: what every process of the cluster must agree on.
public struct ClusterSettings: Sendable, Equatable, CustomStringConvertible {
    /// The shared secret that authenticates cluster connections; it is never sent on the wire.
    /// Nil only when the configuration was loaded with `requireSecret: false` and none was set.
    public var secret: String?
    /// The secret, for a process that connects to the cluster: loaded with `requireSecret:
    /// false` and none set is a startup error that says where to set it, never an empty secret.
    public func requiredSecret() throws(ConfigError) -> String {
        guard let secret, !secret.isEmpty else {
            throw ConfigError(
                kind: .missingSecret, source: nil,
                message: "missing cluster secret: set secret = \"...\" (or secret_file = \"/path\") in the "
                    + "[cluster] section of the cluster file, or DIALER_CLUSTER_SECRET, or --set cluster.secret=...")
        }
        return secret
    }

    /// The largest protocol frame a process accepts, in bytes (1024 to 64 MiB).
    public var maxFrameBytes: Int
    /// How often connected processes send heartbeats.
    public var heartbeatInterval: Duration
    /// `cluster.agent_heartbeat_interval_ms`: the heartbeat interval of agent connections
    /// (the gateway states it to them in `Welcome`), long because one gateway holds thousands.
    public var agentHeartbeatInterval: Duration
    /// Outbound bytes waiting for a cluster peer above which its connection is not read.
    public var outboundHighWaterBytes: Int
    /// Outbound bytes waiting for a cluster peer above which its connection is closed.
    public var outboundHardLimitBytes: Int
    /// `cluster.tls_certificate`: this process's PEM certificate chain.
    public var tlsCertificate: String?
    /// `cluster.tls_key`: the PEM private key of ``tlsCertificate``.
    public var tlsKey: String?
    /// `cluster.tls_ca`: the PEM certificate authority of the cluster's certificates.
    public var tlsCertificateAuthority: String?
    /// `cluster.tls_client_auth`: whether TLS servers require client certificates.
    public var tlsClientAuthentication: TLSClientAuthentication

    /// TLS for the cluster protocol and the HTTP surfaces when the three files are set;
    /// `nil`: plain TCP (the validator refuses some set without the others).
    public var tls: TLSFiles? {
        guard let tlsCertificate, let tlsKey, let tlsCertificateAuthority,
            !tlsCertificate.isEmpty, !tlsKey.isEmpty, !tlsCertificateAuthority.isEmpty
        else { return nil }
        return TLSFiles(
            certificate: tlsCertificate, key: tlsKey, certificateAuthority: tlsCertificateAuthority,
            clientAuthentication: tlsClientAuthentication)
    }
    /// How many heartbeats in a row may be missed before the peer is considered gone.
    public var missedHeartbeats: Int
    /// How long a queue lease lasts.
    public var leaseDuration: Duration
    /// How often a node renews its leases.
    public var leaseRenewInterval: Duration
    /// A node stops dialing a queue this long before its lease expires by its own clock.
    public var leaseSafetyMargin: Duration
    /// The least severe level that is logged.
    public var logLevel: LogLevel
    /// Where processes keep logs, ready files and the embedded database; relative paths are
    /// relative to the working directory.
    public var runDirectory: String
    /// Seconds of call time per second of wall time on the nodes' simulated trunks (1: real
    /// time; 60: a minute of call passes in a second), for demos and load tests.
    public var trunkTimeScale: Int
    /// A JSON file describing the customers of the nodes' simulated trunks (see the simulated
    /// trunk's POPULATION.md); `nil` for the built-in population.
    public var trunkPopulation: String?
    /// `cluster.protocol_version_max`: the highest cluster protocol version this process offers
    /// and accepts (a pin for rolling upgrades, PROTOCOL.md §8); `nil`: the highest it speaks.
    public var protocolVersionMax: Int?
    /// `cluster.thread_slice_us`: the time slice the gateway and the nodes ask Linux's scheduler
    /// for on every thread (see DialerRuntime's `SchedulerSlice`); `nil` (the default): the
    /// kernel's own slice.
    public var threadSlice: Duration?

    /// The range of ``threadSlice`` in microseconds: the kernel's own bounds (100 µs to 100 ms).
    public static let threadSliceMicroseconds: ClosedRange<Int> = 100...100_000

    /// The cluster protocol versions this build speaks (DialerTransport's
    /// `ProtocolVersion.supported`, which a test keeps equal): the range of
    /// ``protocolVersionMax``.
    public static let protocolVersions = 1...2

    /// Settings with the given values; each defaults to the built-in default.
    public init(
        secret: String? = nil,
        maxFrameBytes: Int = 1_048_576,
        heartbeatInterval: Duration = .milliseconds(1000),
        agentHeartbeatInterval: Duration = .milliseconds(15_000),
        outboundHighWaterBytes: Int = 1_048_576,
        outboundHardLimitBytes: Int = 16_777_216,
        tls: TLSFiles? = nil,
        missedHeartbeats: Int = 3,
        leaseDuration: Duration = .milliseconds(10_000),
        leaseRenewInterval: Duration = .milliseconds(2500),
        leaseSafetyMargin: Duration = .milliseconds(1500),
        logLevel: LogLevel = .info,
        runDirectory: String = ".dialer/local",
        trunkTimeScale: Int = 1,
        trunkPopulation: String? = nil,
        protocolVersionMax: Int? = nil,
        threadSlice: Duration? = nil
    ) {
        self.secret = secret
        self.maxFrameBytes = maxFrameBytes
        self.heartbeatInterval = heartbeatInterval
        self.agentHeartbeatInterval = agentHeartbeatInterval
        self.outboundHighWaterBytes = outboundHighWaterBytes
        self.outboundHardLimitBytes = outboundHardLimitBytes
        self.tlsCertificate = tls?.certificate
        self.tlsKey = tls?.key
        self.tlsCertificateAuthority = tls?.certificateAuthority
        self.tlsClientAuthentication = tls?.clientAuthentication ?? .none
        self.missedHeartbeats = missedHeartbeats
        self.leaseDuration = leaseDuration
        self.leaseRenewInterval = leaseRenewInterval
        self.leaseSafetyMargin = leaseSafetyMargin
        self.logLevel = logLevel
        self.runDirectory = runDirectory
        self.trunkTimeScale = trunkTimeScale
        self.trunkPopulation = trunkPopulation
        self.protocolVersionMax = protocolVersionMax
        self.threadSlice = threadSlice
    }

    /// The settings with the secret redacted, so that logging a configuration cannot leak it.
    public var description: String {
        "ClusterSettings(secret: \(secret == nil ? "nil" : "<redacted>"), maxFrameBytes: \(maxFrameBytes), "
            + "heartbeatInterval: \(heartbeatInterval), agentHeartbeatInterval: \(agentHeartbeatInterval), "
            + "missedHeartbeats: \(missedHeartbeats), "
            + "outboundHighWaterBytes: \(outboundHighWaterBytes), outboundHardLimitBytes: \(outboundHardLimitBytes), "
            + "tls: \(tls.map { "\($0)" } ?? "nil"), "
            + "leaseDuration: \(leaseDuration), leaseRenewInterval: \(leaseRenewInterval), "
            + "leaseSafetyMargin: \(leaseSafetyMargin), logLevel: \(logLevel), runDirectory: \(runDirectory.quoted), "
            + "trunkTimeScale: \(trunkTimeScale), trunkPopulation: \(trunkPopulation?.quoted ?? "nil"), "
            + "protocolVersionMax: \(protocolVersionMax.map(String.init) ?? "nil"), "
            + "threadSlice: \(threadSlice.map { "\($0)" } ?? "nil"))"
    }
}

/// The `[manager]` section.
public struct ManagerSettings: Sendable, Equatable {
    /// The manager's member id.
    public var id: String
    /// Where nodes and gateways connect.
    public var clusterAddress: HostPort
    /// The HTTP API, the dashboard, `/healthz`, `/readyz` and `/metrics`.
    public var httpAddress: HostPort
    /// The database: a SQLite file (relative paths are relative to the working directory), or a
    /// PostgreSQL URL, `postgres://user[:password]@host[:port]/dbname` (see ``PostgresDatabaseURL``).
    public var database: String
    /// The most connections the manager opens to PostgreSQL (unused with SQLite).
    public var databaseConnections: Int
    /// The watched folders' root: a file dropped into `<watchDirectory>/<campaign id>/` is
    /// imported into that campaign's list.
    public var watchDirectory: String
    /// How often the watched folders are scanned.
    public var watchInterval: Duration
    /// The largest contact-list or do-not-call file the API accepts in one request, in bytes
    /// (JSON bodies keep their own 1 MiB limit).
    public var maxImportBytes: Int
    /// The region national numbers are read in when an import or a request names none.
    public var defaultRegion: String
    /// PBKDF2 rounds for new agent password hashes. Lowered only for tests and load tests,
    /// which create hundreds of agents.
    public var passwordIterations: Int
    /// The regulator's rules every campaign keeps unless it names its own profile.
    public var complianceProfile: ComplianceProfileName
    /// Every manager's cluster address, in the order nodes and the gateway try them to find
    /// the active one.
    public var addresses: [HostPort]
    /// With standbys: how long the active manager's lease in the database lasts unrenewed.
    public var activeLease: Duration = .seconds(5)

    /// Settings with the given values; each defaults to the built-in default.
    public init(
        id: String = "manager",
        clusterAddress: HostPort = HostPort(host: "127.0.0.1", port: 7400),
        httpAddress: HostPort = HostPort(host: "127.0.0.1", port: 8080),
        database: String = ".dialer/local/dialer.sqlite",
        databaseConnections: Int = 8,
        watchDirectory: String = ".dialer/local/watch",
        watchInterval: Duration = .seconds(2),
        maxImportBytes: Int = 2 << 30,
        defaultRegion: String = "US",
        passwordIterations: Int = 600_000,
        complianceProfile: ComplianceProfileName = .none,
        addresses: [HostPort]? = nil
    ) {
        self.addresses = addresses ?? [clusterAddress]
        self.id = id
        self.clusterAddress = clusterAddress
        self.httpAddress = httpAddress
        self.database = database
        self.databaseConnections = databaseConnections
        self.watchDirectory = watchDirectory
        self.watchInterval = watchInterval
        self.maxImportBytes = maxImportBytes
        self.defaultRegion = defaultRegion
        self.passwordIterations = passwordIterations
        self.complianceProfile = complianceProfile
    }
}

/// A `[[standby]]` entry: another manager sharing the database, active only while it holds
/// the manager lease.
public struct StandbyManagerSettings: Sendable, Equatable {
    /// The manager's member id.
    public var id: String
    /// Where nodes and gateways connect to it.
    public var clusterAddress: HostPort
    /// Its HTTP API.
    public var httpAddress: HostPort

    public init(
        id: String, clusterAddress: HostPort = HostPort(host: "127.0.0.1", port: 7401),
        httpAddress: HostPort = HostPort(host: "127.0.0.1", port: 8081)
    ) {
        self.id = id
        self.clusterAddress = clusterAddress
        self.httpAddress = httpAddress
    }
}

/// The `[gateway]` section.
public struct GatewaySettings: Sendable, Equatable {
    /// The gateway's member id.
    public var id: String
    /// Where nodes and protocol (SDK or synthetic) agents connect.
    public var clusterAddress: HostPort
    /// The HTTP endpoints: the agent desktop, `/healthz`, `/readyz` and `/metrics`.
    public var httpAddress: HostPort
    /// How long an agent whose connections all dropped keeps their state before being logged out.
    public var agentGracePeriod: Duration
    /// The least time between two queue pictures sent to a queue's node.
    public var pictureInterval: Duration

    /// Settings with the given values; each defaults to the built-in default.
    public init(
        id: String = "gateway",
        clusterAddress: HostPort = HostPort(host: "127.0.0.1", port: 7500),
        httpAddress: HostPort = HostPort(host: "127.0.0.1", port: 8090),
        agentGracePeriod: Duration = .seconds(30),
        pictureInterval: Duration = .milliseconds(100)
    ) {
        self.id = id
        self.clusterAddress = clusterAddress
        self.httpAddress = httpAddress
        self.agentGracePeriod = agentGracePeriod
        self.pictureInterval = pictureInterval
    }
}

/// One `[[node]]` entry.
public struct NodeSettings: Sendable, Equatable {
    /// The node's member id, unique in the cluster.
    public var id: String
    /// The node's `/healthz`, `/readyz` and `/metrics`; port 0 (the default) picks any free port.
    public var httpAddress: HostPort
    /// The id of the `[[trunk]]` the node dials through, or ``TrunkSettings/builtInSimulated``;
    /// `nil`: the file's first `[[trunk]]`, or the built-in simulated trunk when there is none.
    public var trunk: String?

    /// A node with the given id; the address defaults to any free loopback port.
    public init(id: String, httpAddress: HostPort = HostPort(host: "127.0.0.1", port: 0), trunk: String? = nil) {
        self.id = id
        self.httpAddress = httpAddress
        self.trunk = trunk
    }
}

/// One `[[queue]]` entry.
public struct QueueSettings: Sendable, Equatable {
    /// The queue's id, unique in the cluster.
    public var id: String
    /// Whether the queue dials out or receives calls.
    public var kind: QueueKind
    /// The numbers (E.164) whose calls come to this queue: an inbound queue's lines, or a
    /// campaign's hotlines (a call to one becomes a new contact of the campaign). The node that
    /// owns the queue takes these numbers' calls.
    public var dids: [String]

    /// A queue with the given id; the kind defaults to a campaign.
    public init(id: String, kind: QueueKind = .campaign, dids: [String] = []) {
        self.id = id
        self.kind = kind
        self.dids = dids
    }
}

/// What a queue does.
public enum QueueKind: String, Sendable, Equatable, CaseIterable {
    /// A campaign's queue: the node dials its contacts.
    case campaign
    /// An inbound queue: calls come in and wait for an agent.
    case inbound
}

/// The severity levels of the log, least severe first (the same as swift-log's).
/// A compliance profile by name (the rules themselves are the campaign model's).
public enum ComplianceProfileName: String, Sendable, Equatable, CaseIterable {
    /// No regulator's rules.
    case none
    /// The US Telemarketing Sales Rule.
    case usFTC = "us-ftc"
    /// The UK Ofcom persistent-misuse policy.
    case ukOfcom = "uk-ofcom"
}

/// The PEM files of a process's TLS (see docs/TLS.md): its certificate chain and key, the
/// certificate authority its peers' certificates must be signed by, and whether a server
/// requires clients to present such a certificate (mutual TLS).
public struct TLSFiles: Sendable, Equatable, CustomStringConvertible {
    public var certificate: String
    public var key: String
    public var certificateAuthority: String
    public var clientAuthentication: TLSClientAuthentication

    public init(
        certificate: String, key: String, certificateAuthority: String,
        clientAuthentication: TLSClientAuthentication = .none
    ) {
        self.certificate = certificate
        self.key = key
        self.certificateAuthority = certificateAuthority
        self.clientAuthentication = clientAuthentication
    }

    public var description: String {
        "TLSFiles(certificate: \(certificate.quoted), key: \(key.quoted), "
            + "certificateAuthority: \(certificateAuthority.quoted), clientAuthentication: \(clientAuthentication))"
    }
}

/// Whether TLS servers ask clients for a certificate.
public enum TLSClientAuthentication: String, Sendable, Equatable, CaseIterable {
    /// Clients are not asked for a certificate (the HMAC handshake still authenticates members).
    case none
    /// Clients must present a certificate signed by the configured authority.
    case require
}

public enum LogLevel: String, Sendable, Equatable, CaseIterable {
    case trace
    case debug
    case info
    case notice
    case warning
    case error
    case critical
}
