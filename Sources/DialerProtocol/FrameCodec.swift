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
        let frameLength = FrameFormat.headerLength + Int(length)
        guard buffer.readableBytes >= frameLength else { return nil }
        // Decoded in the value returned (an `Envelope` is a few hundred bytes: each copy
        // costs), in place from the received bytes (no copy, no slice of the payload).
        var envelope = Envelope()
        let decoded = buffer.withUnsafeReadableBytes { bytes in
            let payload = UnsafeRawBufferPointer(rebasing: bytes[FrameFormat.headerLength..<frameLength])
            return (try? EnvelopeFastDecoder.decode(into: &envelope, from: payload)) != nil
        }
        let declined =
            decoded ? nil : buffer.getSlice(at: buffer.readerIndex + FrameFormat.headerLength, length: Int(length))
        // The frame is consumed whether it decodes or not.
        buffer.moveReaderIndex(forwardBy: frameLength)
        if let declined { envelope = try slowlyDecoded(declined) }
        try checkMessage(of: envelope)
        return consume envelope
    }

    /// Decodes one payload; a payload that parses but names no known message is `UNKNOWN_MESSAGE`.
    public static func decodeEnvelope(_ payload: ByteBuffer) throws -> Envelope {
        // Parsed in place from the received bytes: no copy of the payload. The fast decoder
        // takes well-formed payloads of known fields; swift-protobuf decides the rest.
        var envelope = Envelope()
        let decoded = payload.withUnsafeReadableBytes { bytes in
            (try? EnvelopeFastDecoder.decode(into: &envelope, from: bytes)) != nil
        }
        if !decoded { envelope = try slowlyDecoded(payload) }
        try checkMessage(of: envelope)
        return envelope
    }

    /// swift-protobuf's answer for a payload the fast decoder declined.
    private static func slowlyDecoded(_ payload: ByteBuffer) throws -> Envelope {
        do {
            return try Envelope(serializedBytes: PayloadBytes(buffer: payload))
        } catch {
            throw ProtocolViolation(.malformedFrame, "payload is not a valid Envelope")
        }
    }

    /// An envelope without a message this peer knows is refused.
    @inline(__always)  // Out of line, the check copied the envelope's message to test it.
    private static func checkMessage(of envelope: borrowing Envelope) throws {
        if case .none = envelope.message {
            if envelope.unknownFields.data.isEmpty {
                throw ProtocolViolation(.malformedFrame, "envelope carries no message")
            }
            throw ProtocolViolation(.unknownMessage, "envelope carries a message kind this peer does not know")
        }
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
    ///
    /// The payload is written in place behind the length header by ``EnvelopeFastEncoder``
    /// (the same bytes as swift-protobuf's); a message it declines is serialised by
    /// swift-protobuf instead.
    public static func encodeFrame(_ envelope: Envelope, into out: inout ByteBuffer, maximumPayload: Int) throws {
        let frameIndex = out.writerIndex
        let count: Int
        do {
            count = try EnvelopeFastEncoder.appendFrame(envelope, to: &out)
        } catch is EnvelopeFastEncoder.Declined {
            out.writeImmutableBuffer(try swiftProtobufFrame(envelope))
            count = out.writerIndex - frameIndex - FrameFormat.headerLength
        }
        guard count <= maximumPayload else {
            out.moveWriterIndex(to: frameIndex)
            // The peer would reject it; refuse locally so the bug shows on the sender's side.
            throw ProtocolViolation(.frameTooLarge, "outgoing frame of \(count) bytes exceeds \(maximumPayload)")
        }
    }

    /// What a frame's own buffer is first allocated with. Most of the protocol's frames fit,
    /// and are written in one pass; a larger one is counted, then written into the buffer grown
    /// to its size. (Allocating 1 KiB costs what a smaller block does, and the buffer is short
    /// lived: the connection appends it to its outbound bytes or writes it.)
    static var initialFrameCapacity: Int { 1024 }

    /// `envelope` as one frame in a buffer of its own.
    public static func frame(_ envelope: Envelope, maximumPayload: Int) throws -> ByteBuffer {
        var frame = ByteBufferAllocator().buffer(capacity: initialFrameCapacity)
        try encodeFrame(envelope, into: &frame, maximumPayload: maximumPayload)
        return frame
    }

    /// `envelope` as one frame serialised by swift-protobuf, straight into the buffer behind
    /// the length header.
    static func swiftProtobufFrame(_ envelope: Envelope) throws -> ByteBuffer {
        let frame: FrameBytes = try envelope.serializedBytes()
        return frame.buffer
    }
}

/// A frame being serialised: swift-protobuf asks for a payload of the size it computed
/// (`init(repeating:count:)`) and writes into it; the buffer holds the 4-byte length header
/// before the payload, so what it writes is the whole frame.
struct FrameBytes: SwiftProtobufContiguousBytes {
    private(set) var buffer: ByteBuffer

    init(repeating byte: UInt8, count: Int) {
        buffer = ByteBufferAllocator().buffer(capacity: FrameFormat.headerLength + count)
        // swift-protobuf refuses messages of 2 GiB or more before asking for the bytes.
        buffer.writeInteger(UInt32(truncatingIfNeeded: count))
        buffer.writeRepeatingByte(byte, count: count)
    }

    init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
        buffer = ByteBufferAllocator().buffer(capacity: FrameFormat.headerLength)
        buffer.writeInteger(UInt32(0))
        let count = buffer.writeBytes(sequence)
        buffer.setInteger(UInt32(truncatingIfNeeded: count), at: buffer.readerIndex)
    }

    /// The payload's bytes, without the header.
    var count: Int { buffer.readableBytes - FrameFormat.headerLength }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeReadableBytes { bytes in
            try body(UnsafeRawBufferPointer(rebasing: bytes[FrameFormat.headerLength...]))
        }
    }

    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeMutableReadableBytes { bytes in
            try body(UnsafeMutableRawBufferPointer(rebasing: bytes[FrameFormat.headerLength...]))
        }
    }
}

/// A received payload as swift-protobuf's input, read in place.
struct PayloadBytes: SwiftProtobufContiguousBytes {
    var buffer: ByteBuffer

    init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    init(repeating byte: UInt8, count: Int) {
        buffer = ByteBufferAllocator().buffer(capacity: count)
        buffer.writeRepeatingByte(byte, count: count)
    }

    init<S: Sequence>(_ sequence: S) where S.Element == UInt8 {
        buffer = ByteBufferAllocator().buffer(capacity: 0)
        buffer.writeBytes(sequence)
    }

    var count: Int { buffer.readableBytes }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeReadableBytes(body)
    }

    mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeMutableReadableBytes(body)
    }
}
