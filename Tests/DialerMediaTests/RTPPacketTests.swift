import DialerMedia
import Testing

@Suite("RTP packets (RFC 3550)")
struct RTPPacketTests {
    @Test func parsesAHandWrittenHeader() throws {
        // V=2, no padding, no extension, CC=0; M=1, PT=8; seq 0x1234; ts 0xDEADBEEF; SSRC 0x01020304.
        let bytes: [UInt8] = [0x80, 0x88, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04, 0xD5, 0xD5]
        let packet = try RTPPacket(parsing: bytes)
        #expect(packet.marker)
        #expect(packet.payloadType == 8)
        #expect(packet.sequenceNumber == 0x1234)
        #expect(packet.timestamp == 0xDEAD_BEEF)
        #expect(packet.ssrc == 0x0102_0304)
        #expect(packet.csrcs.isEmpty)
        #expect(packet.headerExtension == nil)
        #expect(packet.payload == [0xD5, 0xD5])
        #expect(try packet.serialized() == bytes)
    }

    @Test func roundTripsCSRCsExtensionAndPadding() throws {
        let packet = RTPPacket(
            marker: false, payloadType: 101, sequenceNumber: 65535, timestamp: 160, ssrc: 42, csrcs: [7, 8, 9],
            headerExtension: RTPHeaderExtension(profile: 0xBEDE, data: [1, 2, 3, 4, 5, 6, 7, 8]), payload: [1, 2, 3],
            paddingLength: 5)
        let bytes = try packet.serialized()
        #expect(bytes.count == 12 + 12 + 4 + 8 + 3 + 5)
        #expect(bytes[0] == 0x80 | 0x20 | 0x10 | 3)
        #expect(bytes.last == 5)
        #expect(try RTPPacket(parsing: bytes) == packet)
    }

    @Test func refusesWhatIsNotAVersion2Packet() {
        #expect(throws: RTPPacketError.tooShort(11)) { try RTPPacket(parsing: [UInt8](repeating: 0x80, count: 11)) }
        #expect(throws: RTPPacketError.unsupportedVersion(1)) {
            try RTPPacket(parsing: [0x40] + [UInt8](repeating: 0, count: 11))
        }
    }

    @Test func checksEveryCountAgainstTheBytesPresent() {
        // CC=15 with no CSRCs present.
        #expect(throws: RTPPacketError.truncatedCSRCList(count: 15, length: 12)) {
            try RTPPacket(parsing: [0x8F] + [UInt8](repeating: 0, count: 11))
        }
        // An extension header cut off, then one that claims 0xFFFF words.
        #expect(throws: RTPPacketError.truncatedExtension(declaredWords: 0, available: 2)) {
            try RTPPacket(parsing: [0x90] + [UInt8](repeating: 0, count: 13))
        }
        #expect(throws: RTPPacketError.truncatedExtension(declaredWords: 0xFFFF, available: 0)) {
            try RTPPacket(parsing: [0x90] + [UInt8](repeating: 0, count: 11) + [0xBE, 0xDE, 0xFF, 0xFF])
        }
        // Padding of zero, and padding longer than the packet body.
        #expect(throws: RTPPacketError.invalidPadding(count: 0, available: 1)) {
            try RTPPacket(parsing: [0xA0] + [UInt8](repeating: 0, count: 11) + [0])
        }
        #expect(throws: RTPPacketError.invalidPadding(count: 200, available: 2)) {
            try RTPPacket(parsing: [0xA0] + [UInt8](repeating: 0, count: 11) + [1, 200])
        }
    }

    @Test func refusesToWriteFieldsThatDoNotFit() {
        let base = RTPPacket(payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 0, payload: [])
        var packet = base
        packet.payloadType = 128
        #expect(throws: RTPPacketError.payloadTypeOutOfRange(128)) { try packet.serialized() }
        packet = base
        packet.csrcs = Array(repeating: 1, count: 16)
        #expect(throws: RTPPacketError.tooManyCSRCs(16)) { try packet.serialized() }
        packet = base
        packet.headerExtension = RTPHeaderExtension(profile: 1, data: [1, 2, 3])
        #expect(throws: RTPPacketError.invalidExtensionLength(3)) { try packet.serialized() }
    }

    @Test func randomBytesNeverTrap() throws {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<80 {
            for _ in 0..<100 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                if let packet = try? RTPPacket(parsing: bytes) {
                    // Whatever parses serialises back to bytes that parse to the same packet.
                    #expect(try RTPPacket(parsing: packet.serialized()) == packet)
                }
            }
        }
    }
}
