public import DialerConfig
public import DialerCore
import DialerProtocol
import DialerRuntime
import DialerTransport
import FoundationEssentials
public import Hummingbird
public import Logging
public import Prometheus
import ServiceLifecycle

/// Assembles the manager process from its configuration: the coordinator, the cluster
/// listener, the lease clock and the HTTP API, as one application to run.
public struct ManagerProcess: Sendable {
    public let coordinator: ClusterCoordinator
    let config: ClusterConfig
    let registry: PrometheusCollectorRegistry
    let readiness = Readiness(conditions: ["cluster-listener"])
    let readyFile: String?
    let clock: any DialerClock
    let logger: Logger

    public let store: any ManagerStore
    /// Writes through the API that the cluster must hear about (agents, campaigns).
    public let changes = ManagerChanges()

    /// Opens the store (migrating it), creates the first admin token if there is none, and
    /// builds the coordinator.
    public static func make(
        config: ClusterConfig,
        registry: PrometheusCollectorRegistry,
        readyFile: String?,
        clock: any DialerClock = SystemClock(),
        logger: Logger
    ) async throws -> ManagerProcess {
        let store = try SQLiteManagerStore(path: config.manager.database)
        if try await store.tokenCount() == 0 {
            let path = URL(fileURLWithPath: config.cluster.runDirectory).appendingPathComponent("admin.token").path
            let token = APIToken.generate()
            _ = try await store.createToken(
                name: "bootstrap admin", role: .admin, tokenHash: APIToken.hash(token), at: Date())
            try FileManager.default.createDirectory(
                atPath: config.cluster.runDirectory, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(
                atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
            logger.notice("created the first admin API token", metadata: ["file": "\(path)"])
        }
        return try ManagerProcess(
            config: config, store: store, registry: registry, readyFile: readyFile, clock: clock, logger: logger)
    }

    init(
        config: ClusterConfig,
        store: any ManagerStore,
        registry: PrometheusCollectorRegistry,
        readyFile: String?,
        clock: any DialerClock,
        logger: Logger
    ) throws {
        self.store = store
        self.config = config
        self.registry = registry
        self.readyFile = readyFile
        self.clock = clock
        self.logger = logger
        let journalPath = URL(fileURLWithPath: config.cluster.runDirectory)
            .appendingPathComponent("manager-lease-journal.json").path
        self.coordinator = try ClusterCoordinator(
            leaseDuration: config.cluster.leaseDuration, queues: config.queues,
            journal: LeaseJournal(path: journalPath), clock: clock, logger: logger)
    }

    /// The API's router and its route table (the table is what the OpenAPI test reads).
    public func makeRouter() -> (Router<ManagerRequestContext>, RouteTable) {
        let router = Router(context: ManagerRequestContext.self)
        router.add(middleware: TokenAuthenticator(store: store))
        OperationsRoutes.add(to: router, registry: registry, readiness: readiness)
        let routes = RouteTable(router: router)
        routes.noteExternal(OperationsRoutes.paths)
        ClusterRoutes.add(to: routes, coordinator: coordinator)
        TokenRoutes.add(to: routes, store: store)
        return (router, routes)
    }

    /// The application: run it with `runService()`.
    public func application() -> some ApplicationProtocol {
        let (router, _) = makeRouter()
        let manager = config.manager
        let logger = self.logger
        let listening = ListeningAddresses.announcing(
            ["http", "cluster"], role: "manager", id: manager.id, readyFile: readyFile, logger: logger)
        let cluster = ManagerClusterService(
            config: config, coordinator: coordinator, readiness: readiness, listening: listening, clock: clock,
            gatewayDirectory: GatewayDirectoryService(store: store, changes: changes, logger: logger), logger: logger)
        return ProcessApplication.make(
            router: router, address: manager.httpAddress, services: [cluster], listening: listening, logger: logger)
    }
}

/// The cluster listener and the lease clock, as one service.
struct ManagerClusterService: Service {
    let config: ClusterConfig
    let coordinator: ClusterCoordinator
    let readiness: Readiness
    let listening: ListeningAddresses
    let clock: any DialerClock
    let gatewayDirectory: GatewayDirectoryService
    let logger: Logger

    func run() async throws {
        let settings = ConnectionSettings(
            localID: config.manager.id, localRole: .manager, secret: ClusterSecret(config.cluster.secret ?? ""),
            heartbeatInterval: config.cluster.heartbeatInterval, missedHeartbeats: config.cluster.missedHeartbeats,
            maximumPayload: config.cluster.maxFrameBytes, acceptedRoles: [.node, .gateway, .control])
        let address = config.manager.clusterAddress
        let server = try await ClusterServer.bind(
            host: address.host, port: address.port, settings: settings,
            violationLog: ViolationLog(logger: logger))
        listening.bound("cluster", address: ListeningAddresses.describe(host: address.host, port: server.port))
        readiness.set("cluster-listener", true)
        let listener = ManagerClusterListener(
            coordinator: coordinator, leaseDuration: config.cluster.leaseDuration,
            renewInterval: config.cluster.leaseRenewInterval, logger: logger
        ).serving(gatewayDirectory: gatewayDirectory)
        let tickInterval = min(config.cluster.leaseDuration / 20, .milliseconds(250))
        try await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.run(handler: listener.handle) }
                group.addTask {
                    while !Task.isCancelled {
                        await coordinator.tick()
                        try await clock.sleep(for: tickInterval)
                    }
                }
            }
        }
    }
}
