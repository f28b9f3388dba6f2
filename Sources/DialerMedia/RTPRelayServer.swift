public import DialerCore
public import NIOCore
import NIOPosix

/// The relay's I/O: two UDP ports (one per leg) on one event loop, and an ``RTPRelay`` value
/// that decides where each datagram goes.
///
/// Both ports share the event loop, so the relay's state is confined to it and a packet is
/// forwarded inside the read that received it: no lock, no task per packet, no hop to an actor.
public final class RTPRelayServer: Sendable {
    private let eventLoop: any EventLoop
    private let state: NIOLoopBoundBox<RTPRelay>
    private let channels: NIOLoopBoundBox<[MediaLeg: any Channel]>
    /// The local address of each leg's port: what the node puts in its SDP for that leg.
    public let localAddresses: [MediaLeg: SocketAddress]

    private init(
        eventLoop: any EventLoop, state: NIOLoopBoundBox<RTPRelay>, channels: NIOLoopBoundBox<[MediaLeg: any Channel]>,
        localAddresses: [MediaLeg: SocketAddress]
    ) {
        self.eventLoop = eventLoop
        self.state = state
        self.channels = channels
        self.localAddresses = localAddresses
    }

    /// Binds a port per leg on `host` (`ports` 0 for any free port) and starts relaying.
    public static func start(
        relay: RTPRelay, host: String, customerPort: Int = 0, agentPort: Int = 0, clock: any DialerClock,
        group: (any EventLoopGroup)? = nil
    ) async throws -> RTPRelayServer {
        let eventLoop = (group ?? MultiThreadedEventLoopGroup.singleton).next()
        let state = try await eventLoop.submit { NIOLoopBoundBox(relay, eventLoop: eventLoop) }.get()
        let channels = try await eventLoop.submit {
            NIOLoopBoundBox([MediaLeg: any Channel](), eventLoop: eventLoop)
        }.get()
        var addresses: [MediaLeg: SocketAddress] = [:]
        for (leg, port) in [(MediaLeg.customer, customerPort), (.agent, agentPort)] {
            let channel = try await DatagramBootstrap(group: eventLoop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            RelayHandler(leg: leg, state: state, channels: channels, clock: clock))
                    }
                }
                .bind(host: host, port: port).get()
            try await eventLoop.submit { channels.value[leg] = channel }.get()
            guard let address = channel.localAddress else {
                try? await channel.close()
                throw ChannelError.unknownLocalAddress
            }
            addresses[leg] = address
        }
        return RTPRelayServer(eventLoop: eventLoop, state: state, channels: channels, localAddresses: addresses)
    }

    /// The relay's current state: counters and the first-audio latency.
    public func snapshot() async throws -> RTPRelay {
        try await eventLoop.submit { self.state.value }.get()
    }

    /// A new remote or codec for a leg (a re-INVITE, or the agent's answer arriving).
    public func update(_ leg: MediaLeg, to settings: RTPRelay.Leg) async throws {
        try await eventLoop.submit { self.state.value.update(leg, to: settings) }.get()
    }

    /// Closes both ports.
    public func close() async {
        let open = (try? await eventLoop.submit { Array(self.channels.value.values) }.get()) ?? []
        for channel in open { try? await channel.close() }
    }
}

private final class RelayHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let leg: MediaLeg
    let state: NIOLoopBoundBox<RTPRelay>
    let channels: NIOLoopBoundBox<[MediaLeg: any Channel]>
    let clock: any DialerClock

    init(
        leg: MediaLeg, state: NIOLoopBoundBox<RTPRelay>, channels: NIOLoopBoundBox<[MediaLeg: any Channel]>,
        clock: any DialerClock
    ) {
        self.leg = leg
        self.state = state
        self.channels = channels
        self.clock = clock
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let action = state.value.receive(
            Array(envelope.data.readableBytesView), from: envelope.remoteAddress, on: leg, at: clock.now())
        guard case .send(let bytes, let on, let destination) = action, let channel = channels.value[on] else { return }
        let buffer = channel.allocator.buffer(bytes: bytes)
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: buffer), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP errors for earlier datagrams (a phone that went away) must not close the port.
    }
}
