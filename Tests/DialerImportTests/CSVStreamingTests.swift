import DialerImport
import Testing

@Suite("CSV reader: chunks, memory and fuzzing")
struct CSVStreamingTests {
    /// A small file with every feature and every recoverable error, including a multi-byte
    /// UTF-8 character and CRLF pairs for chunk boundaries to split.
    static let sample: [UInt8] =
        [0xEF, 0xBB, 0xBF]
        + Array(
            ("phone;name;note\r\n"
                + "+45 12 34 56 78;Søren Ærø;\"likes \"\"quotes\"\"; and\r\nline breaks\"\r\n"
                + "\r\n"
                + "004798765432;\"Åse\";\n"
                + "\"unclosed;x\r\n"
                + "0301234567;Jürgen;\"a\"b\n"
                + "+48 512 345 678;Łucja;ok\r"
                + "+33 6 12 34 56 78;Zoë;\"\"\r\n"
                + "last;東京;\"end\"").utf8)
        + [0x0A, 0xFF, 0x3B, 0x78, 0x0A]

    static var sampleRecords: [Result<CSVRecord, CSVRowError>] {
        decodeAll(CSVReader(), [sample[...]])
    }

    @Test func theSampleReadsAsExpected() {
        #expect(
            Self.sampleRecords == [
                record(1, "phone", "name", "note"),
                record(2, "+45 12 34 56 78", "Søren Ærø", "likes \"quotes\"; and\r\nline breaks"),
                record(5, "004798765432", "Åse", ""),
                rowError(6, .characterAfterClosingQuote(field: 1)),
                rowError(7, .characterAfterClosingQuote(field: 3)),
                record(8, "+48 512 345 678", "Łucja", "ok"),
                record(9, "+33 6 12 34 56 78", "Zoë", ""),
                record(10, "last", "東京", "end"),
                rowError(11, .invalidUTF8(field: 1)),
            ])
    }

    @Test func everySplitPositionGivesTheSameRecords() {
        let expected = Self.sampleRecords
        for position in 0...Self.sample.count {
            let records = decodeAll(CSVReader(), split(Self.sample, at: position))
            #expect(records == expected, "split at byte \(position)")
        }
    }

    @Test func oneByteChunksGiveTheSameRecords() {
        #expect(decodeAll(CSVReader(), chunked(Self.sample, sizes: { 1 })) == Self.sampleRecords)
    }

    @Test(arguments: 0..<50)
    func randomChunkSizesGiveTheSameRecords(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        let chunks = chunked(Self.sample, sizes: { Int.random(in: 1...17, using: &random) })
        #expect(decodeAll(CSVReader(), chunks) == Self.sampleRecords, "seed \(seed)")
    }

    @Test func readsAnAsyncSequenceOfChunks() async throws {
        let chunks = chunked(Self.sample, sizes: { 5 }).map(Array.init)
        let stream = AsyncStream<[UInt8]> { continuation in
            for chunk in chunks {
                continuation.yield(chunk)
            }
            continuation.finish()
        }
        var records: [Result<CSVRecord, CSVRowError>] = []
        for try await result in stream.csvRecords() {
            records.append(result)
        }
        #expect(records == Self.sampleRecords)
    }

    // MARK: - Bounded memory

    /// Generates row `index` of a large contact list.
    private static func row(_ index: Int) -> String {
        if index == 0 {
            return "phone,name,note\r\n"
        }
        let note = index % 7 == 0 ? "\"multi\nline, \"\"quoted\"\"\"" : "plain note \(index % 100)"
        return "+4520\(100_000 + index),Contact \(index) Ærø,\(note)\r\n"
    }

    @Test func aLargeFileIsReadInBoundedMemory() {
        let rowCount = 200_000
        let chunkSize = 65_536
        var reader = CSVReader()
        var peak = 0
        var fileSize = 0
        var records = 0
        var lastRow = 0
        var pending: [UInt8] = []
        pending.reserveCapacity(chunkSize * 2)

        func drain() {
            peak = max(peak, reader.bufferedByteCount)
            while let result = reader.next() {
                peak = max(peak, reader.bufferedByteCount)
                guard case .success(let record) = result else {
                    Issue.record("unexpected \(result)")
                    continue
                }
                #expect(record.fields.count == 3)
                #expect(record.row > lastRow)
                lastRow = record.row
                records += 1
            }
        }
        // The file is generated as it is read, so the test itself holds no more than a chunk.
        for index in 0...rowCount {
            let row = Self.row(index).utf8
            pending.append(contentsOf: row)
            fileSize += row.count
            if pending.count >= chunkSize {
                reader.feed(pending[..<chunkSize])
                pending.removeFirst(chunkSize)
                drain()
            }
        }
        reader.feed(pending)
        reader.finish()
        drain()

        #expect(records == rowCount + 1)
        #expect(peak <= reader.configuration.maximumBufferedBytes(chunkSize: chunkSize))
        // In practice: one chunk and one short row, for a file over a hundred times larger.
        #expect(peak <= chunkSize + 1_024)
        #expect(fileSize > 100 * (chunkSize + 1_024))
    }

    // MARK: - Fuzzing

    /// Bytes that matter to a CSV parser, and some that do not.
    private static let alphabet: [UInt8] = Array("ab,;\"\n\r \t".utf8) + [0xC3, 0xA9, 0xFF, 0xEF, 0xBB, 0xBF, 0x00]

    @Test(arguments: 0..<8)
    func malformedInputNeverCrashesAndChunkingNeverChangesTheResult(batch: UInt64) {
        var random = SplitMix64(seed: 0xC5F_0000 + batch)
        let configurations = [
            CSVReader.Configuration(),
            CSVReader.Configuration(delimiter: .comma, maxFieldBytes: 5, maxFieldsPerRecord: 4, maxRecordBytes: 12),
        ]
        for iteration in 0..<250 {
            let length = Int.random(in: 0...120, using: &random)
            let bytes = (0..<length).map { _ in Self.alphabet[Int.random(in: 0..<Self.alphabet.count, using: &random)] }
            let configuration = configurations[iteration % configurations.count]
            let whole = decodeAll(CSVReader(configuration: configuration), [bytes[...]])
            var peak = 0
            let chunks = chunked(bytes, sizes: { Int.random(in: 1...9, using: &random) })
            let pieces = decodeAll(CSVReader(configuration: configuration), chunks) {
                peak = max(peak, $0.bufferedByteCount)
            }
            #expect(whole == pieces, "batch \(batch) iteration \(iteration)")
            #expect(peak <= configuration.maximumBufferedBytes(chunkSize: 9) + bytes.count)

            // Rows only move forward, and never past the last line.
            let lines = bytes.count { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") } + 1
            let rows = whole.map { result in
                switch result {
                case .success(let record): record.row
                case .failure(let error): error.row
                }
            }
            #expect(zip(rows, rows.dropFirst()).allSatisfy { $0 < $1 }, "batch \(batch) iteration \(iteration)")
            #expect(rows.allSatisfy { $0 >= 1 && $0 <= lines })
        }
    }
}
