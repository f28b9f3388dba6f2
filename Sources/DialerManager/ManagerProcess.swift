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

    public init(
        config: ClusterConfig,
        registry: PrometheusCollectorRegistry,
        readyFile: String?,
        clock: any DialerClock = SystemClock(),
        logger: Logger
    ) throws {
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

    /// The application: run it with `runService()`.
    public func application() -> some ApplicationProtocol {
        let router = Router()
        OperationsRoutes.add(to: router, registry: registry, readiness: readiness)
        ClusterRoutes.add(to: router, coordinator: coordinator)
        let manager = config.manager
        let logger = self.logger
        let listening = ListeningAddresses.announcing(
            ["http", "cluster"], role: "manager", id: manager.id, readyFile: readyFile, logger: logger)
        let cluster = ManagerClusterService(
            config: config, coordinator: coordinator, readiness: readiness, listening: listening, clock: clock,
            logger: logger)
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
            renewInterval: config.cluster.leaseRenewInterval, logger: logger)
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
