public import NIOCore
import NIOPosix
import Synchronization

/// Which transport carries SIP.
public enum SIPTransportKind: String, Hashable, Sendable, CaseIterable {
    case udp
    case tcp

    /// The name in Via headers.
    public var viaName: String { rawValue.uppercased() }

    /// Whether the transport is reliable (no retransmissions, RFC 3261 §17).
    public var isReliable: Bool { self == .tcp }
}

/// What a transport reports to its owner, in order of arrival.
public enum SIPTransportEvent: Sendable {
    /// A well-formed message from `source`.
    case received(SIPMessage, from: SocketAddress)
    /// Bytes from `source` that are not a SIP message (dropped; over TCP the connection closes).
    case malformed(SIPParseError, from: SocketAddress)
    /// A message to `destination` could not be sent (a TCP connection failed).
    case sendFailed(to: SocketAddress)
}

/// A SIP transport's shell: bytes in and out on NIO, parsed messages to the owner's event
/// stream. It keeps no SIP state; transactions and dialogs live with its owner.
public protocol SIPTransport: Sendable {
    var kind: SIPTransportKind { get }
    /// The bound local address (its port is the real one when 0 was asked for).
    var localAddress: SocketAddress { get }
    /// Sends `message` to `destination` (over TCP: on the connection to it, opened if needed).
    func send(_ message: SIPMessage, to destination: SocketAddress)
    /// Stops listening and closes connections.
    func close() async
}

/// Makes transports.
public enum SIPTransports {
    /// Binds a transport of `kind` on `host:port`, delivering events to `events`.
    public static func bind(
        _ kind: SIPTransportKind, host: String, port: Int, parser: SIPParser,
        events: AsyncStream<SIPTransportEvent>.Continuation,
        group: (any EventLoopGroup)? = nil
    ) async throws -> any SIPTransport {
        let group = group ?? MultiThreadedEventLoopGroup.singleton
        switch kind {
        case .udp:
            return try await SIPUDPTransport.bind(host: host, port: port, parser: parser, events: events, group: group)
        case .tcp:
            return try await SIPTCPTransport.bind(host: host, port: port, parser: parser, events: events, group: group)
        }
    }
}

/// SIP over UDP: one datagram channel, one message per datagram.
final class SIPUDPTransport: SIPTransport {
    let kind = SIPTransportKind.udp
    let localAddress: SocketAddress
    private let channel: any Channel

    private init(channel: any Channel, localAddress: SocketAddress) {
        self.channel = channel
        self.localAddress = localAddress
    }

    static func bind(
        host: String, port: Int, parser: SIPParser, events: AsyncStream<SIPTransportEvent>.Continuation,
        group: any EventLoopGroup
    ) async throws -> SIPUDPTransport {
        let channel = try await DatagramBootstrap(group: group)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DatagramHandler(parser: parser, events: events))
                }
            }
            .bind(host: host, port: port).get()
        guard let address = channel.localAddress else { throw ChannelError.unknownLocalAddress }
        return SIPUDPTransport(channel: channel, localAddress: address)
    }

    func send(_ message: SIPMessage, to destination: SocketAddress) {
        let bytes = SIPParser.serialise(message)
        let envelope = AddressedEnvelope(remoteAddress: destination, data: channel.allocator.buffer(bytes: bytes))
        channel.writeAndFlush(envelope, promise: nil)
    }

    func close() async {
        try? await channel.close()
    }

    private final class DatagramHandler: ChannelInboundHandler {
        typealias InboundIn = AddressedEnvelope<ByteBuffer>
        let parser: SIPParser
        let events: AsyncStream<SIPTransportEvent>.Continuation

        init(parser: SIPParser, events: AsyncStream<SIPTransportEvent>.Continuation) {
            self.parser = parser
            self.events = events
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let envelope = unwrapInboundIn(data)
            let bytes = envelope.data.readableBytesView
            // A lone CRLF (or CRLFCRLF) is a keep-alive ping (RFC 5626 §3.5.1).
            if bytes.allSatisfy({ $0 == 13 || $0 == 10 }) { return }
            do {
                events.yield(.received(try parser.parseDatagram(bytes), from: envelope.remoteAddress))
            } catch {
                events.yield(.malformed(error, from: envelope.remoteAddress))
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // ICMP port unreachable and the like: the transaction's timer reports the loss.
        }
    }
}

/// SIP over TCP: a listener, and connections by peer address (accepted or opened on demand).
final class SIPTCPTransport: SIPTransport {
    let kind = SIPTransportKind.tcp
    let localAddress: SocketAddress
    private let listener: any Channel
    private let group: any EventLoopGroup
    private let parser: SIPParser
    private let events: AsyncStream<SIPTransportEvent>.Continuation
    private let connections: Mutex<[SocketAddress: EventLoopFuture<any Channel>]>

    private init(
        listener: any Channel, localAddress: SocketAddress, group: any EventLoopGroup, parser: SIPParser,
        events: AsyncStream<SIPTransportEvent>.Continuation
    ) {
        self.listener = listener
        self.localAddress = localAddress
        self.group = group
        self.parser = parser
        self.events = events
        self.connections = Mutex([:])
    }

    static func bind(
        host: String, port: Int, parser: SIPParser, events: AsyncStream<SIPTransportEvent>.Continuation,
        group: any EventLoopGroup
    ) async throws -> SIPTCPTransport {
        let registry = Registry()
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configure(channel, parser: parser, events: events, registry: registry)
                }
            }
            .bind(host: host, port: port).get()
        guard let address = listener.localAddress else { throw ChannelError.unknownLocalAddress }
        let transport = SIPTCPTransport(
            listener: listener, localAddress: address, group: group, parser: parser, events: events)
        registry.transport.withLock { $0 = transport }
        return transport
    }

    /// Lets accepted connections find the transport that was built after the listener.
    final class Registry: Sendable {
        let transport = Mutex<SIPTCPTransport?>(nil)

        func accepted(_ channel: any Channel) {
            guard let remote = channel.remoteAddress, let transport = transport.withLock({ $0 }) else { return }
            transport.connections.withLock { $0[remote] = channel.eventLoop.makeSucceededFuture(channel) }
        }

        func closed(_ remote: SocketAddress?) {
            guard let remote, let transport = transport.withLock({ $0 }) else { return }
            transport.connections.withLock { _ = $0.removeValue(forKey: remote) }
        }
    }

    private static func configure(
        _ channel: any Channel, parser: SIPParser, events: AsyncStream<SIPTransportEvent>.Continuation,
        registry: Registry
    ) throws {
        let operations = channel.pipeline.syncOperations
        try operations.addHandler(ByteToMessageHandler(SIPMessageDecoder(parser: parser)))
        try operations.addHandler(MessageToByteHandler(SIPMessageEncoder()))
        try operations.addHandler(StreamHandler(events: events, registry: registry))
    }

    func send(_ message: SIPMessage, to destination: SocketAddress) {
        let connection = connections.withLock { connections -> EventLoopFuture<any Channel> in
            if let existing = connections[destination] { return existing }
            let registry = Registry()
            registry.transport.withLock { $0 = self }
            let parser = self.parser
            let events = self.events
            let future = ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try Self.configure(channel, parser: parser, events: events, registry: registry)
                    }
                }
                .connect(to: destination)
            connections[destination] = future
            return future
        }
        let events = self.events
        connection.whenComplete { [self] result in
            switch result {
            case .success(let channel):
                channel.writeAndFlush(message, promise: nil)
            case .failure:
                connections.withLock { _ = $0.removeValue(forKey: destination) }
                events.yield(.sendFailed(to: destination))
            }
        }
    }

    func close() async {
        let open = connections.withLock { connections in
            defer { connections.removeAll() }
            return Array(connections.values)
        }
        for future in open { try? await future.get().close() }
        try? await listener.close()
    }

    private final class StreamHandler: ChannelInboundHandler {
        typealias InboundIn = SIPMessage
        let events: AsyncStream<SIPTransportEvent>.Continuation
        let registry: Registry
        var remote: SocketAddress?

        init(events: AsyncStream<SIPTransportEvent>.Continuation, registry: Registry) {
            self.events = events
            self.registry = registry
        }

        func channelActive(context: ChannelHandlerContext) {
            remote = context.channel.remoteAddress
            registry.accepted(context.channel)
            context.fireChannelActive()
        }

        func channelInactive(context: ChannelHandlerContext) {
            registry.closed(remote)
            context.fireChannelInactive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard let remote else { return }
            events.yield(.received(unwrapInboundIn(data), from: remote))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            // Framing is lost after a malformed message on a stream: close the connection.
            if let remote, let parseError = error as? SIPParseError {
                events.yield(.malformed(parseError, from: remote))
            }
            context.close(promise: nil)
        }
    }
}
