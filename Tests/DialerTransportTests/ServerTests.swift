import DialerProtocol
import DialerTestSupport
import DialerTransport
import Logging
import NIOCore
import NIOPosix
import Synchronization
import Testing

@Suite("Cluster server on loopback")
struct ServerTests {
    /// A server that answers every `LeaseRenew` with an empty `LeaseRenewed`.
    private func withEchoServer(_ body: (ClusterServer, AcceptCount) async throws -> Void) async throws {
        let server = try await ClusterServer.bind(
            host: "127.0.0.1", port: 0, settings: settings(id: "manager", role: .manager), violationLog: nil)
        let accepted = AcceptCount()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await server.run { connection in
                    accepted.increment()
                    _ = try? await connection.run { link, inbound in
                        try await inbound.forEach { envelope in
                            if case .leaseRenew = envelope.message {
                                try await link.reply(to: envelope, with: .leaseRenewed(.init()))
                            }
                        }
                    }
                }
            }
            try await body(server, accepted)
            // Closing the listener ends its accept loop for certain; cancelling also stops the
            // connection tasks.
            await server.close()
            group.cancelAll()
        }
    }

    @Test func requestAndReplyAcrossARealSocket() async throws {
        try await withEchoServer { server, _ in
            let connection = try await ClusterClient.connect(
                host: "127.0.0.1", port: server.port, settings: settings(id: "node-1", role: .node))
            #expect(connection.peer.memberID == "manager")
            try await connection.run { link, inbound in
                async let reader: Void = inbound.forEach { _ in }
                for _ in 0..<20 {
                    let reply = try await link.request(.leaseRenew(.init()))
                    #expect(reply.kindName == "lease_renewed")
                    #expect(reply.correlationID % 2 == 1)
                }
                link.close()
                try await reader
            }
        }
    }

    /// A client given an event loop opens its connection there and reads on that loop's thread;
    /// the reply to a request sent with `sendRequestNow` comes among the inbound messages, under
    /// the correlation id the send returned.
    @Test func aClientGivenAnEventLoopReadsOnItsThreadAndGetsRepliesAsMessages() async throws {
        try await withEchoServer { server, _ in
            let loop = MultiThreadedEventLoopGroup.singleton.next()
            let client = ReconnectingClient(
                host: "127.0.0.1", port: server.port, settings: settings(id: "node-1", role: .node),
                logger: Logger(label: "test"), eventLoop: loop)
            let sent = Mutex<[UInt64]>([])
            let (replies, received) = AsyncStream.makeStream(of: (correlation: UInt64, onLoop: Bool).self)
            let running = Task {
                await client.run(
                    whileConnected: { link in
                        for _ in 0..<3 {
                            let id = try link.sendRequestNow(.leaseRenew(.init()))
                            sent.withLock { $0.append(id) }
                        }
                        // Holds the connection until the test cancels the client.
                        let (held, holder) = AsyncStream.makeStream(of: Void.self)
                        for await _ in held {}
                        holder.finish()
                    },
                    onMessage: { envelope, _ in
                        if case .leaseRenewed = envelope.message {
                            received.yield((envelope.correlationID, loop.inEventLoop))
                        }
                    },
                    onDisconnect: {})
            }
            defer { running.cancel() }
            var answers: [(correlation: UInt64, onLoop: Bool)] = []
            for await reply in replies {
                answers.append(reply)
                if answers.count == 3 { break }
            }
            #expect(await waitForCondition(timeout: .seconds(30)) { sent.withLock { $0.count } == 3 })
            #expect(answers.map(\.correlation) == sent.withLock { $0 })
            #expect(answers.allSatisfy { $0.onLoop })
            #expect(Set(answers.map(\.correlation)).count == 3)
        }
    }

    @Test func wrongSecretIsRefusedOverTheSocket() async throws {
        try await withEchoServer { server, accepted in
            let error = await #expect(throws: PeerRejection.self) {
                _ = try await ClusterClient.connect(
                    host: "127.0.0.1", port: server.port, settings: settings(id: "node-1", role: .node, secret: "no"))
            }
            #expect(error?.code == .authenticationFailed)
            #expect(accepted.value == 0)
        }
    }

    @Test func serverKeepsServingOthersWhileOnePeerSendsGarbage() async throws {
        try await withEchoServer { server, _ in
            let good = try await ClusterClient.connect(
                host: "127.0.0.1", port: server.port, settings: settings(id: "node-1", role: .node))
            try await good.run { link, inbound in
                async let reader: Void = inbound.forEach { _ in }
                for round in 0..<5 {
                    // A raw TCP peer that sends garbage after reading the challenge.
                    let bad = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                        .connect(host: "127.0.0.1", port: server.port) { channel in
                            channel.eventLoop.makeCompletedFuture {
                                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                            }
                        }
                    let answer = try await bad.executeThenClose { inbound, outbound in
                        let garbage: [UInt8] =
                            round % 2 == 0 ? [0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3] : [0, 0, 0, 2, 0xFF, 0xFF]
                        try await outbound.write(ByteBuffer(bytes: garbage))
                        var received = ByteBuffer()
                        for try await var chunk in inbound { received.writeBuffer(&chunk) }
                        return received  // ends when the server closes
                    }
                    var bytes = answer
                    var codes: [ProtocolErrorCode] = []
                    while let envelope = try FrameDecoder.decodeFrame(from: &bytes, maximumPayload: 1 << 20) {
                        if case .error(let error) = envelope.message { codes.append(error.code) }
                    }
                    #expect(codes.count == 1)
                    // The good peer is still served between bad ones.
                    let reply = try await link.request(.leaseRenew(.init()))
                    #expect(reply.kindName == "lease_renewed")
                }
                link.close()
                try await reader
            }
        }
    }
}

/// Counts connections that passed the handshake.
final class AcceptCount: Sendable {
    private let count = Mutex(0)
    func increment() { count.withLock { $0 += 1 } }
    var value: Int { count.withLock { $0 } }
}
