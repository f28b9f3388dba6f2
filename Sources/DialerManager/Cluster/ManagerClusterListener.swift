import DialerCore
import DialerProtocol
public import DialerTransport
public import Logging
import Synchronization

/// Serves the manager's cluster port: nodes and gateways connect, register, renew leases and
/// hand queues back. Each connection runs in its own task; state lives in the coordinator.
public struct ManagerClusterListener: Sendable {
    let coordinator: ClusterCoordinator
    let leaseDuration: Duration
    let renewInterval: Duration
    let logger: Logger
    /// Serves gateways' directory, login and disposition messages (60–65).
    var gatewayDirectory: GatewayDirectoryService?

    public init(coordinator: ClusterCoordinator, leaseDuration: Duration, renewInterval: Duration, logger: Logger) {
        self.coordinator = coordinator
        self.leaseDuration = leaseDuration
        self.renewInterval = renewInterval
        self.logger = logger
    }

    /// The same listener, also serving gateways' directory, logins and dispositions.
    public func serving(gatewayDirectory: GatewayDirectoryService) -> ManagerClusterListener {
        var listener = self
        listener.gatewayDirectory = gatewayDirectory
        return listener
    }

    /// Handles one authenticated connection until it closes.
    public func handle(_ connection: ClusterConnection) async {
        let member = MemberID(connection.peer.memberID)
        var logger = self.logger
        logger[metadataKey: "member"] = "\(connection.peer)"
        let (coordinator, leaseDuration, renewInterval) = (self.coordinator, self.leaseDuration, self.renewInterval)
        // Kept outside the connection's scope so that however the connection ends (even if
        // closing it throws), a registered member is reported gone.
        let registered = Mutex<UInt64?>(nil)
        let directoryPushes = Mutex<[Task<Void, Never>]>([])
        _ = try? await connection.run { link, inbound in
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
                            peer: connection.peer, link: link, register: register)
                        registration = number
                        registered.withLock { $0 = number }
                        var registered = Dialer_V1_Registered()
                        registered.leaseDurationMs = UInt32(clamping: leaseDuration.totalMilliseconds)
                        registered.leaseRenewIntervalMs = UInt32(clamping: renewInterval.totalMilliseconds)
                        if let renewal { registered.renewal = renewal }
                        try await link.reply(to: envelope, with: .registered(registered))
                    case .leaseRenew(let renew):
                        guard let registration, connection.peer.role == .node else {
                            link.close(with: .unexpectedMessage, "lease_renew needs a registered node")
                            return
                        }
                        let answer = await coordinator.renew(
                            from: member, connection: registration, request: renew.renewalRequest,
                            held: renew.held.map(\.held))
                        try await link.reply(to: envelope, with: .leaseRenewed(answer))
                    case .leaseRelease(let release):
                        guard registration != nil, connection.peer.role == .node else {
                            link.close(with: .unexpectedMessage, "lease_release needs a registered node")
                            return
                        }
                        await coordinator.release(from: member, lease: release.lease.held)
                    case .leaving:
                        guard let registration else { return }
                        await coordinator.leaving(member, connection: registration)
                    case .directorySubscribe, .agentAuthenticate, .dispositionReport:
                        guard registration != nil, connection.peer.role == .gateway, let gatewayDirectory else {
                            link.close(with: .unexpectedMessage, "\(envelope.kindName) needs a registered gateway")
                            return
                        }
                        if let push = await gatewayDirectory.handle(envelope, link: link) {
                            directoryPushes.withLock { $0.append(push) }
                        }
                    case .heartbeat:
                        break
                    case .error(let error):
                        logger.notice(
                            "peer reported an error",
                            metadata: ["code": "\(error.code.name)", "detail": "\(error.message)"])
                    default:
                        link.close(with: .unexpectedMessage, "\(envelope.kindName) is not accepted by the manager")
                    }
                }
            } catch {
                logger.debug("connection ended", metadata: ["error": "\(error)"])
            }
        }
        for push in directoryPushes.withLock({ $0 }) { push.cancel() }
        if let number = registered.withLock({ $0 }) {
            await coordinator.disconnected(member, connection: number)
        }
    }
}
