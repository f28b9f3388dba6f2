/// Parses the subset of TOML that cluster files need.
///
/// Supported: comments, blank lines, bare and quoted keys, `[table]` and `[[array-of-tables]]`
/// headers, basic strings (escapes `\" \\ \b \t \n \f \r \uXXXX \UXXXXXXXX`), literal strings,
/// integers (sign, `_` separators), floats (including `inf` and `nan`), booleans, and arrays of
/// those scalars (spanning lines, trailing comma allowed).
///
/// Everything else that TOML has (dotted keys, inline tables, dates and times, multi-line
/// strings, hexadecimal, octal and binary integers, nested arrays) is rejected with an error
/// that says it is not supported, rather than half-supported: a cluster file never needs them,
/// and a clear error beats a surprising reading.
///
/// The parser works on bytes with an explicit cursor and never traps: every problem is thrown
/// as a ``ConfigError`` carrying the line number (and the file name when there is one).
struct TOMLParser {
    private let bytes: [UInt8]
    private let fileName: String?
    private var index: Int
    private var line = 1

    private init(bytes: [UInt8], fileName: String?) {
        self.bytes = bytes
        self.fileName = fileName
        // Some editors write a UTF-8 byte order mark; TOML allows it at the very start.
        self.index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    }

    /// Parses a document held in a string.
    static func parse(_ text: String, fileName: String? = nil) throws(ConfigError) -> TOMLDocument {
        try parse(bytes: Array(text.utf8), fileName: fileName)
    }

    /// Parses a document from raw bytes (as read from a file), which must be UTF-8.
    static func parse(bytes: [UInt8], fileName: String? = nil) throws(ConfigError) -> TOMLDocument {
        try validateUTF8(bytes, fileName: fileName)
        var parser = TOMLParser(bytes: bytes, fileName: fileName)
        return try parser.parseDocument()
    }

    /// Parses a TOML integer (`-1_000`, `+7`, `0`), or returns nil when `text` is not one or does
    /// not fit in 64 bits. Overrides from flags and the environment use the same syntax as the file.
    static func parseInteger(_ text: Substring) -> Int64? {
        if case .success(let value) = integer(text) { value } else { nil }
    }

    // MARK: - Document structure

    private mutating func parseDocument() throws(ConfigError) -> TOMLDocument {
        var document = TOMLDocument()
        // Header name -> (line, is array) of its first occurrence, to reject duplicates.
        var headers: [String: (line: Int, isArray: Bool)] = [:]
        // Key -> line in the current table, to reject duplicate keys.
        var keysInTable: [String: Int] = [:]

        while let byte = peek() {
            switch byte {
            case .space, .tab:
                index += 1
            case .newline, .carriageReturn:
                try consumeNewline()
            case .hash:
                skipComment()
            case .openBracket:
                let table = try parseHeader()
                let name = table.name ?? ""
                if let first = headers[name] {
                    switch (first.isArray, table.isArrayElement) {
                    case (true, true):
                        break
                    case (false, false):
                        throw error("duplicate table [\(name)] (first defined on line \(first.line))", line: table.line)
                    case (true, false):
                        throw error(
                            "table [\(name)] conflicts with the array of tables [[\(name)]] on line \(first.line)",
                            line: table.line)
                    case (false, true):
                        throw error(
                            "array of tables [[\(name)]] conflicts with the table [\(name)] on line \(first.line)",
                            line: table.line)
                    }
                } else {
                    headers[name] = (table.line, table.isArrayElement)
                }
                document.tables.append(table)
                keysInTable = [:]
                try expectEndOfLine(after: table.isArrayElement ? "[[\(name)]]" : "[\(name)]")
            default:
                let entry = try parseKeyValue()
                if let first = keysInTable[entry.key] {
                    throw error("duplicate key \(entry.key.quoted) (first set on line \(first))", line: entry.line)
                }
                keysInTable[entry.key] = entry.line
                document.appendToCurrentTable(entry)
                try expectEndOfLine(after: "the value of \(entry.key.quoted)")
            }
        }
        return document
    }

    /// Parses `[name]` or `[[name]]`; the cursor is on the first `[`.
    private mutating func parseHeader() throws(ConfigError) -> TOMLTable {
        let headerLine = line
        index += 1
        let isArray = peek() == .openBracket
        if isArray { index += 1 }
        skipSpaces()
        let name = try parseKey(what: "table name")
        skipSpaces()
        if peek() == .dot {
            throw unsupported("dotted table names like [\(name).…] are not supported")
        }
        let closing = isArray ? "]]" : "]"
        guard peek() == .closeBracket else {
            throw error("expected '\(closing)' after table name \(name.quoted), found \(describeCurrent())")
        }
        index += 1
        if isArray {
            guard peek() == .closeBracket else {
                throw error("expected ']]' to close [[\(name)]], found \(describeCurrent())")
            }
            index += 1
        }
        return TOMLTable(name: name, isArrayElement: isArray, line: headerLine)
    }

    /// Parses `key = value`; the cursor is on the first character of the key.
    private mutating func parseKeyValue() throws(ConfigError) -> TOMLEntry {
        let keyLine = line
        let key = try parseKey(what: "key")
        skipSpaces()
        if peek() == .dot {
            throw unsupported("dotted keys like \(key).… are not supported: put the key under its [section]")
        }
        guard peek() == .equals else {
            throw error("expected '=' after key \(key.quoted)")
        }
        index += 1
        skipSpaces()
        let value = try parseValue(key: key)
        return TOMLEntry(key: key, value: value, line: keyLine)
    }

    /// Parses a bare key (`A-Za-z0-9_-`) or a quoted one.
    private mutating func parseKey(what: String) throws(ConfigError) -> String {
        switch peek() {
        case .quote:
            if hasPrefix(.quote, count: 3) { throw unsupported("multi-line strings are not supported") }
            return try parseBasicString()
        case .apostrophe:
            if hasPrefix(.apostrophe, count: 3) { throw unsupported("multi-line strings are not supported") }
            return try parseLiteralString()
        default:
            let start = index
            while let byte = peek(), byte.isBareKeyCharacter { index += 1 }
            guard index > start else { throw error("expected a \(what), found \(describeCurrent())") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
    }

    // MARK: - Values

    private mutating func parseValue(key: String) throws(ConfigError) -> TOMLValue {
        switch peek() {
        case nil, .newline, .carriageReturn, .hash:
            throw error("expected a value after '=' for key \(key.quoted)")
        case .quote:
            if hasPrefix(.quote, count: 3) { throw unsupported("multi-line strings are not supported") }
            return .string(try parseBasicString())
        case .apostrophe:
            if hasPrefix(.apostrophe, count: 3) { throw unsupported("multi-line strings are not supported") }
            return .string(try parseLiteralString())
        case .openBrace:
            throw unsupported("inline tables are not supported: use a [section] or [[array]] instead")
        case .openBracket:
            return try parseArray(key: key)
        default:
            return try parseBareValue(key: key)
        }
    }

    /// Parses `[a, b, ...]` of scalars, which may span lines and hold comments.
    private mutating func parseArray(key: String) throws(ConfigError) -> TOMLValue {
        let openingLine = line
        index += 1
        var elements: [TOMLValue] = []
        while true {
            try skipSpacesNewlinesAndComments()
            switch peek() {
            case nil:
                throw error("unterminated array for key \(key.quoted) (opened on line \(openingLine))")
            case .closeBracket:
                index += 1
                return .array(elements)
            case .openBracket:
                throw unsupported("nested arrays are not supported")
            case .comma:
                throw error("expected a value or ']' in the array for key \(key.quoted), found ','")
            default:
                elements.append(try parseValue(key: key))
            }
            try skipSpacesNewlinesAndComments()
            switch peek() {
            case .comma:
                index += 1
            case .closeBracket:
                index += 1
                return .array(elements)
            case nil:
                throw error("unterminated array for key \(key.quoted) (opened on line \(openingLine))")
            default:
                throw error("expected ',' or ']' in the array for key \(key.quoted), found \(describeCurrent())")
            }
        }
    }

    /// Parses an unquoted value: a boolean or a number (dates are recognised only to reject them).
    private mutating func parseBareValue(key: String) throws(ConfigError) -> TOMLValue {
        let start = index
        while let byte = peek(), !byte.endsBareValue { index += 1 }
        let token = Substring(decoding: bytes[start..<index], as: UTF8.self)
        switch token {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan", "-nan": return .float(.nan)
        default: break
        }
        if Self.looksLikeDateOrTime(token) {
            throw unsupported("dates and times are not supported (write them as strings)")
        }
        let unsigned = token.first == "+" || token.first == "-" ? token.dropFirst() : token
        if unsigned.hasPrefix("0x") || unsigned.hasPrefix("0o") || unsigned.hasPrefix("0b") {
            throw unsupported("hexadecimal, octal and binary integers are not supported")
        }
        switch Self.integer(token) {
        case .success(let value):
            return .integer(value)
        case .failure(.overflow):
            throw error("integer \(token) does not fit in 64 bits")
        case .failure(.leadingZero):
            throw error("leading zeros are not allowed in \(token)")
        case .failure(.notAnInteger):
            break
        }
        if let value = Self.float(token) {
            return .float(value)
        }
        let shown = token.count > 40 ? "\(token.prefix(40))…" : String(token)
        let hint = token.first?.isLetter == true ? " (strings must be in quotes)" : ""
        throw error("invalid value \(shown.isEmpty ? describeCurrent() : shown) for key \(key.quoted)\(hint)")
    }

    /// Parses `"..."`; the cursor is on the opening quote.
    private mutating func parseBasicString() throws(ConfigError) -> String {
        index += 1
        var utf8: [UInt8] = []
        while true {
            guard let byte = peek(), byte != .newline, byte != .carriageReturn else {
                throw error(
                    "unterminated string (strings end on the line they start; multi-line strings are not supported)")
            }
            index += 1
            switch byte {
            case .quote:
                // Escapes only produce valid scalars and the input was validated, so this is lossless.
                return String(decoding: utf8, as: UTF8.self)
            case .backslash:
                try appendEscape(to: &utf8)
            default:
                guard !byte.isControlCharacter else {
                    throw error("control character \(Self.hex(UInt32(byte))) in a string (use an escape)")
                }
                utf8.append(byte)
            }
        }
    }

    /// Decodes the escape after a backslash (already consumed) into `utf8`.
    private mutating func appendEscape(to utf8: inout [UInt8]) throws(ConfigError) {
        guard let byte = peek(), byte != .newline, byte != .carriageReturn else {
            throw error("unterminated string (a backslash ends the line)")
        }
        index += 1
        switch byte {
        case .quote, .backslash: utf8.append(byte)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "t"): utf8.append(.tab)
        case UInt8(ascii: "n"): utf8.append(.newline)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "r"): utf8.append(.carriageReturn)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let digits = byte == UInt8(ascii: "u") ? 4 : 8
            var code: UInt32 = 0
            for _ in 0..<digits {
                guard let digit = peek(), let value = digit.hexValue else {
                    throw error("\\\(Character(Unicode.Scalar(byte))) must be followed by \(digits) hexadecimal digits")
                }
                code = code << 4 | value
                index += 1
            }
            guard let scalar = Unicode.Scalar(code) else {
                throw error("escape \(Self.hex(code)) is not a Unicode scalar value")
            }
            UTF8.encode(scalar) { utf8.append($0) }
        default:
            index -= 1
            throw error("invalid escape \\\(describeCurrent(quoted: false)) in a string")
        }
    }

    /// Parses `'...'` (no escapes); the cursor is on the opening apostrophe.
    private mutating func parseLiteralString() throws(ConfigError) -> String {
        index += 1
        let start = index
        while true {
            guard let byte = peek(), byte != .newline, byte != .carriageReturn else {
                throw error(
                    "unterminated string (strings end on the line they start; multi-line strings are not supported)")
            }
            if byte == .apostrophe { break }
            guard !byte.isControlCharacter || byte == .tab else {
                throw error("control character \(Self.hex(UInt32(byte))) in a string")
            }
            index += 1
        }
        defer { index += 1 }
        return String(decoding: bytes[start..<index], as: UTF8.self)
    }

    // MARK: - Whitespace, comments, line ends

    private mutating func skipSpaces() {
        while let byte = peek(), byte == .space || byte == .tab { index += 1 }
    }

    /// Skips to the end of the line (the newline itself is left for the caller).
    private mutating func skipComment() {
        while let byte = peek(), byte != .newline { index += 1 }
    }

    /// Consumes `\n` or `\r\n`; the cursor is on one of them.
    private mutating func consumeNewline() throws(ConfigError) {
        if peek() == .carriageReturn {
            guard index + 1 < bytes.count, bytes[index + 1] == .newline else {
                throw error("a carriage return must be followed by a newline")
            }
            index += 1
        }
        index += 1
        line += 1
    }

    private mutating func skipSpacesNewlinesAndComments() throws(ConfigError) {
        while let byte = peek() {
            switch byte {
            case .space, .tab: index += 1
            case .newline, .carriageReturn: try consumeNewline()
            case .hash: skipComment()
            default: return
            }
        }
    }

    /// After a header or a value only spaces and a comment may follow on the line.
    private mutating func expectEndOfLine(after what: String) throws(ConfigError) {
        skipSpaces()
        if peek() == .hash { skipComment() }
        guard let byte = peek() else { return }
        guard byte == .newline || byte == .carriageReturn else {
            throw error("expected the end of the line after \(what), found \(describeCurrent())")
        }
        try consumeNewline()
    }

    // MARK: - Cursor helpers

    private func peek() -> UInt8? {
        index < bytes.count ? bytes[index] : nil
    }

    private func hasPrefix(_ byte: UInt8, count: Int) -> Bool {
        index + count <= bytes.count && bytes[index..<index + count].allSatisfy { $0 == byte }
    }

    /// Names the character under the cursor for error messages.
    private func describeCurrent(quoted: Bool = true) -> String {
        guard let byte = peek() else { return "the end of the file" }
        if byte == .newline || byte == .carriageReturn { return "the end of the line" }
        if byte.isControlCharacter { return "control character \(Self.hex(UInt32(byte)))" }
        // The input is valid UTF-8, so the lead byte says how long the character is.
        let length = byte < 0x80 ? 1 : byte < 0xE0 ? 2 : byte < 0xF0 ? 3 : 4
        let text = String(decoding: bytes[index..<min(index + length, bytes.count)], as: UTF8.self)
        return quoted ? "'\(text)'" : text
    }

    private func error(_ message: String, line: Int? = nil) -> ConfigError {
        ConfigError(kind: .syntax, file: fileName, line: line ?? self.line, message: message)
    }

    private func unsupported(_ message: String) -> ConfigError {
        ConfigError(kind: .unsupported, file: fileName, line: line, message: message)
    }

    // MARK: - Scalars

    private enum IntegerProblem: Error {
        case notAnInteger
        case leadingZero
        case overflow
    }

    /// `[+-]? (0 | [1-9] (_? [0-9])*)` as a 64-bit integer.
    private static func integer(_ text: Substring) -> Result<Int64, IntegerProblem> {
        var digits = text
        let isNegative = digits.first == "-"
        if digits.first == "-" || digits.first == "+" { digits = digits.dropFirst() }
        guard isDigitGroup(digits) else { return .failure(.notAnInteger) }
        if digits.count > 1 && digits.first == "0" { return .failure(.leadingZero) }
        // Accumulate as a negative number so that Int64.min parses too.
        var value: Int64 = 0
        for character in digits where character != "_" {
            guard let digit = character.wholeNumberValue else { return .failure(.notAnInteger) }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.subtractingReportingOverflow(Int64(digit))
            if overflow1 || overflow2 { return .failure(.overflow) }
            value = next
        }
        if isNegative { return .success(value) }
        return value == .min ? .failure(.overflow) : .success(-value)
    }

    /// `[+-]? int ('.' digits)? ([eE] [+-]? digits)?` with a fraction or an exponent or both.
    private static func float(_ text: Substring) -> Double? {
        var rest = text
        if rest.first == "-" || rest.first == "+" { rest = rest.dropFirst() }
        let exponentStart = rest.firstIndex { $0 == "e" || $0 == "E" }
        let mantissa = rest[..<(exponentStart ?? rest.endIndex)]
        let dot = mantissa.firstIndex(of: ".")
        let integerPart = mantissa[..<(dot ?? mantissa.endIndex)]
        guard isDigitGroup(integerPart), integerPart.count == 1 || integerPart.first != "0" else { return nil }
        if let dot {
            guard isDigitGroup(mantissa[mantissa.index(after: dot)...]) else { return nil }
        }
        if let exponentStart {
            var exponent = rest[rest.index(after: exponentStart)...]
            if exponent.first == "-" || exponent.first == "+" { exponent = exponent.dropFirst() }
            guard isDigitGroup(exponent) else { return nil }
        }
        guard dot != nil || exponentStart != nil else { return nil }
        return Double(String(text.filter { $0 != "_" }))
    }

    /// Digits, where each `_` sits between two digits.
    private static func isDigitGroup(_ text: Substring) -> Bool {
        guard let first = text.first, let last = text.last, first.isASCIIDigit, last.isASCIIDigit else {
            return false
        }
        var previousWasUnderscore = false
        for character in text {
            if character == "_" {
                if previousWasUnderscore { return false }
                previousWasUnderscore = true
            } else if character.isASCIIDigit {
                previousWasUnderscore = false
            } else {
                return false
            }
        }
        return true
    }

    /// `1979-05-27...` or `07:32:00...`: recognised only so that they get a clear error.
    private static func looksLikeDateOrTime(_ token: Substring) -> Bool {
        let characters = Array(token.prefix(5))
        if characters.count == 5, characters[0..<4].allSatisfy(\.isASCIIDigit), characters[4] == "-" { return true }
        if characters.count >= 3, characters[0..<2].allSatisfy(\.isASCIIDigit), characters[2] == ":" { return true }
        return false
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// Rejects input that is not UTF-8 up front, naming the first bad line, so that the parser
    /// itself can slice and decode without ever meeting an invalid sequence.
    private static func validateUTF8(_ bytes: [UInt8], fileName: String?) throws(ConfigError) {
        var start = 0
        var lineNumber = 1
        while start <= bytes.count {
            let end = bytes[start...].firstIndex(of: .newline) ?? bytes.count
            if String(validating: bytes[start..<end], as: UTF8.self) == nil {
                throw ConfigError(
                    kind: .syntax, file: fileName, line: lineNumber, message: "the text is not valid UTF-8")
            }
            start = end + 1
            lineNumber += 1
        }
    }
}

extension UInt8 {
    fileprivate static let tab = UInt8(ascii: "\t")
    fileprivate static let newline = UInt8(ascii: "\n")
    fileprivate static let carriageReturn = UInt8(ascii: "\r")
    fileprivate static let space = UInt8(ascii: " ")
    fileprivate static let quote = UInt8(ascii: "\"")
    fileprivate static let apostrophe = UInt8(ascii: "'")
    fileprivate static let hash = UInt8(ascii: "#")
    fileprivate static let comma = UInt8(ascii: ",")
    fileprivate static let dot = UInt8(ascii: ".")
    fileprivate static let equals = UInt8(ascii: "=")
    fileprivate static let backslash = UInt8(ascii: "\\")
    fileprivate static let openBracket = UInt8(ascii: "[")
    fileprivate static let closeBracket = UInt8(ascii: "]")
    fileprivate static let openBrace = UInt8(ascii: "{")

    fileprivate var isBareKeyCharacter: Bool {
        switch self {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    /// Where an unquoted value ends.
    fileprivate var endsBareValue: Bool {
        switch self {
        case .space, .tab, .newline, .carriageReturn, .hash, .comma, .closeBracket: true
        default: false
        }
    }

    fileprivate var isControlCharacter: Bool {
        self < 0x20 || self == 0x7F
    }

    fileprivate var hexValue: UInt32? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(self - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(self - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(self - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool {
        isASCII && isNumber
    }
}

extension String {
    /// The string in double quotes with its special characters escaped, for messages.
    var quoted: String {
        debugDescription
    }
}
