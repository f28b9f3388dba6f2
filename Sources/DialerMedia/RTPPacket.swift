/// Why bytes are not an RTP packet (RFC 3550 section 5.1), or a packet cannot be written.
public enum RTPPacketError: Error, Equatable, CustomStringConvertible {
    /// Fewer than the 12 fixed header bytes.
    case tooShort(Int)
    /// The version field is not 2.
    case unsupportedVersion(UInt8)
    /// The CSRC list runs past the end of the packet.
    case truncatedCSRCList(count: Int, length: Int)
    /// The header extension's length runs past the end of the packet.
    case truncatedExtension(declaredWords: Int, available: Int)
    /// The padding count is zero or larger than the payload it pads.
    case invalidPadding(count: Int, available: Int)
    /// More than 15 contributing sources (the field has 4 bits).
    case tooManyCSRCs(Int)
    /// A payload type above 127 (the field has 7 bits).
    case payloadTypeOutOfRange(UInt8)
    /// Header-extension data that is not a whole number of 32-bit words, or too long for its field.
    case invalidExtensionLength(Int)

    public var description: String {
        switch self {
        case .tooShort(let length): "RTP packet of \(length) bytes is shorter than the 12-byte header"
        case .unsupportedVersion(let version): "RTP version \(version): only version 2 is supported"
        case .truncatedCSRCList(let count, let length): "CSRC count \(count) runs past the packet's \(length) bytes"
        case .truncatedExtension(let words, let available):
            "header extension of \(words) words runs past the packet (\(available) bytes left)"
        case .invalidPadding(let count, let available):
            "padding count \(count) is invalid for \(available) bytes after the header"
        case .tooManyCSRCs(let count): "\(count) CSRCs: at most 15"
        case .payloadTypeOutOfRange(let type): "payload type \(type) is above 127"
        case .invalidExtensionLength(let length):
            "header extension data of \(length) bytes is not a whole number of 32-bit words below 2^16"
        }
    }
}

/// An RTP header extension (RFC 3550 section 5.3.1): a profile word and whole 32-bit words.
public struct RTPHeaderExtension: Sendable, Hashable {
    /// The profile-defined 16 bits (0xBEDE for RFC 8285's one-byte form).
    public var profile: UInt16
    /// The extension data; its length is a multiple of 4.
    public var data: [UInt8]

    public init(profile: UInt16, data: [UInt8]) {
        self.profile = profile
        self.data = data
    }
}

/// An RTP packet (RFC 3550): the fixed header, CSRCs, an optional extension, payload and padding.
public struct RTPPacket: Sendable, Hashable {
    /// The fixed header's length.
    public static let fixedHeaderLength = 12

    /// The marker bit; for audio, the first packet of a talk spurt.
    public var marker: Bool
    /// The payload type, 0...127.
    public var payloadType: UInt8
    public var sequenceNumber: UInt16
    /// The sampling instant of the first payload byte, in the codec's clock (8 kHz for G.711).
    public var timestamp: UInt32
    /// The synchronisation source.
    public var ssrc: UInt32
    /// Contributing sources, at most 15.
    public var csrcs: [UInt32]
    public var headerExtension: RTPHeaderExtension?
    public var payload: [UInt8]
    /// Padding bytes after the payload, counting the count byte itself; 0 for no padding.
    public var paddingLength: UInt8

    public init(
        marker: Bool = false, payloadType: UInt8, sequenceNumber: UInt16, timestamp: UInt32, ssrc: UInt32,
        csrcs: [UInt32] = [], headerExtension: RTPHeaderExtension? = nil, payload: [UInt8], paddingLength: UInt8 = 0
    ) {
        self.marker = marker
        self.payloadType = payloadType
        self.sequenceNumber = sequenceNumber
        self.timestamp = timestamp
        self.ssrc = ssrc
        self.csrcs = csrcs
        self.headerExtension = headerExtension
        self.payload = payload
        self.paddingLength = paddingLength
    }

    /// Parses one datagram. Every count in the header is checked against the bytes present.
    public init(parsing bytes: some Collection<UInt8>) throws(RTPPacketError) {
        let bytes = Array(bytes)
        let length = bytes.count
        guard length >= Self.fixedHeaderLength else { throw .tooShort(length) }
        let version = bytes[0] >> 6
        guard version == 2 else { throw .unsupportedVersion(version) }
        let hasPadding = bytes[0] & 0x20 != 0
        let hasExtension = bytes[0] & 0x10 != 0
        let csrcCount = Int(bytes[0] & 0x0F)
        marker = bytes[1] & 0x80 != 0
        payloadType = bytes[1] & 0x7F
        sequenceNumber = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
        timestamp = Self.readUInt32(bytes, at: 4)
        ssrc = Self.readUInt32(bytes, at: 8)
        var offset = Self.fixedHeaderLength
        guard length - offset >= csrcCount * 4 else { throw .truncatedCSRCList(count: csrcCount, length: length) }
        csrcs = (0..<csrcCount).map { Self.readUInt32(bytes, at: Self.fixedHeaderLength + $0 * 4) }
        offset += csrcCount * 4
        if hasExtension {
            guard length - offset >= 4 else { throw .truncatedExtension(declaredWords: 0, available: length - offset) }
            let profile = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
            let words = Int(UInt16(bytes[offset + 2]) << 8 | UInt16(bytes[offset + 3]))
            offset += 4
            guard length - offset >= words * 4 else {
                throw .truncatedExtension(declaredWords: words, available: length - offset)
            }
            headerExtension = RTPHeaderExtension(profile: profile, data: Array(bytes[offset..<offset + words * 4]))
            offset += words * 4
        } else {
            headerExtension = nil
        }
        var payloadEnd = length
        if hasPadding {
            let count = Int(bytes[length - 1])
            guard count >= 1, count <= length - offset else {
                throw .invalidPadding(count: count, available: length - offset)
            }
            payloadEnd -= count
            paddingLength = UInt8(count)
        } else {
            paddingLength = 0
        }
        payload = Array(bytes[offset..<payloadEnd])
    }

    /// The datagram's bytes. Fails for fields that do not fit their bits.
    public func serialized() throws(RTPPacketError) -> [UInt8] {
        guard csrcs.count <= 15 else { throw .tooManyCSRCs(csrcs.count) }
        guard payloadType <= 127 else { throw .payloadTypeOutOfRange(payloadType) }
        if let headerExtension {
            let count = headerExtension.data.count
            guard count % 4 == 0, count / 4 <= Int(UInt16.max) else { throw .invalidExtensionLength(count) }
        }
        var out: [UInt8] = []
        out.reserveCapacity(
            Self.fixedHeaderLength + csrcs.count * 4 + (headerExtension.map { 4 + $0.data.count } ?? 0)
                + payload.count + Int(paddingLength))
        var first: UInt8 = 2 << 6 | UInt8(csrcs.count)
        if paddingLength > 0 { first |= 0x20 }
        if headerExtension != nil { first |= 0x10 }
        out.append(first)
        out.append((marker ? 0x80 : 0) | payloadType)
        out.append(UInt8(sequenceNumber >> 8))
        out.append(UInt8(truncatingIfNeeded: sequenceNumber))
        Self.appendUInt32(timestamp, to: &out)
        Self.appendUInt32(ssrc, to: &out)
        for csrc in csrcs { Self.appendUInt32(csrc, to: &out) }
        if let headerExtension {
            let words = headerExtension.data.count / 4
            out.append(UInt8(headerExtension.profile >> 8))
            out.append(UInt8(truncatingIfNeeded: headerExtension.profile))
            out.append(UInt8(words >> 8))
            out.append(UInt8(truncatingIfNeeded: words))
            out += headerExtension.data
        }
        out += payload
        if paddingLength > 0 {
            out += repeatElement(0, count: Int(paddingLength) - 1)
            out.append(paddingLength)
        }
        return out
    }

    private static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
            | UInt32(bytes[offset + 3])
    }

    private static func appendUInt32(_ value: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(value >> 24))
        out.append(UInt8(truncatingIfNeeded: value >> 16))
        out.append(UInt8(truncatingIfNeeded: value >> 8))
        out.append(UInt8(truncatingIfNeeded: value))
    }
}
