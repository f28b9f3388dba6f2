import DialerProtocol
import DialerTestSupport
import DialerTransport
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// A real gateway process flooded by a peer that sends requests without ever reading the
/// answers, on the cluster protocol and on the agent WebSocket. The gateway stops reading the
/// flooder (its answers wait under the high water, 1 MiB), so its memory stays under a bound,
/// and it goes on serving a well-behaved peer.
@Suite("Backpressure against a real gateway", .serialized)
struct FloodClusterTests {
    /// The gateway may grow this much over its resident size before the flood: the flood itself
    /// is tens of MB of requests, whose answers, buffered without bound, took 240 MB.
    static let growthBound = 48 << 20

    @Test func aClusterPeerThatNeverReadsIsNotReadEitherAndOthersAreServed() async throws {
        let cluster = try LocalTestCluster(nodes: [], queues: [])
        await cluster.runThenShutDown { cluster in
            try await cluster.startManager()
            try await cluster.startGateway()
            let pid = try #require(cluster.launcher.members.first { $0.id == "gateway" }?.pid)
            let (host, port) = try split(cluster.gatewayClusterAddress)
            let good = try await ClusterClient.connect(
                host: host, port: port, settings: cluster.connectionSettings(for: "node-good", role: .node))
            let flooder = try await ClusterClient.connect(
                host: host, port: port, settings: cluster.connectionSettings(for: "node-flood", role: .node))
            let baseline = try residentBytes(of: pid)
            var highest = baseline
            try await good.run { goodLink, goodInbound in
                async let goodReader: Void = goodInbound.forEach { _ in }
                // The flooder's inbound is never consumed, so after a few frames its side stops
                // reading the gateway's answers, as a peer that never reads.
                try await flooder.run { floodLink, _ in
                    // Releases of a request the gateway does not hold, with a 2,000-byte id: each
                    // is answered with an Error that names the id, so the answers are as large as
                    // the requests (60 MB each way), far beyond what the sockets hold.
                    var release = Dialer_V1_ReservationRelease()
                    release.request = String(repeating: "r", count: 2000)
                    let request = Envelope(.reservationRelease(release), correlationID: 1)
                    for index in 0..<30_000 {
                        floodLink.sendNow(request)
                        if index % 2000 == 0 { highest = max(highest, try residentBytes(of: pid)) }
                    }
                    // The flood settles: what the gateway does not take waits on this side, the
                    // same amount at two looks a second apart.
                    var last = -1
                    let settled = await eventually(timeout: .seconds(120), interval: .seconds(1)) {
                        let waiting = await floodLink.outboundBytesWaiting()
                        defer { last = waiting }
                        return waiting == last
                    }
                    #expect(settled, "the flood did not settle")
                    print("flood: \(last) bytes wait on the flooder's side")
                    highest = max(highest, try residentBytes(of: pid))
                    // Meanwhile a well-behaved peer is answered.
                    for _ in 0..<20 {
                        let reply = try await goodLink.request(.agentRequest(.init()), timeout: .seconds(10))
                        #expect(reply.errorCode == .invalidArgument)
                        highest = max(highest, try residentBytes(of: pid))
                    }
                    floodLink.close()
                }
                // With the flooder gone the gateway still serves, and its memory stays bounded.
                let reply = try await goodLink.request(.agentRequest(.init()), timeout: .seconds(10))
                #expect(reply.errorCode == .invalidArgument)
                highest = max(highest, try residentBytes(of: pid))
                goodLink.close()
                try await goodReader
            }
            print("cluster flood: the gateway's VmRSS went from \(baseline >> 20) MB to at most \(highest >> 20) MB")
            #expect(
                highest - baseline < Self.growthBound,
                "the gateway grew from \(baseline >> 20) MB to \(highest >> 20) MB under the flood")
        }
    }

    @Test func aWebSocketPeerThatNeverReadsIsNotReadEitherAndOthersAreServed() async throws {
        let cluster = try LocalTestCluster(nodes: [], queues: [])
        await cluster.runThenShutDown { cluster in
            try await cluster.startManager()
            try await cluster.startGateway()
            let pid = try #require(cluster.launcher.members.first { $0.id == "gateway" }?.pid)
            let (host, port) = try split(cluster.httpAddress(of: "gateway"))
            let baseline = try residentBytes(of: pid)
            var highest = baseline
            let flooder = try await RawWebSocket.connect(host: host, port: port)
            // The flooder stops reading right after the upgrade.
            try await flooder.channel.setOption(.autoRead, value: false).get()
            let frame = RawWebSocket.maskedText(#"{"correlationId":"1","agentSetReady":{}}"#)
            var batch = ByteBuffer()
            for _ in 0..<1000 { batch.writeImmutableBuffer(frame) }
            for index in 0..<400 {
                flooder.channel.writeAndFlush(batch, promise: nil)
                if index % 20 == 0 { highest = max(highest, try residentBytes(of: pid)) }
            }
            var last = -1
            let stalled = await eventually(timeout: .seconds(60), interval: .seconds(1)) {
                let waiting = (try? await flooder.channel.getOption(.bufferedWritableBytes).get()) ?? 0
                defer { last = waiting }
                return waiting > 0 && waiting == last
            }
            #expect(stalled, "the gateway read the whole flood: nothing waits on the flooder's side")
            highest = max(highest, try residentBytes(of: pid))
            // A desktop that reads is answered meanwhile.
            let good = try await RawWebSocket.connect(host: host, port: port)
            good.channel.writeAndFlush(
                RawWebSocket.maskedText(#"{"correlationId":"7","agentSetReady":{}}"#), promise: nil)
            #expect(await eventually(timeout: .seconds(20)) { good.received.contains("NOT_LOGGED_IN") })
            highest = max(highest, try residentBytes(of: pid))
            try? await flooder.channel.close()
            try? await good.channel.close()
            print("websocket flood: the gateway's VmRSS went from \(baseline >> 20) MB to at most \(highest >> 20) MB")
            #expect(
                highest - baseline < Self.growthBound,
                "the gateway grew from \(baseline >> 20) MB to \(highest >> 20) MB under the flood")
        }
    }
}

/// VmRSS of a process, in bytes, from /proc.
private func residentBytes(of pid: Int32) throws -> Int {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
    else { throw CocoaError(.fileReadCorruptFile) }
    return kilobytes * 1024
}

private func split(_ address: String) throws -> (String, Int) {
    guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
        throw CocoaError(.fileReadCorruptFile)
    }
    return (String(address[..<colon]), port)
}

/// Waits for `condition`, 10 s unless told (the shared condition wait of DialerTestSupport).
private func eventually(
    timeout: Duration = .seconds(10), interval: Duration = .milliseconds(50), _ condition: () async -> Bool
) async -> Bool {
    await waitForCondition(timeout: timeout, interval: interval, condition)
}

/// A WebSocket client from RFC 6455 on a bare NIO channel: upgrade, then masked text frames;
/// what the server sends is kept as text (frame headers and all), for `contains` checks.
private final class RawWebSocket: Sendable {
    let channel: any Channel
    private let collector: Collector
    var received: String { collector.text.withLock { $0 } }

    private init(channel: any Channel, collector: Collector) {
        self.channel = channel
        self.collector = collector
    }

    static func connect(host: String, port: Int) async throws -> RawWebSocket {
        let collector = Collector()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: host, port: port).get()
        let request =
            "GET /v1/agents/ws HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: request))
        let socket = RawWebSocket(channel: channel, collector: collector)
        guard await eventually(timeout: .seconds(10), { socket.received.contains(" 101 ") }) else {
            throw CocoaError(.fileReadCorruptFile)
        }
        return socket
    }

    /// One client-to-server text frame (masked, as RFC 6455 requires of clients).
    static func maskedText(_ text: String) -> ByteBuffer {
        let payload = Array(text.utf8)
        precondition(payload.count < 126)
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        var buffer = ByteBuffer()
        buffer.writeBytes([0x81, 0x80 | UInt8(payload.count)] + mask)
        buffer.writeBytes(payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
        return buffer
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let text = Mutex("")

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let bytes = unwrapInboundIn(data)
            text.withLock { $0 += String(decoding: bytes.readableBytesView, as: UTF8.self) }
        }
    }
}

extension Envelope {
    fileprivate var errorCode: ProtocolErrorCode? {
        if case .error(let error) = message { return error.code }
        return nil
    }
}
