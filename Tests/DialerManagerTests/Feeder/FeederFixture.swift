import DialerConfig
import DialerCore
import DialerProtocol
import DialerTestSupport
import DialerTransport
import Foundation
import Logging
import Synchronization

@testable import DialerManager

/// A manager's cluster side on loopback, in process: coordinator, feeder and listener over a
/// real SQLite store, on a manual clock whose dates start at ``StoreTime/monday``.
final class FeederFixture: Sendable {
    static let leaseDuration = Duration.seconds(10)
    static let secret = "feeder-test"

    let temporary: TemporaryStore
    let clock = ManualClock()
    let coordinator: ClusterCoordinator
    let changes = ManagerChanges()
    let feeder: ManagerFeeder
    /// Nodes' pacing reports, as the listener keeps them.
    let pacing: PacingBoard
    let server: ClusterServer
    let serving: Task<Void, Never>
    private let nodes = Mutex<[WireNode]>([])

    var store: SQLiteManagerStore { temporary.store }
    var now: Date { feeder.wallTime.now() }

    init(
        queues: [String] = ["q-c1"], store: TemporaryStore? = nil, journal: LeaseJournal = LeaseJournal(path: nil),
        batching: FeederBatching.Limits = .immediate
    ) async throws {
        temporary = try store ?? TemporaryStore()
        let logger = Logger(label: "feeder-test")
        coordinator = try ClusterCoordinator(
            leaseDuration: Self.leaseDuration, queues: queues.map { QueueSettings(id: $0) },
            journal: journal, clock: clock, logger: logger)
        feeder = ManagerFeeder(
            store: temporary.store, coordinator: coordinator, changes: changes,
            wallTime: WallTime(clock: clock, now: StoreTime.monday), logger: logger, batching: batching)
        pacing = PacingBoard(clock: clock)
        let listener = ManagerClusterListener(
            coordinator: coordinator, feeder: feeder, leaseDuration: Self.leaseDuration,
            renewInterval: .milliseconds(2500), logger: logger
        ).serving(pacing: pacing)
        server = try await ClusterServer.bind(
            host: "127.0.0.1", port: 0,
            settings: ConnectionSettings(
                localID: "manager", localRole: .manager, secret: ClusterSecret(Self.secret),
                acceptedRoles: [.node, .gateway]),
            violationLog: nil)
        let (server, feeder) = (self.server, self.feeder)
        serving = Task {
            await withDiscardingTaskGroup { group in
                group.addTask { try? await server.run(handler: listener.handle) }
                // The batches' linger is on the manual clock: none, unless a test moves it.
                group.addTask { await feeder.runBatches() }
            }
        }
    }

    /// Connects and registers a node; it holds whatever the coordinator grants it.
    func connect(_ id: String, versions: ClosedRange<UInt32> = ProtocolVersion.supported) async throws -> WireNode {
        let node = try await WireNode.connect(id, port: server.port, versions: versions)
        nodes.withLock { $0.append(node) }
        return node
    }

    /// Waits (on real time, for the server's connection task) until the coordinator has seen
    /// `node`'s connection close.
    func waitUntilGone(_ node: String) async -> Bool {
        for _ in 0..<500 {
            let view = await coordinator.view()
            if view.members.first(where: { $0.id == node })?.connected == false { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// Moves the manager's clock on in steps shorter than a lease, with `node` renewing what it
    /// holds at each step, as a live node does.
    func advance(by duration: Duration, renewing node: WireNode) async {
        var left = duration
        while left > .zero {
            let step = min(left, Self.leaseDuration / 4)
            clock.advance(by: step)
            left -= step
            await node.renew()
            await coordinator.tick()
        }
    }

    func shutdown() async {
        for node in nodes.withLock({ $0 }) { await node.close() }
        await server.close()
        serving.cancel()
        await serving.value
    }
}

/// A node's end of one connection, speaking raw protocol messages: what any client (even a
/// wrong one) can send.
final class WireNode: Sendable {
    let id: String
    let link: ClusterLink
    private let grants: GrantLog
    private let stop: AsyncStream<Void>.Continuation
    private let running: Task<Void, Never>

    private init(
        id: String, link: ClusterLink, grants: GrantLog, stop: AsyncStream<Void>.Continuation,
        running: Task<Void, Never>
    ) {
        self.id = id
        self.link = link
        self.grants = grants
        self.stop = stop
        self.running = running
    }

    static func connect(
        _ id: String, port: Int, versions: ClosedRange<UInt32> = ProtocolVersion.supported
    ) async throws -> WireNode {
        let connection = try await ClusterClient.connect(
            host: "127.0.0.1", port: port,
            settings: ConnectionSettings(
                localID: id, localRole: .node, secret: ClusterSecret(FeederFixture.secret), supportedVersions: versions)
        )
        let grants = GrantLog()
        let (stopped, stop) = AsyncStream.makeStream(of: Void.self)
        let (links, linkContinuation) = AsyncStream.makeStream(of: ClusterLink.self)
        let running = Task {
            _ = try? await connection.run { link, inbound in
                linkContinuation.yield(link)
                linkContinuation.finish()
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        try? await inbound.forEach { envelope in
                            if case .leaseGrant(let grant) = envelope.message {
                                grants.leases.withLock { $0.append(grant.lease.held) }
                            }
                        }
                    }
                    group.addTask {
                        for await _ in stopped {}
                        link.close()
                    }
                    await group.next()
                    group.cancelAll()
                }
            }
            linkContinuation.finish()
        }
        var iterator = links.makeAsyncIterator()
        guard let link = await iterator.next() else { throw ConnectionClosed() }
        let node = WireNode(id: id, link: link, grants: grants, stop: stop, running: running)
        let reply = try await link.request(.register(Dialer_V1_Register()))
        guard case .registered = reply.message else { throw ConnectionClosed() }
        return node
    }

    /// Every lease granted to this connection, in order.
    var allGrants: [HeldLease] { grants.leases.withLock { $0 } }

    /// The newest lease granted on `queue`.
    func lease(of queue: String) -> HeldLease? {
        grants.leases.withLock { $0.last { $0.queue == QueueID(queue) } }
    }

    func request(_ message: Envelope.OneOf_Message) async throws -> Envelope.OneOf_Message? {
        try await link.request(message).message
    }

    func contacts(_ lease: HeldLease, count: UInt32, agents: [String] = []) async throws -> Envelope.OneOf_Message? {
        var request = Dialer_V1_ContactRequest()
        request.lease = Dialer_V1_QueueLease(lease)
        request.count = count
        request.presentAgents = agents
        return try await self.request(.contactRequest(request))
    }

    func report(
        _ attempt: Dialer_V1_AttemptHandOut, _ outcome: AttemptOutcome, lease: HeldLease
    ) async throws -> Envelope.OneOf_Message? {
        let result = AttemptResult(
            attempt: AttemptID(attempt.attempt), contact: ContactID(attempt.contact), outcome: outcome)
        return try await request(.attemptReport(Dialer_V1_AttemptReport(result, lease: lease)))
    }

    /// Renews every lease granted to this connection.
    func renew() async {
        var renew = Dialer_V1_LeaseRenew()
        renew.held = grants.leases.withLock { $0 }.map(Dialer_V1_QueueLease.init)
        _ = try? await link.request(.leaseRenew(renew))
    }

    /// Closes the connection, as a killed process's socket closes.
    func close() async {
        stop.finish()
        await running.value
    }
}

/// The leases granted to one connection, in order.
final class GrantLog: Sendable {
    let leases = Mutex<[HeldLease]>([])
}

/// The batch in a reply, or `nil` for anything else.
func batch(_ reply: Envelope.OneOf_Message?) -> Dialer_V1_ContactBatch? {
    if case .contactBatch(let batch) = reply { return batch }
    return nil
}

/// The error code in a reply, or `nil` for anything else.
func errorCode(_ reply: Envelope.OneOf_Message?) -> ProtocolErrorCode? {
    if case .error(let error) = reply { return error.code }
    return nil
}

/// The acknowledgement in a reply, or `nil` for anything else.
func ack(_ reply: Envelope.OneOf_Message?) -> Dialer_V1_AttemptReportAck? {
    if case .attemptReportAck(let ack) = reply { return ack }
    return nil
}
