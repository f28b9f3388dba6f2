import DialerCore
import DialerProtocol
public import DialerTransport
public import Logging
import Synchronization

/// Serves the manager's cluster port: nodes and gateways connect, register, renew leases and
/// hand queues back, and nodes use the feeder. Each connection runs in its own task; state
/// lives in the coordinator.
public struct ManagerClusterListener: Sendable {
    /// Feeder requests a connection may have waiting for an answer; more is the node's bug.
    static let feederBacklog = 256

    let coordinator: ClusterCoordinator
    let feeder: ManagerFeeder?
    let leaseDuration: Duration
    let renewInterval: Duration
    let logger: Logger
    /// Error frames peers send, logged once a minute per peer and code.
    let peerErrors: RepeatedEventLog
    /// Serves gateways' directory, login and disposition messages (60–65).
    var gatewayDirectory: GatewayDirectoryService?
    /// Keeps nodes' pacing reports (150) for the live panel; without it they are dropped.
    var pacing: PacingBoard?

    /// - Parameter feeder: answers feeder requests; without one they are unexpected messages.
    public init(
        coordinator: ClusterCoordinator, feeder: ManagerFeeder? = nil, leaseDuration: Duration,
        renewInterval: Duration, logger: Logger
    ) {
        self.coordinator = coordinator
        self.feeder = feeder
        self.leaseDuration = leaseDuration
        self.renewInterval = renewInterval
        self.logger = logger
        self.peerErrors = RepeatedEventLog(logger: logger)
    }

    /// A feeder request waiting for its answer, with the registration it came on.
    private struct FeederWork: Sendable {
        var envelope: Envelope
        var registration: UInt64
    }

    /// The same listener, also serving gateways' directory, logins and dispositions.
    public func serving(gatewayDirectory: GatewayDirectoryService) -> ManagerClusterListener {
        var listener = self
        listener.gatewayDirectory = gatewayDirectory
        return listener
    }

    /// The same listener, also keeping nodes' pacing reports on `board`.
    public func serving(pacing board: PacingBoard) -> ManagerClusterListener {
        var listener = self
        listener.pacing = board
        return listener
    }

    /// Handles one authenticated connection until it closes.
    public func handle(_ connection: ClusterConnection) async {
        let member = MemberID(connection.peer.memberID)
        var logger = self.logger
        logger[metadataKey: "member"] = "\(connection.peer)"
        let coordinator = self.coordinator
        // Kept outside the connection's scope so that however the connection ends (even if
        // closing it throws), a registered member is reported gone.
        let registered = Mutex<UInt64?>(nil)
        let feeder = self.feeder
        let directoryPushes = Mutex<[Task<Void, Never>]>([])
        _ = try? await connection.run { link, inbound in
            // Feeder requests wait on the store: they are taken one at a time beside the
            // connection's loop, so that lease renewals never wait behind a hand-out. Reports
            // and hand-outs are queued for the feeder's batches without waiting for each other
            // (at most `feederBacklog` at a time); their answers are sent as the batches commit.
            let (feederWork, feederQueue) = AsyncStream.makeStream(
                of: FeederWork.self, bufferingPolicy: .bufferingOldest(Self.feederBacklog))
            let (answers, answerQueue) = AsyncStream.makeStream(of: (Envelope, Envelope.OneOf_Message).self)
            await withDiscardingTaskGroup { group in
                if let feeder {
                    group.addTask {
                        let queued = QueuedRequests()
                        for await work in feederWork {
                            guard let message = work.envelope.message else { continue }
                            if queued.count.load(ordering: .relaxed) >= Self.feederBacklog {
                                await feeder.waitForBatches()
                            }
                            // A batch of results weighs what its reports do: the bound is on
                            // the operations waiting, however they arrived.
                            let weight = ManagerFeeder.operations(in: message)
                            queued.count.add(weight, ordering: .relaxed)
                            let envelope = work.envelope
                            let handled = await feeder.handle(message, from: member, connection: work.registration) {
                                reply in
                                queued.count.subtract(weight, ordering: .relaxed)
                                if let reply { answerQueue.yield((envelope, reply)) }
                            }
                            if !handled { queued.count.subtract(weight, ordering: .relaxed) }
                        }
                    }
                    group.addTask {
                        for await (envelope, reply) in answers { try? await link.reply(to: envelope, with: reply) }
                    }
                }
                await serve(
                    link: link, inbound: inbound, logger: logger,
                    onRegistered: { number in registered.withLock { $0 = number } },
                    onDirectoryPush: { push in directoryPushes.withLock { $0.append(push) } }
                ) { envelope, registration in
                    if case .dropped = feederQueue.yield(FeederWork(envelope: envelope, registration: registration)) {
                        try? await link.send(
                            .error(
                                .invalidState,
                                "more than \(Self.feederBacklog) feeder requests are waiting on this connection",
                                correlationID: envelope.correlationID))
                    }
                }
                feederQueue.finish()
                answerQueue.finish()
                group.cancelAll()
            }
        }
        for push in directoryPushes.withLock({ $0 }) { push.cancel() }
        if let number = registered.withLock({ $0 }) {
            await coordinator.disconnected(member, connection: number)
        }
    }

    /// The connection's loop: membership and lease messages are handled in order; feeder
    /// requests of a registered node go to `feederRequest`.
    private func serve(
        link: ClusterLink, inbound: ClusterInbound, logger: Logger, onRegistered: @Sendable (UInt64) -> Void,
        onDirectoryPush: @Sendable (Task<Void, Never>) -> Void,
        feederRequest: @escaping @Sendable (Envelope, UInt64) async -> Void
    ) async {
        let member = MemberID(link.peer.memberID)
        let (coordinator, leaseDuration, renewInterval) = (self.coordinator, self.leaseDuration, self.renewInterval)
        let hasFeeder = feeder != nil
        let pacing = self.pacing
        var registration: UInt64?
        do {
            try await inbound.forEach { envelope in
                if let registration { await coordinator.heard(member, connection: registration) }
                switch envelope.message {
                case .register(let register):
                    guard registration == nil else {
                        link.close(with: .unexpectedMessage, "register was already received")
                        return
                    }
                    let (number, renewal) = await coordinator.registered(
                        peer: link.peer, link: link, register: register)
                    registration = number
                    onRegistered(number)
                    var registered = Dialer_V1_Registered()
                    registered.leaseDurationMs = UInt32(clamping: leaseDuration.totalMilliseconds)
                    registered.leaseRenewIntervalMs = UInt32(clamping: renewInterval.totalMilliseconds)
                    if let renewal { registered.renewal = renewal }
                    try await link.reply(to: envelope, with: .registered(registered))
                case .leaseRenew(let renew):
                    guard let registration, link.peer.role == .node else {
                        link.close(with: .unexpectedMessage, "lease_renew needs a registered node")
                        return
                    }
                    let answer = await coordinator.renew(
                        from: member, connection: registration, request: renew.renewalRequest,
                        held: renew.held.map(\.held))
                    try await link.reply(to: envelope, with: .leaseRenewed(answer))
                case .leaseRelease(let release):
                    guard registration != nil, link.peer.role == .node else {
                        link.close(with: .unexpectedMessage, "lease_release needs a registered node")
                        return
                    }
                    await coordinator.release(from: member, lease: release.lease.held)
                case .leaving:
                    guard let registration else { return }
                    await coordinator.leaving(member, connection: registration)
                case .campaignRequest, .contactRequest, .attemptReport, .attemptReturn, .inboundRouteRequest,
                    .attemptResultBatch:
                    // (An `attempt_result_batch` on a version 1 connection never gets here: the
                    // connection closed on it with UNKNOWN_MESSAGE, PROTOCOL.md §8.)
                    guard hasFeeder, let registration, link.peer.role == .node else {
                        link.close(with: .unexpectedMessage, "\(envelope.kindName) needs a registered node")
                        return
                    }
                    guard envelope.correlationID != 0 else {
                        link.close(
                            with: .unexpectedMessage, "\(envelope.kindName) is a request: it needs a correlation id")
                        return
                    }
                    await feederRequest(envelope, registration)
                case .directorySubscribe, .agentAuthenticate, .dispositionReport, .agentDeskRequest:
                    guard registration != nil, link.peer.role == .gateway, let gatewayDirectory else {
                        link.close(with: .unexpectedMessage, "\(envelope.kindName) needs a registered gateway")
                        return
                    }
                    if let push = await gatewayDirectory.handle(envelope, link: link) { onDirectoryPush(push) }
                case .pacingReport(let report):
                    guard registration != nil, link.peer.role == .node else {
                        link.close(with: .unexpectedMessage, "pacing_report needs a registered node")
                        return
                    }
                    await pacing?.received(report, from: link.peer.memberID)
                case .heartbeat:
                    break
                case .error(let error):
                    // The message is the peer's text: escaped, so that it cannot forge log lines,
                    // and rate-limited, so that a flood of error frames writes one line a minute.
                    let peer = LogText.escaped(link.peer.memberID, limit: 64)
                    peerErrors.log(
                        .notice, "peer reported an error", key: "\(peer)|\(error.code.rawValue)",
                        metadata: [
                            "peer": "\(peer)", "code": "\(error.code.name)",
                            "detail": "\(LogText.escaped(error.message))",
                        ])
                default:
                    link.close(with: .unexpectedMessage, "\(envelope.kindName) is not accepted by the manager")
                }
            }
        } catch {
            logger.debug("connection ended", metadata: ["error": "\(error)"])
        }
    }
}

/// How many of a connection's feeder requests wait for their answers.
private final class QueuedRequests: Sendable {
    let count = Atomic<Int>(0)
}
