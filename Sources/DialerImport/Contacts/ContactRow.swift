/// One contact as a contact-list file gives it, before its phone number is normalised.
///
/// The readers only check the shape of the row (a phone is present, the priority is an
/// integer); the importer normalises ``phone`` with ``PhoneNumber/normalize(_:defaultRegion:)``
/// and checks ``timeZone`` against the zone database, so that both kinds of rejection land in
/// the same import report.
public struct ContactRow: Sendable, Hashable {
    /// The row the contact comes from: the physical line its CSV record starts on, or the
    /// 1-based index of its element in a JSON array.
    public var row: Int
    /// The phone number as written, trimmed of surrounding white space; never empty.
    public var phone: String
    /// The contact's own time zone (an IANA identifier, as written), when the file has one.
    public var timeZone: String?
    /// The caller ID to show for this contact, overriding the campaign's.
    public var callerID: String?
    /// The contact's priority; the file's meaning of the number is the campaign's to define.
    public var priority: Int?
    /// The fields shown to the agent, in file order.
    public var fields: [ContactField]

    /// A contact row.
    public init(
        row: Int, phone: String, timeZone: String? = nil, callerID: String? = nil, priority: Int? = nil,
        fields: [ContactField] = []
    ) {
        self.row = row
        self.phone = phone
        self.timeZone = timeZone
        self.callerID = callerID
        self.priority = priority
        self.fields = fields
    }

    /// The value of the custom field called `name` (compared case-insensitively).
    public subscript(field name: String) -> String? {
        let key = ColumnMapping.key(name)
        return fields.first { ColumnMapping.key($0.name) == key }?.value
    }
}

/// A custom field of a contact: a column (or JSON key) and its value.
public struct ContactField: Sendable, Hashable {
    /// The column header or JSON key, as the file writes it.
    public var name: String
    /// The value, as the file writes it (JSON numbers keep their text, booleans are
    /// `true`/`false`).
    public var value: String

    /// A field.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Why one row of a contact-list file was rejected.
///
/// Reasons name columns and keys but never repeat a value: a rejected row's fields are personal
/// data, and reasons end up in import reports and logs.
public struct ImportRowError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why a row was rejected.
    public enum Reason: Sendable, Hashable, CustomStringConvertible {
        /// The CSV record itself could not be read.
        case malformedCSV(CSVRowError.Reason)
        /// The JSON element is not valid JSON (its boundaries were, so the next one is read).
        case malformedJSON(String)
        /// The JSON element is not an object.
        case notAnObject
        /// The JSON element is larger than the limit; it was skipped.
        case objectTooLarge(limit: Int)
        /// A JSON string is not valid UTF-8.
        case invalidUTF8
        /// The phone column or key is missing, empty or null.
        case missingPhone
        /// The CSV row has more non-empty fields than the header has columns.
        case tooManyFields(found: Int, expected: Int)
        /// A value has the wrong type: `field` must be `expected` ("an integer", "a string").
        case wrongType(field: String, expected: String)
        /// A JSON object names the same key twice (compared case-insensitively).
        case duplicateKey(String)

        /// The reason in words, for an import report.
        public var description: String {
            switch self {
            case .malformedCSV(let reason): "\(reason)"
            case .malformedJSON(let message): "not valid JSON: \(message)"
            case .notAnObject: "the element is not a JSON object"
            case .objectTooLarge(let limit): "the object is larger than \(limit) bytes"
            case .invalidUTF8: "a string is not valid UTF-8"
            case .missingPhone: "the phone number is missing"
            case .tooManyFields(let found, let expected): "\(found) fields, but the header has \(expected) columns"
            case .wrongType(let field, let expected): "\(field) must be \(expected)"
            case .duplicateKey(let key): "the key \"\(key)\" appears twice"
            }
        }
    }

    /// The row: the physical line a CSV record starts on, or a JSON element's 1-based index.
    public var row: Int
    /// Why the row was rejected.
    public var reason: Reason

    /// An error for `row`.
    public init(row: Int, reason: Reason) {
        self.row = row
        self.reason = reason
    }

    /// `row N: reason`.
    public var description: String {
        "row \(row): \(reason)"
    }
}
