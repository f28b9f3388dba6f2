import DialerProtocol
import DialerTransport
import NIOCore
import NIOEmbedded
import Testing

/// Counts the `read()` calls that reach the head of the pipeline (the socket).
final class ReadCounter: ChannelOutboundHandler, @unchecked Sendable {
    typealias OutboundIn = ByteBuffer
    private(set) var reads = 0

    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }
}

@Suite("Backpressure")
struct BackpressureTests {
    private func established(
        highWater: Int = ConnectionSettings.defaultOutboundHighWater,
        hardLimit: Int = ConnectionSettings.defaultOutboundHardLimit
    ) throws -> (EmbeddedPair, ReadCounter) {
        var server = settings(id: "gateway", role: .gateway)
        server.outboundHighWater = highWater
        server.outboundHardLimit = hardLimit
        let pair = try EmbeddedPair(server: server, client: settings(id: "node-1", role: .node))
        pair.pump()
        _ = try pair.serverHandshake.wait()
        let counter = ReadCounter()
        try pair.server.pipeline.syncOperations.addHandler(counter, position: .first)
        return (pair, counter)
    }

    private func setWritable(_ writable: Bool, _ channel: EmbeddedChannel) {
        channel.isWritable = writable
        channel.pipeline.fireChannelWritabilityChanged()
    }

    @Test func readsAreWithheldWhileThePeerDoesNotTakeItsBytes() throws {
        let (pair, counter) = try established()
        pair.server.read()
        #expect(counter.reads == 1)

        setWritable(false, pair.server)
        pair.server.read()
        pair.server.read()
        #expect(counter.reads == 1, "no read while the outbound bytes are over the high water")

        setWritable(true, pair.server)
        #expect(counter.reads == 2, "the withheld read is passed on once, when writable again")
        pair.server.read()
        #expect(counter.reads == 3)
    }

    @Test func pausedIntervalsDoNotCountAsThePeerBeingSilent() throws {
        let (pair, _) = try established()
        let loop = pair.server.embeddedEventLoop
        setWritable(false, pair.server)
        // Nothing from the client reaches the server for ten intervals: it is not being read.
        for _ in 0..<10 {
            loop.advanceTime(by: .milliseconds(100))
            _ = try? pair.client.readOutbound(as: ByteBuffer.self)
            _ = try? pair.server.readOutbound(as: ByteBuffer.self)
        }
        #expect(pair.server.isActive)
        // Listening again, the same silence is a dead peer after the missed beats.
        setWritable(true, pair.server)
        for _ in 0..<5 {
            loop.advanceTime(by: .milliseconds(100))
            _ = try? pair.client.readOutbound(as: ByteBuffer.self)
        }
        let sent = EmbeddedPair.decodeOutbound(pair.server)
        #expect(
            sent.contains { if case .error(let error) = $0.message { error.code == .heartbeatTimeout } else { false } })
        #expect(!pair.server.isActive)
    }

    @Test func pastTheHardLimitWithNoProgressTheConnectionIsClosedWithSlowConsumer() throws {
        let (pair, _) = try established(highWater: 4096, hardLimit: 16_384)
        setWritable(false, pair.server)
        let answer = Envelope.error(.internal, String(repeating: "x", count: 1000), correlationID: 2)
        // Unflushed writes stay in the channel's outbound buffer, like bytes a peer does not read.
        for _ in 0..<20 { pair.server.pipeline.syncOperations.write(NIOAny(answer), promise: nil) }
        // A burst past the limit alone closes nothing: the peer gets a heartbeat interval.
        pair.server.embeddedEventLoop.advanceTime(by: .milliseconds(100))
        #expect(pair.server.isActive)
        // The tick's heartbeat flushed the embedded channel's queue into its outbound list (a
        // socket would still count those bytes): the same bytes are queued again, so the next
        // tick finds no progress in the interval, and closes.
        for _ in 0..<20 { pair.server.pipeline.syncOperations.write(NIOAny(answer), promise: nil) }
        pair.server.embeddedEventLoop.advanceTime(by: .milliseconds(100))
        #expect(!pair.server.isActive)
        let last = try #require(EmbeddedPair.decodeOutbound(pair.server).last)
        guard case .error(let error) = last.message else {
            Issue.record("expected an Error frame last, got \(last.kindName)")
            return
        }
        #expect(error.code == .slowConsumer)
    }

    @Test func underTheHardLimitNothingIsClosed() throws {
        let (pair, _) = try established(highWater: 4096, hardLimit: 16_384)
        setWritable(false, pair.server)
        let answer = Envelope.error(.internal, String(repeating: "x", count: 1000), correlationID: 2)
        for _ in 0..<15 { pair.server.pipeline.syncOperations.write(NIOAny(answer), promise: nil) }
        pair.server.embeddedEventLoop.advanceTime(by: .milliseconds(500))
        #expect(pair.server.isActive)
    }
}
