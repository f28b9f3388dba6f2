import DialerImport

/// A small, seeded, fast random generator (SplitMix64), so that fuzz runs are reproducible
/// from the seed printed with a failure.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// `bytes` cut into chunks whose sizes `nextSize` chooses (at least 1 byte each).
func chunked(_ bytes: [UInt8], sizes nextSize: () -> Int) -> [ArraySlice<UInt8>] {
    var chunks: [ArraySlice<UInt8>] = []
    var start = 0
    while start < bytes.count {
        let end = min(bytes.count, start + max(1, nextSize()))
        chunks.append(bytes[start..<end])
        start = end
    }
    return chunks
}

/// `bytes` cut at `position` into two chunks.
func split(_ bytes: [UInt8], at position: Int) -> [ArraySlice<UInt8>] {
    [bytes[..<position], bytes[position...]]
}

/// Everything `decoder` gives for `chunks`, draining it after every chunk as a caller must.
/// `observe` sees the decoder after every call, for buffer checks.
func decodeAll<Decoder: ByteChunkDecoder>(
    _ decoder: Decoder, _ chunks: [ArraySlice<UInt8>], observe: (Decoder) -> Void = { _ in }
) throws(Decoder.DecodeFailure) -> [Decoder.Output] {
    var decoder = decoder
    var outputs: [Decoder.Output] = []
    for chunk in chunks {
        decoder.feed(chunk)
        observe(decoder)
        while let output = try decoder.next() {
            outputs.append(output)
            observe(decoder)
        }
    }
    decoder.finish()
    while let output = try decoder.next() {
        outputs.append(output)
    }
    return outputs
}

/// The records and row errors of `text` read in one chunk.
func readCSV(
    _ text: String, configuration: CSVReader.Configuration = CSVReader.Configuration()
) -> [Result<CSVRecord, CSVRowError>] {
    readCSV(Array(text.utf8), configuration: configuration)
}

/// The records and row errors of `bytes` read in one chunk.
func readCSV(
    _ bytes: [UInt8], configuration: CSVReader.Configuration = CSVReader.Configuration()
) -> [Result<CSVRecord, CSVRowError>] {
    decodeAll(CSVReader(configuration: configuration), [bytes[...]])
}

/// A successful record, for expectations.
func record(_ row: Int, _ fields: String...) -> Result<CSVRecord, CSVRowError> {
    .success(CSVRecord(row: row, fields: fields))
}

/// A row error, for expectations.
func rowError(_ row: Int, _ reason: CSVRowError.Reason) -> Result<CSVRecord, CSVRowError> {
    .failure(CSVRowError(row: row, reason: reason))
}
