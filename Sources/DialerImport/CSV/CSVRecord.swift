/// One complete record of a CSV file.
public struct CSVRecord: Sendable, Hashable {
    /// The 1-based physical line on which the record starts.
    ///
    /// A record whose quoted field holds line breaks spans several lines; it is known by its
    /// first, which is what a person sees when they open the file in an editor.
    public var row: Int
    /// The fields in file order, with quotes removed and doubled quotes undone.
    public var fields: [String]

    /// A record starting on `row` with `fields`.
    public init(row: Int, fields: [String]) {
        self.row = row
        self.fields = fields
    }
}

/// A record the reader could not return, with the line it starts on and why.
///
/// The reader reports it and goes on with the next record, so one bad row never fails a whole
/// import.
public struct CSVRowError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why a record could not be read.
    public enum Reason: Sendable, Hashable, CustomStringConvertible {
        /// The file ended inside a quoted field.
        case unterminatedQuote
        /// A closing quote was followed by something other than a delimiter or a line break,
        /// as in `"Smith"Jr`; the field number is 1-based.
        case characterAfterClosingQuote(field: Int)
        /// A field is not valid UTF-8 (a file saved as Latin-1 or UTF-16, for example).
        case invalidUTF8(field: Int)
        /// A field holds more than `limit` bytes.
        case fieldTooLarge(field: Int, limit: Int)
        /// The record has more than `limit` fields.
        case tooManyFields(limit: Int)
        /// The fields of the record hold more than `limit` bytes together.
        case recordTooLarge(limit: Int)

        /// The reason in words, for an import report.
        public var description: String {
            switch self {
            case .unterminatedQuote:
                "a quoted field is never closed (a stray \" ?)"
            case .characterAfterClosingQuote(let field):
                "field \(field): text after a closing quote (write a quote inside a quoted field as \"\")"
            case .invalidUTF8(let field):
                "field \(field) is not valid UTF-8 (save the file as UTF-8)"
            case .fieldTooLarge(let field, let limit):
                "field \(field) is larger than \(limit) bytes (or a quote is not closed)"
            case .tooManyFields(let limit):
                "more than \(limit) fields"
            case .recordTooLarge(let limit):
                "the row is larger than \(limit) bytes"
            }
        }
    }

    /// The 1-based physical line on which the failed record starts.
    public var row: Int
    /// Why the record failed.
    public var reason: Reason

    /// An error for the record starting on `row`.
    public init(row: Int, reason: Reason) {
        self.row = row
        self.reason = reason
    }

    /// `row N: reason`.
    public var description: String {
        "row \(row): \(reason)"
    }
}
