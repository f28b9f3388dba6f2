/// A decoder that is fed a byte stream in chunks and gives back complete items.
///
/// The readers of this module (``CSVReader``, ``CSVContactReader``, ``JSONContactReader``) are
/// decoders, so the same loop drives them from a file, an HTTP body or a test, and
/// ``DecodedByteChunks`` turns any of them into an `AsyncSequence`.
public protocol ByteChunkDecoder {
    /// What the decoder gives back.
    associatedtype Output
    /// What stops the whole stream (a broken header, a file that is not JSON); errors about one
    /// item are part of `Output`.
    associatedtype DecodeFailure: Error

    /// Adds the next chunk; chunks may split items anywhere.
    mutating func feed(_ chunk: some Collection<UInt8>)
    /// Marks the end of the stream.
    mutating func finish()
    /// The next complete item; nil when the decoder needs more input, or after ``finish()``
    /// when the stream is done.
    mutating func next() throws(DecodeFailure) -> Output?
}

/// The items a ``ByteChunkDecoder`` decodes from an `AsyncSequence` of byte chunks.
///
/// It pulls one chunk at a time, only when the decoder has nothing complete left, so memory is
/// bounded by the decoder's buffer however long the stream is. It throws the base sequence's
/// errors and the decoder's ``ByteChunkDecoder/DecodeFailure``.
public struct DecodedByteChunks<Base: AsyncSequence, Decoder: ByteChunkDecoder>: AsyncSequence
where Base.Element: Collection, Base.Element.Element == UInt8 {
    public typealias Element = Decoder.Output
    public typealias Failure = any Error

    private let base: Base
    private let decoder: Decoder

    /// The items `decoder` decodes from `base`.
    public init(_ base: Base, decoder: Decoder) {
        self.base = base
        self.decoder = decoder
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(base: base.makeAsyncIterator(), decoder: decoder)
    }

    /// Pulls chunks from the base sequence into the decoder.
    public struct AsyncIterator: AsyncIteratorProtocol {
        private var base: Base.AsyncIterator
        private var decoder: Decoder
        private var isBaseDone = false

        fileprivate init(base: Base.AsyncIterator, decoder: Decoder) {
            self.base = base
            self.decoder = decoder
        }

        public mutating func next(isolation actor: isolated (any Actor)? = #isolation) async throws(any Error)
            -> Element?
        {
            while true {
                if let output = try decoder.next() {
                    return output
                }
                if isBaseDone {
                    return nil
                }
                if let chunk = try await base.next(isolation: actor) {
                    decoder.feed(chunk)
                } else {
                    isBaseDone = true
                    decoder.finish()
                }
            }
        }

        public mutating func next() async throws -> Element? {
            try await next(isolation: nil)
        }
    }
}

extension DecodedByteChunks: Sendable where Base: Sendable, Decoder: Sendable {}

extension AsyncSequence where Element: Collection, Element.Element == UInt8 {
    /// The items `decoder` decodes from this sequence of byte chunks.
    public func decoded<Decoder: ByteChunkDecoder>(with decoder: Decoder) -> DecodedByteChunks<Self, Decoder> {
        DecodedByteChunks(self, decoder: decoder)
    }

    /// The CSV records (and row errors) in this sequence of byte chunks.
    public func csvRecords(
        configuration: CSVReader.Configuration = CSVReader.Configuration()
    ) -> DecodedByteChunks<Self, CSVReader> {
        DecodedByteChunks(self, decoder: CSVReader(configuration: configuration))
    }

    /// The contacts (and row errors) in this sequence of CSV byte chunks; throws a
    /// ``ColumnMappingError`` when the header does not fit `mapping`.
    public func csvContacts(
        mapping: ColumnMapping = ColumnMapping(), configuration: CSVReader.Configuration = CSVReader.Configuration()
    ) -> DecodedByteChunks<Self, CSVContactReader> {
        DecodedByteChunks(self, decoder: CSVContactReader(mapping: mapping, configuration: configuration))
    }

    /// The contacts (and row errors) in this sequence of JSON byte chunks; throws a
    /// ``JSONContactsError`` when the stream is not a JSON array.
    public func jsonContacts(
        mapping: ColumnMapping = ColumnMapping(), limits: JSONContactReader.Limits = JSONContactReader.Limits()
    ) -> DecodedByteChunks<Self, JSONContactReader> {
        DecodedByteChunks(self, decoder: JSONContactReader(mapping: mapping, limits: limits))
    }
}
