import DialerMedia
import Testing

/// A little-endian 32-bit field.
private func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } }

/// A little-endian 16-bit field.
private func le16(_ value: UInt16) -> [UInt8] { [UInt8(truncatingIfNeeded: value), UInt8(value >> 8)] }

/// A "fmt " chunk's 16 bytes.
private func formatBody(tag: UInt16, channels: UInt16 = 1, rate: UInt32 = 8000, bits: UInt16) -> [UInt8] {
    let bytesPerSample = UInt32(bits / 8)
    return le16(tag) + le16(channels) + le32(rate) + le32(rate * bytesPerSample * UInt32(channels))
        + le16(UInt16(bytesPerSample) * channels) + le16(bits)
}

/// A file of the given chunks, with a RIFF size that fits them.
private func file(_ chunks: [(String, [UInt8])]) -> [UInt8] {
    var body = Array("WAVE".utf8)
    for (id, data) in chunks {
        body += Array(id.utf8) + le32(UInt32(data.count)) + data
        if data.count % 2 == 1 { body.append(0) }
    }
    return Array("RIFF".utf8) + le32(UInt32(body.count)) + body
}

private func error(_ bytes: [UInt8]) -> WAVError? {
    do {
        _ = try WAVReader.read(bytes)
        return nil
    } catch { return error }
}

@Suite("WAV reader and writer")
struct WAVTests {
    let samples: [Int16] = [0, 1000, -1000, 32767, -32768, 12345, -54, 8]

    @Test func pcmRoundTripsExactly() throws {
        let audio = try WAVReader.read(WAVWriter.data(samples, encoding: .pcm16))
        #expect(audio == WAVAudio(encoding: .pcm16, samples: samples))
    }

    @Test(arguments: [WAVEncoding.muLaw, .aLaw])
    func g711FilesDecodeToTheirLawsSamples(encoding: WAVEncoding) throws {
        let codec: G711Codec = encoding == .muLaw ? .muLaw : .aLaw
        let audio = try WAVReader.read(WAVWriter.data(samples, encoding: encoding))
        #expect(audio.encoding == encoding)
        #expect(audio.samples == codec.decode(codec.encode(samples)))
        // Sent in its own law, a G.711 prompt goes out as it was stored.
        #expect(audio.payload(for: codec) == codec.encode(samples))
    }

    @Test func oddLengthG711DataIsPaddedAndRead() throws {
        let audio = try WAVReader.read(WAVWriter.data([1, 2, 3], encoding: .muLaw))
        #expect(audio.samples.count == 3)
    }

    @Test func skipsUnknownChunksAndReadsTheExtensibleForm() throws {
        var extensible = formatBody(tag: 0xFFFE, bits: 16) + le16(22) + le16(16) + le32(4)
        extensible += le16(1) + [UInt8](repeating: 0, count: 14)  // sub-format GUID, PCM
        let bytes = file([("LIST", [1, 2, 3]), ("fmt ", extensible), ("data", le16(500) + le16(0xFFFF))])
        let audio = try WAVReader.read(bytes)
        #expect(audio == WAVAudio(encoding: .pcm16, samples: [500, -1]))
    }

    @Test func durationCountsSamplesAt8kHz() {
        #expect(
            WAVAudio(encoding: .pcm16, samples: Array(repeating: 0, count: 8004)).duration == .microseconds(1_000_500))
    }

    @Test func refusesOtherRatesChannelsAndFormats() {
        #expect(
            error(file([("fmt ", formatBody(tag: 1, rate: 16000, bits: 16)), ("data", [])]))
                == .unsupportedSampleRate(16000))
        #expect(
            error(file([("fmt ", formatBody(tag: 1, channels: 2, bits: 16)), ("data", [])]))
                == .unsupportedChannels(2))
        #expect(error(file([("fmt ", formatBody(tag: 3, bits: 32)), ("data", [])])) == .unsupportedFormat(tag: 3))
        #expect(
            error(file([("fmt ", formatBody(tag: 1, bits: 8)), ("data", [])]))
                == .unsupportedBitsPerSample(format: .pcm16, bits: 8))
        #expect(
            error(file([("fmt ", formatBody(tag: 7, bits: 16)), ("data", [])]))
                == .unsupportedBitsPerSample(format: .muLaw, bits: 16))
        var wrongRate = formatBody(tag: 1, bits: 16)
        wrongRate.replaceSubrange(8..<12, with: le32(8000))
        #expect(
            error(file([("fmt ", wrongRate), ("data", [])]))
                == .inconsistentFormat(field: "byte rate", value: 8000, expected: 16000))
    }

    @Test func refusesGarbageAndMissingChunks() {
        #expect(error([]) == .notRIFFWAVE)
        #expect(error(Array("RIFF\u{0}\u{0}\u{0}\u{0}WAVX".utf8)) == .notRIFFWAVE)
        #expect(error(Array("hello, this is not audio at all".utf8)) == .notRIFFWAVE)
        #expect(error(file([])) == .missingData)
        #expect(error(file([("data", [0, 0])])) == .missingFormat)
        #expect(error(file([("fmt ", [1, 0, 1, 0])])) == .formatChunkTooShort(size: 4))
        #expect(error(file([("fmt ", formatBody(tag: 1, bits: 16)), ("data", [1, 2, 3])])) == .oddDataLength(3))
    }

    @Test func rangeChecksEverySizeField() {
        let good = WAVWriter.data(samples, encoding: .pcm16)
        // A RIFF size beyond the file, and one too small to hold "WAVE".
        var riffTooLarge = good
        riffTooLarge.replaceSubrange(4..<8, with: le32(UInt32.max))
        #expect(error(riffTooLarge) == .riffSizeOutOfRange(declared: UInt32.max, available: good.count - 8))
        var riffTooSmall = good
        riffTooSmall.replaceSubrange(4..<8, with: le32(2))
        #expect(error(riffTooSmall) == .riffSizeOutOfRange(declared: 2, available: good.count - 8))
        // A data chunk that claims more than the file holds.
        var dataTooLarge = good
        dataTooLarge.replaceSubrange(40..<44, with: le32(0xFFFF_FFF0))
        #expect(
            error(dataTooLarge) == .chunkTruncated(chunk: "data", declared: 0xFFFF_FFF0, available: good.count - 44))
        // A "fmt " chunk that claims more than the file holds.
        var formatTooLarge = good
        formatTooLarge.replaceSubrange(16..<20, with: le32(0x7FFF_FFFF))
        #expect(
            error(formatTooLarge) == .chunkTruncated(chunk: "fmt ", declared: 0x7FFF_FFFF, available: good.count - 20))
    }

    @Test func everyTruncationIsAnErrorNotATrap() {
        let good = WAVWriter.data(samples, encoding: .pcm16)
        for length in 0..<good.count {
            #expect(throws: WAVError.self) { try WAVReader.read(Array(good[..<length])) }
        }
        // The file cut short but with its RIFF size mended: a chunk header cut in half.
        var cut = Array(good[..<40])
        cut.replaceSubrange(4..<8, with: le32(32))
        #expect(error(cut) == .truncatedChunkHeader(offset: 36))
    }

    @Test func randomGarbageNeverTraps() {
        var generator = SystemRandomNumberGenerator()
        let header = WAVWriter.data(samples, encoding: .muLaw)
        for _ in 0..<2000 {
            var bytes = header
            // Flip a few bytes anywhere, including the size fields.
            for _ in 0..<Int.random(in: 1...6, using: &generator) {
                bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            _ = try? WAVReader.read(bytes)
        }
    }

    @Test func refusesFilesAboveTheLimit() {
        let huge = [UInt8](repeating: 0, count: WAVReader.maximumBytes + 1)
        #expect(error(huge) == .tooLarge(bytes: WAVReader.maximumBytes + 1, limit: WAVReader.maximumBytes))
    }

    @Test func errorsNameTheirField() {
        #expect(WAVError.unsupportedSampleRate(44100).description.contains("44100"))
        #expect(WAVError.chunkTruncated(chunk: "data", declared: 9, available: 2).description.contains("data"))
    }
}
