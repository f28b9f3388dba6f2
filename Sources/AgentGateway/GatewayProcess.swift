public import DialerConfig
public import DialerCore
import DialerProtocol
import DialerRuntime
import DialerTransport
import FoundationEssentials
public import Hummingbird
import HummingbirdWebSocket
public import Logging
import NIOPosix
public import Prometheus
import ServiceLifecycle

/// Assembles the agent gateway process: the queue map from the manager, the reservation
/// service, the agent directory, the listener for nodes and protocol agents, and the HTTP
/// endpoints (the WebSocket agent desktop among them).
public struct GatewayProcess: Sendable {
    public let queueMap: GatewayQueueMap
    public let reservations: ReservationService
    public let directory: ManagerDirectory
    public let sessions: AgentSessionRegistry
    let config: ClusterConfig
    let registry: PrometheusCollectorRegistry
    let readiness = Readiness(conditions: ["cluster-listener", "manager-connection"])
    let readyFile: String?
    let clock: any DialerClock
    let logger: Logger

    public init(
        config: ClusterConfig,
        registry: PrometheusCollectorRegistry,
        readyFile: String?,
        clock: any DialerClock = SystemClock(),
        logger: Logger
    ) {
        self.config = config
        self.registry = registry
        self.readyFile = readyFile
        self.clock = clock
        self.logger = logger
        self.queueMap = GatewayQueueMap(logger: logger)
        self.reservations = ReservationService(
            settings: .init(
                pictureInterval: config.gateway.pictureInterval, nodeLossGrace: config.cluster.leaseDuration),
            clock: clock, logger: logger)
        // Resume tokens are keyed by the cluster secret; without one (the process then fails to
        // start its cluster side anyway) none is accepted.
        self.directory = ManagerDirectory(
            service: reservations,
            resumeTokens: (try? config.cluster.requiredSecret()).map { AgentResumeTokens(secret: $0) }, logger: logger)
        self.sessions = AgentSessionRegistry(
            service: reservations, authority: directory, clock: clock, grace: config.gateway.agentGracePeriod,
            logger: logger)
    }

    public func application() throws -> some ApplicationProtocol {
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
        ReservationLogRoute.add(to: router, reservations: reservations, clock: clock)
        DesktopPages.assets.add(to: router, mount: "agent")
        router.get("v1/live") { _, _ in
            // Every agent and a picture of every queue: built and encoded off the reservation
            // service's actor and off the cooperative pool, where reservations would wait for it.
            let source = await reservations.liveSource()
            return try await NIOThreadPool.singleton.runIfActive { try JSONResponse.make(source.view()) }
        }
        let gateway = config.gateway
        let logger = self.logger
        let listening = ListeningAddresses.announcing(
            ["http", "cluster"], role: "gateway", id: gateway.id, readyFile: readyFile, logger: logger)
        let service = GatewayClusterService(
            config: config, queueMap: queueMap, reservations: reservations, directory: directory, sessions: sessions,
            readiness: readiness, listening: listening, clock: clock, logger: logger)
        let (sessions, directory) = (self.sessions, self.directory)
        let address = gateway.httpAddress
        return Application(
            router: router,
            server: try AgentWebSocket.server(
                registry: sessions, authority: directory, highWater: config.cluster.outboundHighWaterBytes,
                hardLimit: config.cluster.outboundHardLimitBytes,
                pingInterval: config.cluster.agentHeartbeatInterval, tls: config.cluster.tls),
            configuration: ApplicationConfiguration(
                address: .hostname(address.host, port: address.port), serverName: nil),
            services: [service, SchedulingLagProbe()],
            onServerRunning: { channel in
                listening.bound(
                    "http", address: ListeningAddresses.describe(host: address.host, port: channel.localAddress?.port))
            },
            logger: logger
        )
    }
}

/// The gateway's cluster side: the listener for nodes and protocol agents, and the session
/// with the manager (registration, queue map, agent directory).
struct GatewayClusterService: Service {
    let config: ClusterConfig
    let queueMap: GatewayQueueMap
    let reservations: ReservationService
    let directory: ManagerDirectory
    let sessions: AgentSessionRegistry
    let readiness: Readiness
    let listening: ListeningAddresses
    let clock: any DialerClock
    let logger: Logger

    func run() async throws {
        let secret = ClusterSecret(try config.cluster.requiredSecret())
        let serverSettings = ConnectionSettings(
            localID: config.gateway.id, localRole: .gateway, secret: secret,
            heartbeatInterval: config.cluster.heartbeatInterval,
            agentHeartbeatInterval: config.cluster.agentHeartbeatInterval,
            missedHeartbeats: config.cluster.missedHeartbeats,
            maximumPayload: config.cluster.maxFrameBytes,
            supportedVersions: try config.cluster.offeredProtocolVersions(),
            acceptedRoles: [.node, .agent],
            outboundHighWater: config.cluster.outboundHighWaterBytes,
            outboundHardLimit: config.cluster.outboundHardLimitBytes,
            tls: try config.cluster.tls.map(ClusterTLS.init(files:)))
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
            addresses: config.manager.addresses.map { ($0.host, $0.port) },
            settings: clientSettings, logger: logger)
        let nodes = GatewayNodeListener(queueMap: queueMap, reservations: reservations, clock: clock, logger: logger)
        let agents = AgentClusterListener(registry: sessions, authority: directory, logger: logger)
        let (readiness, queueMap, listening) = (self.readiness, self.queueMap, self.listening)
        let (reservations, directory) = (self.reservations, self.directory)
        // The reservation service's timers stop once the listeners are down, on every way out.
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask {
                        try await server.run { connection in
                            if connection.peer.role == .agent {
                                await agents.handle(connection)
                            } else {
                                await nodes.handle(connection)
                            }
                        }
                    }
                    group.addTask {
                        await manager.run(
                            whileConnected: { link in
                                // The address the HTTP server bound (a configured port 0 is the
                                // system's choice): the manager reads the live view there.
                                guard let httpAddress = await listening.address(of: "http") else {
                                    throw CancellationError()
                                }
                                var register = Dialer_V1_Register()
                                register.httpAddress = httpAddress
                                register.clusterAddress = clusterAddress
                                let reply = try await link.request(.register(register))
                                guard case .registered = reply.message else {
                                    throw RegistrationRefused(reply: reply.kindName)
                                }
                                try await directory.connected(link)
                                readiness.set("manager-connection", true)
                                while true { try await Task.sleep(for: .seconds(3600)) }
                            },
                            onMessage: { envelope, _ in
                                switch envelope.message {
                                case .queueMap(let map):
                                    await queueMap.apply(map)
                                    await reservations.queueOwners(
                                        map.entries.map {
                                            (
                                                QueueID($0.queue), $0.owner.isEmpty ? nil : MemberID($0.owner),
                                                Epoch($0.epoch)
                                            )
                                        })
                                case .agentDirectory(let agents):
                                    await directory.apply(agents)
                                default:
                                    break
                                }
                            },
                            onDisconnect: {
                                readiness.set("manager-connection", false)
                                await directory.disconnected()
                            })
                    }
                }
            }
        } catch {
            await reservations.shutdown()
            throw error
        }
        await reservations.shutdown()
    }
}

/// The manager answered a registration with something else than `Registered`.
struct RegistrationRefused: Error, CustomStringConvertible {
    var reply: String
    var description: String { "the manager answered register with \(reply)" }
}
