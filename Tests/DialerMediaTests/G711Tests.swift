import DialerMedia
import Testing

@Suite("G.711 µ-law and A-law")
struct G711Tests {
    // Values of ITU-T G.711's tables, on the 16-bit scale (µ-law's 14-bit outputs × 4, A-law's
    // 13-bit outputs × 8).
    @Test func muLawDecodesTheRecommendationsValues() {
        #expect(G711Codec.muLaw.decode(0xFF) == 0)  // code 0 of segment 0, positive
        #expect(G711Codec.muLaw.decode(0x7F) == 0)  // negative zero
        #expect(G711Codec.muLaw.decode(0xFE) == 8)  // 14-bit output 2
        #expect(G711Codec.muLaw.decode(0xEF) == 132)  // first of segment 1: 14-bit 33
        #expect(G711Codec.muLaw.decode(0xDF) == 396)  // first of segment 2: 14-bit 99
        #expect(G711Codec.muLaw.decode(0x80) == 32124)  // the largest: 14-bit 8031
        #expect(G711Codec.muLaw.decode(0x00) == -32124)
    }

    @Test func aLawDecodesTheRecommendationsValues() {
        #expect(G711Codec.aLaw.decode(0xD5) == 8)  // 13-bit output 1, positive
        #expect(G711Codec.aLaw.decode(0x55) == -8)
        #expect(G711Codec.aLaw.decode(0xC5) == 264)  // first of segment 1: 13-bit 33
        #expect(G711Codec.aLaw.decode(0xAA) == 32256)  // the largest: 13-bit 4032
        #expect(G711Codec.aLaw.decode(0x2A) == -32256)
    }

    @Test func encodesZeroAsTheSilenceCode() {
        #expect(G711Codec.muLaw.encode(Int16(0)) == 0xFF)
        #expect(G711Codec.aLaw.encode(Int16(0)) == 0xD5)
        #expect(G711Codec.muLaw.silenceCode == 0xFF)
        #expect(G711Codec.aLaw.silenceCode == 0xD5)
    }

    @Test func clipsTheExtremes() {
        #expect(G711Codec.muLaw.encode(Int16.max) == 0x80)
        #expect(G711Codec.muLaw.encode(Int16.min) == 0x00)
        #expect(G711Codec.aLaw.encode(Int16.max) == 0xAA)
        #expect(G711Codec.aLaw.encode(Int16.min) == 0x2A)
    }

    @Test(arguments: G711Codec.allCases)
    func everyCodeSurvivesARoundTrip(codec: G711Codec) {
        for code in UInt8.min...UInt8.max {
            let sample = codec.decode(code)
            let again = codec.encode(sample)
            // µ-law's two zeros (0x7F, 0xFF) both decode to 0, which encodes as +0.
            if sample == 0 && codec == .muLaw {
                #expect(again == 0xFF)
            } else {
                #expect(again == code, "code \(code) decoded to \(sample), encoded to \(again)")
            }
        }
    }

    @Test(arguments: G711Codec.allCases)
    func quantisationErrorStaysWithinTheSegmentStep(codec: G711Codec) {
        // Every 16-bit sample comes back within half a step of its segment (at most 1/32 of the
        // value plus the finest step), and the code order follows the sample order.
        var previous = Int.min
        for value in stride(from: -32768, through: 32767, by: 7) {
            let sample = Int16(value)
            let decoded = Int(codec.decode(codec.encode(sample)))
            let clipped = max(-32124, min(32124, value))
            #expect(abs(decoded - clipped) <= abs(clipped) / 16 + 16, "\(value) came back as \(decoded)")
            #expect(decoded >= previous)
            previous = decoded
        }
    }

    @Test func payloadTypesAreRFC3551s() {
        #expect(G711Codec.muLaw.payloadType == 0)
        #expect(G711Codec.aLaw.payloadType == 8)
        #expect(G711Codec(payloadType: 0) == .muLaw)
        #expect(G711Codec(payloadType: 8) == .aLaw)
        #expect(G711Codec(payloadType: 101) == nil)
    }
}
