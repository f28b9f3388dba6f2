import DialerConfig
import DialerProtocol
import DialerRuntime
import DialerTransport
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import SwiftProtobuf
import Synchronization

/// Agents over the cluster protocol (ROLE_AGENT): SDKs and synthetic agents.
struct AgentClusterListener: Sendable {
    let registry: AgentSessionRegistry
    let authority: any AgentAuthority
    let logger: Logger

    func handle(_ connection: ClusterConnection) async {
        let (registry, authority, logger) = (self.registry, self.authority, self.logger)
        _ = try? await connection.run { link, inbound in
            // Logins are rate-limited per address: the host, whatever port the agent came from.
            let agent = AgentConnection(
                registry: registry, authority: authority, sink: LinkSink(link),
                clientAddress: connection.remoteHost, logger: logger)
            do {
                try await inbound.forEach { await agent.receive($0) }
            } catch {
                logger.debug("agent connection ended", metadata: ["peer": "\(connection.peer)", "error": "\(error)"])
            }
            await agent.closed()
        }
    }
}

/// Agents over WebSocket (the browser desktop): each text frame is one `Envelope` in
/// SwiftProtobuf's JSON mapping, so the session code is the cluster transport's.
enum AgentWebSocket {
    /// The path the desktop connects to on the gateway's HTTP port.
    static let path = "/v1/agents/ws"
    /// The largest message accepted from a desktop.
    static let maximumMessage = 64 * 1024

    /// The gateway's HTTP server: HTTP/1.1 with the upgrade to the agent WebSocket at ``path``,
    /// and HTTP/2 (h2c with prior knowledge, or ALPN `h2` inside TLS) for the other routes.
    /// The WebSocket stays on HTTP/1.1: the server does not offer extended CONNECT (RFC 8441),
    /// so a browser opens its WebSocket on an HTTP/1.1 connection of its own.
    ///
    /// - Parameters:
    ///   - highWater: bytes queued for a desktop above which its messages are not read (it
    ///     reads again below half), so that a desktop that sends without reading cannot make
    ///     the gateway hold its answers.
    ///   - hardLimit: bytes queued for a desktop above which the WebSocket is closed (1008).
    ///   - pingInterval: the WebSocket ping period (`cluster.agent_heartbeat_interval_ms`, the
    ///     agents' heartbeat on the cluster protocol): a desktop that has not answered one ping
    ///     by the next is closed.
    ///   - tls: the cluster's TLS files, or `nil` for plaintext.
    static func server(
        registry: AgentSessionRegistry, authority: any AgentAuthority,
        highWater: Int = ConnectionSettings.defaultOutboundHighWater,
        hardLimit: Int = ConnectionSettings.defaultOutboundHardLimit,
        pingInterval: Duration = .seconds(15),
        tls: TLSFiles? = nil
    ) throws -> HTTPServerBuilder {
        try .http1And2(tls: tls) { responder in
            HTTP1WebSocketUpgradeChannel(
                responder: responder,
                configuration: .init(ws: WebSocketServerConfiguration(autoPing: .enabled(timePeriod: pingInterval))),
                shouldUpgrade: upgrade(
                    registry: registry, authority: authority, highWater: highWater, hardLimit: hardLimit)
            )
        }
    }

    /// Whether an HTTP/1.1 request becomes the agent WebSocket, and the session that runs it.
    private static func upgrade(
        registry: AgentSessionRegistry, authority: any AgentAuthority, highWater: Int, hardLimit: Int
    )
        -> @Sendable (HTTPRequest, any Channel, Logger) async throws -> ShouldUpgradeResult<
            WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>
        >
    {
        { request, channel, logger in
            guard request.path?.split(separator: "?").first.map(String.init) == path else { return .dontUpgrade }
            return .upgrade([:]) { inbound, outbound, _ in
                let queue = OutboundQueue(highWater: highWater, hardLimit: hardLimit)
                await run(
                    inbound: inbound, outbound: outbound, queue: queue, registry: registry, authority: authority,
                    clientAddress: channel.remoteAddress?.ipAddress, logger: logger,
                    overflow: { queued in
                        // The desktop is not reading: a close frame it would not read either is
                        // sent for form's sake, and the close lets go of what was queued.
                        var reason = ByteBuffer()
                        reason.writeInteger(UInt16(1008))
                        reason.writeString("slow consumer: \(queued) bytes queued, above \(hardLimit)")
                        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: reason)
                        channel.writeAndFlush(frame, promise: nil)
                        channel.close(promise: nil)
                    })
            }
        }
    }

    /// An envelope sink that writes JSON text frames, in order, from its own task, counting
    /// the bytes queued for it.
    struct Sink: EnvelopeSink {
        let continuation: AsyncStream<String>.Continuation
        let queue: OutboundQueue
        let overflow: @Sendable (Int) -> Void

        func deliver(_ envelope: Envelope) {
            guard let text = try? envelope.jsonString() else { return }
            if let queued = queue.add(text.utf8.count) {
                continuation.finish()
                overflow(queued)
                return
            }
            continuation.yield(text)
        }
    }

    static func run(
        inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter,
        queue: OutboundQueue = OutboundQueue(
            highWater: ConnectionSettings.defaultOutboundHighWater,
            hardLimit: ConnectionSettings.defaultOutboundHardLimit),
        registry: AgentSessionRegistry,
        authority: any AgentAuthority,
        clientAddress: String? = nil,
        logger: Logger,
        overflow: @escaping @Sendable (Int) -> Void = { _ in }
    ) async {
        let (frames, continuation) = AsyncStream.makeStream(of: String.self)
        let agent = AgentConnection(
            registry: registry, authority: authority,
            sink: Sink(continuation: continuation, queue: queue, overflow: overflow), clientAddress: clientAddress,
            logger: logger)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await text in frames {
                    do { try await outbound.write(.text(text)) } catch { break }
                    queue.written(text.utf8.count)
                }
                // Nothing more will be written: a reader waiting for room must not wait forever.
                queue.close()
            }
            do {
                for try await message in inbound.messages(maxSize: maximumMessage) {
                    switch message {
                    case .text(let text): await receive(text, on: agent)
                    case .binary: await agent.malformed("send text frames carrying JSON")
                    }
                    // Backpressure: the next message is read only when the desktop has taken
                    // enough of the answers.
                    guard await queue.room() else { break }
                }
            } catch {
                logger.debug("agent websocket ended", metadata: ["error": "\(error)"])
            }
            await agent.closed()
            continuation.finish()
        }
    }

    /// Parses one frame; a frame that is not an envelope gets a clear error, and the session goes on.
    static func receive(_ text: String, on agent: AgentConnection) async {
        do {
            await agent.receive(try Envelope(jsonString: text))
        } catch {
            var lenient = JSONDecodingOptions()
            lenient.ignoreUnknownFields = true
            if let envelope = try? Envelope(jsonString: text, options: lenient) {
                await agent.malformed(
                    "unknown operation: the message names no operation this gateway knows",
                    correlationID: envelope.correlationID)
            } else {
                await agent.malformed("malformed JSON: \(error)")
            }
        }
    }
}

/// The bytes queued for one WebSocket desktop and not yet written: the reader waits for room
/// above the high water, and the sink reports an overflow above the hard limit.
final class OutboundQueue: Sendable {
    private struct State {
        var queued = 0
        var closed = false
        var waiter: CheckedContinuation<Bool, Never>?
    }

    let highWater: Int
    let hardLimit: Int
    private let state = Mutex(State())

    init(highWater: Int, hardLimit: Int) {
        self.highWater = highWater
        self.hardLimit = hardLimit
    }

    /// The bytes queued now.
    var queued: Int { state.withLock { $0.queued } }

    /// Counts `bytes` queued; returns the total when it passes the hard limit (the queue is
    /// then closed), `nil` otherwise.
    func add(_ bytes: Int) -> Int? {
        let (overflow, waiter) = state.withLock { state -> (Int?, CheckedContinuation<Bool, Never>?) in
            guard !state.closed else { return (nil, nil) }
            state.queued += bytes
            guard state.queued > hardLimit else { return (nil, nil) }
            state.closed = true
            defer { state.waiter = nil }
            return (state.queued, state.waiter)
        }
        waiter?.resume(returning: false)
        return overflow
    }

    /// `bytes` were written; a waiting reader resumes below half the high water.
    func written(_ bytes: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            state.queued -= bytes
            guard state.queued <= highWater / 2 else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: true)
    }

    /// Nothing more will be written.
    func close() {
        let waiter = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: false)
    }

    /// Returns at once while at most the high water is queued; otherwise waits until the
    /// queue drains below half of it (`true`) or closes (`false`).
    func room() async -> Bool {
        await withCheckedContinuation { continuation in
            let answer = state.withLock { state -> Bool? in
                if state.closed { return false }
                if state.queued <= highWater { return true }
                state.waiter = continuation
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }
}
