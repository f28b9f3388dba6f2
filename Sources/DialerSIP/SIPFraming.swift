public import NIOCore

/// Finds message boundaries in a SIP byte stream (TCP): headers up to the blank line, then
/// exactly Content-Length bytes of body (RFC 3261 §18.3). Pure: feed it a buffer, take
/// messages out.
public struct SIPStreamFramer: Sendable {
    public var parser: SIPParser

    public init(parser: SIPParser = SIPParser()) {
        self.parser = parser
    }

    /// The next whole message's bytes from `buffer` (consumed), `nil` when more bytes are
    /// needed. Throws when the stream cannot be a SIP stream any more (the connection should
    /// then be closed: framing is lost).
    public func nextMessage(from buffer: inout ByteBuffer) throws(SIPParseError) -> [UInt8]? {
        // Keep-alive CRLFs between messages (RFC 5626 §3.5.1) are skipped.
        while buffer.readableBytes >= 2, buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == 13,
            buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self) == 10
        {
            buffer.moveReaderIndex(forwardBy: 2)
        }
        let view = buffer.readableBytesView
        let limits = parser.limits
        guard let end = Self.blankLine(in: view) else {
            if view.count > limits.maxMessageBytes { throw .messageTooLarge(limit: limits.maxMessageBytes) }
            return nil
        }
        let headerBytes = Array(view.prefix(end.headersEnd))
        let length = try Self.contentLength(in: headerBytes, limits: limits)
        let total = end.bodyStart + length
        guard total <= limits.maxMessageBytes else { throw .messageTooLarge(limit: limits.maxMessageBytes) }
        guard view.count >= total else { return nil }
        return buffer.readBytes(length: total)
    }

    static func blankLine(in view: ByteBufferView) -> (headersEnd: Int, bodyStart: Int)? {
        var index = view.startIndex
        let end = view.endIndex
        while index + 3 < end {
            if view[index] == 13, view[index + 1] == 10, view[index + 2] == 13, view[index + 3] == 10 {
                return (index - view.startIndex, index - view.startIndex + 4)
            }
            index += 1
        }
        return nil
    }

    /// Content-Length (or `l`) from raw header bytes; mandatory on a stream.
    static func contentLength(in headerBytes: [UInt8], limits: SIPLimits) throws(SIPParseError) -> Int {
        guard let text = String(validating: headerBytes, as: UTF8.self) else { throw .notText }
        for line in text.split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = line[..<colon].trimmingSIPWhitespace().lowercased()
            guard name == "content-length" || name == "l" else { continue }
            let value = line[line.index(after: colon)...].trimmingSIPWhitespace()
            guard let length = SIPNumbers.decimal(value, maxDigits: 9), length <= limits.maxMessageBytes else {
                throw .invalidContentLength(excerpt(value))
            }
            return length
        }
        throw .missingHeader("Content-Length")
    }
}

/// The NIO decoder over ``SIPStreamFramer``: whole messages out, parsed.
public struct SIPMessageDecoder: ByteToMessageDecoder {
    public typealias InboundOut = SIPMessage

    let framer: SIPStreamFramer

    public init(parser: SIPParser = SIPParser()) {
        self.framer = SIPStreamFramer(parser: parser)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let bytes = try framer.nextMessage(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(try framer.parser.parseFramed(bytes)))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        try decode(context: context, buffer: &buffer)
    }
}

/// Writes messages as bytes.
public struct SIPMessageEncoder: MessageToByteEncoder {
    public typealias OutboundIn = SIPMessage

    public init() {}

    public func encode(data: SIPMessage, out: inout ByteBuffer) throws {
        out.writeBytes(SIPParser.serialise(data))
    }
}
