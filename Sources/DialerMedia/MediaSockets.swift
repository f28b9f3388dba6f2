public import DialerCore
public import NIOCore
import NIOPosix

/// One datagram received on a media port.
public struct MediaDatagram: Sendable, Equatable {
    public var source: SocketAddress
    public var bytes: [UInt8]

    public init(source: SocketAddress, bytes: [UInt8]) {
        self.source = source
        self.bytes = bytes
    }
}

/// A UDP media port: sends datagrams and hands the received ones to an async sequence.
///
/// The sequence buffers a bounded number of datagrams (newest dropped beyond it), as audio
/// that a reader cannot keep up with is stale anyway.
public final class MediaSocket: Sendable {
    private let channel: any Channel
    /// The datagrams received, in order.
    public let inbound: AsyncStream<MediaDatagram>
    /// The bound address (with the port the system chose for port 0).
    public let localAddress: SocketAddress

    private init(channel: any Channel, inbound: AsyncStream<MediaDatagram>) throws {
        self.channel = channel
        self.inbound = inbound
        guard let address = channel.localAddress else { throw ChannelError.unknownLocalAddress }
        self.localAddress = address
    }

    /// The port the socket is bound to.
    public var port: Int { localAddress.port ?? 0 }

    /// Binds a UDP socket on `host`:`port` (0 for any free port).
    public static func bind(
        host: String, port: Int, group: (any EventLoopGroup)? = nil,
        bufferedDatagrams: Int = 1024
    ) async throws -> MediaSocket {
        let (stream, continuation) = AsyncStream.makeStream(
            of: MediaDatagram.self, bufferingPolicy: .bufferingOldest(bufferedDatagrams))
        let channel = try await DatagramBootstrap(group: group ?? MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(DatagramStreamHandler(continuation: continuation))
                }
            }
            .bind(host: host, port: port).get()
        return try MediaSocket(channel: channel, inbound: stream)
    }

    /// Sends one datagram.
    public func send(_ bytes: [UInt8], to remote: SocketAddress) async throws {
        let buffer = channel.allocator.buffer(bytes: bytes)
        try await channel.writeAndFlush(AddressedEnvelope(remoteAddress: remote, data: buffer))
    }

    /// Closes the port; the inbound sequence ends.
    public func close() async {
        try? await channel.close()
    }
}

private final class DatagramStreamHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    let continuation: AsyncStream<MediaDatagram>.Continuation

    init(continuation: AsyncStream<MediaDatagram>.Continuation) { self.continuation = continuation }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        continuation.yield(MediaDatagram(source: envelope.remoteAddress, bytes: Array(envelope.data.readableBytesView)))
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // An ICMP port-unreachable for an earlier datagram is reported here; media carries on.
    }
}

/// Sends a prompt as RTP on the clock's schedule: one loop that sleeps until the next packet is
/// due and sends what the playback says.
public enum PromptSender {
    /// Plays `playback` to `remote` from `socket`; returns the finished playback with its counters.
    /// Cancelling the task stops the prompt.
    public static func play(
        _ playback: PromptPlayback, from socket: MediaSocket, to remote: SocketAddress, clock: any DialerClock
    ) async throws -> PromptPlayback {
        var playback = playback
        while let deadline = playback.nextDeadline {
            try await clock.sleep(until: deadline)
            for packet in playback.packetsDue(at: clock.now()) {
                try await socket.send(try packet.serialized(), to: remote)
            }
        }
        return playback
    }
}
