import Foundation
import NIOCore
import SwiftProtobuf
import Testing

@testable import DialerProtocol

/// The frame decoder's own protobuf decoder (``EnvelopeFastDecoder``) against swift-protobuf's:
/// whatever it takes, it decodes to the same envelope; whatever swift-protobuf refuses, it
/// declines, so the frame decoder's answer is swift-protobuf's.
@Suite("Frame codec: the fast decoder against swift-protobuf")
struct FastDecoderTests {
    /// Envelopes of several shapes: nested and repeated messages, maps, enums, negative
    /// numbers, non-ASCII text, a 480-character text, a message set twice in a oneof.
    static var samples: [Envelope] {
        var disposition = Dialer_V1_AgentDisposition()
        disposition.attempt = "attempt-1"
        disposition.disposition = String(repeating: "x", count: 480)
        disposition.notes = "José said «call me at 5» 📞"
        disposition.callbackAtMs = 1_700_000_000_000
        disposition.privateCallback = true

        var picture = Dialer_V1_QueuePictureUpdate()
        picture.lease.queue = "sales"
        picture.lease.epoch = 9
        for n in 0..<40 {
            var agent = Dialer_V1_AgentTime()
            agent.agent = "agent-\(n)"
            agent.elapsedMs = UInt32(n * 1_234)
            agent.rank = Int32(n % 3) - 1
            if n % 2 == 0 { picture.available.append(agent) } else { picture.onCall.append(agent) }
        }
        picture.notReady = 3
        picture.sequence = 1 << 40

        var handOut = Dialer_V1_AttemptHandOut()
        handOut.attempt = "a-1"
        handOut.phone = "+442071234567"
        handOut.fields = ["name": "Zoë", "plan": "gold", "": "empty key"]
        handOut.priority = -5
        var batch = Dialer_V1_ContactBatch()
        batch.attempts = [handOut, handOut]
        batch.campaignRevision = 3
        batch.dialingAllowed = true

        var error = Dialer_V1_Error()
        error.code = .frameTooLarge
        error.message = "too large"

        var beat = Dialer_V1_Heartbeat()
        beat.sequence = 0
        return [
            Envelope(.agentDisposition(disposition), correlationID: 1),
            Envelope(.queuePicture(picture), correlationID: 0),
            Envelope(.contactBatch(batch), correlationID: UInt64.max),
            Envelope(.error(error), correlationID: 77),
            Envelope(.heartbeat(beat), correlationID: 5),
        ]
    }

    /// swift-protobuf's envelope, or nil when it refuses the bytes.
    static func reference(_ bytes: [UInt8]) -> Envelope? {
        try? Envelope(serializedBytes: bytes)
    }

    /// The fast decoder's envelope, or nil when it declines.
    static func fast(_ bytes: [UInt8]) -> Envelope? {
        bytes.withUnsafeBytes { try? EnvelopeFastDecoder.decode(Envelope.self, from: $0) }
    }

    @Test func wellFormedEnvelopesDecodeTheSameWithoutDeclining() throws {
        for sample in Self.samples {
            let bytes: [UInt8] = try sample.serializedBytes()
            let fast = try #require(Self.fast(bytes), "declined \(sample.kindName)")
            #expect(fast == sample)
            #expect(fast == Self.reference(bytes))
        }
    }

    @Test func theSameMessageTwiceMergesAsSwiftProtobufMergesIt() throws {
        // Two frames' payloads back to back: the oneof's message is merged, the rest the later.
        let first: [UInt8] = try Self.samples[1].serializedBytes()
        let second: [UInt8] = try Self.samples[1].serializedBytes()
        let bytes = first + second
        #expect(Self.fast(bytes) != nil)
        #expect(Self.fast(bytes) == Self.reference(bytes))
    }

    @Test func whatSwiftProtobufKeepsAsUnknownOrRefusesIsDeclined() throws {
        let beat: [UInt8] = try Self.samples[4].serializedBytes()
        // A field this peer does not know (number 1999, varint): kept by swift-protobuf.
        let unknown = beat + [0xF8, 0x7C, 0x01]
        #expect(Self.fast(unknown) == nil)
        #expect(Self.reference(unknown)?.unknownFields.data.isEmpty == false)
        // Correlation id sent as a 32-bit field: a wire-type mismatch, kept as unknown.
        let mismatched: [UInt8] = [0x0D, 1, 2, 3, 4]
        #expect(Self.fast(mismatched) == nil)
        #expect(Self.reference(mismatched) != nil)
        // Invalid UTF-8 in a text field: refused by swift-protobuf.
        var error = Dialer_V1_Error()
        error.message = "ab"
        var bytes: [UInt8] = try Envelope(.error(error), correlationID: 0).serializedBytes()
        let at = try #require(bytes.lastIndex(of: UInt8(ascii: "b")))
        bytes[at] = 0xC0
        #expect(Self.fast(bytes) == nil)
        #expect(Self.reference(bytes) == nil)
        // A truncated message.
        let cut = Array(beat.dropLast())
        #expect(Self.fast(cut) == nil)
        #expect(Self.reference(cut) == nil)
    }

    /// `original` with one to three seeded changes: a byte changed, dropped or repeated.
    static func mutated(_ original: [UInt8], using generator: inout SplitMix) -> [UInt8] {
        var bytes = original
        for _ in 0...Int(generator.next() % 3) {
            guard !bytes.isEmpty else { break }
            let at = Int(generator.next() % UInt64(bytes.count))
            switch generator.next() % 3 {
            case 0: bytes[at] = UInt8(truncatingIfNeeded: generator.next())
            case 1: bytes.remove(at: at)
            default: bytes.insert(bytes[at], at: at)
            }
        }
        return bytes
    }

    @Test func mutatedEnvelopesDecodeAsSwiftProtobufDecodesThemOrAreDeclined() throws {
        // Seeded changes to well-formed payloads: a byte changed, dropped or repeated.
        var generator = SplitMix(seed: 17)
        var decodedFast = 0
        for sample in Self.samples {
            let original: [UInt8] = try sample.serializedBytes()
            for _ in 0..<3_000 {
                let bytes = FastDecoderTests.mutated(original, using: &generator)
                guard let fast = Self.fast(bytes) else { continue }
                decodedFast += 1
                #expect(fast == Self.reference(bytes), "\(bytes)")
            }
        }
        // The check must have compared something.
        #expect(decodedFast > 1_000)
    }

    @Test func theFrameDecoderAnswersAsBeforeForEveryCorpusInput() throws {
        let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("fuzz/corpus/frame")
        let files = try FileManager.default.contentsOfDirectory(at: corpus, includingPropertiesForKeys: nil)
        #expect(!files.isEmpty)
        for file in files {
            let data = [UInt8](try Data(contentsOf: file))
            // Every payload the frame header delimits, whole or not.
            var offset = 0
            while offset + 4 <= data.count {
                let length = data[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
                guard length <= 1 << 16, offset + 4 + length <= data.count else { break }
                let payload = Array(data[offset + 4..<offset + 4 + length])
                if let fast = Self.fast(payload) {
                    #expect(fast == Self.reference(payload), "\(file.lastPathComponent)")
                }
                offset += 4 + length
            }
        }
    }
}

/// A small seeded generator, so a failure can be replayed.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
