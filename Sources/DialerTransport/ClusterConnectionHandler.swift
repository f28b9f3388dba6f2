public import DialerProtocol
public import NIOCore

/// The channel handler that runs a ``ConnectionStateMachine``: it performs the handshake,
/// sends and checks heartbeats, turns decoder violations into `Error` frames, and passes
/// only application messages of an established connection on to the next handler.
///
/// It also applies backpressure to the peer: while the channel is not writable (the bytes
/// waiting for the peer are over ``ConnectionSettings/outboundHighWater``, set as the
/// channel's write-buffer water mark by the pipeline) it withholds `read()`, so a peer that
/// sends without reading cannot make this process buffer the answers; reading resumes when
/// the channel is writable again. Past ``ConnectionSettings/outboundHardLimit``, with nothing
/// taken by the peer for a heartbeat interval, the connection is closed with
/// `Error SLOW_CONSUMER` and what was waiting is let go.
public final class ClusterConnectionHandler: ChannelDuplexHandler {
    public typealias InboundIn = Envelope
    public typealias InboundOut = Envelope
    public typealias OutboundIn = Envelope
    public typealias OutboundOut = Envelope

    private var machine: ConnectionStateMachine
    private let heartbeatInterval: TimeAmount
    private let handshakePromise: EventLoopPromise<PeerIdentity>
    private let violationLog: ViolationLog?
    private var heartbeat: Scheduled<Void>?
    private var remoteHost = "unknown"
    private var makeNonce: () -> [UInt8]
    private let outboundHardLimit: Int
    /// Reads are withheld: the channel is not writable.
    private var readsPaused = false
    /// A `read()` arrived while paused; it is passed on when the channel is writable again.
    private var readWithheld = false
    /// The bytes waiting for the peer at the last heartbeat tick (none seen yet: the most).
    private var waitingAtLastTick = Int.max

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
    }

    /// 32 bytes from the system's cryptographically secure generator.
    public static func randomNonce() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        // A connection that never became active (refused, timed out) ends here.
        heartbeat?.cancel()
        heartbeat = nil
        handshakePromise.fail(ConnectionClosed())
    }

    public func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        heartbeat?.cancel()
        heartbeat = nil
        machine.connectionClosed()
        handshakePromise.fail(ConnectionClosed())
        context.fireChannelInactive()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(machine.received(unwrapInboundIn(data)), context: context)
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
        context.write(data, promise: promise)
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
        context.fireChannelWritabilityChanged()
    }

    /// Closes a connection whose peer has let more than the hard limit pile up and took
    /// nothing of it for a whole heartbeat interval. Checked on each tick, not on each write:
    /// this process's own writers can burst past the limit for a moment (an async writer hands
    /// the event loop a batch at once) to a peer that is reading them.
    private func checkOutboundLimit(context: ChannelHandlerContext) {
        guard !machine.isClosed,
            let waiting = try? context.channel.syncOptions?.getOption(.bufferedWritableBytes)
        else { return }
        let previous = waitingAtLastTick
        waitingAtLastTick = waiting
        guard waiting > outboundHardLimit, waiting >= previous else { return }
        let violation = ProtocolViolation(
            .slowConsumer, "\(waiting) bytes wait for the peer to read, above the limit of \(outboundHardLimit)")
        guard case .failAndClose(let violation) = machine.violation(violation) else { return }
        record(violation)
        handshakePromise.fail(violation)
        heartbeat?.cancel()
        // The Error frame joins the queue the peer is not reading, so the close cannot wait for
        // it: closing now lets go of everything queued.
        context.writeAndFlush(wrapOutboundOut(.error(violation.code, violation.detail)), promise: nil)
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
            if !context.channel.isWritable { self.checkOutboundLimit(context: context) }
            self.perform(self.machine.heartbeatTick(listening: !self.readsPaused), context: context)
            if !self.machine.isClosed { self.scheduleHeartbeat(context: context) }
        }
    }

    private func perform(_ action: ConnectionStateMachine.Action, context: ChannelHandlerContext) {
        switch action {
        case .none:
            break
        case .send(let envelope):
            context.writeAndFlush(wrapOutboundOut(envelope), promise: nil)
        case .established(let peer, let reply):
            if let reply { context.writeAndFlush(wrapOutboundOut(reply), promise: nil) }
            handshakePromise.succeed(peer)
        case .forward(let envelope):
            context.fireChannelRead(wrapInboundOut(envelope))
        case .failAndClose(let violation):
            record(violation)
            handshakePromise.fail(violation)
            heartbeat?.cancel()
            let envelope = Envelope.error(violation.code, violation.detail)
            context.writeAndFlush(wrapOutboundOut(envelope)).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        case .closeAfterPeerError(let code, let message):
            handshakePromise.fail(PeerRejection(code: code, message: message))
            heartbeat?.cancel()
            context.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension ClusterConnectionHandler: Sendable {}

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
