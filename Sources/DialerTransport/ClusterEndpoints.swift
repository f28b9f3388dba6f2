import DialerProtocol
public import NIOCore
public import NIOPosix

/// Builds the channel pipeline every cluster connection uses: frame decoder and encoder,
/// then the connection handler.
enum ClusterPipeline {
    static func configure(
        _ channel: any Channel,
        settings: ConnectionSettings,
        side: ConnectionStateMachine.Side,
        host: String? = nil,
        violationLog: ViolationLog?
    ) throws -> ClusterPipeline.Configured {
        let promise = channel.eventLoop.makePromise(of: PeerIdentity.self)
        // The channel turns unwritable above the high water and writable again below half of
        // it; the connection handler stops and resumes reading on those changes.
        try channel.syncOptions?.setOption(
            .writeBufferWaterMark,
            value: ChannelOptions.Types.WriteBufferWaterMark(
                low: settings.outboundHighWater / 2, high: settings.outboundHighWater))
        // Reads in batches: up to 256 KiB a read when the peer sends fast (hundreds of frames
        // decoded per read), shrinking to 2 KiB on a quiet connection.
        try channel.syncOptions?.setOption(
            .recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 2048, initial: 16384, maximum: 1 << 18))
        let operations = channel.pipeline.syncOperations
        if let tls = settings.tls {
            switch side {
            case .server: try operations.addHandler(tls.serverHandler())
            case .client: try operations.addHandler(tls.clientHandler(host: host ?? ""))
            }
        }
        try operations.addHandler(ByteToMessageHandler(FrameDecoder(maximumPayload: settings.maximumPayload)))
        // The connection handler encodes what it writes.
        let handler = ClusterConnectionHandler(
            settings: settings, side: side, handshakePromise: promise, violationLog: violationLog)
        try operations.addHandler(handler)
        guard let gate = handler.gate else { throw ConnectionClosed() }
        let asyncChannel = try NIOAsyncChannel<Envelope, Envelope>(wrappingChannelSynchronously: channel)
        return Configured(asyncChannel: asyncChannel, handshake: promise.futureResult, gate: gate)
    }

    /// A configured channel: the async wrapper (its inbound half is used; sending goes
    /// through the gate), the handshake's outcome, and the senders' gate.
    struct Configured: Sendable {
        var asyncChannel: NIOAsyncChannel<Envelope, Envelope>
        var handshake: EventLoopFuture<PeerIdentity>
        var gate: OutboundGate
    }
}

/// A listening socket for cluster connections. Each connection that completes the
/// handshake is handed to the handler in its own child task.
public final class ClusterServer: Sendable {
    private let serverChannel: NIOAsyncChannel<ClusterPipeline.Configured, Never>
    /// The bound address (with the real port when 0 was asked for).
    public let localAddress: SocketAddress

    /// The bound port.
    public var port: Int { localAddress.port ?? 0 }

    private init(serverChannel: NIOAsyncChannel<ClusterPipeline.Configured, Never>) {
        self.serverChannel = serverChannel
        self.localAddress = serverChannel.channel.localAddress!
    }

    /// Binds `host:port` (port 0 picks a free port).
    public static func bind(
        host: String,
        port: Int,
        settings: ConnectionSettings,
        violationLog: ViolationLog?,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ClusterServer {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // A floor of agents connects at once (a gateway restart, a shift start): a short
            // accept queue drops their SYNs and they retry seconds later. The kernel caps it
            // at net.core.somaxconn.
            .serverChannelOption(.backlog, value: 4096)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try ClusterPipeline.configure(
                        channel, settings: settings, side: .server, violationLog: violationLog)
                }
            }
        return ClusterServer(serverChannel: channel)
    }

    /// Accepts connections until the calling task is cancelled; each authenticated one runs
    /// `handler` in a child task. Connections that fail the handshake never reach it.
    public func run(handler: @escaping @Sendable (ClusterConnection) async -> Void) async throws {
        try await serverChannel.executeThenClose { inbound in
            try await withThrowingDiscardingTaskGroup { group in
                for try await configured in inbound {
                    group.addTask {
                        do {
                            let peer = try await configured.handshake.get()
                            await handler(ClusterConnection(peer: peer, configured: configured, side: .accepting))
                        } catch {
                            // The handler already answered and closed, or the peer left.
                            try? await configured.asyncChannel.channel.close()
                        }
                    }
                }
            }
        }
    }

    /// Stops accepting new connections.
    public func close() async {
        try? await serverChannel.channel.close()
    }
}

/// Opens cluster connections.
public enum ClusterClient {
    /// Connects to `host:port` and completes the handshake; throws ``PeerRejection`` when
    /// the server refuses (wrong secret, version, role ...).
    public static func connect(
        host: String,
        port: Int,
        settings: ConnectionSettings,
        violationLog: ViolationLog? = nil,
        connectTimeout: Duration = .seconds(3),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> ClusterConnection {
        let nonce = ClusterConnectionHandler.randomNonce()
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.nanoseconds(connectTimeout.totalNanoseconds))
        let initializer: @Sendable (any Channel) -> EventLoopFuture<ClusterPipeline.Configured> = { channel in
            channel.eventLoop.makeCompletedFuture {
                try ClusterPipeline.configure(
                    channel, settings: settings, side: .client(nonce: nonce), host: host, violationLog: violationLog)
            }
        }
        let configured: ClusterPipeline.Configured
        if let address = try? SocketAddress(ipAddress: host, port: port) {
            // An address literal needs no resolver: 10,000 agents connecting at once would each
            // run a name lookup (on a thread of its own) and the happy-eyeballs race for nothing.
            configured = try await bootstrap.connect(to: address, channelInitializer: initializer)
        } else {
            configured = try await bootstrap.connect(host: host, port: port, channelInitializer: initializer)
        }
        do {
            let peer = try await configured.handshake.get()
            return ClusterConnection(peer: peer, configured: configured, side: .connecting)
        } catch {
            try? await configured.asyncChannel.channel.close()
            throw error
        }
    }
}
