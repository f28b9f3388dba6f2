public import DialerProtocol
import NIOCore
import Synchronization

/// An authenticated cluster connection, handed to the actor that owns it.
///
/// Use ``run(_:)`` to get the ``ClusterLink`` (for sending, from any task) and the inbound
/// messages; the connection is closed when the closure returns or throws.
public struct ClusterConnection: Sendable {
    public let peer: PeerIdentity
    /// The peer's address as `host:port`, for logs.
    public let remoteAddress: String
    /// The peer's IP address without the port (per-address limits), when known.
    public let remoteHost: String?
    let asyncChannel: NIOAsyncChannel<Envelope, Envelope>
    let gate: OutboundGate
    let side: CorrelationSide

    init(peer: PeerIdentity, configured: ClusterPipeline.Configured, side: CorrelationSide) {
        self.peer = peer
        self.asyncChannel = configured.asyncChannel
        self.gate = configured.gate
        self.side = side
        let address = asyncChannel.channel.remoteAddress
        self.remoteAddress = address.map { "\($0.ipAddress ?? "?"):\($0.port ?? 0)" } ?? "unknown"
        self.remoteHost = address?.ipAddress
    }

    /// Runs `body` with the connection's link and inbound messages, then closes the connection.
    public func run<Result: Sendable>(
        _ body: (ClusterLink, ClusterInbound) async throws -> Result
    ) async throws -> Result {
        try await asyncChannel.executeThenClose { inbound, _ in
            let link = ClusterLink(
                peer: peer, gate: gate, channel: asyncChannel.channel, correlator: Correlator(side: side))
            defer { link.correlator.failAll() }
            return try await body(link, ClusterInbound(stream: inbound, link: link))
        }
    }
}

/// Which correlation ids a side uses for its own requests: the connecting side odd, the
/// accepting side even, so a reply's id alone tells which side asked.
enum CorrelationSide: Sendable {
    case connecting
    case accepting
}

/// The inbound messages of a connection, with replies to this side's requests taken out and
/// delivered to the waiting ``ClusterLink/request(_:timeout:)`` calls.
public struct ClusterInbound: Sendable {
    let stream: NIOAsyncChannelInboundStream<Envelope>
    let link: ClusterLink

    /// Calls `body` for each message that is not a reply to this side's request, until the
    /// connection closes.
    public func forEach(_ body: (Envelope) async throws -> Void) async throws {
        defer { link.correlator.failAll() }
        for try await envelope in stream {
            if link.correlator.complete(envelope) { continue }
            try await body(envelope)
        }
    }
}

/// The sending half of a connection; safe to share between tasks.
///
/// Every message sent through a link is encoded on the sending task's thread and queued; the
/// connection's event loop writes what is queued a burst at a time, with one flush. Messages
/// from one task go out in the order sent.
public struct ClusterLink: Sendable {
    public let peer: PeerIdentity
    let gate: OutboundGate
    let channel: any Channel
    let correlator: Correlator

    /// Sends one message, paced by the peer: it returns once the message is queued and the
    /// connection can take more, and suspends while the channel is not writable (the peer has
    /// not taken the bytes over ``ConnectionSettings/outboundHighWater``).
    ///
    /// - Throws: ``ConnectionClosed`` once the connection is closed; `CancellationError` if the
    ///   task is cancelled while waiting (the message is queued and still goes out).
    public func send(_ envelope: Envelope) async throws {
        try checkVersion(envelope.message)
        try await gate.send(envelope)
    }

    /// Refuses locally a message the connection's version does not have: the peer would close
    /// the connection on it (PROTOCOL.md §8).
    private func checkVersion(_ message: Envelope.OneOf_Message?) throws(NotInProtocolVersion) {
        guard let message, !peer.speaks(message) else { return }
        throw NotInProtocolVersion(
            kind: Envelope(message).kindName, needed: ProtocolVersion.introducing(message),
            connection: peer.protocolVersion)
    }

    /// Sends one message without waiting for the peer (a closed connection drops it). What
    /// such messages pile up is bounded only by ``ConnectionSettings/outboundHardLimit``.
    public func sendNow(_ envelope: Envelope) {
        // A kind the connection's version lacks is dropped like a message to a closed
        // connection: the peer would close the connection on it.
        guard (try? checkVersion(envelope.message)) != nil else { return }
        try? gate.sendNow(envelope)
    }

    /// Sends a request and waits for the reply with the same correlation id.
    ///
    /// A reply that is an `Error` is returned as an envelope too; the caller decides.
    public func request(_ message: Envelope.OneOf_Message, timeout: Duration = .seconds(5)) async throws -> Envelope {
        try checkVersion(message)
        let id = correlator.nextID()
        let envelope = Envelope(message, correlationID: id)
        return try await withCheckedThrowingContinuation { continuation in
            guard correlator.register(id, continuation) else {
                continuation.resume(throwing: ConnectionClosed())
                return
            }
            let timer = channel.eventLoop.scheduleTask(in: .nanoseconds(timeout.totalNanoseconds)) {
                correlator.fail(id, with: RequestTimedOut(kind: envelope.kindName))
            }
            do {
                try gate.sendNow(envelope)
            } catch {
                correlator.fail(id, with: error)
            }
            correlator.attachTimer(id, timer)
        }
    }

    /// Sends a request without waiting and returns the correlation id it carries. Its reply is
    /// not matched here: it comes with the connection's other inbound messages, for a caller
    /// that answers by its own ids (the reservation protocol's answers name the request) and
    /// only needs the correlation id to match a refusal. No task waits and no timer runs.
    ///
    /// - Throws: ``NotInProtocolVersion``, ``ConnectionClosed``, or the frame encoder's error
    ///   for a message too large for the connection.
    public func sendRequestNow(_ message: Envelope.OneOf_Message) throws -> UInt64 {
        try checkVersion(message)
        let id = correlator.nextID()
        try gate.sendNow(Envelope(message, correlationID: id))
        return id
    }

    /// Replies to `request` with `message`.
    public func reply(to request: Envelope, with message: Envelope.OneOf_Message) async throws {
        try await send(Envelope(message, correlationID: request.correlationID))
    }

    /// Sends a fatal error and closes the connection.
    public func close(with code: ProtocolErrorCode, _ text: String) {
        // From a task, this write reaches the event loop after the drains of what was sent
        // before it (the loop runs its tasks in order); the close waits until it is written.
        channel.writeAndFlush(Envelope.error(code, text)).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    /// Closes the connection.
    public func close() {
        channel.close(promise: nil)
    }

    /// Bytes written to this connection that the peer has not taken yet (for diagnostics and
    /// tests: a peer that stops reading leaves them here).
    public func outboundBytesWaiting() async -> Int {
        (try? await channel.getOption(.bufferedWritableBytes).get()) ?? 0
    }
}

/// A message was not sent: its kind belongs to a later protocol version than the connection's.
public struct NotInProtocolVersion: Error, Hashable, Sendable, CustomStringConvertible {
    public var kind: String
    /// The version that introduced the kind.
    public var needed: UInt32
    /// The connection's negotiated version.
    public var connection: UInt32
    public var description: String { "\(kind) needs protocol version \(needed); the connection speaks \(connection)" }
}

/// A request got no reply in time.
public struct RequestTimedOut: Error, Hashable, Sendable, CustomStringConvertible {
    public var kind: String
    public var description: String { "no reply to \(kind) in time" }
}

/// Pending requests of one connection, keyed by correlation id.
final class Correlator: Sendable {
    private struct State {
        var next: UInt64
        var pending: [UInt64: CheckedContinuation<Envelope, any Error>] = [:]
        var timers: [UInt64: Scheduled<Void>] = [:]
        var closed = false
    }

    private let state: Mutex<State>
    private let side: CorrelationSide

    init(side: CorrelationSide) {
        self.side = side
        self.state = Mutex(State(next: side == .connecting ? 1 : 2))
    }

    func nextID() -> UInt64 {
        state.withLock { state in
            let id = state.next
            state.next &+= 2
            return id
        }
    }

    func register(_ id: UInt64, _ continuation: CheckedContinuation<Envelope, any Error>) -> Bool {
        state.withLock { state in
            guard !state.closed else { return false }
            state.pending[id] = continuation
            return true
        }
    }

    func attachTimer(_ id: UInt64, _ timer: Scheduled<Void>) {
        let keep = state.withLock { state in
            guard state.pending[id] != nil else { return false }
            state.timers[id] = timer
            return true
        }
        if !keep { timer.cancel() }
    }

    /// Delivers `envelope` if it answers one of this side's requests.
    func complete(_ envelope: Envelope) -> Bool {
        let id = envelope.correlationID
        guard id != 0, (id % 2 == 1) == (side == .connecting) else { return false }
        let (continuation, timer) = state.withLock { state in
            (state.pending.removeValue(forKey: id), state.timers.removeValue(forKey: id))
        }
        timer?.cancel()
        guard let continuation else { return false }
        continuation.resume(returning: envelope)
        return true
    }

    func fail(_ id: UInt64, with error: any Error) {
        let (continuation, timer) = state.withLock { state in
            (state.pending.removeValue(forKey: id), state.timers.removeValue(forKey: id))
        }
        timer?.cancel()
        continuation?.resume(throwing: error)
    }

    func failAll() {
        let (pending, timers) = state.withLock { state in
            state.closed = true
            defer {
                state.pending = [:]
                state.timers = [:]
            }
            return (state.pending, state.timers)
        }
        for timer in timers.values { timer.cancel() }
        for continuation in pending.values { continuation.resume(throwing: ConnectionClosed()) }
    }
}
