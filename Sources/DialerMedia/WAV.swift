/// How a WAV file stores its samples; all three are 8 kHz mono, what a telephone line carries.
public enum WAVEncoding: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Linear PCM, 16 bits per sample, little-endian (format tag 1).
    case pcm16 = "pcm16"
    /// G.711 µ-law, 8 bits per sample (format tag 7).
    case muLaw = "mulaw"
    /// G.711 A-law, 8 bits per sample (format tag 6).
    case aLaw = "alaw"

    var formatTag: UInt16 {
        switch self {
        case .pcm16: 1
        case .aLaw: 6
        case .muLaw: 7
        }
    }

    var bitsPerSample: Int { self == .pcm16 ? 16 : 8 }

    public var description: String { rawValue }
}

/// Why a WAV file was refused. Each case names the field or chunk at fault.
public enum WAVError: Error, Equatable, CustomStringConvertible {
    /// The file is larger than ``WAVReader/maximumBytes``.
    case tooLarge(bytes: Int, limit: Int)
    /// The file does not start with "RIFF" ... "WAVE".
    case notRIFFWAVE
    /// The RIFF size field does not fit the file.
    case riffSizeOutOfRange(declared: UInt32, available: Int)
    /// A chunk's size field says more bytes than the file holds.
    case chunkTruncated(chunk: String, declared: UInt32, available: Int)
    /// The file ends in the middle of a chunk header.
    case truncatedChunkHeader(offset: Int)
    /// No "fmt " chunk before the "data" chunk.
    case missingFormat
    /// No "data" chunk.
    case missingData
    /// The "fmt " chunk is shorter than its 16 fixed bytes (or 40 for the extensible form).
    case formatChunkTooShort(size: Int)
    /// The format tag (or extensible sub-format) is not PCM, µ-law or A-law.
    case unsupportedFormat(tag: UInt16)
    /// Not one channel.
    case unsupportedChannels(Int)
    /// Not 8000 samples per second.
    case unsupportedSampleRate(UInt32)
    /// Bits per sample do not match the format (16 for PCM, 8 for G.711).
    case unsupportedBitsPerSample(format: WAVEncoding, bits: Int)
    /// Block align or byte rate contradict the format.
    case inconsistentFormat(field: String, value: UInt32, expected: UInt32)
    /// A 16-bit data chunk with an odd number of bytes.
    case oddDataLength(Int)

    public var description: String {
        switch self {
        case .tooLarge(let bytes, let limit): "WAV file of \(bytes) bytes is above the limit of \(limit)"
        case .notRIFFWAVE: "not a WAV file: it does not start with RIFF....WAVE"
        case .riffSizeOutOfRange(let declared, let available):
            "RIFF size field \(declared) does not fit the file (\(available) bytes after the RIFF header)"
        case .chunkTruncated(let chunk, let declared, let available):
            "chunk \"\(chunk)\" declares \(declared) bytes, the file holds \(available)"
        case .truncatedChunkHeader(let offset): "the file ends inside a chunk header at byte \(offset)"
        case .missingFormat: "no \"fmt \" chunk before the \"data\" chunk"
        case .missingData: "no \"data\" chunk"
        case .formatChunkTooShort(let size): "\"fmt \" chunk of \(size) bytes is too short"
        case .unsupportedFormat(let tag):
            "format tag \(tag) is not supported: use 16-bit PCM (1), A-law (6) or µ-law (7)"
        case .unsupportedChannels(let channels): "\(channels) channels: only mono is supported"
        case .unsupportedSampleRate(let rate): "sample rate \(rate) Hz: only 8000 Hz is supported"
        case .unsupportedBitsPerSample(let format, let bits):
            "\(bits) bits per sample for \(format): expected \(format.bitsPerSample)"
        case .inconsistentFormat(let field, let value, let expected):
            "\"fmt \" field \(field) is \(value), expected \(expected)"
        case .oddDataLength(let length): "16-bit data chunk of \(length) bytes: not a whole number of samples"
        }
    }
}

/// A decoded telephone prompt: 8 kHz mono samples and how the file stored them.
public struct WAVAudio: Sendable, Equatable {
    /// Samples per second: always 8000.
    public static let sampleRate = 8000

    /// How the file stored the samples.
    public var encoding: WAVEncoding
    /// The samples, linear 16-bit.
    public var samples: [Int16]

    public init(encoding: WAVEncoding, samples: [Int16]) {
        self.encoding = encoding
        self.samples = samples
    }

    /// The prompt's length.
    public var duration: Duration { .milliseconds(samples.count / 8) + .microseconds((samples.count % 8) * 125) }

    /// The prompt as RTP payload bytes for `codec`; a G.711 file sent in its own law is unchanged.
    public func payload(for codec: G711Codec) -> [UInt8] { codec.encode(samples) }
}

/// Reads RIFF/WAVE files of telephone audio: 16-bit PCM, µ-law or A-law, mono, 8 kHz.
///
/// Every size field is checked against the bytes present before it is used, so a truncated or
/// hostile file is an error, never a trap.
public enum WAVReader {
    /// The largest file accepted: about 35 minutes of 16-bit audio.
    public static let maximumBytes = 32 * 1024 * 1024

    /// Decodes a whole file.
    public static func read(_ bytes: [UInt8]) throws(WAVError) -> WAVAudio {
        guard bytes.count <= maximumBytes else { throw .tooLarge(bytes: bytes.count, limit: maximumBytes) }
        guard bytes.count >= 12, bytes[0..<4].elementsEqual("RIFF".utf8), bytes[8..<12].elementsEqual("WAVE".utf8)
        else { throw .notRIFFWAVE }
        let riffSize = readUInt32(bytes, at: 4)
        // The RIFF size counts from "WAVE"; it must cover at least "WAVE" and fit in the file.
        guard riffSize >= 4, UInt64(riffSize) <= UInt64(bytes.count - 8) else {
            throw .riffSizeOutOfRange(declared: riffSize, available: bytes.count - 8)
        }
        let end = 8 + Int(riffSize)
        var offset = 12
        var format: WAVEncoding?
        while offset < end {
            guard end - offset >= 8 else { throw .truncatedChunkHeader(offset: offset) }
            let id = String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
            let size = readUInt32(bytes, at: offset + 4)
            let bodyStart = offset + 8
            let available = end - bodyStart
            guard UInt64(size) <= UInt64(available) else {
                throw .chunkTruncated(chunk: id, declared: size, available: available)
            }
            let body = bytes[bodyStart..<bodyStart + Int(size)]
            switch id {
            case "fmt ":
                format = try readFormat(body)
            case "data":
                guard let format else { throw .missingFormat }
                return WAVAudio(encoding: format, samples: try decodeData(body, format: format))
            default:
                break  // LIST, fact, cue and other chunks carry nothing a prompt needs.
            }
            // Chunks are padded to an even length; a missing pad byte at the very end is tolerated.
            offset = bodyStart + Int(size) + Int(size & 1)
        }
        throw .missingData
    }

    private static func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        UInt32(bytes[offset]) | UInt32(bytes[offset + 1]) << 8 | UInt32(bytes[offset + 2]) << 16
            | UInt32(bytes[offset + 3]) << 24
    }

    private static func readUInt16(_ bytes: ArraySlice<UInt8>, at offset: Int) -> UInt16 {
        UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8
    }

    private static func readFormat(_ body: ArraySlice<UInt8>) throws(WAVError) -> WAVEncoding {
        guard body.count >= 16 else { throw .formatChunkTooShort(size: body.count) }
        let base = body.startIndex
        var tag = readUInt16(body, at: base)
        let channels = Int(readUInt16(body, at: base + 2))
        let rate = UInt32(readUInt16(body, at: base + 4)) | UInt32(readUInt16(body, at: base + 6)) << 16
        let byteRate = UInt32(readUInt16(body, at: base + 8)) | UInt32(readUInt16(body, at: base + 10)) << 16
        let blockAlign = UInt32(readUInt16(body, at: base + 12))
        let bits = Int(readUInt16(body, at: base + 14))
        if tag == 0xFFFE {
            // WAVE_FORMAT_EXTENSIBLE: the real tag is the first two bytes of the sub-format GUID.
            guard body.count >= 40 else { throw .formatChunkTooShort(size: body.count) }
            tag = readUInt16(body, at: base + 24)
        }
        guard let encoding = WAVEncoding.allCases.first(where: { $0.formatTag == tag }) else {
            throw .unsupportedFormat(tag: tag)
        }
        guard channels == 1 else { throw .unsupportedChannels(channels) }
        guard rate == UInt32(WAVAudio.sampleRate) else { throw .unsupportedSampleRate(rate) }
        guard bits == encoding.bitsPerSample else { throw .unsupportedBitsPerSample(format: encoding, bits: bits) }
        let bytesPerSample = UInt32(bits / 8)
        guard blockAlign == bytesPerSample else {
            throw .inconsistentFormat(field: "block align", value: blockAlign, expected: bytesPerSample)
        }
        guard byteRate == rate * bytesPerSample else {
            throw .inconsistentFormat(field: "byte rate", value: byteRate, expected: rate * bytesPerSample)
        }
        return encoding
    }

    private static func decodeData(_ body: ArraySlice<UInt8>, format: WAVEncoding) throws(WAVError) -> [Int16] {
        switch format {
        case .pcm16:
            guard body.count % 2 == 0 else { throw .oddDataLength(body.count) }
            var samples = [Int16]()
            samples.reserveCapacity(body.count / 2)
            var index = body.startIndex
            while index < body.endIndex {
                samples.append(Int16(bitPattern: UInt16(body[index]) | UInt16(body[index + 1]) << 8))
                index += 2
            }
            return samples
        case .muLaw: return G711Codec.muLaw.decode(body)
        case .aLaw: return G711Codec.aLaw.decode(body)
        }
    }
}

/// Writes 8 kHz mono WAV files: for tests, and for prompts made by a program.
public enum WAVWriter {
    /// The whole file for `samples` stored as `encoding`.
    public static func data(_ samples: [Int16], encoding: WAVEncoding) -> [UInt8] {
        let payload: [UInt8]
        switch encoding {
        case .pcm16: payload = samples.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] }
        case .muLaw: payload = G711Codec.muLaw.encode(samples)
        case .aLaw: payload = G711Codec.aLaw.encode(samples)
        }
        let bytesPerSample = encoding.bitsPerSample / 8
        var out: [UInt8] = []
        out.reserveCapacity(44 + payload.count + 1)
        func append32(_ value: Int) {
            for shift in [0, 8, 16, 24] { out.append(UInt8(truncatingIfNeeded: value >> shift)) }
        }
        func append16(_ value: Int) { for shift in [0, 8] { out.append(UInt8(truncatingIfNeeded: value >> shift)) } }
        let pad = payload.count & 1
        out += "RIFF".utf8
        append32(4 + (8 + 16) + (8 + payload.count + pad))
        out += "WAVE".utf8
        out += "fmt ".utf8
        append32(16)
        append16(Int(encoding.formatTag))
        append16(1)
        append32(WAVAudio.sampleRate)
        append32(WAVAudio.sampleRate * bytesPerSample)
        append16(bytesPerSample)
        append16(encoding.bitsPerSample)
        out += "data".utf8
        append32(payload.count)
        out += payload
        if pad == 1 { out.append(0) }
        return out
    }
}
