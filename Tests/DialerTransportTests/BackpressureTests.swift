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

/// The socket of a peer that reads only when told: flushes are held, so the bytes stay in the
/// channel's outbound buffer (counted as waiting) until ``takeEverything()``.
final class StalledPeer: ChannelOutboundHandler, @unchecked Sendable {
    typealias OutboundIn = ByteBuffer
    private var context: ChannelHandlerContext?
    private var written: [ByteBuffer] = []

    /// Adds the peer next to `channel`'s socket.
    static func add(to channel: EmbeddedChannel) throws -> StalledPeer {
        let peer = StalledPeer()
        try channel.pipeline.syncOperations.addHandler(peer, position: .first)
        return peer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        written.append(unwrapOutboundIn(data))
        context.write(data, promise: promise)
    }

    func flush(context: ChannelHandlerContext) {}

    /// The peer reads everything written so far.
    func takeEverything() {
        context?.flush()
    }

    /// Every frame written towards this peer, read or not.
    func writtenEnvelopes() -> [Envelope] {
        var envelopes: [Envelope] = []
        for var bytes in written {
            while let envelope = try? FrameDecoder.decodeFrame(from: &bytes, maximumPayload: 1 << 20) {
                envelopes.append(envelope)
            }
        }
        return envelopes
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
        let peer = try StalledPeer.add(to: pair.server)
        setWritable(false, pair.server)
        let answer = Envelope.error(.internal, String(repeating: "x", count: 1000), correlationID: 2)
        for _ in 0..<20 { pair.server.pipeline.syncOperations.writeAndFlush(NIOAny(answer), promise: nil) }
        // The first tick only notes what the peer has taken; a burst past the limit alone
        // closes nothing.
        pair.server.embeddedEventLoop.advanceTime(by: .milliseconds(100))
        #expect(pair.server.isActive)
        // A whole interval in which the peer took no byte, over the limit: closed.
        pair.server.embeddedEventLoop.advanceTime(by: .milliseconds(100))
        #expect(!pair.server.isActive)
        let last = try #require(peer.writtenEnvelopes().last)
        guard case .error(let error) = last.message else {
            Issue.record("expected an Error frame last, got \(last.kindName)")
            return
        }
        #expect(error.code == .slowConsumer)
    }

    @Test func aPeerThatKeepsReadingIsNeverClosedHoweverMuchWaits() throws {
        let (pair, _) = try established(highWater: 4096, hardLimit: 16_384)
        let peer = try StalledPeer.add(to: pair.server)
        setWritable(false, pair.server)
        let answer = Envelope.error(.internal, String(repeating: "x", count: 1000), correlationID: 2)
        // Every interval this side queues more than the hard limit, and the peer takes what
        // waited before: at every tick more than the limit waits, yet the peer reads.
        for _ in 0..<20 {
            for _ in 0..<20 { pair.server.pipeline.syncOperations.writeAndFlush(NIOAny(answer), promise: nil) }
            pair.server.embeddedEventLoop.advanceTime(by: .milliseconds(100))
            #expect(pair.server.isActive)
            peer.takeEverything()
        }
        #expect(pair.server.isActive)
        let codes = peer.writtenEnvelopes().compactMap { envelope -> ProtocolErrorCode? in
            if case .error(let error) = envelope.message { error.code } else { nil }
        }
        #expect(!codes.contains(.slowConsumer))
    }

    @Test func aPeerThatTakesNothingForMoreThanTheMissedBeatsIsClosedUnderTheHardLimit() throws {
        let (pair, _) = try established(highWater: 4096, hardLimit: 16_384)
        let peer = try StalledPeer.add(to: pair.server)
        setWritable(false, pair.server)
        let answer = Envelope.error(.internal, String(repeating: "x", count: 1000), correlationID: 2)
        // Over the high water, under the hard limit: what paced senders leave waiting.
        for _ in 0..<8 { pair.server.pipeline.syncOperations.writeAndFlush(NIOAny(answer), promise: nil) }
        // The first tick notes what was taken; then three stalled intervals (the missed beats)
        // are tolerated.
        for _ in 0..<4 {
            pair.server.embeddedEventLoop.advanceTime(by: .milliseconds(100))
            #expect(pair.server.isActive)
        }
        pair.server.embeddedEventLoop.advanceTime(by: .milliseconds(100))
        #expect(!pair.server.isActive)
        let last = try #require(peer.writtenEnvelopes().last)
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
