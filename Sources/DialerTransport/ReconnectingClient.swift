public import DialerProtocol
public import Logging

/// Keeps one outgoing cluster connection up (to the manager, or to the gateway): connects,
/// runs the caller's session on it, and when it drops reconnects with a capped back-off,
/// until the calling task is cancelled.
public struct ReconnectingClient: Sendable {
    public let host: String
    public let port: Int
    public let settings: ConnectionSettings
    public let logger: Logger

    public init(host: String, port: Int, settings: ConnectionSettings, logger: Logger) {
        self.host = host
        self.port = port
        self.settings = settings
        self.logger = logger
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
        while !Task.isCancelled {
            var connected = false
            do {
                let connection = try await ClusterClient.connect(host: host, port: port, settings: settings)
                connected = true
                logger.info("connected", metadata: ["peer": "\(connection.peer)", "address": "\(host):\(port)"])
                try await connection.run { link, inbound in
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        group.addTask { try await inbound.forEach { try await onMessage($0, link) } }
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
            if connected { delay = .milliseconds(100) }
            guard !Task.isCancelled else { return }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
    }
}
