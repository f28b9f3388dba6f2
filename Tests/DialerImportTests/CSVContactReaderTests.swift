import DialerImport
import Testing

/// The contacts and row errors of `text`, or the mapping error that stopped the import.
private func contacts(
    _ text: String, mapping: ColumnMapping = ColumnMapping(), delimiter: CSVDelimiter? = nil
) -> Result<[Result<ContactRow, ImportRowError>], ColumnMappingError> {
    Result { () throws(ColumnMappingError) in
        try decodeAll(
            CSVContactReader(mapping: mapping, configuration: .init(delimiter: delimiter)), [Array(text.utf8)[...]])
    }
}

/// The contacts of `text`, which must all be valid.
private func validContacts(_ text: String, mapping: ColumnMapping = ColumnMapping()) throws -> [ContactRow] {
    try contacts(text, mapping: mapping).get().map { try $0.get() }
}

/// The mapping error `text` stops with.
private func mappingError(
    _ text: String, mapping: ColumnMapping = ColumnMapping(), delimiter: CSVDelimiter? = nil
) -> ColumnMappingError? {
    guard case .failure(let error) = contacts(text, mapping: mapping, delimiter: delimiter) else { return nil }
    return error
}

@Suite("CSV contacts and column mapping")
struct CSVContactReaderTests {
    @Test func mapsColumnsByHeaderNameCaseInsensitively() throws {
        let mapping = ColumnMapping(phone: "Phone", timeZone: "tz", callerID: "Caller ID", priority: "PRIO")
        let rows = try validContacts(
            " PHONE ;Name;TZ;caller id;prio;Notes\r\n+45 12 34 56 78;Søren;Europe/Copenhagen;+4570000000;5;VIP\r\n",
            mapping: mapping)
        #expect(
            rows == [
                ContactRow(
                    row: 2, phone: "+45 12 34 56 78", timeZone: "Europe/Copenhagen", callerID: "+4570000000",
                    priority: 5,
                    fields: [ContactField(name: "Name", value: "Søren"), ContactField(name: "Notes", value: "VIP")])
            ])
        #expect(rows[0][field: "notes"] == "VIP")
    }

    @Test func showsNamedCustomFieldsInTheirOrder() throws {
        let mapping = ColumnMapping(customFields: .named(["city", "Phone", "name"]))
        let rows = try validContacts("name,phone,city,secret\nAnn,12345678,Oslo,x\n", mapping: mapping)
        #expect(
            rows[0].fields == [
                ContactField(name: "city", value: "Oslo"), ContactField(name: "phone", value: "12345678"),
                ContactField(name: "name", value: "Ann"),
            ])
        let none = try validContacts("name,phone\nAnn,1\n", mapping: ColumnMapping(customFields: .none))
        #expect(none[0].fields.isEmpty)
    }

    @Test func readsShortRowsAndSkipsBlankOnes() throws {
        let rows = try validContacts("phone,name,city\n1,Ann\n,,\n , \n   \n2\n")
        #expect(rows.map(\.row) == [2, 6])
        #expect(rows[0].fields == [ContactField(name: "name", value: "Ann"), ContactField(name: "city", value: "")])
    }

    @Test func rejectsBadRowsAndGoesOn() throws {
        let text = "phone,priority\n1,2\n,3\n4,high\n5,6,7\n6,7,,\n\"7,8\n"
        let results = try contacts(text, mapping: ColumnMapping(priority: "priority")).get()
        #expect(
            results == [
                .success(ContactRow(row: 2, phone: "1", priority: 2)),
                .failure(ImportRowError(row: 3, reason: .missingPhone)),
                .failure(ImportRowError(row: 4, reason: .wrongType(field: "priority", expected: "an integer"))),
                .failure(ImportRowError(row: 5, reason: .tooManyFields(found: 3, expected: 2))),
                .success(ContactRow(row: 6, phone: "6", priority: 7)),
                .failure(ImportRowError(row: 7, reason: .malformedCSV(.unterminatedQuote))),
            ])
        #expect(
            "\(ImportRowError(row: 4, reason: .wrongType(field: "priority", expected: "an integer")))"
                == "row 4: priority must be an integer")
    }

    @Test func aMissingPhoneColumnNamesTheHeadersFound() {
        let error = mappingError("name,tlf,email\nAnn,1,a@b\n")
        #expect(error == .missingPhoneColumn(expected: "phone", found: ["name", "tlf", "email"]))
        #expect("\(error!)" == "no phone column \"phone\"; the header has: \"name\", \"tlf\", \"email\"")
    }

    @Test func rejectsDuplicateHeaders() {
        #expect(mappingError("phone,Name,name \n") == .duplicateHeader("name", columns: [2, 3]))
        // Blank headers name no column, so several of them are fine.
        #expect(mappingError("phone,,\n1,,\n") == nil)
    }

    @Test func rejectsAMappingNamingAnUnknownColumn() {
        #expect(
            mappingError("phone,name\n", mapping: ColumnMapping(timeZone: "zone"))
                == .unknownColumn(.timeZone, name: "zone", found: ["phone", "name"]))
        #expect(
            mappingError("phone,name\n", mapping: ColumnMapping(customFields: .named(["city"])))
                == .unknownColumn(.customField, name: "city", found: ["phone", "name"]))
        #expect(
            mappingError("phone,name\n", mapping: ColumnMapping(callerID: "PHONE"))
                == .columnMappedTwice("phone", roles: [.phone, .callerID]))
    }

    @Test func recognisesAWrongDelimiter() {
        let error = mappingError("phone;name;city\n1;Ann;Oslo\n", delimiter: .comma)
        #expect(error == .wrongDelimiter(used: .comma, likely: .semicolon))
        #expect("\(error!)" == "the file looks ;-delimited, not ,-delimited; pass delimiter=;")
        #expect(
            mappingError("phone,name\n", delimiter: .semicolon) == .wrongDelimiter(used: .semicolon, likely: .comma))
        // A one-column file is fine.
        #expect(mappingError("phone\n1\n", delimiter: .semicolon) == nil)
    }

    @Test func anEmptyFileOrUnreadableHeaderStopsTheImport() {
        #expect(mappingError("") == .emptyFile)
        #expect(mappingError("\n\r\n") == .emptyFile)
        #expect(mappingError("\"phone,name\n") == .unreadableHeader(CSVRowError(row: 1, reason: .unterminatedQuote)))
    }

    @Test func theStopIsFinal() {
        var reader = CSVContactReader()
        reader.feed(Array("name\nAnn\n".utf8))
        #expect(throws: ColumnMappingError.self) { try reader.next() }
        #expect(throws: ColumnMappingError.self) { try reader.next() }
    }

    @Test func readsAnAsyncSequenceOfChunks() async throws {
        let stream = AsyncStream<ArraySlice<UInt8>> { continuation in
            for chunk in chunked(Array("phone;name\n1;Ann\n2;Bo\n".utf8), sizes: { 3 }) {
                continuation.yield(chunk)
            }
            continuation.finish()
        }
        var phones: [String] = []
        for try await row in stream.csvContacts() {
            phones.append(try row.get().phone)
        }
        #expect(phones == ["1", "2"])

        let broken = AsyncStream<[UInt8]> { continuation in
            continuation.yield(Array("name\n".utf8))
            continuation.finish()
        }
        await #expect(throws: ColumnMappingError.missingPhoneColumn(expected: "phone", found: ["name"])) {
            for try await _ in broken.csvContacts() {}
        }
    }
}
