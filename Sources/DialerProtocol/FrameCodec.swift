public import NIOCore
import SwiftProtobuf

/// The protocol's frame limits.
public enum FrameFormat {
    /// Bytes of the big-endian length prefix.
    public static let headerLength = 4
    /// The default largest payload a receiver accepts (1 MiB).
    public static let defaultMaximumPayload = 1 << 20
}

/// Splits the byte stream into frames (4-byte big-endian payload length, then the payload)
/// and decodes each payload as an `Envelope`.
///
/// The length is checked against the limit as soon as the header is read, before any of the
/// payload is buffered, so a peer cannot make the receiver hold an oversized frame.
/// Errors are thrown as ``ProtocolViolation`` so that the connection handler can answer with
/// the matching `Error` frame.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Envelope

    public let maximumPayload: Int

    public init(maximumPayload: Int = FrameFormat.defaultMaximumPayload) {
        precondition(maximumPayload > 0)
        self.maximumPayload = maximumPayload
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let envelope = try Self.decodeFrame(from: &buffer, maximumPayload: maximumPayload) else {
            return .needMoreData
        }
        context.fireChannelRead(wrapInboundOut(envelope))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        // A partial frame at EOF is simply dropped: the peer went away mid-frame.
        try decode(context: context, buffer: &buffer)
    }

    /// Reads one frame from `buffer` if a whole one is there; `nil` when more bytes are needed.
    public static func decodeFrame(from buffer: inout ByteBuffer, maximumPayload: Int) throws -> Envelope? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard length <= maximumPayload else {
            throw ProtocolViolation(.frameTooLarge, "frame of \(length) bytes exceeds the limit of \(maximumPayload)")
        }
        guard buffer.readableBytes >= FrameFormat.headerLength + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: FrameFormat.headerLength)
        let payload = buffer.readSlice(length: Int(length))!
        return try decodeEnvelope(payload)
    }

    /// Decodes one payload; a payload that parses but names no known message is `UNKNOWN_MESSAGE`.
    public static func decodeEnvelope(_ payload: ByteBuffer) throws -> Envelope {
        let envelope: Envelope
        do {
            envelope = try payload.withUnsafeReadableBytes { bytes in
                try Envelope(serializedBytes: Array(bytes))
            }
        } catch {
            throw ProtocolViolation(.malformedFrame, "payload is not a valid Envelope")
        }
        guard envelope.message != nil else {
            if envelope.unknownFields.data.isEmpty {
                throw ProtocolViolation(.malformedFrame, "envelope carries no message")
            }
            throw ProtocolViolation(.unknownMessage, "envelope carries a message kind this peer does not know")
        }
        return envelope
    }
}

/// Writes each `Envelope` as one frame: 4-byte big-endian payload length, then the payload.
public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Envelope

    public let maximumPayload: Int

    public init(maximumPayload: Int = FrameFormat.defaultMaximumPayload) {
        self.maximumPayload = maximumPayload
    }

    public func encode(data: Envelope, out: inout ByteBuffer) throws {
        try Self.encodeFrame(data, into: &out, maximumPayload: maximumPayload)
    }

    /// Appends `envelope` as one frame to `out`.
    public static func encodeFrame(_ envelope: Envelope, into out: inout ByteBuffer, maximumPayload: Int) throws {
        let payload: [UInt8] = try envelope.serializedBytes()
        guard payload.count <= maximumPayload else {
            // The peer would reject it; refuse locally so the bug shows on the sender's side.
            throw ProtocolViolation(
                .frameTooLarge, "outgoing frame of \(payload.count) bytes exceeds \(maximumPayload)")
        }
        out.reserveCapacity(minimumWritableBytes: FrameFormat.headerLength + payload.count)
        out.writeInteger(UInt32(payload.count))
        out.writeBytes(payload)
    }
}
