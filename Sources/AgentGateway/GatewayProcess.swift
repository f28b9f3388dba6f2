public import DialerConfig
import DialerCore
import DialerProtocol
import DialerRuntime
import DialerTransport
import FoundationEssentials
public import Hummingbird
public import Logging
public import Prometheus
import ServiceLifecycle

/// Assembles the agent gateway process: the queue map from the manager, the listener for
/// nodes, and the HTTP endpoints.
public struct GatewayProcess: Sendable {
    public let queueMap: GatewayQueueMap
    let config: ClusterConfig
    let registry: PrometheusCollectorRegistry
    let readiness = Readiness(conditions: ["cluster-listener", "manager-connection"])
    let readyFile: String?
    let logger: Logger

    public init(config: ClusterConfig, registry: PrometheusCollectorRegistry, readyFile: String?, logger: Logger) {
        self.config = config
        self.registry = registry
        self.readyFile = readyFile
        self.logger = logger
        self.queueMap = GatewayQueueMap(logger: logger)
    }

    public func application() -> some ApplicationProtocol {
        let router = Router()
        OperationsRoutes.add(to: router, registry: registry, readiness: readiness)
        let queueMap = self.queueMap
        router.get("v1/queues") { _, _ in
            struct Body: Encodable {
                var mapVersion: UInt64
                var queues: [Queue]
            }
            struct Queue: Encodable {
                var queue: String
                var owner: String?
                var epoch: UInt64
                var subscriber: String?
            }
            let view = await queueMap.view()
            let body = Body(
                mapVersion: view.mapVersion,
                queues: view.queues.map {
                    Queue(queue: $0.queue, owner: $0.owner, epoch: $0.epoch, subscriber: $0.subscriber)
                })
            return try JSONResponse.make(body)
        }
        let gateway = config.gateway
        let logger = self.logger
        let listening = ListeningAddresses.announcing(
            ["http", "cluster"], role: "gateway", id: gateway.id, readyFile: readyFile, logger: logger)
        let service = GatewayClusterService(
            config: config, queueMap: queueMap, readiness: readiness, listening: listening, logger: logger)
        return ProcessApplication.make(
            router: router, address: gateway.httpAddress, services: [service], listening: listening, logger: logger)
    }
}

/// The gateway's cluster side: the listener for nodes and the session with the manager.
struct GatewayClusterService: Service {
    let config: ClusterConfig
    let queueMap: GatewayQueueMap
    let readiness: Readiness
    let listening: ListeningAddresses
    let logger: Logger

    func run() async throws {
        let secret = ClusterSecret(config.cluster.secret ?? "")
        let serverSettings = ConnectionSettings(
            localID: config.gateway.id, localRole: .gateway, secret: secret,
            heartbeatInterval: config.cluster.heartbeatInterval, missedHeartbeats: config.cluster.missedHeartbeats,
            maximumPayload: config.cluster.maxFrameBytes, acceptedRoles: [.node])
        let address = config.gateway.clusterAddress
        let server = try await ClusterServer.bind(
            host: address.host, port: address.port, settings: serverSettings, violationLog: ViolationLog(logger: logger)
        )
        let clusterAddress = ListeningAddresses.describe(host: address.host, port: server.port)
        listening.bound("cluster", address: clusterAddress)
        readiness.set("cluster-listener", true)

        var clientSettings = serverSettings
        clientSettings.acceptedRoles = []
        let manager = ReconnectingClient(
            host: config.manager.clusterAddress.host, port: config.manager.clusterAddress.port,
            settings: clientSettings, logger: logger)
        let listener = GatewayNodeListener(queueMap: queueMap, logger: logger)
        let (readiness, queueMap, httpAddress) = (self.readiness, self.queueMap, config.gateway.httpAddress.description)
        try await cancelWhenGracefulShutdown {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await server.run(handler: listener.handle) }
                group.addTask {
                    await manager.run(
                        whileConnected: { link in
                            var register = Dialer_V1_Register()
                            register.httpAddress = httpAddress
                            register.clusterAddress = clusterAddress
                            let reply = try await link.request(.register(register))
                            guard case .registered = reply.message else {
                                throw RegistrationRefused(reply: reply.kindName)
                            }
                            readiness.set("manager-connection", true)
                            while true { try await Task.sleep(for: .seconds(3600)) }
                        },
                        onMessage: { envelope, _ in
                            if case .queueMap(let map) = envelope.message { await queueMap.apply(map) }
                        },
                        onDisconnect: { readiness.set("manager-connection", false) })
                }
            }
        }
    }
}

/// The manager answered a registration with something else than `Registered`.
struct RegistrationRefused: Error, CustomStringConvertible {
    var reply: String
    var description: String { "the manager answered register with \(reply)" }
}
