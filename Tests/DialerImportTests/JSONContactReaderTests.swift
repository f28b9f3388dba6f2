import DialerImport
import Testing

/// The contacts and row errors of `bytes` cut into `chunks`, or the error that stopped the import.
private func jsonContacts(
    _ bytes: [UInt8], chunks: [ArraySlice<UInt8>]? = nil, mapping: ColumnMapping = ColumnMapping(),
    limits: JSONContactReader.Limits = .init()
) -> Result<[Result<ContactRow, ImportRowError>], JSONContactsError> {
    Result { () throws(JSONContactsError) in
        try decodeAll(JSONContactReader(mapping: mapping, limits: limits), chunks ?? [bytes[...]])
    }
}

private func jsonContacts(
    _ text: String, mapping: ColumnMapping = ColumnMapping(), limits: JSONContactReader.Limits = .init()
) -> Result<[Result<ContactRow, ImportRowError>], JSONContactsError> {
    jsonContacts(Array(text.utf8), mapping: mapping, limits: limits)
}

/// The error that stops reading `text`.
private func jsonError(_ text: String, limits: JSONContactReader.Limits = .init()) -> JSONContactsError? {
    guard case .failure(let error) = jsonContacts(text, limits: limits) else { return nil }
    return error
}

private func rejected(_ row: Int, _ reason: ImportRowError.Reason) -> Result<ContactRow, ImportRowError> {
    .failure(ImportRowError(row: row, reason: reason))
}

@Suite("JSON contacts")
struct JSONContactReaderTests {
    @Test func readsAnArrayOfObjects() throws {
        let mapping = ColumnMapping(timeZone: "timeZone", callerID: "callerId", priority: "priority")
        let text = """
            [
              {"Phone": "+45 12 34 56 78", "name": "S\\u00f8ren \\ud83d\\ude00", "timeZone": "Europe/Copenhagen",
               "callerId": "+4570000000", "priority": -3, "vip": true, "score": 1.5e3, "note": null},
              {"phone": 4520000000, "name": "Åse \\"A\\" \\\\ \\/"}
            ]
            """
        let rows = try jsonContacts(text, mapping: mapping).get().map { try $0.get() }
        #expect(
            rows == [
                ContactRow(
                    row: 1, phone: "+45 12 34 56 78", timeZone: "Europe/Copenhagen", callerID: "+4570000000",
                    priority: -3,
                    fields: [
                        ContactField(name: "name", value: "Søren 😀"), ContactField(name: "vip", value: "true"),
                        ContactField(name: "score", value: "1.5e3"),
                    ]),
                ContactRow(row: 2, phone: "4520000000", fields: [ContactField(name: "name", value: "Åse \"A\" \\ /")]),
            ])
    }

    @Test func readsEmptyArraysAndWhiteSpace() throws {
        #expect(try jsonContacts("[]").get().isEmpty)
        #expect(try jsonContacts("\u{FEFF} \r\n\t[ \n ] \n").get().isEmpty)
    }

    @Test func typeErrorsRejectTheirRowOnly() throws {
        let mapping = ColumnMapping(timeZone: "tz", priority: "priority")
        let text = """
            [{"phone": "1", "priority": "high"}, {"phone": "2", "priority": 1.0}, {"phone": "3", "priority": 1e2},
             {"phone": true}, {"phone": 12.5}, {"name": "x"}, {"phone": null}, {"phone": "  "},
             {"phone": "4", "tz": 1}, {"phone": "5", "tags": ["a"]}, {"phone": "6", "PHONE": "7"},
             "not an object", 42, [1], {"phone": "8", "priority": 99999999999999999999}, {"phone": "9", "priority": null}]
            """
        let results = try jsonContacts(text, mapping: mapping).get()
        #expect(
            results == [
                rejected(1, .wrongType(field: "priority", expected: "an integer")),
                rejected(2, .wrongType(field: "priority", expected: "an integer")),
                rejected(3, .wrongType(field: "priority", expected: "an integer")),
                rejected(4, .wrongType(field: "phone", expected: "a string")),
                rejected(5, .wrongType(field: "phone", expected: "a string")),
                rejected(6, .missingPhone),
                rejected(7, .missingPhone),
                rejected(8, .missingPhone),
                rejected(9, .wrongType(field: "tz", expected: "a string")),
                rejected(10, .wrongType(field: "tags", expected: "a string, number or boolean")),
                rejected(11, .duplicateKey("PHONE")),
                rejected(12, .notAnObject),
                rejected(13, .notAnObject),
                rejected(14, .notAnObject),
                rejected(15, .wrongType(field: "priority", expected: "an integer")),
                .success(ContactRow(row: 16, phone: "9")),
            ])
        #expect(
            "\(ImportRowError(row: 1, reason: .wrongType(field: "priority", expected: "an integer")))"
                == "row 1: priority must be an integer")
    }

    @Test func invalidJSONInsideAnElementRejectsOnlyThatRow() throws {
        let text =
            "[{\"phone\" \"1\"}, {\"phone\": \"2\",}, {\"phone\": \"\\x\"}, {\"phone\": \"\\ud800\"}, {\"phone\": tru},"
            + " {\"phone\": \"a\tb\"}, {\"phone\": 01}, {\"a\": [}], {\"phone\": \"3\"}]"
        let results = try jsonContacts(text).get()
        #expect(results.count == 9)
        for (index, result) in results.dropLast().enumerated() {
            guard case .failure(let error) = result, case .malformedJSON = error.reason else {
                Issue.record("row \(index + 1): \(result)")
                continue
            }
            #expect(error.row == index + 1)
        }
        #expect(try results.last?.get().phone == "3")
    }

    @Test func invalidUTF8RejectsTheRow() throws {
        let bytes = Array("[{\"phone\": \"1\", \"name\": \"".utf8) + [0xFF] + Array("\"}, {\"phone\": \"2\"}]".utf8)
        let results = try jsonContacts(bytes).get()
        #expect(results.count == 2)
        #expect(results[0] == rejected(1, .invalidUTF8))
        #expect(try results[1].get().phone == "2")
    }

    @Test func anElementOverTheLimitIsSkipped() throws {
        let big = String(repeating: "x", count: 200)
        let text = "[{\"phone\": \"1\"}, {\"phone\": \"2\", \"note\": \"\(big)\"}, {\"phone\": \"3\"}]"
        let limits = JSONContactReader.Limits(maxObjectBytes: 64)
        let bytes = Array(text.utf8)
        for chunks in [[bytes[...]], chunked(bytes, sizes: { 7 })] {
            let results = try jsonContacts(bytes, chunks: chunks, limits: limits).get()
            #expect(results.count == 3)
            #expect(results[1] == rejected(2, .objectTooLarge(limit: 64)))
            #expect(try results[2].get().phone == "3")
        }
    }

    @Test func nestingIsBounded() throws {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let results = try jsonContacts("[\(deep), {\"phone\": \"1\"}]", limits: .init(maxObjectBytes: 100_000)).get()
        guard case .failure(let error) = results.first, case .malformedJSON = error.reason else {
            Issue.record("\(results)")
            return
        }
        #expect(try results.last?.get().phone == "1")
    }

    @Test func damageToTheArrayStopsTheImport() {
        #expect(jsonError("")?.reason == .emptyInput)
        #expect(jsonError("  \n")?.reason == .emptyInput)
        #expect(jsonError("{\"phone\": \"1\"}")?.reason == .notAnArray)
        #expect(
            jsonError("[{\"phone\": \"1\"} {\"phone\": \"2\"}]")
                == JSONContactsError(reason: .unexpectedByte(expected: "',' or ']'"), row: 1, byteOffset: 16))
        #expect(jsonError("[{\"phone\": \"1\"},]")?.reason == .unexpectedByte(expected: "a value"))
        #expect(jsonError("[{\"phone\": \"1\"}")?.reason == .unexpectedEnd)
        #expect(jsonError("[{\"phone\": \"1}]")?.reason == .unterminatedString)
        #expect(jsonError("[]]")?.reason == .trailingContent)
        #expect(jsonError("[}]")?.reason == .unexpectedByte(expected: "a value"))
        #expect(jsonError("[1, 2", limits: .init())?.reason == .unexpectedEnd)
        #expect(jsonError("[{\"phone\": \"1\"}]", limits: .init(maxTotalBytes: 10))?.reason == .fileTooLarge(limit: 10))
        #expect(
            "\(jsonError("[{\"phone\": \"1\"}")!)"
                == "the file ends before the array is closed with ']' (row 1, byte 15)")
    }

    @Test func rowsAreCountedAfterSkippedAndFailedElements() throws {
        let results = try jsonContacts("[1, {\"phone\":\"2\"}, null, {\"phone\":\"4\"}]").get()
        #expect(results.map { result in (try? result.get().row) ?? -1 } == [-1, 2, -1, 4])
    }

    static let sample: [UInt8] = Array(
        """
        \u{FEFF}[{"phone": "+45 12 34 56 78", "name": "Søren \\"S\\" \\u00c6r\\u00f8", "tags": "a,b"},
         {"phone": 4798765432, "note": "line\\nbreak", "nested": {"x": [1, 2, {"y": "}]"}]}},
         "bad", {"phone": "1" "x": 2}, {"phone": "東京", "priority": 7, "ok": false}  ,{"phone":"end"}]  \r\n
        """.utf8)

    @Test func everySplitPositionAndChunkSizeGivesTheSameResult() throws {
        let mapping = ColumnMapping(priority: "priority")
        let expected = try jsonContacts(Self.sample, mapping: mapping).get()
        #expect(expected.count == 6)
        #expect(expected.filter { (try? $0.get()) != nil }.count == 3)
        for position in 0...Self.sample.count {
            let chunks = split(Self.sample, at: position)
            #expect(
                try jsonContacts(Self.sample, chunks: chunks, mapping: mapping).get() == expected,
                "split at \(position)")
        }
        var random = SplitMix64(seed: 42)
        for _ in 0..<30 {
            let chunks = chunked(Self.sample, sizes: { Int.random(in: 1...13, using: &random) })
            #expect(try jsonContacts(Self.sample, chunks: chunks, mapping: mapping).get() == expected)
        }
    }

    @Test func memoryIsBoundedByAChunkAndAnElement() throws {
        var reader = JSONContactReader()
        var peak = 0
        reader.feed(Array("[".utf8))
        var count = 0
        for index in 0..<20_000 {
            reader.feed(Array("{\"phone\": \"+4520\(100_000 + index)\", \"name\": \"Contact \(index)\"},\n".utf8))
            peak = max(peak, reader.bufferedByteCount)
            while let result = try reader.next() {
                _ = try result.get()
                count += 1
            }
        }
        reader.feed(Array("{\"phone\": \"1\"}]".utf8))
        reader.finish()
        while try reader.next() != nil {
            count += 1
        }
        #expect(count == 20_001)
        #expect(peak < 200)
    }

    @Test(arguments: 0..<4)
    func malformedInputNeverCrashesAndChunkingNeverChangesTheResult(batch: UInt64) {
        let alphabet = Array("[]{}\":,\\ \nantrue0-1.e\u{00e6}phone".utf8) + [0xFF]
        var random = SplitMix64(seed: 0x15_0000 + batch)
        for iteration in 0..<300 {
            var bytes = Array("[{\"phone\":".utf8)
            for _ in 0..<Int.random(in: 0...80, using: &random) {
                bytes.append(alphabet[Int.random(in: 0..<alphabet.count, using: &random)])
            }
            let limits = JSONContactReader.Limits(maxObjectBytes: 40, maxDepth: 4)
            let whole = jsonContacts(bytes, limits: limits)
            let chunks = chunked(bytes, sizes: { Int.random(in: 1...6, using: &random) })
            let pieces = jsonContacts(bytes, chunks: chunks, limits: limits)
            #expect(whole == pieces, "batch \(batch) iteration \(iteration)")
        }
    }
}
