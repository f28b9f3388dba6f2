public import DialerCore
public import NIOCore
import NIOPosix

/// The relay's I/O: two UDP ports (one per leg) on one event loop, and an ``RTPRelay`` value
/// that decides where each datagram goes.
///
/// Both ports share the event loop, so the relay's state is confined to it and a packet is
/// forwarded inside the read that received it: no lock, no task per packet, no hop to an actor.
///
/// Before the bridge the same customer port serves the call's other media: the customer's
/// packets feed an ``AnsweringMachineDetector`` (``detect(with:report:)``), and a prompt is sent
/// to the customer from it (``play(_:finished:)``), on the loop's scheduled tasks.
public final class RTPRelayServer: Sendable {
    private let eventLoop: any EventLoop
    private let state: NIOLoopBoundBox<RTPRelay>
    private let channels: NIOLoopBoundBox<[MediaLeg: any Channel]>
    private let extras: NIOLoopBoundBox<CustomerMedia>
    private let clock: any DialerClock
    /// The local address of each leg's port: what the node puts in its SDP for that leg.
    public let localAddresses: [MediaLeg: SocketAddress]

    private init(
        eventLoop: any EventLoop, state: NIOLoopBoundBox<RTPRelay>, channels: NIOLoopBoundBox<[MediaLeg: any Channel]>,
        extras: NIOLoopBoundBox<CustomerMedia>, clock: any DialerClock, localAddresses: [MediaLeg: SocketAddress]
    ) {
        self.eventLoop = eventLoop
        self.state = state
        self.channels = channels
        self.extras = extras
        self.clock = clock
        self.localAddresses = localAddresses
    }

    /// Binds a port per leg on `host` (`ports` 0 for any free port) and starts relaying.
    public static func start(
        relay: RTPRelay, host: String, customerPort: Int = 0, agentPort: Int = 0, clock: any DialerClock,
        group: (any EventLoopGroup)? = nil
    ) async throws -> RTPRelayServer {
        let eventLoop = (group ?? MultiThreadedEventLoopGroup.singleton).next()
        let state = try await eventLoop.submit { NIOLoopBoundBox(relay, eventLoop: eventLoop) }.get()
        let (channels, extras) = try await eventLoop.submit {
            (
                NIOLoopBoundBox([MediaLeg: any Channel](), eventLoop: eventLoop),
                NIOLoopBoundBox(CustomerMedia(), eventLoop: eventLoop)
            )
        }.get()
        var addresses: [MediaLeg: SocketAddress] = [:]
        do {
            for (leg, port) in [(MediaLeg.customer, customerPort), (.agent, agentPort)] {
                let channel = try await DatagramBootstrap(group: eventLoop)
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(
                                RelayHandler(leg: leg, state: state, channels: channels, extras: extras, clock: clock))
                        }
                    }
                    .bind(host: host, port: port).get()
                try await eventLoop.submit { channels.value[leg] = channel }.get()
                guard let address = channel.localAddress else { throw ChannelError.unknownLocalAddress }
                addresses[leg] = address
            }
        } catch {
            // One port bound and the other not: close what is open, so that no port leaks.
            let open = (try? await eventLoop.submit { Array(channels.value.values) }.get()) ?? []
            for channel in open { try? await channel.close() }
            throw error
        }
        return RTPRelayServer(
            eventLoop: eventLoop, state: state, channels: channels, extras: extras, clock: clock,
            localAddresses: addresses)
    }

    /// Feeds the customer's audio to `detector` from now on, until it decides; `report` is
    /// called once with the verdict and the moment, on the relay's event loop.
    public func detect(
        with detector: AnsweringMachineDetector, report: @escaping @Sendable (AMDVerdict, Moment) -> Void
    ) async throws {
        try await eventLoop.submit {
            self.extras.value.detector = detector
            self.extras.value.report = report
        }.get()
    }

    /// Stops detection without a verdict (the trunk gave up waiting, or the call ended first).
    public func stopDetecting() async throws {
        try await eventLoop.submit {
            self.extras.value.detector = nil
            self.extras.value.report = nil
        }.get()
    }

    /// Sends `playback` to the customer's remote, replacing any prompt playing; `finished` is
    /// called with the finished playback and the moment, unless another prompt or
    /// ``stopPlaying()`` replaces it first.
    ///
    /// Packets go out from a task scheduled on the event loop every packet time, which sends
    /// what the playback says is due on the injected clock (so a late wake-up sends a burst,
    /// as ``PromptPlayback`` allows, and never drifts).
    public func play(
        _ playback: PromptPlayback, finished: @escaping @Sendable (PromptPlayback, Moment) -> Void
    ) async throws {
        try await eventLoop.submit {
            self.extras.value.prompt?.task.cancel()
            self.extras.value.prompt = nil
            let interval = TimeAmount.milliseconds(Int64(playback.packetMilliseconds))
            let task = self.eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: interval) { task in
                self.sendDuePackets(task: task)
            }
            self.extras.value.prompt = (playback, task, finished)
        }.get()
    }

    /// Stops the prompt playing, if any, without calling its `finished`.
    public func stopPlaying() async throws {
        try await eventLoop.submit {
            self.extras.value.prompt?.task.cancel()
            self.extras.value.prompt = nil
        }.get()
    }

    /// On the event loop: the prompt's packets due now, to the customer.
    private func sendDuePackets(task: RepeatedTask) {
        guard var prompt = extras.value.prompt, prompt.task === task else {
            task.cancel()
            return
        }
        let now = clock.now()
        let packets = prompt.playback.packetsDue(at: now)
        if let remote = state.value.leg(.customer).remote, let channel = channels.value[.customer] {
            for packet in packets {
                guard let bytes = try? packet.serialized() else { continue }
                channel.write(AddressedEnvelope(remoteAddress: remote, data: channel.allocator.buffer(bytes: bytes)))
                    .whenFailure { _ in }
            }
            if !packets.isEmpty { channel.flush() }
        }
        if prompt.playback.isFinished {
            task.cancel()
            extras.value.prompt = nil
            prompt.finished(prompt.playback, now)
        } else {
            extras.value.prompt = prompt
        }
    }

    /// The relay's current state: counters and the first-audio latency.
    public func snapshot() async throws -> RTPRelay {
        try await eventLoop.submit { self.state.value }.get()
    }

    /// A new remote or codec for a leg (a re-INVITE, or the agent's answer arriving).
    public func update(_ leg: MediaLeg, to settings: RTPRelay.Leg) async throws {
        try await eventLoop.submit { self.state.value.update(leg, to: settings) }.get()
    }

    /// Stops any prompt and detection and closes both ports.
    public func close() async {
        let open =
            (try? await eventLoop.submit { () -> [any Channel] in
                self.extras.value.prompt?.task.cancel()
                self.extras.value = CustomerMedia()
                return Array(self.channels.value.values)
            }.get()) ?? []
        for channel in open { try? await channel.close() }
    }
}

/// What the customer's port does besides relaying: detection and a prompt (event-loop state).
private struct CustomerMedia {
    var detector: AnsweringMachineDetector?
    var report: (@Sendable (AMDVerdict, Moment) -> Void)?
    var prompt: (playback: PromptPlayback, task: RepeatedTask, finished: @Sendable (PromptPlayback, Moment) -> Void)?
}

private final class RelayHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    let leg: MediaLeg
    let state: NIOLoopBoundBox<RTPRelay>
    let channels: NIOLoopBoundBox<[MediaLeg: any Channel]>
    let extras: NIOLoopBoundBox<CustomerMedia>
    let clock: any DialerClock

    init(
        leg: MediaLeg, state: NIOLoopBoundBox<RTPRelay>, channels: NIOLoopBoundBox<[MediaLeg: any Channel]>,
        extras: NIOLoopBoundBox<CustomerMedia>, clock: any DialerClock
    ) {
        self.leg = leg
        self.state = state
        self.channels = channels
        self.extras = extras
        self.clock = clock
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let bytes = Array(envelope.data.readableBytesView)
        let now = clock.now()
        if leg == .customer, extras.value.detector != nil { detect(bytes, from: envelope.remoteAddress, at: now) }
        let action = state.value.receive(bytes, from: envelope.remoteAddress, on: leg, at: now)
        guard case .send(let bytes, let on, let destination) = action, let channel = channels.value[on] else { return }
        let buffer = channel.allocator.buffer(bytes: bytes)
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: destination, data: buffer), promise: nil)
    }

    /// The customer's voice packets (from the customer's remote, in the leg's law) to the detector.
    private func detect(_ bytes: [UInt8], from source: SocketAddress, at now: Moment) {
        let customer = state.value.leg(.customer)
        guard customer.remote == nil || customer.remote == source || customer.latchesToSource,
            let packet = try? RTPPacket(parsing: bytes), packet.payloadType == customer.codec.payloadType,
            var detector = extras.value.detector
        else { return }
        let verdict = detector.process(payload: packet.payload, codec: customer.codec)
        extras.value.detector = detector
        guard let verdict, let report = extras.value.report else { return }
        extras.value.detector = nil
        extras.value.report = nil
        report(verdict, now)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // ICMP errors for earlier datagrams (a phone that went away) must not close the port.
    }
}
