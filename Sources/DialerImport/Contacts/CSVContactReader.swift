/// Reads contacts from a CSV contact list: the header row, then one contact per record.
///
/// The first record is the header; ``ColumnMapping/resolve(header:delimiter:)`` finds the
/// mapped columns in it, and a header that does not fit stops the import with a
/// ``ColumnMappingError``, thrown by every later ``next()``. After that each record becomes a
/// ``ContactRow`` or an ``ImportRowError``; rows whose fields are all blank are skipped.
///
/// Memory stays bounded as with ``CSVReader``, which it wraps.
public struct CSVContactReader: ByteChunkDecoder, Sendable {
    /// The mapping the header is resolved with.
    public let mapping: ColumnMapping
    /// Where the mapped columns are, once the header has been read.
    public private(set) var layout: ColumnLayout?
    private var reader: CSVReader
    private var failure: ColumnMappingError?

    /// A reader for files mapped by `mapping`.
    public init(mapping: ColumnMapping = ColumnMapping(), configuration: CSVReader.Configuration = .init()) {
        self.mapping = mapping
        self.reader = CSVReader(configuration: configuration)
    }

    /// The delimiter in use, once known.
    public var delimiter: CSVDelimiter? { reader.delimiter }

    /// How many bytes the underlying ``CSVReader`` holds.
    public var bufferedByteCount: Int { reader.bufferedByteCount }

    /// Adds the next chunk of the file.
    public mutating func feed(_ chunk: some Collection<UInt8>) {
        reader.feed(chunk)
    }

    /// Marks the end of the file.
    public mutating func finish() {
        reader.finish()
    }

    /// The next contact or rejected row; nil when more input is needed or the file is done.
    public mutating func next() throws(ColumnMappingError) -> Result<ContactRow, ImportRowError>? {
        if let failure { throw failure }
        while let result = reader.next() {
            guard let layout else {
                switch result {
                case .failure(let error):
                    failure = .unreadableHeader(error)
                case .success(let header):
                    do throws(ColumnMappingError) {
                        layout = try mapping.resolve(header: header.fields, delimiter: reader.delimiter)
                    } catch {
                        failure = error
                    }
                }
                if let failure { throw failure }
                continue
            }
            switch result {
            case .failure(let error):
                return .failure(ImportRowError(row: error.row, reason: .malformedCSV(error.reason)))
            case .success(let record):
                if record.fields.allSatisfy(\.isBlank) {
                    continue
                }
                return layout.contact(from: record)
            }
        }
        if reader.isAtEnd && layout == nil {
            failure = .emptyFile
            throw .emptyFile
        }
        return nil
    }
}
