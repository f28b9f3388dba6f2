/// The two G.711 companding laws (ITU-T G.711): 8-bit codes for 8 kHz telephone audio.
///
/// Every one of the 256 codes decodes to a 16-bit linear sample; encoding that sample gives the
/// code back, so a prompt stored in G.711 goes out byte for byte as it was stored.
public enum G711Codec: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// µ-law (North America, Japan); RTP static payload type 0 (PCMU).
    case muLaw = "PCMU"
    /// A-law (Europe and most of the world); RTP static payload type 8 (PCMA).
    case aLaw = "PCMA"

    /// The RTP/AVP static payload type (RFC 3551): 0 for PCMU, 8 for PCMA.
    public var payloadType: UInt8 {
        switch self {
        case .muLaw: 0
        case .aLaw: 8
        }
    }

    /// The codec of a static payload type, or nil for any other (dynamic types, telephone-event).
    public init?(payloadType: UInt8) {
        switch payloadType {
        case 0: self = .muLaw
        case 8: self = .aLaw
        default: return nil
        }
    }

    /// The code for a zero sample: what fills the end of a short last packet.
    public var silenceCode: UInt8 {
        switch self {
        case .muLaw: 0xFF
        case .aLaw: 0xD5
        }
    }

    public var description: String { rawValue }

    /// Encodes one 16-bit linear sample.
    @inlinable
    public func encode(_ sample: Int16) -> UInt8 {
        switch self {
        case .muLaw: G711.muLawEncode(sample)
        case .aLaw: G711.aLawEncode(sample)
        }
    }

    /// Decodes one code to a 16-bit linear sample (a table look-up).
    @inlinable
    public func decode(_ code: UInt8) -> Int16 {
        switch self {
        case .muLaw: G711.muLawTable[Int(code)]
        case .aLaw: G711.aLawTable[Int(code)]
        }
    }

    /// Encodes linear samples.
    public func encode(_ samples: some Sequence<Int16>) -> [UInt8] { samples.map { encode($0) } }

    /// Decodes codes to linear samples.
    public func decode(_ codes: some Sequence<UInt8>) -> [Int16] { codes.map { decode($0) } }
}

/// The companding arithmetic of ITU-T G.711, on the 16-bit scale (µ-law's 14-bit and A-law's
/// 13-bit magnitudes shifted left), written from the recommendation's segment tables.
public enum G711 {
    /// µ-law's bias: it makes the segment boundaries powers of two.
    private static let muLawBias = 0x84
    /// The largest magnitude µ-law represents after the bias is added (32635 + 132 < 2^15).
    private static let muLawClip = 32635

    /// Encodes one sample in µ-law.
    @inlinable
    public static func muLawEncode(_ sample: Int16) -> UInt8 {
        muLawEncodeValue(Int(sample))
    }

    @usableFromInline
    static func muLawEncodeValue(_ value: Int) -> UInt8 {
        var magnitude = value
        var sign = 0
        if magnitude < 0 {
            sign = 0x80
            magnitude = -magnitude
        }
        magnitude = min(magnitude, muLawClip) + muLawBias
        // The segment is the position of the highest set bit above bit 7 (0...7).
        let highest = (Int.bitWidth - 1) - magnitude.leadingZeroBitCount
        let segment = max(0, min(7, highest - 7))
        let mantissa = (magnitude >> (segment + 3)) & 0x0F
        // G.711 sends µ-law codes with every bit inverted.
        return ~UInt8(sign | (segment << 4) | mantissa)
    }

    static func muLawDecodeValue(_ code: UInt8) -> Int16 {
        let inverted = Int(~code)
        let segment = (inverted >> 4) & 0x07
        let mantissa = inverted & 0x0F
        let magnitude = (((mantissa << 3) + muLawBias) << segment) - muLawBias
        return Int16(inverted & 0x80 != 0 ? -magnitude : magnitude)
    }

    /// The upper ends of A-law's eight segments, on the 13-bit scale.
    private static let aLawSegmentEnds = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF]

    /// Encodes one sample in A-law.
    @inlinable
    public static func aLawEncode(_ sample: Int16) -> UInt8 {
        aLawEncodeValue(Int(sample))
    }

    @usableFromInline
    static func aLawEncodeValue(_ value: Int) -> UInt8 {
        var magnitude = value >> 3  // A-law works on 13 bits.
        let mask: Int
        if magnitude >= 0 {
            mask = 0xD5  // sign bit set, then G.711's inversion of the even bits
        } else {
            mask = 0x55
            magnitude = -magnitude - 1
        }
        guard let segment = aLawSegmentEnds.firstIndex(where: { magnitude <= $0 }) else {
            return UInt8(0x7F ^ mask)  // beyond the last segment: the largest code
        }
        let mantissa = segment < 2 ? (magnitude >> 1) & 0x0F : (magnitude >> segment) & 0x0F
        return UInt8(((segment << 4) | mantissa) ^ mask)
    }

    static func aLawDecodeValue(_ code: UInt8) -> Int16 {
        let value = Int(code ^ 0x55)
        let segment = (value & 0x70) >> 4
        var magnitude = (value & 0x0F) << 4
        switch segment {
        case 0: magnitude += 8
        case 1: magnitude += 0x108
        default: magnitude = (magnitude + 0x108) << (segment - 1)
        }
        return Int16(value & 0x80 != 0 ? magnitude : -magnitude)
    }

    /// Every µ-law code's linear sample.
    public static let muLawTable: [Int16] = (0...255).map { muLawDecodeValue(UInt8($0)) }
    /// Every A-law code's linear sample.
    public static let aLawTable: [Int16] = (0...255).map { aLawDecodeValue(UInt8($0)) }
}
