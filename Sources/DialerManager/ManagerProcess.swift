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
import Synchronization

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
    /// The supervisor's live panel's subscribers (`GET /v1/live/events`).
    public let liveFeed = LiveFeed()
    /// Nodes' latest pacing reports, which the live panel shows.
    let pacingBoard: PacingBoard
    /// Whether this manager is the active one (always, without standbys).
    public let activity: ManagerActivity
    /// The manager lease, when `[[standby]]` managers share the database.
    let leaseStore: (any ManagerLeaseStore)?
    /// The term the store checks the feeder's writes against, with standbys.
    let fence: ManagerTermFence?

    /// Opens the store (migrating it), creates the first admin token if there is none, and
    /// builds the coordinator.
    public static func make(
        config: ClusterConfig,
        registry: PrometheusCollectorRegistry,
        readyFile: String?,
        clock: any DialerClock = SystemClock(),
        logger: Logger
    ) async throws -> ManagerProcess {
        let fence: ManagerTermFence? = config.hasStandbys ? ManagerTermFence() : nil
        let store: any ManagerStore
        let leaseStore: (any ManagerLeaseStore)?
        if PostgresDatabaseURL.isPostgresURL(config.manager.database) {
            let postgres = try await PostgresManagerStore.open(
                PostgresStoreConfiguration(
                    url: config.manager.database, connections: config.manager.databaseConnections),
                passwordIterations: config.manager.passwordIterations, fence: fence,
                abandoningInterruptedImports: !config.hasStandbys, logger: logger)
            store = postgres
            leaseStore = config.hasStandbys ? PostgresManagerLeaseStore(store: postgres) : nil
        } else {
            store = try SQLiteManagerStore(
                path: config.manager.database, passwordIterations: config.manager.passwordIterations, fence: fence,
                abandoningInterruptedImports: !config.hasStandbys)
            leaseStore = config.hasStandbys ? try SQLiteManagerLeaseStore(path: config.manager.database) : nil
        }
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
            config: config, store: store, leaseStore: leaseStore, fence: fence, registry: registry,
            readyFile: readyFile, clock: clock, logger: logger)
    }

    init(
        config: ClusterConfig,
        store: any ManagerStore,
        leaseStore: (any ManagerLeaseStore)? = nil,
        fence: ManagerTermFence? = nil,
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
        self.pacingBoard = PacingBoard(clock: clock)
        self.leaseStore = leaseStore
        self.fence = fence
        if leaseStore != nil {
            // One of several managers: the journal is in the database, read at each take-over.
            self.activity = ManagerActivity(active: false)
            self.coordinator = try ClusterCoordinator.standby(
                leaseDuration: config.cluster.leaseDuration, queues: config.queues, clock: clock, logger: logger)
        } else {
            let journalPath = URL(fileURLWithPath: config.cluster.runDirectory)
                .appendingPathComponent("manager-lease-journal.json").path
            self.activity = ManagerActivity(active: true)
            self.coordinator = try ClusterCoordinator(
                leaseDuration: config.cluster.leaseDuration, queues: config.queues,
                journal: LeaseJournal(path: journalPath), clock: clock, logger: logger)
        }
    }

    /// Agents' resume tokens, keyed by the cluster secret (none without one).
    var resumeTokens: AgentResumeTokens? {
        (try? config.cluster.requiredSecret()).map { AgentResumeTokens(secret: $0) }
    }

    /// The API's router and its route table (the table is what the OpenAPI test reads).
    public func makeRouter() -> (Router<ManagerRequestContext>, RouteTable) {
        let router = Router(context: ManagerRequestContext.self)
        router.add(middleware: TokenAuthenticator(store: store))
        OperationsRoutes.add(to: router, registry: registry, readiness: readiness)
        ConsolePages.assets.add(to: router, mount: "console", extraPages: ["live": "live.html"])
        let routes = RouteTable(router: router)
        routes.noteExternal(OperationsRoutes.paths)
        ClusterRoutes.add(to: routes, coordinator: coordinator)
        TokenRoutes.add(to: routes, store: store)
        let spool = URL(fileURLWithPath: config.cluster.runDirectory).appendingPathComponent("import-spool").path
        let api = APIEnvironment(
            store: store, changes: changes, settings: config.manager,
            imports: ImportRunner(store: store, spoolDirectory: spool, logger: logger), queues: config.queues,
            coordinator: coordinator, resumeTokens: resumeTokens)
        ListRoutes.add(to: routes, api)
        ContactRoutes.add(to: routes, api)
        CampaignRoutes.add(to: routes, api)
        DoNotCallRoutes.add(to: routes, api)
        AgentRoutes.add(to: routes, api)
        ReportRoutes.add(to: routes, api)
        WebhookRoutes.add(to: routes, api)
        LiveRoutes.add(to: routes, feed: liveFeed)
        return (router, routes)
    }

    /// The application: run it with `runService()`.
    public func application() throws -> some ApplicationProtocol {
        let (router, _) = makeRouter()
        let manager = config.manager
        let logger = self.logger
        let listening = ListeningAddresses.announcing(
            ["http", "cluster"], role: "manager", id: manager.id, readyFile: readyFile, logger: logger)
        let cluster = ManagerClusterService(
            config: config, coordinator: coordinator, store: store, changes: changes, readiness: readiness,
            listening: listening, activity: activity, clock: clock,
            gatewayDirectory: GatewayDirectoryService(
                store: store, changes: changes, resumeTokens: resumeTokens, logger: logger),
            pacing: pacingBoard, logger: logger)
        let watchedFolders = WatchedFolderService(
            store: store, directory: manager.watchDirectory, interval: manager.watchInterval,
            defaultRegion: manager.defaultRegion, clock: clock, logger: logger)
        let webhooks = WebhookDeliveryService(
            worker: WebhookDeliveryWorker(
                store: store, sender: URLSessionWebhookSender(), clock: clock,
                wallTime: WallTime(clock: clock, now: Date()), logger: logger))
        let live = LiveFeedService(
            feed: liveFeed, store: store, coordinator: coordinator, gateways: HTTPGatewayLiveSource(),
            pacing: pacingBoard, clock: clock, interval: .seconds(1), logger: logger)
        var services: [any Service] = [
            cluster, WhileActiveService(activity: activity, inner: watchedFolders),
            WhileActiveService(activity: activity, inner: webhooks), live,
        ]
        if let leaseStore {
            services.append(InterruptedImportsSweep(activity: activity, store: store, logger: logger))
            services.append(
                ManagerLeaseService(
                    holder: manager.id, duration: manager.activeLease, store: leaseStore, coordinator: coordinator,
                    activity: activity, fence: fence, clock: clock, logger: logger))
        }
        return try ProcessApplication.make(
            router: router, address: manager.httpAddress, services: services,
            listening: listening, tls: config.cluster.tls, logger: logger)
    }
}

/// The cluster listener, the feeder, the lease clock and the sweep of lost nodes' attempts, as
/// one service.
struct ManagerClusterService: Service {
    let config: ClusterConfig
    let coordinator: ClusterCoordinator
    let store: any ManagerStore
    let changes: ManagerChanges
    let readiness: Readiness
    let listening: ListeningAddresses
    let activity: ManagerActivity
    let clock: any DialerClock
    let gatewayDirectory: GatewayDirectoryService
    let pacing: PacingBoard
    let logger: Logger

    func run() async throws {
        let settings = ConnectionSettings(
            localID: config.manager.id, localRole: .manager, secret: ClusterSecret(try config.cluster.requiredSecret()),
            heartbeatInterval: config.cluster.heartbeatInterval, missedHeartbeats: config.cluster.missedHeartbeats,
            maximumPayload: config.cluster.maxFrameBytes,
            supportedVersions: try config.cluster.offeredProtocolVersions(),
            acceptedRoles: [.node, .gateway, .control],
            outboundHighWater: config.cluster.outboundHighWaterBytes,
            outboundHardLimit: config.cluster.outboundHardLimitBytes,
            tls: try config.cluster.tls.map(ClusterTLS.init(files:)))
        let address = config.manager.clusterAddress
        let server = try await ClusterServer.bind(
            host: address.host, port: address.port, settings: settings,
            violationLog: ViolationLog(logger: logger))
        listening.bound("cluster", address: ListeningAddresses.describe(host: address.host, port: server.port))
        readiness.set("cluster-listener", true)
        // The listener of the current term: nil while this manager stands by, when every
        // connection is refused with MANAGER_STANDBY so that its peer tries the next manager.
        let current = CurrentListener()
        let (coordinator, activity, store, changes, clock, logger) = (
            self.coordinator, self.activity, self.store, self.changes, self.clock, self.logger
        )
        let (gatewayDirectory, pacing, config) = (self.gatewayDirectory, self.pacing, self.config)
        let tickInterval = min(config.cluster.leaseDuration / 20, .milliseconds(250))
        try await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    try await server.run { connection in
                        if let listener = current.listener.withLock({ $0 }) {
                            await listener.handle(connection)
                        } else {
                            _ = try? await connection.run { link, _ in
                                link.close(with: .managerStandby, "this manager is a standby")
                            }
                        }
                    }
                }
                group.addTask {
                    await activity.whileActive { _ in
                        // The one reading of the system's date: the feeder's dates run on the injected clock.
                        let feeder = ManagerFeeder(
                            store: store, coordinator: coordinator, changes: changes,
                            wallTime: WallTime(clock: clock, now: Date()), logger: logger)
                        let listener = ManagerClusterListener(
                            coordinator: coordinator, feeder: feeder, leaseDuration: config.cluster.leaseDuration,
                            renewInterval: config.cluster.leaseRenewInterval, logger: logger
                        ).serving(gatewayDirectory: gatewayDirectory).serving(pacing: pacing)
                        current.listener.withLock { $0 = listener }
                        defer { current.listener.withLock { $0 = nil } }
                        try await withThrowingDiscardingTaskGroup { active in
                            active.addTask { await feeder.runBatches() }
                            active.addTask {
                                while !Task.isCancelled {
                                    await coordinator.tick()
                                    try await clock.sleep(for: tickInterval)
                                }
                            }
                            active.addTask {
                                var accounted = false
                                while !Task.isCancelled {
                                    if !accounted { accounted = await feeder.accountForOpenAttempts() }
                                    await feeder.sweepLostNodes()
                                    try await clock.sleep(for: tickInterval)
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The listener of the current term, shared by the cluster port's connections.
private final class CurrentListener: Sendable {
    let listener = Mutex<ManagerClusterListener?>(nil)
}

/// With standby managers: each time this manager becomes active, the import jobs the previous
/// active manager left running are marked failed (a standby opening the shared database must
/// not fail them while that manager still runs them).
struct InterruptedImportsSweep: Service {
    let activity: ManagerActivity
    let store: any ManagerStore
    let logger: Logger

    func run() async throws {
        let (store, logger) = (self.store, self.logger)
        await cancelWhenGracefulShutdown {
            await activity.whileActive { _ in
                do {
                    try await store.abandonInterruptedImports()
                } catch {
                    logger.error("could not mark interrupted imports failed", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
