// libFuzzer entry for the CSV reader (scripts/fuzz.sh csv SECONDS); compiled into the
// DialerImport module's sources, so it sees what the importer sees.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    let bytes = Array(UnsafeRawBufferPointer(start: start, count: count))
    // Small limits so that the bounds are reached; the input split in two chunks at a place
    // the input chooses, as a file arrives in pieces.
    var reader = CSVReader(
        configuration: .init(delimiter: nil, maxFieldBytes: 64, maxFieldsPerRecord: 8, maxRecordBytes: 256))
    let cut = bytes.isEmpty ? 0 : Int(bytes[0]) % (bytes.count + 1)
    reader.feed(bytes[..<cut])
    var records = 0
    while reader.next() != nil, records < 100_000 { records += 1 }
    reader.feed(bytes[cut...])
    reader.finish()
    while reader.next() != nil, records < 200_000 { records += 1 }
    return 0
}
