import Testing

@testable import DialerConfig

/// The parse error for `text`, or nil when it parses.
func tomlError(_ text: String, fileName: String? = nil) -> ConfigError? {
    do {
        _ = try TOMLParser.parse(text, fileName: fileName)
        return nil
    } catch {
        return error
    }
}

@Suite("TOML parser")
struct TOMLParserTests {
    @Test func parsesCommentsBlankLinesAndTables() throws {
        let document = try TOMLParser.parse(
            """
            # a comment before anything

            top = 1   # a comment after a value
            [first]   # a comment after a header
              indented = true
            \t tabbed = false

            [second]
            [[item]]
            n = 1
            [[item]]
            n = 2
            # a comment at the end, no newline after it
            """)
        #expect(document.root.entries == [TOMLEntry(key: "top", value: .integer(1), line: 3)])
        #expect(document.tables.map(\.name) == ["first", "second", "item", "item"])
        #expect(document.table("first")?["indented"] == .boolean(true))
        #expect(document.table("first")?["tabbed"] == .boolean(false))
        #expect(document.table("first")?.line == 4)
        #expect(document.table("second")?.entries.isEmpty == true)
        #expect(document.arrayOfTables("item").map { $0["n"] } == [.integer(1), .integer(2)])
        #expect(document.arrayOfTables("item").map(\.line) == [9, 11])
    }

    @Test func parsesBareAndQuotedKeys() throws {
        let document = try TOMLParser.parse(
            #"""
            bare_key-1 = 1
            "quoted key" = 2
            'literal.key' = 3
            "" = 4
            ["quoted table"]
            [ spaced ]
            """#)
        #expect(document.root.entries.map(\.key) == ["bare_key-1", "quoted key", "literal.key", ""])
        #expect(document.tables.map(\.name) == ["quoted table", "spaced"])
    }

    @Test func parsesStrings() throws {
        let document = try TOMLParser.parse(
            #"""
            basic = "say \"hi\" \\ back\nslash\ttab \u00E9 \U0001F600 \b\f\r"
            literal = 'C:\path\n stays "as is"'
            empty = ""
            emptyLiteral = ''
            unicode = "héllo"
            hash = "not # a comment"
            """#)
        #expect(document.root["basic"] == .string("say \"hi\" \\ back\nslash\ttab é 😀 \u{08}\u{0C}\r"))
        #expect(document.root["literal"] == .string(#"C:\path\n stays "as is""#))
        #expect(document.root["empty"] == .string(""))
        #expect(document.root["emptyLiteral"] == .string(""))
        #expect(document.root["unicode"] == .string("héllo"))
        #expect(document.root["hash"] == .string("not # a comment"))
    }

    @Test func parsesIntegers() throws {
        let document = try TOMLParser.parse(
            """
            a = 0
            b = 42
            c = -17
            d = +5
            e = 1_048_576
            f = 9223372036854775807
            g = -9223372036854775808
            h = -0
            """)
        let values = document.root.entries.map(\.value)
        #expect(
            values == [
                .integer(0), .integer(42), .integer(-17), .integer(5), .integer(1_048_576), .integer(.max),
                .integer(.min), .integer(0),
            ])
    }

    @Test func parsesFloatsAndBooleans() throws {
        let document = try TOMLParser.parse(
            """
            a = 3.14
            b = -0.5e-3
            c = 1e6
            d = 6.02E+23
            e = 1_000.000_1
            f = inf
            g = -inf
            h = true
            i = false
            """)
        #expect(document.root["a"] == .float(3.14))
        #expect(document.root["b"] == .float(-0.0005))
        #expect(document.root["c"] == .float(1_000_000))
        #expect(document.root["d"] == .float(6.02e23))
        #expect(document.root["e"] == .float(1000.0001))
        #expect(document.root["f"] == .float(.infinity))
        #expect(document.root["g"] == .float(-.infinity))
        #expect(document.root["h"] == .boolean(true))
        #expect(document.root["i"] == .boolean(false))
        let nan = try TOMLParser.parse("n = nan").root["n"]
        guard case .float(let value) = nan else {
            Issue.record("nan is not a float: \(String(describing: nan))")
            return
        }
        #expect(value.isNaN)
    }

    @Test func parsesArrays() throws {
        let document = try TOMLParser.parse(
            """
            empty = []
            numbers = [1, 2, 3]
            strings = ["a", 'b']
            spanning = [
                1,   # a comment inside
                2,

                3,   # a trailing comma
            ]
            mixed = [1, 2.5, "x", true]
            after = 1
            """)
        #expect(document.root["empty"] == .array([]))
        #expect(document.root["numbers"] == .array([.integer(1), .integer(2), .integer(3)]))
        #expect(document.root["strings"] == .array([.string("a"), .string("b")]))
        #expect(document.root["spanning"] == .array([.integer(1), .integer(2), .integer(3)]))
        #expect(document.root["mixed"] == .array([.integer(1), .float(2.5), .string("x"), .boolean(true)]))
        // Lines inside an array are counted, so later lines keep their numbers.
        #expect(document.root.entries.last == TOMLEntry(key: "after", value: .integer(1), line: 11))
    }

    @Test func acceptsWindowsLineEndingsAndAByteOrderMark() throws {
        let document = try TOMLParser.parse(bytes: [0xEF, 0xBB, 0xBF] + Array("[t]\r\na = 1\r\nb = 2 # c\r\n".utf8))
        #expect(document.table("t")?.entries.map(\.line) == [2, 3])
        #expect(document.table("t")?["b"] == .integer(2))
    }

    @Test func errorsCarryTheFileNameAndLine() {
        let error = tomlError("[cluster]\n\nlease_duration_ms 10000\n", fileName: "local.toml")
        #expect(error?.description == #"local.toml:3: expected '=' after key "lease_duration_ms""#)
        #expect(error?.line == 3)
        #expect(error?.kind == .syntax)
        #expect(tomlError("[cluster]\nx 1")?.description == #"line 2: expected '=' after key "x""#)
    }

    /// A document that must be rejected, the line the error must name, and a part of its message.
    struct BadDocument: Sendable, CustomTestStringConvertible {
        var text: String
        var line: Int
        var message: String
        var kind: ConfigError.Kind = .syntax
        var testDescription: String { text.debugDescription }
    }

    static let unsupported: [BadDocument] = [
        BadDocument(text: "a.b = 1", line: 1, message: "dotted keys", kind: .unsupported),
        BadDocument(text: "\n[cluster]\nlease . ms = 1", line: 3, message: "dotted keys", kind: .unsupported),
        BadDocument(text: "[a.b]", line: 1, message: "dotted table names", kind: .unsupported),
        BadDocument(text: "[[a.b]]", line: 1, message: "dotted table names", kind: .unsupported),
        BadDocument(text: "\n\na = { x = 1 }", line: 3, message: "inline tables are not supported", kind: .unsupported),
        BadDocument(text: "a = [{ x = 1 }]", line: 1, message: "inline tables are not supported", kind: .unsupported),
        BadDocument(text: "d = 1979-05-27", line: 1, message: "dates and times are not supported", kind: .unsupported),
        BadDocument(text: "d = 1979-05-27T07:32:00Z", line: 1, message: "dates and times", kind: .unsupported),
        BadDocument(text: "d = 1979-05-27 07:32:00", line: 1, message: "dates and times", kind: .unsupported),
        BadDocument(text: "t = 07:32:00", line: 1, message: "dates and times", kind: .unsupported),
        BadDocument(text: "s = \"\"\"x\"\"\"", line: 1, message: "multi-line strings", kind: .unsupported),
        BadDocument(text: "s = '''x'''", line: 1, message: "multi-line strings", kind: .unsupported),
        BadDocument(text: "\"\"\"k\"\"\" = 1", line: 1, message: "multi-line", kind: .unsupported),
        BadDocument(text: "h = 0xFF", line: 1, message: "hexadecimal, octal and binary", kind: .unsupported),
        BadDocument(text: "o = 0o17", line: 1, message: "hexadecimal, octal and binary", kind: .unsupported),
        BadDocument(text: "b = 0b101", line: 1, message: "hexadecimal, octal and binary", kind: .unsupported),
        BadDocument(text: "a = [\n  [1],\n]", line: 2, message: "nested arrays are not supported", kind: .unsupported),
    ]

    static let malformed: [BadDocument] = [
        BadDocument(text: "[t]\na = 1\n\na = 2", line: 4, message: #"duplicate key "a" (first set on line 2)"#),
        BadDocument(text: "[t]\n[u]\n[t]", line: 3, message: "duplicate table [t] (first defined on line 1)"),
        BadDocument(text: "[[t]]\n[t]", line: 2, message: "conflicts with the array of tables [[t]] on line 1"),
        BadDocument(text: "[t]\n[[t]]", line: 2, message: "conflicts with the table [t] on line 1"),
        BadDocument(text: "k = \"abc", line: 1, message: "unterminated string"),
        BadDocument(text: "k = 'abc\nl = 1", line: 1, message: "unterminated string"),
        BadDocument(text: "k = \"abc\\", line: 1, message: "unterminated string"),
        BadDocument(text: "a = [1,\n2", line: 2, message: "unterminated array for key \"a\" (opened on line 1)"),
        BadDocument(text: "a = [1 2]", line: 1, message: "expected ',' or ']'"),
        BadDocument(text: "a = [,]", line: 1, message: "expected a value or ']'"),
        BadDocument(text: #"k = "\q""#, line: 1, message: #"invalid escape \q"#),
        BadDocument(text: #"k = "\uD800""#, line: 1, message: "U+D800 is not a Unicode scalar value"),
        BadDocument(text: #"k = "\u12""#, line: 1, message: "4 hexadecimal digits"),
        BadDocument(text: #"k = "\U0011FFFF""#, line: 1, message: "not a Unicode scalar value"),
        BadDocument(text: "k = \"a\u{01}b\"", line: 1, message: "control character U+0001"),
        BadDocument(text: "a = 012", line: 1, message: "leading zeros"),
        BadDocument(text: "a = 9223372036854775808", line: 1, message: "does not fit in 64 bits"),
        BadDocument(text: "a = -9223372036854775809", line: 1, message: "does not fit in 64 bits"),
        BadDocument(text: "a = 1__0", line: 1, message: "invalid value 1__0"),
        BadDocument(text: "a = 1_", line: 1, message: "invalid value 1_"),
        BadDocument(text: "a = 1.", line: 1, message: "invalid value 1."),
        BadDocument(text: "a = .5", line: 1, message: "invalid value .5"),
        BadDocument(text: "a = 1e", line: 1, message: "invalid value 1e"),
        BadDocument(text: "a = True", line: 1, message: "strings must be in quotes"),
        BadDocument(text: "[cluster]\nlog_level = info", line: 2, message: #"invalid value info for key "log_level""#),
        BadDocument(text: "a =", line: 1, message: #"expected a value after '=' for key "a""#),
        BadDocument(text: "a = # nothing", line: 1, message: "expected a value"),
        BadDocument(text: "a = ,", line: 1, message: "invalid value ','"),
        BadDocument(
            text: "a = 1 2", line: 1, message: #"expected the end of the line after the value of "a", found '2'"#),
        BadDocument(text: "a = \"x\" \"y\"", line: 1, message: "expected the end of the line"),
        BadDocument(text: "[t] x = 1", line: 1, message: "expected the end of the line after [t]"),
        BadDocument(text: "[t", line: 1, message: "expected ']' after table name \"t\""),
        BadDocument(text: "[[t]", line: 1, message: "expected ']]' to close [[t]]"),
        BadDocument(text: "[]", line: 1, message: "expected a table name"),
        BadDocument(text: "\n= 1", line: 2, message: "expected a key, found '='"),
        BadDocument(text: "é = 1", line: 1, message: "expected a key, found 'é'"),
        BadDocument(text: "a = 1\rb = 2", line: 1, message: "carriage return"),
        BadDocument(text: "a", line: 1, message: "expected '=' after key \"a\""),
    ]

    @Test(arguments: unsupported)
    func rejectsUnsupportedFeatures(_ bad: BadDocument) {
        let error = tomlError(bad.text, fileName: "f.toml")
        #expect(error?.kind == bad.kind)
        #expect(error?.line == bad.line)
        #expect(error?.description.hasPrefix("f.toml:\(bad.line): ") == true)
        #expect(error?.message.contains(bad.message) == true, "\(String(describing: error))")
        #expect(error?.message.contains("not supported") == true)
    }

    @Test(arguments: malformed)
    func rejectsMalformedDocuments(_ bad: BadDocument) {
        let error = tomlError(bad.text)
        #expect(error?.kind == bad.kind)
        #expect(error?.line == bad.line)
        #expect(error?.message.contains(bad.message) == true, "\(String(describing: error))")
    }

    @Test func keysMayRepeatAcrossTablesAndArrayElements() throws {
        let document = try TOMLParser.parse("a = 1\n[t]\na = 2\n[[u]]\na = 3\n[[u]]\na = 4")
        #expect(document.arrayOfTables("u").count == 2)
    }

    @Test func rejectsInvalidUTF8WithItsLine() {
        let bytes = Array("a = 1\nb = \"".utf8) + [0xFF, 0xFE] + Array("\"\n".utf8)
        #expect(throws: ConfigError(kind: .syntax, source: "x.toml:2", line: 2, message: "the text is not valid UTF-8"))
        {
            try TOMLParser.parse(bytes: bytes, fileName: "x.toml")
        }
    }

    @Test func parsesIntegersForOverrides() {
        #expect(TOMLParser.parseInteger("1_000") == 1000)
        #expect(TOMLParser.parseInteger("-5") == -5)
        #expect(TOMLParser.parseInteger("abc") == nil)
        #expect(TOMLParser.parseInteger("") == nil)
        #expect(TOMLParser.parseInteger("1.5") == nil)
        #expect(TOMLParser.parseInteger(" 1") == nil)
        #expect(TOMLParser.parseInteger("99999999999999999999") == nil)
    }
}
