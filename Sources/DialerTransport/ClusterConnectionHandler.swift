public import DialerProtocol
public import NIOCore

/// The channel handler that runs a ``ConnectionStateMachine``: it performs the handshake,
/// sends and checks heartbeats, turns decoder violations into `Error` frames, and passes
/// only application messages of an established connection on to the next handler. It encodes
/// what it writes (each `Envelope` as one frame), and writes the frames of the connection's
/// ``ClusterLink`` a burst at a time (one write and one flush for all frames queued since the
/// last drain, see ``OutboundGateState``).
///
/// It also applies backpressure to the peer: while the channel is not writable (the bytes
/// waiting for the peer are over ``ConnectionSettings/outboundHighWater``, set as the
/// channel's write-buffer water mark by the pipeline) it withholds `read()`, so a peer that
/// sends without reading cannot make this process buffer the answers; reading resumes when
/// the channel is writable again. The same writability paces this side's own senders:
/// ``ClusterLink/send(_:)`` suspends while the channel is not writable. Past
/// ``ConnectionSettings/outboundHardLimit``, if the peer took no byte for a whole heartbeat
/// interval (or past the high water, for more than the missed heartbeats), the connection is
/// closed with `Error SLOW_CONSUMER` and what was waiting is let go.
public final class ClusterConnectionHandler: ChannelDuplexHandler {
    public typealias InboundIn = Envelope
    public typealias InboundOut = Envelope
    public typealias OutboundIn = Envelope
    public typealias OutboundOut = ByteBuffer

    private var machine: ConnectionStateMachine
    /// The interval the heartbeat timer runs at: this side's own until the handshake, then the
    /// connection's (``ConnectionStateMachine/heartbeatInterval``).
    private var heartbeatInterval: TimeAmount
    private let handshakePromise: EventLoopPromise<PeerIdentity>
    private let violationLog: ViolationLog?
    private var heartbeat: Scheduled<Void>?
    private var remoteHost = "unknown"
    private var makeNonce: () -> [UInt8]
    private let outboundHardLimit: Int
    private let outboundHighWater: Int
    private let maximumPayload: Int
    /// Counts the bytes handed to the socket, to tell the bytes the peer took.
    private let handedToSocket = OutboundByteCounter()
    /// The link's senders' way in, once the handler is in a pipeline.
    private(set) var gate: OutboundGate?
    /// Reads are withheld: the channel is not writable.
    private var readsPaused = false
    /// A `read()` arrived while paused; it is passed on when the channel is writable again.
    private var readWithheld = false
    /// The bytes the peer had taken (handed to the socket and gone from its buffer) at the
    /// last heartbeat tick; `nil` before the first.
    private var takenAtLastTick: Int?
    /// Heartbeat intervals in a row in which the peer took no byte while more than the high
    /// water waited for it.
    private var stalledIntervals = 0

    /// - Parameters:
    ///   - handshakePromise: succeeded with the peer when the handshake completes, failed with
    ///     a ``ProtocolViolation`` or ``PeerRejection`` when it does not.
    ///   - nonceSource: the random nonce for this connection (tests pass a fixed one).
    public init(
        settings: ConnectionSettings,
        side: ConnectionStateMachine.Side,
        handshakePromise: EventLoopPromise<PeerIdentity>,
        violationLog: ViolationLog?,
        nonceSource: @escaping () -> [UInt8] = ClusterConnectionHandler.randomNonce
    ) {
        self.machine = ConnectionStateMachine(settings: settings, side: side)
        self.heartbeatInterval = .nanoseconds(settings.heartbeatInterval.totalNanoseconds)
        self.handshakePromise = handshakePromise
        self.violationLog = violationLog
        self.makeNonce = nonceSource
        self.outboundHardLimit = settings.outboundHardLimit
        self.outboundHighWater = settings.outboundHighWater
        self.maximumPayload = settings.maximumPayload
    }

    /// 32 bytes from the system's cryptographically secure generator.
    public static func randomNonce() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        // Nearest the socket, under TLS if there is any: it sees the bytes the socket buffers.
        try? context.pipeline.syncOperations.addHandler(handedToSocket, position: .first)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let contextBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        gate = OutboundGate(
            eventLoop: context.eventLoop, pendingLimit: outboundHighWater, maximumPayload: maximumPayload
        ) {
            handler.value.drainGate(context: contextBound.value)
        }
        if context.channel.isActive { start(context: context) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        // A connection that never became active (refused, timed out) ends here.
        heartbeat?.cancel()
        heartbeat = nil
        handshakePromise.fail(ConnectionClosed())
        // The gate's drain holds this handler: let go of it both ways.
        gate?.close()
        gate = nil
    }

    public func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        heartbeat?.cancel()
        heartbeat = nil
        machine.connectionClosed()
        gate?.close()
        handshakePromise.fail(ConnectionClosed())
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let action = machine.received(unwrapInboundIn(data))
        if case .forward = action {
            // The frame as it came: no second boxing of the envelope per frame.
            context.fireChannelRead(data)
        } else {
            perform(action, context: context)
        }
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let violation = error as? ProtocolViolation {
            perform(machine.violation(violation), context: context)
        } else if error is ByteToMessageDecoderError {
            perform(machine.violation(ProtocolViolation(.malformedFrame, "\(error)")), context: context)
        } else {
            // I/O errors: nothing to tell the peer, the connection is gone.
            context.close(promise: nil)
        }
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard machine.peer != nil else {
            promise?.fail(ConnectionClosed())
            return
        }
        do {
            let frame = try FrameEncoder.frame(unwrapOutboundIn(data), maximumPayload: maximumPayload)
            context.write(wrapOutboundOut(frame), promise: promise)
        } catch {
            promise?.fail(error)
        }
    }

    /// Writes what the link's senders queued, with one flush.
    private func drainGate(context: ChannelHandlerContext) {
        guard let gate, let frames = gate.takePending(channelWritable: context.channel.isWritable) else { return }
        guard machine.peer != nil else { return }
        context.writeAndFlush(wrapOutboundOut(frames), promise: nil)
        // The write may have crossed the high water: senders learn it from the handler's
        // writability event, or here if the channel reported none.
        if !context.channel.isWritable { gate.writabilityChanged(false) }
    }

    /// Writes one of this handler's own messages (handshake, heartbeat, error) and flushes.
    private func writeAndFlush(
        _ envelope: Envelope, context: ChannelHandlerContext, promise: EventLoopPromise<Void>? = nil
    ) {
        do {
            let frame = try FrameEncoder.frame(envelope, maximumPayload: maximumPayload)
            context.writeAndFlush(wrapOutboundOut(frame), promise: promise)
        } catch {
            promise?.fail(error)
        }
    }

    public func read(context: ChannelHandlerContext) {
        guard !readsPaused else {
            readWithheld = true
            return
        }
        context.read()
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            readsPaused = false
            if readWithheld {
                readWithheld = false
                context.read()
            }
        } else {
            readsPaused = true
        }
        gate?.writabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    /// Closes a connection whose peer took no byte for a whole heartbeat interval while more
    /// than the hard limit waited for it, or for more than the missed heartbeats while more than
    /// the high water waited (awaited sends, paced by writability, never reach the hard limit:
    /// a peer that stopped reading must still be let go). The bytes the peer took are those
    /// handed to the socket less those still waiting in it: a peer that reads at all is never
    /// closed, however much this side queues. Checked on each tick, not on each write, so a
    /// burst past the limit to a reading peer is no fault.
    private func checkOutboundLimit(context: ChannelHandlerContext) {
        guard !machine.isClosed,
            let waiting = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)
        else { return }
        let taken = handedToSocket.bytes - waiting
        let previous = takenAtLastTick
        takenAtLastTick = taken
        guard waiting > outboundHighWater, let previous, taken <= previous else {
            stalledIntervals = 0
            return
        }
        stalledIntervals += 1
        guard waiting > outboundHardLimit || stalledIntervals > machine.missedHeartbeats else { return }
        let limit = waiting > outboundHardLimit ? outboundHardLimit : outboundHighWater
        let violation = ProtocolViolation(
            .slowConsumer,
            "\(waiting) bytes wait for the peer to read, above the limit of \(limit), none taken for \(stalledIntervals) "
                + (stalledIntervals == 1 ? "heartbeat interval" : "heartbeat intervals"))
        guard case .failAndClose(let violation) = machine.violation(violation) else { return }
        record(violation)
        handshakePromise.fail(violation)
        heartbeat?.cancel()
        // The Error frame joins the queue the peer is not reading, so the close cannot wait for
        // it: closing now lets go of everything queued.
        writeAndFlush(.error(violation.code, violation.detail), context: context)
        context.close(promise: nil)
    }

    private func record(_ violation: ProtocolViolation) {
        violationLog?.record(
            host: remoteHost, code: violation.code.rawValue, codeName: violation.code.name,
            detail: violation.detail, peer: machine.peer?.description)
    }

    private func start(context: ChannelHandlerContext) {
        guard heartbeat == nil, !machine.isClosed else { return }
        if let address = context.channel.remoteAddress?.ipAddress { remoteHost = address }
        perform(machine.connectionActive(serverNonce: makeNonce()), context: context)
        scheduleHeartbeat(context: context)
    }

    private func scheduleHeartbeat(context: ChannelHandlerContext) {
        heartbeat = context.eventLoop.assumeIsolated().scheduleTask(in: heartbeatInterval) {
            self.checkOutboundLimit(context: context)
            self.perform(self.machine.heartbeatTick(listening: !self.readsPaused), context: context)
            if !self.machine.isClosed { self.scheduleHeartbeat(context: context) }
        }
    }

    private func perform(_ action: ConnectionStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .send(let envelope):
            writeAndFlush(envelope, context: context)
        case .established(let peer, let reply):
            if let reply { writeAndFlush(reply, context: context) }
            // The Welcome set the connection's interval (an agent's is long): the timer follows.
            let interval = TimeAmount.nanoseconds(machine.heartbeatInterval.totalNanoseconds)
            if interval != heartbeatInterval {
                heartbeatInterval = interval
                heartbeat?.cancel()
                scheduleHeartbeat(context: context)
            }
            handshakePromise.succeed(peer)
        case .forward(let envelope):
            context.fireChannelRead(wrapInboundOut(envelope))
        case .failAndClose(let violation):
            record(violation)
            handshakePromise.fail(violation)
            heartbeat?.cancel()
            let promise = context.eventLoop.makePromise(of: Void.self)
            promise.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
            writeAndFlush(.error(violation.code, violation.detail), context: context, promise: promise)
        case .closeAfterPeerError(let code, let message):
            handshakePromise.fail(PeerRejection(code: code, message: message))
            heartbeat?.cancel()
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension ClusterConnectionHandler: Sendable {}

/// Counts the bytes written through it: placed next to the socket, the bytes the socket was
/// handed, so that those it no longer buffers are the bytes the peer took.
final class OutboundByteCounter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private(set) var bytes = 0

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        bytes &+= unwrapOutboundIn(data).readableBytes
        context.write(data, promise: promise)
    }
}

@available(*, unavailable)
extension OutboundByteCounter: Sendable {}

/// The connection closed before the operation could complete.
public struct ConnectionClosed: Error, Hashable, Sendable, CustomStringConvertible {
    public init() {}
    public var description: String { "cluster connection closed" }
}

/// The peer ended the connection with a fatal `Error` frame.
public struct PeerRejection: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: ProtocolErrorCode
    public var message: String

    public init(code: ProtocolErrorCode, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "peer closed the connection: \(code.name): \(message)" }
}
