import Foundation
import NIOCore
import SwiftProtobuf
import Testing

@testable import DialerProtocol

/// The frame encoder's own protobuf encoder (``EnvelopeFastEncoder``) against swift-protobuf's:
/// for every envelope, the same bytes, so the wire (and proto/PROTOCOL.md) is unchanged.
@Suite("Frame codec: the fast encoder against swift-protobuf")
struct FastEncoderTests {
    /// swift-protobuf's encoding.
    static func reference(_ envelope: Envelope) throws -> [UInt8] {
        try envelope.serializedBytes()
    }

    /// The fast encoder's encoding, appended to a buffer with `room` bytes free (so that the
    /// pass that only counts, and the second pass, are taken too) behind a few bytes already
    /// there, which must stay as they were.
    static func fast(_ envelope: Envelope, room: Int = 1024) throws -> [UInt8] {
        var buffer = ByteBufferAllocator().buffer(capacity: room + 3)
        buffer.writeBytes([7, 8, 9])
        try EnvelopeFastEncoder.append(envelope, to: &buffer)
        let before = buffer.readBytes(length: 3)
        #expect(before == [7, 8, 9])
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }

    /// The fast encoder gives swift-protobuf's bytes, with room for the whole message and
    /// without, and the frame encoder puts them behind the right header.
    static func expectSameBytes(_ envelope: Envelope, _ comment: Comment? = nil) throws {
        let reference = try reference(envelope)
        #expect(try fast(envelope) == reference, comment)
        #expect(try fast(envelope, room: 0) == reference, comment)
        #expect(try fast(envelope, room: reference.count / 2) == reference, comment)
        var frame = try FrameEncoder.frame(envelope, maximumPayload: FrameFormat.defaultMaximumPayload)
        #expect(frame.readInteger(as: UInt32.self) == UInt32(reference.count), comment)
        #expect(frame.readBytes(length: frame.readableBytes) == reference, comment)
    }

    @Test func sampleEnvelopesEncodeAsSwiftProtobufEncodesThem() throws {
        for sample in FastDecoderTests.samples {
            try Self.expectSameBytes(sample, "\(sample.kindName)")
        }
    }

    @Test func everyMessageKindEncodesAsSwiftProtobufEncodesIt() throws {
        // Every field number the envelope takes as a message (found by swift-protobuf, so a new
        // message kind is covered without a change here): empty, and with a correlation id.
        var kinds = 0
        for number in 2...2047 {
            let key = UInt64(number << 3 | 2)
            var bytes: [UInt8] = key < 0x80 ? [UInt8(key)] : [UInt8(key & 0x7f | 0x80), UInt8(key >> 7)]
            bytes.append(0)
            guard var envelope = try? Envelope(serializedBytes: bytes), envelope.message != nil else { continue }
            kinds += 1
            try Self.expectSameBytes(envelope, "field \(number)")
            envelope.correlationID = UInt64(number) << 20
            try Self.expectSameBytes(envelope, "field \(number)")
        }
        #expect(kinds > 50)
    }

    @Test func edgeValuesEncodeAsSwiftProtobufEncodesThem() throws {
        // Negative int32 and enum values (ten bytes), the largest numbers, empty and long text,
        // lengths of one, two and three bytes, unknown fields kept from a peer.
        var handOut = Dialer_V1_AttemptHandOut()
        handOut.priority = Int32.min
        handOut.fields = ["": "", "k": String(repeating: "é", count: 200)]
        var batch = Dialer_V1_ContactBatch()
        batch.attempts = [handOut]
        batch.campaignRevision = UInt64.max
        var error = Dialer_V1_Error()
        error.code = ProtocolErrorCode(rawValue: -1)!
        error.message = String(repeating: "y", count: 20_000)
        var withUnknown = try Envelope(
            serializedBytes: try Envelope(.error(error), correlationID: 1).serializedBytes() + [0xF8, 0x7C, 0x01])
        #expect(!withUnknown.unknownFields.data.isEmpty)
        withUnknown.correlationID = 3
        for envelope in [
            Envelope(.contactBatch(batch), correlationID: UInt64.max),
            Envelope(.error(error), correlationID: 0),
            withUnknown,
            Envelope(),
        ] {
            try Self.expectSameBytes(envelope)
        }
    }

    @Test func seededRandomEnvelopesEncodeAsSwiftProtobufEncodesThem() throws {
        // Random protobuf payloads (random field numbers, wire types, nested messages, text,
        // bytes, some long) that swift-protobuf parses into envelopes of every kind, with
        // repeated and packed fields, maps and unknown fields: re-encoded both ways.
        var generator = SplitMix(seed: 2026)
        var compared = 0
        var kinds = Set<String>()
        for _ in 0..<8_000 {
            var bytes: [UInt8] = []
            RandomPayload.message(into: &bytes, depth: 0, topLevel: true, &generator)
            guard let envelope = try? Envelope(serializedBytes: bytes) else { continue }
            compared += 1
            kinds.insert(envelope.kindName)
            let reference = try Self.reference(envelope)
            #expect(try Self.fast(envelope) == reference, "\(bytes)")
            if compared % 8 == 0 {
                #expect(try Self.fast(envelope, room: Int(generator.next() % 64)) == reference, "\(bytes)")
            }
        }
        #expect(compared > 3_000)
        #expect(kinds.count > 40)
    }

    @Test func mutatedSamplesEncodeAsSwiftProtobufEncodesThem() throws {
        // Seeded changes to well-formed payloads that swift-protobuf still parses (unknown
        // fields, other message kinds, merged messages): re-encoded both ways.
        var generator = SplitMix(seed: 71)
        var compared = 0
        for sample in FastDecoderTests.samples {
            let original: [UInt8] = try sample.serializedBytes()
            for _ in 0..<3_000 {
                let bytes = FastDecoderTests.mutated(original, using: &generator)
                guard let envelope = try? Envelope(serializedBytes: bytes) else { continue }
                compared += 1
                #expect(try Self.fast(envelope) == Self.reference(envelope), "\(bytes)")
            }
        }
        #expect(compared > 1_000)
    }

    @Test func everyCorpusPayloadEncodesAsSwiftProtobufEncodesIt() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fuzz/corpus/frame")
        let files = try FileManager.default.contentsOfDirectory(at: corpus, includingPropertiesForKeys: nil)
        #expect(!files.isEmpty)
        var compared = 0
        for file in files {
            let data = [UInt8](try Data(contentsOf: file))
            var offset = 0
            while offset + 4 <= data.count {
                let length = data[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
                guard length <= 1 << 16, offset + 4 + length <= data.count else { break }
                if let envelope = try? Envelope(serializedBytes: Array(data[offset + 4..<offset + 4 + length])) {
                    compared += 1
                    #expect(try Self.fast(envelope) == Self.reference(envelope), "\(file.lastPathComponent)")
                }
                offset += 4 + length
            }
        }
        #expect(compared > 0)
    }

    @Test func framesLargerThanTheFirstAllocationAreWhole() throws {
        // A picture of 2,000 agents (tens of kilobytes): written in the second pass.
        var picture = Dialer_V1_QueuePictureUpdate()
        picture.lease.queue = "sales"
        for n in 0..<2_000 {
            var agent = Dialer_V1_AgentTime()
            agent.agent = "agent-\(n)"
            agent.elapsedMs = UInt32(n * 977)
            picture.available.append(agent)
        }
        let envelope = Envelope(.queuePicture(picture), correlationID: 9)
        #expect(try Self.reference(envelope).count > FrameEncoder.initialFrameCapacity * 16)
        try Self.expectSameBytes(envelope)
        var frame = try FrameEncoder.frame(envelope, maximumPayload: FrameFormat.defaultMaximumPayload)
        #expect(
            try FrameDecoder.decodeFrame(from: &frame, maximumPayload: FrameFormat.defaultMaximumPayload) == envelope)
        #expect(frame.readableBytes == 0)
    }

    @Test func aFrameOverTheLimitIsRefusedAndLeavesTheBufferAsItWas() throws {
        var error = Dialer_V1_Error()
        error.message = String(repeating: "z", count: 300)
        var out = ByteBuffer(bytes: [1, 2, 3])
        #expect(throws: ProtocolViolation.self) {
            try FrameEncoder.encodeFrame(Envelope(.error(error), correlationID: 1), into: &out, maximumPayload: 200)
        }
        #expect(out.readableBytesView.elementsEqual([1, 2, 3]))
        // Appended behind what is there, the frame is whole.
        try FrameEncoder.encodeFrame(Envelope(.error(error), correlationID: 1), into: &out, maximumPayload: 400)
        #expect(out.readBytes(length: 3) == [1, 2, 3])
        #expect(
            try FrameDecoder.decodeFrame(from: &out, maximumPayload: 400) == Envelope(.error(error), correlationID: 1))
    }
}

/// Random protobuf wire data: fields of random numbers and wire types, length-delimited ones
/// holding a nested random message, text or bytes.
enum RandomPayload {
    static func varint(_ value: UInt64, into bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    static func message(into bytes: inout [UInt8], depth: Int, topLevel: Bool, _ generator: inout SplitMix) {
        let fields = topLevel ? 1 + Int(generator.next() % 3) : Int(generator.next() % 7)
        for _ in 0..<fields {
            // The envelope's message kinds lie between 10 and 300; nested messages use few numbers.
            let number: UInt64
            if topLevel {
                number = generator.next() % 4 == 0 ? 1 : 10 + generator.next() % 291
            } else {
                number = 1 + generator.next() % 12
            }
            switch generator.next() % 8 {
            case 0, 1:
                varint(number << 3, into: &bytes)
                // Small, large and negative (ten-byte) values.
                let shift = generator.next() % 64
                varint(generator.next() >> shift, into: &bytes)
            case 2:
                varint(number << 3 | 1, into: &bytes)
                for _ in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: generator.next())) }
            case 3:
                varint(number << 3 | 5, into: &bytes)
                for _ in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: generator.next())) }
            default:
                varint(number << 3 | 2, into: &bytes)
                var body: [UInt8] = []
                switch generator.next() % 4 {
                case 0, 1:
                    if depth < 4 { message(into: &body, depth: depth + 1, topLevel: false, &generator) }
                case 2:
                    // ASCII text, sometimes long enough for a two- or three-byte length.
                    let count = generator.next() % 16 == 0 ? Int(generator.next() % 20_000) : Int(generator.next() % 40)
                    body = (0..<count).map { _ in UInt8(0x20 + generator.next() % 0x5f) }
                default:
                    body = (0..<Int(generator.next() % 12)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                }
                varint(UInt64(body.count), into: &bytes)
                bytes += body
            }
        }
    }
}
