public import DialerConfig
public import DialerCore
import DialerProtocol
import DialerRuntime
public import DialerSimulation
import DialerTransport
import FoundationEssentials
public import Hummingbird
public import Logging
public import Prometheus
import ServiceLifecycle

/// Assembles a dialer node process: its lease ownership, its sessions with the manager and
/// the gateway, and its HTTP endpoints.
public struct NodeProcess: Sendable {
    public let ownership: QueueOwnership
    /// What the queues ask the manager: their campaigns, contacts, and results to report.
    public let feed: CampaignFeed
    /// The node's reservation client at the gateway, for its queue runners.
    public let reservations: GatewayReservations
    let config: ClusterConfig
    let node: NodeSettings
    let registry: PrometheusCollectorRegistry
    let readiness = Readiness(conditions: ["manager-connection", "gateway-connection"])
    let readyFile: String?
    let clock: any DialerClock
    let logger: Logger

    public init(
        config: ClusterConfig,
        node: NodeSettings,
        registry: PrometheusCollectorRegistry,
        readyFile: String?,
        clock: any DialerClock = SystemClock(),
        logger: Logger
    ) {
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
        self.reservations = GatewayReservations(prefix: "\(node.id)-\(UInt32.random(in: 1...UInt32.max))")
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
            readiness: readiness, clock: clock, logger: logger)
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
    let readiness: Readiness
    let clock: any DialerClock
    let logger: Logger

    func run() async throws {
        let settings = ConnectionSettings(
            localID: node.id, localRole: .node, secret: ClusterSecret(try config.cluster.requiredSecret()),
            heartbeatInterval: config.cluster.heartbeatInterval, missedHeartbeats: config.cluster.missedHeartbeats,
            maximumPayload: config.cluster.maxFrameBytes,
            outboundHighWater: config.cluster.outboundHighWaterBytes,
            outboundHardLimit: config.cluster.outboundHardLimitBytes,
            tls: try config.cluster.tls.map(ClusterTLS.init(files:)))
        let manager = ReconnectingClient(
            host: config.manager.clusterAddress.host, port: config.manager.clusterAddress.port, settings: settings,
            logger: logger)
        let gateway = ReconnectingClient(
            host: config.gateway.clusterAddress.host, port: config.gateway.clusterAddress.port, settings: settings,
            logger: logger)
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
            if let (dialing, inbound) = made {
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
            if let (dialing, _) = made {
                await dialing.shutDown(within: Self.shutdownLimit)
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

    /// The node's dialing and inbound calls over its simulated trunk.
    func makeDialing() async -> (NodeDialing, InboundCalls)? {
        do {
            let population = try NodeProcess.trunkPopulation(config: config, node: node)
            let trunk = try await SimulatedTrunk(population: population, clock: clock)
            let dialing = NodeDialing(
                node: MemberID(node.id), trunk: trunk, clock: trunk.clock, timeScale: population.timeScale,
                feed: feed, reservations: reservations, validity: ownership.validity, logger: logger)
            var lines: [String: InboundCalls.Line] = [:]
            for queue in config.queues {
                for did in queue.dids { lines[did] = .init(queue: QueueID(queue.id), hotline: queue.kind == .campaign) }
            }
            let calendar = CalendarAnchor(
                moment: trunk.clock.now(), date: Date(), clockSecondsPerSecond: population.timeScale)
            let inbound = InboundCalls(
                trunk: trunk, timeScale: population.timeScale, calendar: calendar, feed: feed,
                reservations: reservations,
                validity: ownership.validity, lines: lines, logger: logger)
            return (dialing, inbound)
        } catch {
            logger.error("the simulated trunk cannot start: this node will not dial", metadata: ["error": "\(error)"])
            return nil
        }
    }
}

extension NodeProcess {
    /// The customers of the node's simulated trunk: `cluster.trunk_population`'s file, or the
    /// built-in population, at `cluster.trunk_time_scale`. The seed is mixed with the node's id,
    /// so that two nodes do not meet the very same customers, and a node meets the same ones run
    /// after run.
    public static func trunkPopulation(config: ClusterConfig, node: NodeSettings) throws(SimulatedTrunk.PopulationError)
        -> SimulatedTrunk.Population
    {
        let nodeSeed = node.id.utf8.reduce(UInt64(14_695_981_039_346_656_037)) {
            ($0 ^ UInt64($1)) &* 1_099_511_628_211
        }
        var population: SimulatedTrunk.Population
        if let path = config.cluster.trunkPopulation {
            population = try SimulatedTrunk.Population.load(path: path)
            population.seed ^= nodeSeed
        } else {
            population = SimulatedTrunk.Population(seed: nodeSeed)
        }
        population.timeScale = Double(config.cluster.trunkTimeScale)
        try population.validate()
        return population
    }
}

struct NodeRegistrationRefused: Error, CustomStringConvertible {
    var reply: String
    var description: String { "the manager answered register with \(reply)" }
}
