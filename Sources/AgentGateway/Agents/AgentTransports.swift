import DialerProtocol
import DialerTransport
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import SwiftProtobuf

/// Agents over the cluster protocol (ROLE_AGENT): SDKs and synthetic agents.
struct AgentClusterListener: Sendable {
    let registry: AgentSessionRegistry
    let authority: any AgentAuthority
    let logger: Logger

    func handle(_ connection: ClusterConnection) async {
        let (registry, authority, logger) = (self.registry, self.authority, self.logger)
        _ = try? await connection.run { link, inbound in
            let agent = AgentConnection(registry: registry, authority: authority, sink: LinkSink(link), logger: logger)
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

    /// The HTTP/1 server with the upgrade to the agent WebSocket at ``path``.
    static func server(registry: AgentSessionRegistry, authority: any AgentAuthority) -> HTTPServerBuilder {
        .http1WebSocketUpgrade { request, _, logger in
            guard request.path?.split(separator: "?").first.map(String.init) == path else { return .dontUpgrade }
            return .upgrade([:]) { inbound, outbound, _ in
                await run(
                    inbound: inbound, outbound: outbound, registry: registry, authority: authority, logger: logger)
            }
        }
    }

    /// An envelope sink that writes JSON text frames, in order, from its own task.
    struct Sink: EnvelopeSink {
        let continuation: AsyncStream<String>.Continuation

        func deliver(_ envelope: Envelope) {
            guard let text = try? envelope.jsonString() else { return }
            continuation.yield(text)
        }
    }

    static func run(
        inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter,
        registry: AgentSessionRegistry,
        authority: any AgentAuthority,
        logger: Logger
    ) async {
        let (frames, continuation) = AsyncStream.makeStream(of: String.self)
        let agent = AgentConnection(
            registry: registry, authority: authority, sink: Sink(continuation: continuation), logger: logger)
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await text in frames {
                    do { try await outbound.write(.text(text)) } catch { break }
                }
            }
            do {
                for try await message in inbound.messages(maxSize: maximumMessage) {
                    switch message {
                    case .text(let text): await receive(text, on: agent)
                    case .binary: await agent.malformed("send text frames carrying JSON")
                    }
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
