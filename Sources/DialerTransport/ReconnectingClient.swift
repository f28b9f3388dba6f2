public import DialerProtocol
public import Logging
public import NIOCore
import NIOPosix

/// Keeps one outgoing cluster connection up (to the manager, or to the gateway): connects,
/// runs the caller's session on it, and when it drops reconnects with a capped back-off,
/// until the calling task is cancelled.
///
/// With several addresses (the managers: one active, the others standing by), a connection
/// that cannot be opened or ends is followed by one to the next address at once; the back-off
/// applies after a whole round of addresses failed, capped at 500 ms (2 s with one address). A
/// session stays on the address that served it last, so the client follows the active manager.
public struct ReconnectingClient: Sendable {
    /// The addresses tried in turn, each host and port.
    public let addresses: [(host: String, port: Int)]
    public let settings: ConnectionSettings
    public let logger: Logger
    /// The loop every connection is opened on and whose thread reads its messages (`onMessage`
    /// runs there); `nil`: any loop of the shared group, messages read on the cooperative pool.
    public let eventLoop: (any EventLoop)?

    public init(
        host: String, port: Int, settings: ConnectionSettings, logger: Logger, eventLoop: (any EventLoop)? = nil
    ) {
        self.init(addresses: [(host, port)], settings: settings, logger: logger, eventLoop: eventLoop)
    }

    /// A client trying `addresses` in turn; at least one.
    public init(
        addresses: [(host: String, port: Int)], settings: ConnectionSettings, logger: Logger,
        eventLoop: (any EventLoop)? = nil
    ) {
        precondition(!addresses.isEmpty, "a client needs an address")
        self.addresses = addresses
        self.settings = settings
        self.logger = logger
        self.eventLoop = eventLoop
    }

    /// Runs until cancelled.
    /// - Parameters:
    ///   - whileConnected: runs on each new connection (register, then renew, say); when it
    ///     returns or throws, the connection is closed.
    ///   - onMessage: each inbound message that is not a reply to one of this side's requests.
    ///   - onDisconnect: after each connection ends (or fails to open).
    public func run(
        whileConnected: @escaping @Sendable (ClusterLink) async throws -> Void,
        onMessage: @escaping @Sendable (Envelope, ClusterLink) async throws -> Void,
        onDisconnect: @escaping @Sendable () async -> Void
    ) async {
        var delay = Duration.milliseconds(100)
        var index = 0
        // Addresses tried since a session last ran for a while: a whole round of them means
        // back off.
        var failedInRound = 0
        while !Task.isCancelled {
            let (host, port) = addresses[index]
            var connected = false
            var served = false
            let sessionStart = ContinuousClock.now
            do {
                let connection = try await ClusterClient.connect(
                    host: host, port: port, settings: settings,
                    group: eventLoop ?? MultiThreadedEventLoopGroup.singleton)
                connected = true
                logger.info("connected", metadata: ["peer": "\(connection.peer)", "address": "\(host):\(port)"])
                defer { served = ContinuousClock.now - sessionStart > settings.heartbeatInterval }
                try await connection.run { link, inbound in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        if let eventLoop {
                            // On the loop that reads the frames: no wake-up of another thread.
                            group.addTask(executorPreference: EventLoopTaskExecutor(eventLoop)) {
                                try await inbound.forEach { try await onMessage($0, link) }
                            }
                        } else {
                            group.addTask { try await inbound.forEach { try await onMessage($0, link) } }
                        }
                        group.addTask { try await whileConnected(link) }
                        defer {
                            link.close()
                            group.cancelAll()
                        }
                        _ = try await group.next()
                    }
                }
            } catch is CancellationError {
            } catch {
                logger.notice(
                    connected ? "connection lost" : "cannot connect",
                    metadata: ["address": "\(host):\(port)", "error": "\(error)"])
            }
            await onDisconnect()
            guard !Task.isCancelled else { return }
            if served {
                // It served a while: the same address first again (it was the active one).
                delay = .milliseconds(100)
                failedInRound = 0
            } else if addresses.count > 1 {
                // Refused (a standby manager) or unreachable: the next address, at once until a
                // whole round failed.
                index = (index + 1) % addresses.count
                failedInRound += 1
                if failedInRound < addresses.count { continue }
                failedInRound = 0
            } else if connected {
                delay = .milliseconds(100)
            }
            try? await Task.sleep(for: delay)
            // Several managers: a standby answers at once and takes over within a lease period,
            // so rounds stay frequent (a round is one handshake per manager).
            delay = min(delay * 2, addresses.count > 1 ? .milliseconds(500) : .seconds(2))
        }
    }
}
