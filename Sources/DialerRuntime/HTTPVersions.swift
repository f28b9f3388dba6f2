public import DialerConfig
import DialerTransport
public import HummingbirdCore
public import HummingbirdHTTP2
public import Logging
public import NIOCore
import NIOSSL
import NIOTLS

/// Which HTTP version a plaintext connection speaks, read from its first bytes.
///
/// A client with prior knowledge of HTTP/2 (`curl --http2-prior-knowledge`, h2load, gRPC)
/// opens with the fixed connection preface of RFC 9113 §3.4; no HTTP/1.1 request line starts
/// with `PRI *`. One byte that differs from the preface decides HTTP/1.1, so an HTTP/1.1
/// request is decided on its first or second byte.
public enum HTTPPrefaceSniff: Equatable, Sendable {
    case http1
    case http2
    /// Every byte so far matches the preface and it is not complete yet: read more.
    case undecided

    /// The HTTP/2 client connection preface.
    public static let preface: [UInt8] = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// The verdict on the bytes received so far, from the start of the connection.
    public static func classify(_ bytes: some Collection<UInt8>) -> HTTPPrefaceSniff {
        for (index, byte) in zip(preface.indices, bytes) where byte != preface[index] {
            return .http1
        }
        return bytes.count >= preface.count ? .http2 : .undecided
    }
}

/// One listener for HTTP/1.1 and HTTP/2.
///
/// - Plaintext: HTTP/2 with prior knowledge (h2c), recognised by its connection preface
///   (``HTTPPrefaceSniff``); anything else is HTTP/1.1, handled by `HTTP1` (which may upgrade
///   to WebSocket, as the gateway's does).
/// - TLS: ALPN offers `h2` and `http/1.1`; a client that negotiates nothing gets HTTP/1.1.
///
/// Each HTTP/2 stream is one request answered by the same responder as HTTP/1.1, so routes,
/// server-sent event streams and middleware are the same on both.
public struct HTTPVersionsChannel<HTTP1: HTTPChannelHandler>: ServerChildChannel {
    public enum Negotiated: Sendable {
        case http1(HTTP1.Value)
        case http2(HTTP2Channel.Value)
    }

    public struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        public let channel: any Channel
    }

    let http1: HTTP1
    let http2: HTTP2Channel
    /// `nil`: plaintext; else the listener's TLS context, with ALPN `h2` and `http/1.1`.
    let tls: NIOSSLContext?

    init(http1: HTTP1, http2: HTTP2Channel, tls: NIOSSLContext?) {
        self.http1 = http1
        self.http2 = http2
        self.tls = tls
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let (http1, http2) = (self.http1, self.http2)
        let configure: @Sendable (Bool, any Channel) -> EventLoopFuture<Negotiated> = { isHTTP2, channel in
            isHTTP2
                ? http2.setup(channel: channel, logger: logger).map { .http2($0) }
                : http1.setup(channel: channel, logger: logger).map { .http1($0) }
        }
        return channel.eventLoop.makeCompletedFuture {
            let operations = channel.pipeline.syncOperations
            if let tls {
                try operations.addHandler(NIOSSLServerHandler(context: tls))
                let negotiation = NIOTypedApplicationProtocolNegotiationHandler<Negotiated> { result, channel in
                    switch result {
                    case .negotiated("h2"):
                        return configure(true, channel)
                    case .negotiated("http/1.1"), .fallback:
                        return configure(false, channel)
                    case .negotiated(let other):
                        // Only h2 and http/1.1 are offered: anything else is a broken client.
                        return channel.close().flatMapThrowing { throw UnexpectedALPN(name: other) }
                    }
                }
                try operations.addHandler(negotiation)
                return Value(negotiated: negotiation.protocolNegotiationResult, channel: channel)
            }
            let sniffer = HTTPPrefaceHandler<Negotiated>(configure: configure)
            try operations.addHandler(sniffer)
            return Value(negotiated: sniffer.negotiated, channel: channel)
        }
    }

    public func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http1(let connection): await http1.handle(value: connection, logger: logger)
            case .http2(let connection): await http2.handle(value: connection, logger: logger)
            }
        } catch {
            logger.debug("HTTP connection closed before its version was known", metadata: ["error": "\(error)"])
        }
    }

    struct UnexpectedALPN: Error, CustomStringConvertible {
        var name: String
        var description: String { "the client negotiated ALPN \"\(name)\", which was not offered" }
    }
}

/// Holds a plaintext connection's first bytes until ``HTTPPrefaceSniff`` decides its HTTP
/// version, lets `configure` build the pipeline for it behind this handler, then passes the
/// held bytes on and removes itself.
final class HTTPPrefaceHandler<Result: Sendable>: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private enum State {
        case sniffing(ByteBuffer)
        /// Decided; the pipeline is being built. Bytes that arrive meanwhile are held too.
        case configuring(ByteBuffer)
        case done
    }

    private var state = State.sniffing(ByteBuffer())
    private var promise: EventLoopPromise<Result>?
    private let configure: @Sendable (Bool, any Channel) -> EventLoopFuture<Result>

    init(configure: @escaping @Sendable (_ isHTTP2: Bool, any Channel) -> EventLoopFuture<Result>) {
        self.configure = configure
    }

    /// The configured pipeline's value; valid once the handler is in a pipeline.
    var negotiated: EventLoopFuture<Result> {
        guard let promise else { preconditionFailure("HTTPPrefaceHandler: read before it was added to a pipeline") }
        return promise.futureResult
    }

    func handlerAdded(context: ChannelHandlerContext) {
        promise = context.eventLoop.makePromise(of: Result.self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if case .done = state { return }
        state = .done
        promise?.fail(ChannelError.inappropriateOperationForState)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        switch state {
        case .sniffing(var seen):
            seen.writeBuffer(&incoming)
            let verdict = HTTPPrefaceSniff.classify(seen.readableBytesView)
            guard verdict != .undecided else {
                state = .sniffing(seen)
                return
            }
            state = .configuring(seen)
            switchProtocol(context: context, isHTTP2: verdict == .http2)
        case .configuring(var held):
            held.writeBuffer(&incoming)
            state = .configuring(held)
        case .done:
            context.fireChannelRead(data)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .done = state { context.fireChannelReadComplete() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .done = state {
            context.fireChannelInactive()
            return
        }
        state = .done
        promise?.fail(ChannelError.outputClosed)
        context.fireChannelInactive()
    }

    private func switchProtocol(context: ChannelHandlerContext, isHTTP2: Bool) {
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        configure(isHTTP2, context.channel).hop(to: context.eventLoop).whenComplete { result in
            let (handler, context) = bound.value
            handler.configured(context: context, result: result)
        }
    }

    private func configured(context: ChannelHandlerContext, result: Swift.Result<Result, any Error>) {
        guard case .configuring(let held) = state else { return }  // closed meanwhile
        state = .done
        switch result {
        case .success(let value):
            promise?.succeed(value)
            context.fireChannelRead(wrapInboundOut(held))
            context.fireChannelReadComplete()
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        case .failure(let error):
            promise?.fail(error)
            context.close(promise: nil)
        }
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 and HTTP/2 on one listener (``HTTPVersionsChannel``): h2c with prior knowledge
    /// on plaintext, ALPN `h2` inside TLS when the cluster file configures it (docs/TLS.md).
    /// Bad TLS files stop the process here, with the key and the file named.
    ///
    /// - Parameters:
    ///   - tls: the cluster's TLS files, or `nil` for plaintext.
    ///   - streamConfiguration: the HTTP/2 streams' handlers (as HTTP/1.1's, after decoding).
    ///   - http1: the HTTP/1.1 channel for a responder (plain, or with a WebSocket upgrade).
    public static func http1And2<HTTP1: HTTPChannelHandler>(
        tls: TLSFiles?,
        streamConfiguration: HTTP1Channel.Configuration = .init(),
        http1: @escaping @Sendable (@escaping HTTPChannelHandler.Responder) -> HTTP1
    ) throws -> HTTPServerBuilder {
        let context: NIOSSLContext?
        if let tls {
            var configuration = try ClusterTLS(files: tls).serverConfiguration
            configuration.applicationProtocols = ["h2", "http/1.1"]
            context = try NIOSSLContext(configuration: configuration)
        } else {
            context = nil
        }
        return HTTPServerBuilder { responder in
            HTTPVersionsChannel(
                http1: http1(responder),
                http2: HTTP2Channel(
                    responder: responder, configuration: .init(streamConfiguration: streamConfiguration)),
                tls: context)
        }
    }
}
