/// A streaming RFC 4180 CSV reader: feed it byte chunks, take complete records out.
///
/// The reader holds only the bytes it has not parsed yet and the record it is building, so a
/// contact list of a million rows is read in as little memory as one chunk and one row
/// (``bufferedByteCount``, bounded by ``Configuration/maximumBufferedBytes(chunkSize:)``).
///
/// It reads:
/// - quoted fields holding delimiters, doubled quotes (`""`) and line breaks;
/// - CRLF, LF and lone CR line endings, mixed freely;
/// - a UTF-8 byte-order mark at the start (dropped; Excel writes one);
/// - a delimiter given in the ``Configuration`` or, when none is given, detected from the
///   header line (see ``CSVDelimiter/detectable``);
/// - UTF-8 text; every field is validated.
///
/// Empty lines between records are skipped. Every record knows the physical line it starts on.
/// A record that cannot be read becomes a ``CSVRowError`` with that line and the reader goes on
/// with the next record. When a quoted field is never closed, or is closed in the wrong place,
/// the reader reports the row and starts again on the line after the one where the quote
/// opened: a stray quote then costs one row, not the rest of the file.
///
/// ```swift
/// var reader = CSVReader()
/// for chunk in chunks {
///     reader.feed(chunk)
///     while let result = reader.next() { handle(result) }
/// }
/// reader.finish()
/// while let result = reader.next() { handle(result) }
/// ```
///
/// For an `AsyncSequence` of chunks use `chunks.csvRecords()`, which yields the same results.
public struct CSVReader: ByteChunkDecoder, Sendable {
    /// A CSV reader never fails as a whole: every problem is a row error.
    public typealias DecodeFailure = Never

    /// Limits and the delimiter.
    public struct Configuration: Sendable, Hashable {
        /// The field delimiter, or nil to detect it from the header line.
        public var delimiter: CSVDelimiter?
        /// The largest field, in bytes; a larger one fails its row.
        public var maxFieldBytes: Int
        /// The most fields a record may have; more fail the row.
        public var maxFieldsPerRecord: Int
        /// The most bytes the fields of one record may hold together; more fail the row. It also
        /// bounds how much of the file the reader looks at to detect the delimiter.
        public var maxRecordBytes: Int

        /// A configuration; the defaults suit contact lists (64 KiB fields, 1,024 fields, 1 MiB
        /// records).
        public init(
            delimiter: CSVDelimiter? = nil, maxFieldBytes: Int = 65_536, maxFieldsPerRecord: Int = 1_024,
            maxRecordBytes: Int = 1_048_576
        ) {
            self.delimiter = delimiter
            self.maxFieldBytes = max(1, maxFieldBytes)
            self.maxFieldsPerRecord = max(1, maxFieldsPerRecord)
            self.maxRecordBytes = max(1, maxRecordBytes)
        }

        /// The most bytes a reader holds (``CSVReader/bufferedByteCount``) when it is fed
        /// chunks of at most `chunkSize` bytes and drained with ``CSVReader/next()`` until nil
        /// before each new chunk: one chunk, one record (or the header while the delimiter is
        /// detected), and the raw text of one quoted field kept to recover from a stray quote.
        ///
        /// It does not depend on the length of the file.
        public func maximumBufferedBytes(chunkSize: Int) -> Int {
            chunkSize + maxRecordBytes + 2 * maxFieldBytes + 2
        }
    }

    /// Where the parser is within the record it is building.
    private enum State: Sendable {
        /// Nothing of the next record read yet; line breaks here are empty lines.
        case recordStart
        /// Just after a delimiter.
        case fieldStart
        case unquoted
        case quoted
        /// A quote inside a quoted field: the field's end, or the first of a doubled quote.
        case quoteInQuoted
    }

    private static let quote = UInt8(ascii: "\"")
    private static let lineFeed = UInt8(ascii: "\n")
    private static let carriageReturn = UInt8(ascii: "\r")
    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// The limits and the delimiter the reader was made with.
    public let configuration: Configuration
    /// The delimiter in use: the configured one, or the detected one once the header line has
    /// been seen; nil before that.
    public private(set) var delimiter: CSVDelimiter?

    // Input not parsed yet is `input[inputIndex...]`; the parsed prefix is dropped on `feed`.
    private var input: [UInt8] = []
    private var inputIndex = 0
    private var isInputFinished = false
    /// True once the end of the input has been reported and nothing is left to replay.
    public private(set) var isAtEnd = false
    private var checkedByteOrderMark = false
    /// How far delimiter detection has scanned the header line, from `inputIndex`.
    private var detection = DelimiterDetection()

    private var state = State.recordStart
    private var previousByteWasCR = false
    /// The physical line of the next byte.
    private var line = 1

    // The record being built: its fields' bytes back to back, and where each field ends.
    private var recordRow = 1
    private var recordBytes: [UInt8] = []
    private var fieldEnds: [Int] = []
    /// Bytes of the current field and record, counted even when they are not stored.
    private var fieldLength = 0
    private var recordLength = 0
    /// The first reason the record will fail; once set, nothing more of it is stored.
    private var poison: CSVRowError.Reason?

    // Recovery from a stray quote: the raw bytes of the current quoted field after its first
    // line break, to be read again as new records if the quote turns out not to be closed.
    private var quoteLine = 0
    private var replay: [UInt8] = []
    private var isCollectingReplay = false
    private var replayFollowsCR = false

    /// A reader with `configuration`.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.delimiter = configuration.delimiter
    }

    /// How many bytes the reader holds now: input not parsed yet, the record being built, and
    /// the text kept to recover from a stray quote.
    public var bufferedByteCount: Int {
        input.count - inputIndex + recordBytes.count + replay.count
    }

    /// Adds the next chunk of the file. Chunks may split records, fields, line endings and
    /// UTF-8 sequences anywhere.
    public mutating func feed(_ chunk: some Collection<UInt8>) {
        precondition(!isInputFinished, "CSVReader.feed(_:) after finish()")
        if inputIndex > 0 {
            input.removeFirst(inputIndex)
            inputIndex = 0
        }
        input.append(contentsOf: chunk)
    }

    /// Marks the end of the file: the last record no longer needs a line break after it.
    public mutating func finish() {
        isInputFinished = true
    }

    /// The next complete record or row error; nil when the reader needs more input (or, after
    /// ``finish()``, when the file has been read).
    public mutating func next() -> Result<CSVRecord, CSVRowError>? {
        guard !isAtEnd else { return nil }
        guard readPrelude(), let delimiter = delimiter?.rawValue else { return nil }
        while true {
            while inputIndex < input.count {
                copyPlainRun(delimiter: delimiter)
                guard inputIndex < input.count else { break }
                let byte = input[inputIndex]
                inputIndex += 1
                if let result = step(byte, delimiter: delimiter) {
                    return result
                }
            }
            input.removeAll(keepingCapacity: true)
            inputIndex = 0
            guard isInputFinished else { return nil }
            let result = endOfInput()
            // Replaying a stray quote refills the input; otherwise the file is done.
            if inputIndex >= input.count {
                isAtEnd = true
            }
            if result != nil || isAtEnd {
                return result
            }
        }
    }

    // MARK: - Byte-order mark and delimiter

    /// Drops a byte-order mark and detects the delimiter; false while it needs more input.
    private mutating func readPrelude() -> Bool {
        if !checkedByteOrderMark {
            let available = input[inputIndex...]
            if available.count < Self.byteOrderMark.count && !isInputFinished
                && Self.byteOrderMark.starts(with: available)
            {
                return false
            }
            if available.starts(with: Self.byteOrderMark) {
                inputIndex += Self.byteOrderMark.count
            }
            checkedByteOrderMark = true
        }
        if delimiter == nil {
            let header = input[inputIndex...]
            let isComplete = detection.scan(header, limit: configuration.maxRecordBytes)
            guard isComplete || isInputFinished else { return false }
            delimiter = detection.choice
        }
        return true
    }

    // MARK: - The state machine

    /// Consumes one byte; returns a record or row error when one ends here.
    private mutating func step(_ byte: UInt8, delimiter: UInt8) -> Result<CSVRecord, CSVRowError>? {
        let isLineBreak = byte == Self.lineFeed || byte == Self.carriageReturn
        let followsCR = previousByteWasCR
        previousByteWasCR = byte == Self.carriageReturn
        // CR, LF and CRLF each end one physical line.
        if byte == Self.carriageReturn || (byte == Self.lineFeed && !followsCR) {
            line += 1
        }

        switch state {
        case .recordStart, .fieldStart:
            if state == .recordStart {
                // An empty line, or the LF of a CRLF that ended the previous record.
                if isLineBreak { return nil }
                recordRow = line
            }
            if byte == Self.quote {
                state = .quoted
                quoteLine = line
                isCollectingReplay = false
                replay.removeAll(keepingCapacity: true)
            } else if byte == delimiter {
                endField()
                state = .fieldStart
            } else if isLineBreak {
                endField()
                return endRecord()
            } else {
                state = .unquoted
                _ = store(byte)
            }
        case .unquoted:
            if byte == delimiter {
                endField()
                state = .fieldStart
            } else if isLineBreak {
                endField()
                return endRecord()
            } else {
                // A quote inside an unquoted field is text (`Bob "B" Smith`), as in Excel.
                _ = store(byte)
            }
        case .quoted:
            if isCollectingReplay {
                replay.append(byte)
            }
            if byte == Self.quote {
                state = .quoteInQuoted
                return nil
            }
            if isLineBreak && !isCollectingReplay {
                isCollectingReplay = true
                replayFollowsCR = byte == Self.carriageReturn
            }
            if let overflow = store(byte), isCollectingReplay {
                return recoverFromStrayQuote(overflow, rereadingCurrentByte: false)
            }
        case .quoteInQuoted:
            if byte == Self.quote {
                if isCollectingReplay {
                    replay.append(byte)
                }
                state = .quoted
                if let overflow = store(byte), isCollectingReplay {
                    return recoverFromStrayQuote(overflow, rereadingCurrentByte: false)
                }
            } else if byte == delimiter {
                endField()
                state = .fieldStart
            } else if isLineBreak {
                endField()
                return endRecord()
            } else {
                let reason = CSVRowError.Reason.characterAfterClosingQuote(field: fieldEnds.count + 1)
                if isCollectingReplay {
                    return recoverFromStrayQuote(reason, rereadingCurrentByte: true)
                }
                // Nothing to re-read: fail the record and skip the rest of it as plain text.
                poison = poison ?? reason
                state = .unquoted
            }
        }
        return nil
    }

    /// Copies the bytes up to the next one that means something in the current state, all at
    /// once: the same as stepping through them, several times faster, since most of a file is
    /// plain field text.
    ///
    /// It stops short of the field and record limits so that `step` reports an overflow.
    private mutating func copyPlainRun(delimiter: UInt8) {
        let isQuoted = state == .quoted
        guard isQuoted || state == .unquoted, poison == nil else { return }
        let budget = min(
            configuration.maxFieldBytes - fieldLength, configuration.maxRecordBytes - recordLength)
        let start = inputIndex
        let limit = min(input.count, start + max(0, budget))
        // In a quoted field a delimiter is text; in an unquoted one a quote is.
        let stop = isQuoted ? Self.quote : delimiter
        let end = input.withUnsafeBufferPointer { buffer in
            var end = start
            while end < limit {
                let byte = buffer[end]
                if byte == stop || byte == Self.lineFeed || byte == Self.carriageReturn {
                    break
                }
                end += 1
            }
            return end
        }
        let count = end - start
        guard count > 0 else { return }
        recordBytes.append(contentsOf: input[start..<end])
        if isCollectingReplay {
            replay.append(contentsOf: input[start..<end])
        }
        fieldLength += count
        recordLength += count
        inputIndex = end
        previousByteWasCR = false
    }

    /// Adds a byte to the current field; returns the limit it breaks, if any.
    private mutating func store(_ byte: UInt8) -> CSVRowError.Reason? {
        fieldLength += 1
        recordLength += 1
        var overflow: CSVRowError.Reason?
        if fieldLength > configuration.maxFieldBytes {
            overflow = .fieldTooLarge(field: fieldEnds.count + 1, limit: configuration.maxFieldBytes)
        } else if recordLength > configuration.maxRecordBytes {
            overflow = .recordTooLarge(limit: configuration.maxRecordBytes)
        }
        if let overflow, poison == nil {
            poison = overflow
            recordBytes.removeAll(keepingCapacity: true)
        }
        if poison == nil {
            recordBytes.append(byte)
        }
        return overflow
    }

    private mutating func endField() {
        isCollectingReplay = false
        replay.removeAll(keepingCapacity: true)
        fieldLength = 0
        if poison == nil && fieldEnds.count >= configuration.maxFieldsPerRecord {
            poison = .tooManyFields(limit: configuration.maxFieldsPerRecord)
            recordBytes.removeAll(keepingCapacity: true)
        }
        // `fieldEnds` keeps counting after a failure so that error messages number fields right,
        // but it stops growing at the limit.
        if fieldEnds.count < configuration.maxFieldsPerRecord {
            fieldEnds.append(recordBytes.count)
        }
    }

    private mutating func endRecord() -> Result<CSVRecord, CSVRowError> {
        defer { resetRecord() }
        if let poison {
            return .failure(CSVRowError(row: recordRow, reason: poison))
        }
        var fields: [String] = []
        fields.reserveCapacity(fieldEnds.count)
        let invalidField: Int? = recordBytes.withUnsafeBufferPointer { buffer in
            var start = 0
            for (index, end) in fieldEnds.enumerated() {
                let bytes = UnsafeBufferPointer(rebasing: buffer[start..<end])
                start = end
                // ASCII, most of any contact list, needs no validation; decoding it is cheaper.
                if !bytes.contains(where: { $0 >= 0x80 }) {
                    fields.append(String(decoding: bytes, as: UTF8.self))
                } else if let field = String(validating: bytes, as: UTF8.self) {
                    fields.append(field)
                } else {
                    return index + 1
                }
            }
            return nil
        }
        if let invalidField {
            return .failure(CSVRowError(row: recordRow, reason: .invalidUTF8(field: invalidField)))
        }
        return .success(CSVRecord(row: recordRow, fields: fields))
    }

    private mutating func resetRecord() {
        state = .recordStart
        recordBytes.removeAll(keepingCapacity: true)
        fieldEnds.removeAll(keepingCapacity: true)
        fieldLength = 0
        recordLength = 0
        poison = nil
        isCollectingReplay = false
        replay.removeAll(keepingCapacity: true)
    }

    /// Fails the record whose quoted field went wrong and reads the file again from the line
    /// after the one where the quote opened.
    ///
    /// A quote that is never closed, or closed by what was meant to open a later field, swallows
    /// the following lines; reading them again recovers every row but the broken one.
    private mutating func recoverFromStrayQuote(
        _ reason: CSVRowError.Reason, rereadingCurrentByte: Bool
    ) -> Result<CSVRecord, CSVRowError> {
        let error = CSVRowError(row: recordRow, reason: poison ?? reason)
        var reread = replay
        reread.append(contentsOf: input[(rereadingCurrentByte ? inputIndex - 1 : inputIndex)...])
        input = reread
        inputIndex = 0
        line = quoteLine + 1
        previousByteWasCR = replayFollowsCR
        resetRecord()
        return .failure(error)
    }

    /// Ends the record the file ends in, if any.
    private mutating func endOfInput() -> Result<CSVRecord, CSVRowError>? {
        switch state {
        case .recordStart:
            return nil
        case .fieldStart, .unquoted, .quoteInQuoted:
            endField()
            return endRecord()
        case .quoted:
            if isCollectingReplay {
                return recoverFromStrayQuote(.unterminatedQuote, rereadingCurrentByte: false)
            }
            let error = CSVRowError(row: recordRow, reason: poison ?? .unterminatedQuote)
            resetRecord()
            return .failure(error)
        }
    }
}

/// Counts candidate delimiters outside quotes on the header line, resumably, so that a header
/// split across chunks is scanned once.
private struct DelimiterDetection: Sendable {
    private var scanned = 0
    private var isInQuotes = false
    private var counts: [CSVDelimiter: Int] = [:]

    /// Scans `header` from where the last call stopped; true once the line is complete or
    /// `limit` bytes have been seen.
    mutating func scan(_ header: ArraySlice<UInt8>, limit: Int) -> Bool {
        var index = header.startIndex + scanned
        while index < header.endIndex {
            let byte = header[index]
            index += 1
            scanned += 1
            if byte == UInt8(ascii: "\"") {
                // Doubled quotes toggle twice, which leaves the state right.
                isInQuotes.toggle()
            } else if !isInQuotes {
                if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                    return true
                }
                if let delimiter = CSVDelimiter(rawValue: byte), CSVDelimiter.detectable.contains(delimiter) {
                    counts[delimiter, default: 0] += 1
                }
            }
            if scanned >= limit {
                return true
            }
        }
        return false
    }

    /// The most frequent candidate; comma when there is none (a one-column file).
    var choice: CSVDelimiter {
        var best = CSVDelimiter.comma
        var bestCount = 0
        for candidate in CSVDelimiter.detectable where counts[candidate, default: 0] > bestCount {
            best = candidate
            bestCount = counts[candidate, default: 0]
        }
        return best
    }
}
