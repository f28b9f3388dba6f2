import DialerProtocol
import FoundationEssentials
import NIOCore
import NIOEmbedded
import SwiftProtobuf
import Testing

@Suite("Frame codec")
struct FrameCodecTests {
    private func heartbeat(_ sequence: UInt64, correlationID: UInt64 = 0) -> Envelope {
        var beat = Dialer_V1_Heartbeat()
        beat.sequence = sequence
        return Envelope(.heartbeat(beat), correlationID: correlationID)
    }

    private func makeChannel(maximumPayload: Int = FrameFormat.defaultMaximumPayload) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(FrameDecoder(maximumPayload: maximumPayload)))
        try channel.pipeline.syncOperations.addHandler(
            MessageToByteHandler(FrameEncoder(maximumPayload: maximumPayload)))
        return channel
    }

    private func frame(_ envelope: Envelope) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        try FrameEncoder.encodeFrame(envelope, into: &buffer, maximumPayload: FrameFormat.defaultMaximumPayload)
        return buffer
    }

    @Test func roundTripThroughEncoderAndDecoder() throws {
        let channel = try makeChannel()
        var lease = Dialer_V1_QueueLease()
        lease.queue = "sales"
        lease.epoch = 7
        var grant = Dialer_V1_LeaseGrant()
        grant.lease = lease
        grant.leaseDurationMs = 10_000
        let sent = Envelope(.leaseGrant(grant), correlationID: 42)

        try channel.writeOutbound(sent)
        let bytes = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(bytes.getInteger(at: 0, as: UInt32.self) == UInt32(bytes.readableBytes - 4))
        try channel.writeInbound(bytes)
        let received = try #require(try channel.readInbound(as: Envelope.self))
        #expect(received == sent)
        #expect(try channel.finish().isClean)
    }

    @Test func frameSplitAcrossManyReadsIsReassembled() throws {
        let channel = try makeChannel()
        var buffer = try frame(heartbeat(99, correlationID: 5))
        // One byte per read: the decoder must wait for the header, then the payload.
        while buffer.readableBytes > 0 {
            #expect(try channel.readInbound(as: Envelope.self) == nil)
            try channel.writeInbound(buffer.readSlice(length: 1)!)
        }
        let received = try #require(try channel.readInbound(as: Envelope.self))
        #expect(received == heartbeat(99, correlationID: 5))
        #expect(try channel.finish().isClean)
    }

    @Test func severalFramesInOneReadAreAllDecodedInOrder() throws {
        let channel = try makeChannel()
        var buffer = ByteBuffer()
        for sequence in 1...50 {
            var one = try frame(heartbeat(UInt64(sequence)))
            buffer.writeBuffer(&one)
        }
        // And half of a 51st frame, which must stay buffered.
        var partial = try frame(heartbeat(51))
        var head = partial.readSlice(length: 3)!
        buffer.writeBuffer(&head)
        try channel.writeInbound(buffer)
        for sequence in 1...50 {
            let received = try #require(try channel.readInbound(as: Envelope.self))
            #expect(received == heartbeat(UInt64(sequence)))
        }
        #expect(try channel.readInbound(as: Envelope.self) == nil)
        try channel.writeInbound(partial)
        #expect(try channel.readInbound(as: Envelope.self) == heartbeat(51))
        #expect(try channel.finish().isClean)
    }

    @Test func oversizedFrameIsRejectedFromItsHeaderAlone() throws {
        let channel = try makeChannel(maximumPayload: 1024)
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(1025))
        // Only the header: the decoder must not wait for (or buffer) the payload.
        let error = #expect(throws: ProtocolViolation.self) { try channel.writeInbound(buffer) }
        #expect(error?.code == .frameTooLarge)
        _ = try? channel.finish()
    }

    @Test func garbageBytesAreMalformedOrTooLarge() throws {
        for garbage in [[UInt8](repeating: 0xFF, count: 64), Array("GET / HTTP/1.1\r\n\r\n".utf8)] {
            let channel = try makeChannel()
            let error = #expect(throws: ProtocolViolation.self) {
                try channel.writeInbound(ByteBuffer(bytes: garbage))
            }
            // 0xFFFFFFFF and "GET " both read as lengths far above 1 MiB.
            #expect(error?.code == .frameTooLarge)
            _ = try? channel.finish()
        }
    }

    @Test func truncatedProtobufIsMalformed() throws {
        let channel = try makeChannel()
        var hello = Dialer_V1_Hello()
        hello.memberID = "node-1"
        hello.proof = Data(repeating: 1, count: 32)
        let payload: [UInt8] = try Envelope(.hello(hello)).serializedBytes()
        let truncated = Array(payload.dropLast(5))
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(truncated.count))
        buffer.writeBytes(truncated)
        let error = #expect(throws: ProtocolViolation.self) { try channel.writeInbound(buffer) }
        #expect(error?.code == .malformedFrame)
        _ = try? channel.finish()
    }

    @Test func unknownMessageKindIsReported() throws {
        let channel = try makeChannel()
        // Field 999 is no message this version knows (a newer peer's message, say).
        var payload = ByteBuffer()
        payload.writeBytes([0xBA, 0x3E, 0x00])  // tag (999 << 3 | 2) as varint, then length 0
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(payload.readableBytes))
        buffer.writeBuffer(&payload)
        let error = #expect(throws: ProtocolViolation.self) { try channel.writeInbound(buffer) }
        #expect(error?.code == .unknownMessage)
        _ = try? channel.finish()
    }

    @Test func emptyEnvelopeIsMalformed() throws {
        let channel = try makeChannel()
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(0))
        let error = #expect(throws: ProtocolViolation.self) { try channel.writeInbound(buffer) }
        #expect(error?.code == .malformedFrame)
        _ = try? channel.finish()
    }

    @Test func encoderRefusesFramesAboveTheLimit() throws {
        var error = Dialer_V1_Error()
        error.message = String(repeating: "x", count: 2000)
        var buffer = ByteBuffer()
        #expect(throws: ProtocolViolation.self) {
            try FrameEncoder.encodeFrame(Envelope(.error(error)), into: &buffer, maximumPayload: 1024)
        }
        #expect(buffer.readableBytes == 0)
    }
}
