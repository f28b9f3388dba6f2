import NIOCore
import NIOEmbedded
import Testing

@testable import DialerRuntime

@Suite("Which HTTP version a plaintext connection speaks")
struct HTTPPrefaceSniffTests {
    @Test func theFullPrefaceIsHTTP2() {
        #expect(HTTPPrefaceSniff.classify(HTTPPrefaceSniff.preface) == .http2)
        #expect(HTTPPrefaceSniff.classify(HTTPPrefaceSniff.preface + Array("\0\0\u{12}".utf8)) == .http2)
    }

    @Test func aPrefixOfThePrefaceIsUndecided() {
        #expect(HTTPPrefaceSniff.classify([UInt8]()) == .undecided)
        #expect(HTTPPrefaceSniff.classify(Array("P".utf8)) == .undecided)
        #expect(HTTPPrefaceSniff.classify(Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r".utf8)) == .undecided)
    }

    @Test func http1RequestsAreDecidedOnTheirFirstBytes() {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] {
            #expect(HTTPPrefaceSniff.classify(Array("\(method) / HTTP/1.1\r\n".utf8)) == .http1, "\(method)")
            #expect(HTTPPrefaceSniff.classify(Array(method.utf8.prefix(2))) == .http1, "\(method)")
        }
        // Close to the preface but not it.
        #expect(HTTPPrefaceSniff.classify(Array("PRI * HTTP/1.1\r\n\r\n\r\n\r\n\r\n\r\n".utf8)) == .http1)
    }
}

/// The handler on a channel without a network: held bytes, the pipeline switch, a close.
@Suite("The prior-knowledge handler")
struct HTTPPrefaceHandlerTests {
    /// Collects what reaches the pipeline behind the sniffer.
    final class Recorder: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        var received = ByteBuffer()
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            received.writeBuffer(&buffer)
        }
    }

    /// A channel with the sniffer whose `configure` adds a recorder and names the version.
    func channel() throws -> (EmbeddedChannel, HTTPPrefaceHandler<String>, Recorder) {
        let channel = EmbeddedChannel()
        let recorder = Recorder()
        let box = NIOLoopBound(recorder, eventLoop: channel.embeddedEventLoop)
        let handler = HTTPPrefaceHandler<String> { isHTTP2, channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(box.value)
                return isHTTP2 ? "h2" : "http/1.1"
            }
        }
        try channel.pipeline.syncOperations.addHandler(handler)
        return (channel, handler, recorder)
    }

    @Test func aPrefaceSplitOverReadsSwitchesToHTTP2AndPassesEveryByteOn() throws {
        let (channel, handler, recorder) = try channel()
        let negotiated = handler.negotiated
        let preface = String(decoding: HTTPPrefaceSniff.preface, as: UTF8.self)
        try channel.writeInbound(ByteBuffer(string: String(preface.prefix(5))))
        #expect(recorder.received.readableBytes == 0)
        try channel.writeInbound(ByteBuffer(string: String(preface.dropFirst(5)) + "frames"))
        channel.embeddedEventLoop.run()
        #expect(try negotiated.wait() == "h2")
        #expect(String(buffer: recorder.received) == preface + "frames")
        // The sniffer left the pipeline: later bytes go straight through.
        #expect(throws: (any Error).self) {
            try channel.pipeline.syncOperations.handler(type: HTTPPrefaceHandler<String>.self)
        }
        try channel.writeInbound(ByteBuffer(string: "more"))
        #expect(String(buffer: recorder.received) == preface + "framesmore")
        _ = try channel.finish()
    }

    @Test func anHTTP1RequestSwitchesToHTTP1() throws {
        let (channel, handler, recorder) = try channel()
        let negotiated = handler.negotiated
        try channel.writeInbound(ByteBuffer(string: "P"))
        try channel.writeInbound(ByteBuffer(string: "OST /v1/x HTTP/1.1\r\n"))
        channel.embeddedEventLoop.run()
        #expect(try negotiated.wait() == "http/1.1")
        #expect(String(buffer: recorder.received) == "POST /v1/x HTTP/1.1\r\n")
        _ = try channel.finish()
    }

    @Test func aConnectionClosedBeforeItsVersionIsKnownFailsTheNegotiation() throws {
        let (channel, handler, recorder) = try channel()
        let negotiated = handler.negotiated
        try channel.writeInbound(ByteBuffer(string: "PRI * "))
        _ = try channel.finish()
        #expect(throws: (any Error).self) { try negotiated.wait() }
        #expect(recorder.received.readableBytes == 0)
    }
}
