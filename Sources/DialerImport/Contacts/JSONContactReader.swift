/// Reads contacts from a JSON array of objects, `[{"phone": "+4512345678", "name": "Ann"}, ...]`,
/// one element at a time.
///
/// Keys are mapped with the same ``ColumnMapping`` as CSV headers (case-insensitively). Each
/// element becomes a ``ContactRow`` or an ``ImportRowError`` whose row is the element's 1-based
/// index. Types are checked per key:
/// - the phone must be a string (an integer number is accepted as its digits, since tools that
///   export spreadsheets to JSON turn numbers without a `+` into numbers);
/// - the priority must be an integer number (`"priority must be an integer"`) or null;
/// - the time zone and caller ID must be strings or null;
/// - a custom field may be a string, a number (kept as written) or a boolean; null leaves it
///   out; arrays and objects reject the row.
///
/// The reader finds where each element ends with a byte-level scan that tracks only strings and
/// nesting, and parses an element only once it is complete. So an element that is not valid
/// JSON inside (`{"phone" "1"}`), not an object, or larger than ``Limits/maxObjectBytes`` costs
/// one row; only damage to the array itself (no `[`, a missing `,`, a string never closed, the
/// file ending early) stops the import with a ``JSONContactsError``. Memory is bounded by one
/// chunk plus one element.
public struct JSONContactReader: ByteChunkDecoder, Sendable {
    /// Size limits.
    public struct Limits: Sendable, Hashable {
        /// The largest element in bytes; a larger one is skipped and its row rejected.
        public var maxObjectBytes: Int
        /// The largest file in bytes, or nil for no limit beyond ``maxObjectBytes`` per element.
        public var maxTotalBytes: Int?
        /// The deepest nesting inside an element; deeper rejects the row.
        public var maxDepth: Int

        /// Limits; by default 64 KiB per element, no total limit, 32 levels.
        public init(maxObjectBytes: Int = 65_536, maxTotalBytes: Int? = nil, maxDepth: Int = 32) {
            self.maxObjectBytes = max(2, maxObjectBytes)
            self.maxTotalBytes = maxTotalBytes
            self.maxDepth = max(1, maxDepth)
        }
    }

    /// Where the reader is in the array.
    private enum Position: Sendable {
        case beforeArray
        case beforeFirstElement
        case beforeElement
        case inElement
        case afterElement
        case afterArray
    }

    /// The mapping of keys to contact fields.
    public let mapping: ColumnMapping
    /// The limits the reader enforces.
    public let limits: Limits

    private var input: [UInt8] = []
    /// The next byte to look at in `input`.
    private var index = 0
    private var elementStart = 0
    /// The stream offset of `input[0]`, for error messages.
    private var discarded = 0
    private var totalBytes = 0
    private var isInputFinished = false
    private var isDone = false
    private var position = Position.beforeArray
    private var scanner = JSONScanner()
    private var isSkipping = false
    private var row = 0
    private var failure: JSONContactsError?

    /// A reader mapping keys with `mapping`.
    public init(mapping: ColumnMapping = ColumnMapping(), limits: Limits = Limits()) {
        self.mapping = mapping
        self.limits = limits
    }

    /// How many bytes the reader holds: input not yet scanned and the element being read.
    public var bufferedByteCount: Int {
        input.count - retainedFrom
    }

    /// The first byte still needed: the element's start while one is being read.
    private var retainedFrom: Int {
        position == .inElement && !isSkipping ? elementStart : index
    }

    /// Adds the next chunk of the file.
    public mutating func feed(_ chunk: some Collection<UInt8>) {
        precondition(!isInputFinished, "JSONContactReader.feed(_:) after finish()")
        guard failure == nil else { return }
        totalBytes += chunk.count
        if let maxTotalBytes = limits.maxTotalBytes, totalBytes > maxTotalBytes {
            failure = JSONContactsError(
                reason: .fileTooLarge(limit: maxTotalBytes), row: nil, byteOffset: maxTotalBytes)
            input = []
            return
        }
        let drop = retainedFrom
        if drop > 0 {
            input.removeFirst(drop)
            index -= drop
            elementStart -= drop
            discarded += drop
        }
        input.append(contentsOf: chunk)
    }

    /// Marks the end of the file.
    public mutating func finish() {
        isInputFinished = true
    }

    /// The next contact or rejected row; nil when more input is needed or the array is done.
    public mutating func next() throws(JSONContactsError) -> Result<ContactRow, ImportRowError>? {
        if let failure { throw failure }
        guard !isDone else { return nil }
        while true {
            switch position {
            case .beforeArray:
                // A UTF-8 byte-order mark, which Windows editors write, is not white space to
                // JSON but means nothing here; it may arrive split across chunks.
                if discarded + index == 0 {
                    let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]
                    if input.count < 3 && !isInputFinished && byteOrderMark.starts(with: input) {
                        return nil
                    }
                    if input.starts(with: byteOrderMark) {
                        index = 3
                    }
                }
                guard let byte = nextSignificantByte() else { return try needMoreInput() }
                guard byte == UInt8(ascii: "[") else { throw fail(.notAnArray) }
                index += 1
                position = .beforeFirstElement
            case .beforeFirstElement, .beforeElement:
                guard let byte = nextSignificantByte() else { return try needMoreInput() }
                if byte == UInt8(ascii: "]") && position == .beforeFirstElement {
                    index += 1
                    position = .afterArray
                    continue
                }
                guard let scanner = JSONScanner(startingWith: byte) else {
                    throw fail(.unexpectedByte(expected: "a value"))
                }
                self.scanner = scanner
                row += 1
                elementStart = index
                isSkipping = false
                position = .inElement
            case .inElement:
                var end = scanner.scan(input, from: &index)
                if end == nil && isInputFinished && scanner.endsAtEndOfInput {
                    end = index
                }
                guard let end else {
                    if index - elementStart > limits.maxObjectBytes {
                        isSkipping = true
                    }
                    return try needMoreInput()
                }
                position = .afterElement
                return .some(element(endingAt: end))
            case .afterElement:
                guard let byte = nextSignificantByte() else { return try needMoreInput() }
                switch byte {
                case UInt8(ascii: ","): position = .beforeElement
                case UInt8(ascii: "]"): position = .afterArray
                default: throw fail(.unexpectedByte(expected: "',' or ']'"))
                }
                index += 1
            case .afterArray:
                if nextSignificantByte() != nil { throw fail(.trailingContent) }
                return try needMoreInput()
            }
        }
    }

    /// Skips white space; the byte after it, not consumed, or nil when the input runs out.
    private mutating func nextSignificantByte() -> UInt8? {
        while index < input.count {
            if !JSONScanner.isWhiteSpace(input[index]) {
                return input[index]
            }
            index += 1
        }
        return nil
    }

    /// Nil while the file goes on; at its end, nil if the array was complete, else the error.
    private mutating func needMoreInput() throws(JSONContactsError) -> Result<ContactRow, ImportRowError>? {
        guard isInputFinished else { return nil }
        switch position {
        case .afterArray:
            isDone = true
            return nil
        case .beforeArray:
            // Nothing but white space came before the end.
            throw fail(.emptyInput)
        case .inElement where scanner.isInString:
            throw fail(.unterminatedString)
        default:
            throw fail(.unexpectedEnd)
        }
    }

    private mutating func fail(_ reason: JSONContactsError.Reason) -> JSONContactsError {
        let inArray = position != .beforeArray && position != .afterArray
        let error = JSONContactsError(
            reason: reason, row: inArray ? max(row, 1) : nil, byteOffset: discarded + min(index, input.count))
        failure = error
        return error
    }

    // MARK: - Elements

    private mutating func element(endingAt end: Int) -> Result<ContactRow, ImportRowError> {
        if isSkipping || end - elementStart > limits.maxObjectBytes {
            return .failure(ImportRowError(row: row, reason: .objectTooLarge(limit: limits.maxObjectBytes)))
        }
        var parser = JSONParser(Array(input[elementStart..<end]), maxDepth: limits.maxDepth)
        let value: JSONValue
        do {
            value = try parser.parseDocument()
        } catch {
            let message = "\(error.message) at byte \(discarded + elementStart + error.offset)"
            return .failure(ImportRowError(row: row, reason: .malformedJSON(message)))
        }
        if parser.sawInvalidUTF8 {
            return .failure(ImportRowError(row: row, reason: .invalidUTF8))
        }
        guard case .object(let members) = value else {
            return .failure(ImportRowError(row: row, reason: .notAnObject))
        }
        do {
            return .success(try contact(from: members))
        } catch {
            return .failure(error)
        }
    }

    private func contact(from members: [(key: String, value: JSONValue)]) throws(ImportRowError) -> ContactRow {
        func reject(_ reason: ImportRowError.Reason) -> ImportRowError {
            ImportRowError(row: row, reason: reason)
        }
        var byKey: [String: Int] = [:]
        for (offset, member) in members.enumerated() {
            let key = ColumnMapping.key(member.key)
            guard byKey[key] == nil else { throw reject(.duplicateKey(member.key)) }
            byKey[key] = offset
        }
        func member(_ name: String?) -> (key: String, value: JSONValue)? {
            guard let name, let offset = byKey[ColumnMapping.key(name)] else { return nil }
            return members[offset]
        }

        let phone: String
        switch member(mapping.phone)?.value {
        case .string(let text) where !text.trimmingWhiteSpace().isEmpty:
            phone = text.trimmingWhiteSpace()
        case .number(let text) where text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }):
            phone = text
        case nil, .null, .string:
            throw reject(.missingPhone)
        default:
            throw reject(.wrongType(field: member(mapping.phone)!.key, expected: "a string"))
        }

        var priority: Int?
        if let field = member(mapping.priority) {
            switch field.value {
            case .null: break
            case .number(let text):
                guard let number = Int(text) else { throw reject(.wrongType(field: field.key, expected: "an integer")) }
                priority = number
            default: throw reject(.wrongType(field: field.key, expected: "an integer"))
            }
        }

        func optionalString(_ name: String?) throws(ImportRowError) -> String? {
            guard let field = member(name) else { return nil }
            switch field.value {
            case .null: return nil
            case .string(let text):
                let trimmed = text.trimmingWhiteSpace()
                return trimmed.isEmpty ? nil : trimmed
            default: throw reject(.wrongType(field: field.key, expected: "a string"))
            }
        }
        let timeZone = try optionalString(mapping.timeZone)
        let callerID = try optionalString(mapping.callerID)

        var custom: [(key: String, value: JSONValue)] = []
        switch mapping.customFields {
        case .allOtherColumns:
            let mapped = Set(mapping.namedRoles.map { ColumnMapping.key($0.name) })
            custom = members.filter { !mapped.contains(ColumnMapping.key($0.key)) }
        case .named(let names):
            var seen: Set<String> = []
            for name in names where seen.insert(ColumnMapping.key(name)).inserted {
                if let field = member(name) {
                    custom.append(field)
                }
            }
        case .none:
            break
        }
        var fields: [ContactField] = []
        for field in custom {
            switch field.value {
            case .string(let text): fields.append(ContactField(name: field.key, value: text))
            case .number(let text): fields.append(ContactField(name: field.key, value: text))
            case .bool(let flag): fields.append(ContactField(name: field.key, value: flag ? "true" : "false"))
            case .null: break
            case .array, .object: throw reject(.wrongType(field: field.key, expected: "a string, number or boolean"))
            }
        }
        return ContactRow(
            row: row, phone: phone, timeZone: timeZone, callerID: callerID, priority: priority, fields: fields)
    }
}

/// Why a JSON contact file cannot be read on; the import stops.
public struct JSONContactsError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong with the file.
    public enum Reason: Sendable, Hashable, CustomStringConvertible {
        /// The file is empty.
        case emptyInput
        /// The file does not start with `[`.
        case notAnArray
        /// Something else stands where the array needs `expected`.
        case unexpectedByte(expected: String)
        /// A string is never closed, so no later element can be found.
        case unterminatedString
        /// The file ends inside the array.
        case unexpectedEnd
        /// Something follows the closing `]`.
        case trailingContent
        /// The file is larger than `limit` bytes.
        case fileTooLarge(limit: Int)

        /// The reason in words.
        public var description: String {
            switch self {
            case .emptyInput: "the file is empty"
            case .notAnArray: "the file is not a JSON array of contacts (it must start with '[')"
            case .unexpectedByte(let expected): "expected \(expected)"
            case .unterminatedString: "a string is never closed"
            case .unexpectedEnd: "the file ends before the array is closed with ']'"
            case .trailingContent: "text after the closing ']'"
            case .fileTooLarge(let limit): "the file is larger than \(limit) bytes"
            }
        }
    }

    /// What is wrong.
    public var reason: Reason
    /// The 1-based element the reader was in or after, when inside the array.
    public var row: Int?
    /// The 0-based byte offset in the file where the reader stopped.
    public var byteOffset: Int

    /// An error.
    public init(reason: Reason, row: Int?, byteOffset: Int) {
        self.reason = reason
        self.row = row
        self.byteOffset = byteOffset
    }

    /// The reason with its place in the file.
    public var description: String {
        if let row {
            return "\(reason) (row \(row), byte \(byteOffset))"
        }
        return "\(reason) (byte \(byteOffset))"
    }
}

/// Finds where one array element ends, byte by byte and resumably, tracking only strings and
/// nesting; the element is parsed once complete.
struct JSONScanner: Sendable {
    private var depth = 0
    private(set) var isInString = false
    private var isEscaped = false
    /// A number or literal, which ends at the first byte that cannot be part of it.
    private var isBareScalar = false

    init() {}

    /// A scanner for an element whose first byte is `byte`; nil if no value starts that way.
    init?(startingWith byte: UInt8) {
        switch byte {
        case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "\""):
            break
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "t"), UInt8(ascii: "f"),
            UInt8(ascii: "n"):
            isBareScalar = true
        default:
            return nil
        }
    }

    /// True for an element that the end of the file may end (a bare number or literal).
    var endsAtEndOfInput: Bool { isBareScalar }

    static func isWhiteSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }

    /// Scans `bytes` from `index`; returns the index one past the element's end when it ends
    /// (leaving `index` there), or nil with `index` at the end of `bytes`.
    mutating func scan(_ bytes: [UInt8], from index: inout Int) -> Int? {
        while index < bytes.count {
            let byte = bytes[index]
            if isBareScalar {
                if Self.isWhiteSpace(byte) || byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]")
                    || byte == UInt8(ascii: "}")
                {
                    return index
                }
                index += 1
                continue
            }
            index += 1
            if isInString {
                if isEscaped {
                    isEscaped = false
                } else if byte == UInt8(ascii: "\\") {
                    isEscaped = true
                } else if byte == UInt8(ascii: "\"") {
                    isInString = false
                    if depth == 0 { return index }
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                isInString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth <= 0 { return index }
            default:
                break
            }
        }
        return nil
    }
}
