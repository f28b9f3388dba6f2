public import DialerConfig
public import DialerCore
import DialerProtocol
import DialerRuntime
import DialerTransport
import FoundationEssentials
public import Hummingbird
public import Logging
import NIOCore
import NIOPosix
public import Prometheus
import ServiceLifecycle

/// The telephony a node works through, as its executable chose it (a `[[trunk]]` of the cluster
/// file, or the simulated trunk): the node library knows only the ``Trunk`` protocol.
public struct NodeTelephony: Sendable {
    /// Where the node places and receives calls.
    public var trunk: any Trunk
    /// Call time: the trunk's clock (a simulated trunk may run faster than the wall).
    public var clock: any DialerClock
    /// Seconds of call time per second of wall time (1 for a real trunk).
    public var timeScale: Double
    /// Ends the trunk's calls and closes it, once the node has stopped dialing.
    public var shutDown: @Sendable () async -> Void

    public init(
        trunk: any Trunk, clock: any DialerClock, timeScale: Double = 1,
        shutDown: @escaping @Sendable () async -> Void = {}
    ) {
        self.trunk = trunk
        self.clock = clock
        self.timeScale = timeScale
        self.shutDown = shutDown
    }
}

/// Starts a node's telephony on the node's clock. Called once, when the node's cluster service
/// starts; an error keeps the node in the cluster without dialing, and is logged.
public typealias NodeTelephonyFactory =
    @Sendable (_ clock: any DialerClock, _ logger: Logger) async throws ->
    NodeTelephony

/// Assembles a dialer node process: its lease ownership, its sessions with the manager and
/// the gateway, and its HTTP endpoints.
public struct NodeProcess: Sendable {
    public let ownership: QueueOwnership
    /// What the queues ask the manager: their campaigns, contacts, and results to report.
    public let feed: CampaignFeed
    /// The node's reservation client at the gateway, for its queue runners.
    public let reservations: GatewayReservations
    /// The loop the gateway connection is opened on, its messages read on, and
    /// ``reservations`` runs on: an answer from the gateway is taken on the thread that read it.
    let gatewayLoop: any EventLoop
    /// The thread of ``gatewayLoop``: the node's other connections and its HTTP server share the
    /// default loops, and an answer read behind their work waited for it (traced at 10,000
    /// agents: the answer's way from the gateway's write to the node's read held most of the
    /// round trip's tail; BENCHMARKS.md).
    static let gatewayThread = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let config: ClusterConfig
    let node: NodeSettings
    let registry: PrometheusCollectorRegistry
    let readiness = Readiness(conditions: ["manager-connection", "gateway-connection"])
    let readyFile: String?
    let clock: any DialerClock
    let logger: Logger
    let telephony: NodeTelephonyFactory

    /// A node process; `telephony` starts the trunk it dials through (the executable picks the
    /// implementation from the cluster file's `[[trunk]]` entries).
    public init(
        config: ClusterConfig,
        node: NodeSettings,
        registry: PrometheusCollectorRegistry,
        readyFile: String?,
        clock: any DialerClock = SystemClock(),
        logger: Logger,
        telephony: @escaping NodeTelephonyFactory
    ) {
        self.telephony = telephony
        self.config = config
        self.node = node
        self.registry = registry
        self.readyFile = readyFile
        self.clock = clock
        self.logger = logger
        self.ownership = QueueOwnership(
            node: MemberID(node.id), leaseDuration: config.cluster.leaseDuration,
            safetyMargin: config.cluster.leaseSafetyMargin, clock: clock, logger: logger)
        self.feed = CampaignFeed(ownership: ownership, logger: logger)
        // A new incarnation per process: request ids of an earlier run never collide.
        self.gatewayLoop = Self.gatewayThread.next()
        self.reservations = GatewayReservations(
            prefix: "\(node.id)-\(UInt32.random(in: 1...UInt32.max))", executor: gatewayLoop.executor)
    }

    public func application() throws -> some ApplicationProtocol {
        let router = Router()
        OperationsRoutes.add(to: router, registry: registry, readiness: readiness)
        let (ownership, nodeID) = (self.ownership, node.id)
        router.get("v1/leases") { _, _ in
            struct Body: Encodable {
                var node: String
                var draining: Bool
                var leases: [Lease]
            }
            struct Lease: Encodable {
                var queue: String
                var epoch: UInt64
                var validForMs: Int64
                var gatewaySubscribed: Bool
            }
            let leases = await ownership.view()
            let body = Body(
                node: nodeID, draining: await ownership.draining,
                leases: leases.map {
                    Lease(
                        queue: $0.queue, epoch: $0.epoch, validForMs: $0.validFor.totalMilliseconds,
                        gatewaySubscribed: $0.gatewaySubscribed)
                })
            return try JSONResponse.make(body)
        }
        let logger = self.logger
        let listening = ListeningAddresses.announcing(
            ["http"], role: "node", id: nodeID, readyFile: readyFile, logger: logger)
        let service = NodeClusterService(
            config: config, node: node, ownership: ownership, feed: feed, reservations: reservations,
            gatewayLoop: gatewayLoop, readiness: readiness, clock: clock, logger: logger, telephony: telephony)
        return try ProcessApplication.make(
            router: router, address: node.httpAddress, services: [service], listening: listening,
            tls: config.cluster.tls, logger: logger)
    }
}

/// The node's cluster side: the manager session (register, renew, grants), the gateway
/// session (queue subscriptions), and the lease clock.
struct NodeClusterService: Service {
    let config: ClusterConfig
    let node: NodeSettings
    let ownership: QueueOwnership
    let feed: CampaignFeed
    let reservations: GatewayReservations
    /// The loop the gateway connection runs on (``NodeProcess/gatewayLoop``).
    let gatewayLoop: any EventLoop
    let readiness: Readiness
    let clock: any DialerClock
    let logger: Logger
    let telephony: NodeTelephonyFactory

    func run() async throws {
        let settings = ConnectionSettings(
            localID: node.id, localRole: .node, secret: ClusterSecret(try config.cluster.requiredSecret()),
            heartbeatInterval: config.cluster.heartbeatInterval, missedHeartbeats: config.cluster.missedHeartbeats,
            maximumPayload: config.cluster.maxFrameBytes,
            supportedVersions: try config.cluster.offeredProtocolVersions(),
            outboundHighWater: config.cluster.outboundHighWaterBytes,
            outboundHardLimit: config.cluster.outboundHardLimitBytes,
            tls: try config.cluster.tls.map(ClusterTLS.init(files:)))
        let manager = ReconnectingClient(
            addresses: config.manager.addresses.map { ($0.host, $0.port) }, settings: settings,
            logger: logger)
        let gateway = ReconnectingClient(
            host: config.gateway.clusterAddress.host, port: config.gateway.clusterAddress.port, settings: settings,
            logger: logger, eventLoop: gatewayLoop)
        let (ownership, feed, reservations, readiness, clock) = (
            self.ownership, self.feed, self.reservations, self.readiness, self.clock
        )
        let renewInterval = config.cluster.leaseRenewInterval
        let (leaseDuration, logger) = (config.cluster.leaseDuration, self.logger)
        let httpAddress = node.httpAddress.description
        let tickInterval = min(config.cluster.leaseSafetyMargin / 4, .milliseconds(100))

        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await manager.run(
                    whileConnected: { link in
                        await ownership.managerConnected(link)
                        let (request, held) = await ownership.rejoinReport()
                        var register = Dialer_V1_Register()
                        register.httpAddress = httpAddress
                        register.held = held.map(Dialer_V1_QueueLease.init)
                        register.renewalRequest = request.rawValue
                        let reply = try await link.request(.register(register))
                        guard case .registered(let registered) = reply.message else {
                            throw NodeRegistrationRefused(reply: reply.kindName)
                        }
                        if registered.leaseDurationMs != UInt32(clamping: leaseDuration.totalMilliseconds) {
                            // Validity is computed from this node's own setting; a longer one at the
                            // manager is safe, a shorter one is not.
                            logger.warning(
                                "manager's lease duration differs from this node's configuration",
                                metadata: ["manager_ms": "\(registered.leaseDurationMs)"])
                        }
                        await ownership.renewalAnswered(request: request, answer: registered.renewal)
                        // Registered: the feed may ask, and resends the results not acknowledged.
                        await feed.managerConnected(link)
                        readiness.set("manager-connection", true)
                        while true {
                            try await clock.sleep(for: renewInterval)
                            let (request, held) = await ownership.makeRenewal()
                            var renew = Dialer_V1_LeaseRenew()
                            renew.held = held.map(Dialer_V1_QueueLease.init)
                            renew.renewalRequest = request.rawValue
                            // An unanswered renewal is not fatal: the leases lapse on the node's
                            // clock, and the heartbeat decides whether the connection is dead.
                            guard let answer = try? await link.request(.leaseRenew(renew), timeout: renewInterval),
                                case .leaseRenewed(let renewed) = answer.message
                            else { continue }
                            await ownership.renewalAnswered(request: request, answer: renewed)
                        }
                    },
                    onMessage: { envelope, _ in
                        switch envelope.message {
                        case .leaseGrant(let grant): await ownership.granted(grant)
                        case .leaseRevoke(let revoke): await ownership.revoked(revoke)
                        case .drain(let drain): await ownership.drain(resumed: drain.resumed)
                        default: break
                        }
                    },
                    onDisconnect: {
                        readiness.set("manager-connection", false)
                        await ownership.managerConnected(nil)
                        await feed.managerConnected(nil)
                    })
            }
            group.addTask {
                await gateway.run(
                    whileConnected: { link in
                        await ownership.gatewayConnected(link)
                        await reservations.connected(link)
                        readiness.set("gateway-connection", true)
                        while true { try await Task.sleep(for: .seconds(3600)) }
                    },
                    onMessage: { envelope, _ in await reservations.receive(envelope) },
                    onDisconnect: {
                        readiness.set("gateway-connection", false)
                        await ownership.gatewayConnected(nil)
                        await reservations.connected(nil)
                    })
            }
            group.addTask {
                while !Task.isCancelled {
                    await ownership.tick()
                    try? await clock.sleep(for: tickInterval)
                }
            }
            let made = await makeDialing()
            if let (dialing, inbound, _) = made {
                group.addTask { await inbound.run() }
                group.addTask {
                    // Queue starts and stops, in order: a runner per leased campaign queue, and
                    // the calls of every leased queue's numbers.
                    for await event in ownership.queueEvents {
                        switch event {
                        case .started(let queue, let epoch):
                            await dialing.start(queue, epoch: epoch)
                            await inbound.leaseStarted(queue, epoch: epoch)
                        case .stopped(let queue, let epoch):
                            await inbound.leaseStopped(queue, epoch: epoch)
                            await dialing.stop(queue, epoch: epoch)
                        }
                    }
                }
            }
            // Runs until SIGTERM/SIGINT; then end the calls in progress and report them, and hand
            // every queue back, before the connections close.
            try? await gracefulShutdown()
            if let (dialing, _, telephony) = made {
                await dialing.shutDown(within: Self.shutdownLimit)
                await telephony.shutDown()
                if !(await feed.waitUntilDelivered(within: Self.shutdownLimit)) {
                    let left = await feed.unacknowledgedReports
                    logger.warning(
                        "stopping with results the manager has not acknowledged", metadata: ["count": "\(left)"])
                }
            }
            await ownership.shutdown()
            group.cancelAll()
        }
    }
}

extension NodeClusterService {
    /// How long a stopping node waits for its calls to end, and then for their reports to be
    /// acknowledged: bounded, so that a stop always ends.
    static let shutdownLimit: Duration = .seconds(5)

    /// The node's dialing and inbound calls over the trunk its executable chose.
    func makeDialing() async -> (NodeDialing, InboundCalls, NodeTelephony)? {
        let telephony: NodeTelephony
        do {
            telephony = try await self.telephony(clock, logger)
        } catch {
            logger.error("the trunk cannot start: this node will not dial", metadata: ["error": "\(error)"])
            return nil
        }
        // Bridges go to the phone each agent gave at login.
        let trunk = AgentPhoneTrunk(trunk: telephony.trunk, reservations: reservations)
        let dialing = NodeDialing(
            node: MemberID(node.id), trunk: trunk, clock: telephony.clock, timeScale: telephony.timeScale,
            feed: feed, reservations: reservations, validity: ownership.validity, logger: logger)
        var lines: [String: InboundCalls.Line] = [:]
        for queue in config.queues {
            for did in queue.dids { lines[did] = .init(queue: QueueID(queue.id), hotline: queue.kind == .campaign) }
        }
        let calendar = CalendarAnchor(
            moment: telephony.clock.now(), date: Date(), clockSecondsPerSecond: telephony.timeScale)
        let inbound = InboundCalls(
            trunk: trunk, timeScale: telephony.timeScale, calendar: calendar, feed: feed,
            reservations: reservations, validity: ownership.validity, lines: lines, logger: logger)
        return (dialing, inbound, telephony)
    }
}

struct NodeRegistrationRefused: Error, CustomStringConvertible {
    var reply: String
    var description: String { "the manager answered register with \(reply)" }
}
