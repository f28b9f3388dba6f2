import DialerImport
import Testing

@Suite("CSV reader")
struct CSVReaderTests {
    // MARK: - RFC 4180

    @Test func readsRecordsWithAndWithoutFinalLineBreak() {
        #expect(readCSV("a,b,c\n1,2,3\n") == [record(1, "a", "b", "c"), record(2, "1", "2", "3")])
        #expect(readCSV("a,b,c\n1,2,3") == [record(1, "a", "b", "c"), record(2, "1", "2", "3")])
    }

    @Test func keepsEmptyFields() {
        #expect(readCSV("a,,c\n,\n") == [record(1, "a", "", "c"), record(2, "", "")])
        #expect(readCSV("a,b,\n") == [record(1, "a", "b", "")])
        #expect(readCSV("\"\",x\n") == [record(1, "", "x")])
    }

    @Test func quotedFieldsHoldDelimitersQuotesAndLineBreaks() {
        #expect(readCSV("\"Smith, John\",1\n") == [record(1, "Smith, John", "1")])
        #expect(readCSV("\"He said \"\"hi\"\"\",2\n") == [record(1, "He said \"hi\"", "2")])
        #expect(readCSV("\"\"\"\"\n") == [record(1, "\"")])
        #expect(
            readCSV("\"line 1\nline 2\",x\nnext,y\n") == [record(1, "line 1\nline 2", "x"), record(3, "next", "y")])
        #expect(readCSV("\"a\r\nb\",c\r\nd,e\r\n") == [record(1, "a\r\nb", "c"), record(3, "d", "e")])
    }

    @Test func aQuoteInsideAnUnquotedFieldIsText() {
        #expect(readCSV("Bob \"B\" Smith,1\n") == [record(1, "Bob \"B\" Smith", "1")])
        // RFC 4180: spaces belong to the field, so this quote does not open a quoted field.
        #expect(readCSV("a, \"b\"\n") == [record(1, "a", " \"b\"")])
    }

    @Test func readsCRLFLFAndLoneCRLineEndings() {
        let expected = [record(1, "a", "b"), record(2, "1", "2"), record(3, "3", "4")]
        #expect(readCSV("a,b\r\n1,2\r\n3,4\r\n") == expected)
        #expect(readCSV("a,b\n1,2\n3,4\n") == expected)
        #expect(readCSV("a,b\r1,2\r3,4\r") == expected)
        #expect(readCSV("a,b\r\n1,2\n3,4\r") == expected)
    }

    @Test func skipsEmptyLinesButCountsThem() {
        #expect(readCSV("a\n\n\nb\n") == [record(1, "a"), record(4, "b")])
        #expect(readCSV("\r\n\r\na\r\n\r\n") == [record(3, "a")])
        #expect(readCSV("").isEmpty)
        #expect(readCSV("\n\n").isEmpty)
    }

    @Test func dropsAByteOrderMarkAtTheStartOnly() {
        #expect(
            readCSV("\u{FEFF}phone,name\n1,\u{FEFF}x\n") == [record(1, "phone", "name"), record(2, "1", "\u{FEFF}x")])
        #expect(readCSV("\u{FEFF}") == [])
        // Part of a mark is not a mark: the bytes are a field (and not valid UTF-8).
        #expect(readCSV([0xEF, 0xBB, 0x0A]) == [rowError(1, .invalidUTF8(field: 1))])
    }

    @Test func readsNonASCIIText() {
        #expect(
            readCSV("navn;by\nSøren Ærø;Łódź\n名前;東京\n")
                == [record(1, "navn", "by"), record(2, "Søren Ærø", "Łódź"), record(3, "名前", "東京")])
    }

    // MARK: - Delimiters

    @Test func usesTheConfiguredDelimiter() {
        let reader = CSVReader.Configuration(delimiter: .semicolon)
        #expect(readCSV("a;b,c\n1;2,5\n", configuration: reader) == [record(1, "a", "b,c"), record(2, "1", "2,5")])
        #expect(readCSV("a\tb\n", configuration: .init(delimiter: .tab)) == [record(1, "a", "b")])
        #expect(readCSV("a|b\n", configuration: .init(delimiter: .pipe)) == [record(1, "a", "b")])
    }

    @Test func detectsTheDelimiterFromTheHeaderOutsideQuotes() {
        #expect(
            readCSV("phone;name;amount\n1;Ann;2,50\n") == [
                record(1, "phone", "name", "amount"), record(2, "1", "Ann", "2,50"),
            ])
        #expect(readCSV("\"a;b;c\",d\n1,2\n") == [record(1, "a;b;c", "d"), record(2, "1", "2")])
        #expect(readCSV("a\tb\tc\n1\t2\t3\n") == [record(1, "a", "b", "c"), record(2, "1", "2", "3")])
        #expect(readCSV("phone\n1;2\n") == [record(1, "phone"), record(2, "1;2")])
        // A tie goes to the comma.
        #expect(readCSV("a,b;c\n") == [record(1, "a", "b;c")])
    }

    @Test func reportsTheDelimiterItUses() {
        var reader = CSVReader()
        #expect(reader.delimiter == nil)
        reader.feed(Array("a;b\n".utf8))
        _ = reader.next()
        #expect(reader.delimiter == .semicolon)
    }

    @Test func namesDelimiters() {
        #expect(CSVDelimiter(name: ";") == .semicolon)
        #expect(CSVDelimiter(name: "TAB") == .tab)
        #expect(CSVDelimiter(name: "comma") == .comma)
        #expect(CSVDelimiter(name: "x") == nil)
        #expect("\(CSVDelimiter.tab)" == "tab")
    }

    // MARK: - Row errors

    @Test func anUnterminatedQuoteFailsItsRowAndReadingGoesOnAfterIt() {
        #expect(
            readCSV("a,b\n\"unclosed,1\n2,3\n4,5")
                == [record(1, "a", "b"), rowError(2, .unterminatedQuote), record(3, "2", "3"), record(4, "4", "5")])
        #expect(readCSV("\"abc") == [rowError(1, .unterminatedQuote)])
        #expect(readCSV("x\n\"abc\r\n") == [record(1, "x"), rowError(2, .unterminatedQuote)])
    }

    @Test func textAfterAClosingQuoteFailsTheRow() {
        #expect(
            readCSV("\"Smith\"Jr,1\nx,y\n")
                == [rowError(1, .characterAfterClosingQuote(field: 1)), record(2, "x", "y")])
        #expect(
            readCSV("a,\"b\" ,c\nx\n") == [rowError(1, .characterAfterClosingQuote(field: 2)), record(2, "x")])
    }

    @Test func aStrayQuoteClosedByALaterRowCostsOnlyItsOwnRow() {
        // The quote opened in row 1 is "closed" by the one opening row 3's first field.
        #expect(
            readCSV("a,\"b\nc,d\n\"e\",f\n")
                == [rowError(1, .characterAfterClosingQuote(field: 2)), record(2, "c", "d"), record(3, "e", "f")])
        #expect(
            readCSV("a,\"b\r\nc,d\r\n\"e\",f\r\n")
                == [rowError(1, .characterAfterClosingQuote(field: 2)), record(2, "c", "d"), record(3, "e", "f")])
    }

    @Test func invalidUTF8FailsTheRow() {
        let bytes: [UInt8] = Array("a,".utf8) + [0xFF] + Array("\nb,c\n".utf8) + [0xC3, 0x28] + Array("\n".utf8)
        #expect(
            readCSV(bytes) == [
                rowError(1, .invalidUTF8(field: 2)), record(2, "b", "c"), rowError(3, .invalidUTF8(field: 1)),
            ])
        // Latin-1 "Søren".
        #expect(readCSV([0x53, 0xF8, 0x72, 0x65, 0x6E]) == [rowError(1, .invalidUTF8(field: 1))])
    }

    @Test func aFieldOverTheLimitFailsTheRow() {
        let configuration = CSVReader.Configuration(maxFieldBytes: 8)
        #expect(
            readCSV("12345678,x\n123456789,x\nok,\"123456789\"\nlast,1\n", configuration: configuration)
                == [
                    record(1, "12345678", "x"), rowError(2, .fieldTooLarge(field: 1, limit: 8)),
                    rowError(3, .fieldTooLarge(field: 2, limit: 8)), record(4, "last", "1"),
                ])
    }

    @Test func aQuotedFieldOverTheLimitIsReadAgainFromItsFirstLineBreak() {
        let configuration = CSVReader.Configuration(maxFieldBytes: 10)
        // A quote that is never closed within the limit most likely is a stray one.
        #expect(
            readCSV("a,\"b\nc,d\ne,f\ng,h\n", configuration: configuration)
                == [
                    rowError(1, .fieldTooLarge(field: 2, limit: 10)), record(2, "c", "d"), record(3, "e", "f"),
                    record(4, "g", "h"),
                ])
    }

    @Test func tooManyFieldsFailTheRow() {
        let configuration = CSVReader.Configuration(maxFieldsPerRecord: 3)
        #expect(
            readCSV("a,b,c\na,b,c,d\n\"x\",\"y\",\"z\",\"w\nv\"\n1,2,3\n", configuration: configuration)
                == [
                    record(1, "a", "b", "c"), rowError(2, .tooManyFields(limit: 3)),
                    rowError(3, .tooManyFields(limit: 3)),
                    record(5, "1", "2", "3"),
                ])
    }

    @Test func aRecordOverTheLimitFailsTheRow() {
        let configuration = CSVReader.Configuration(maxFieldBytes: 100, maxRecordBytes: 10)
        #expect(
            readCSV("12345,12345\n123456,123456\n", configuration: configuration)
                == [record(1, "12345", "12345"), rowError(2, .recordTooLarge(limit: 10))])
    }

    @Test func rowErrorsDescribeThemselves() {
        #expect("\(CSVRowError(row: 7, reason: .unterminatedQuote))".hasPrefix("row 7: a quoted field is never closed"))
        #expect("\(CSVRowError.Reason.invalidUTF8(field: 2))" == "field 2 is not valid UTF-8 (save the file as UTF-8)")
    }

    // MARK: - Feeding

    @Test func needsMoreInputUntilARecordIsComplete() {
        var reader = CSVReader(configuration: .init(delimiter: .comma))
        reader.feed(Array("a,b".utf8))
        #expect(reader.next() == nil)
        reader.feed(Array("\nc".utf8))
        #expect(reader.next() == record(1, "a", "b"))
        #expect(reader.next() == nil)
        #expect(!reader.isAtEnd)
        reader.finish()
        #expect(reader.next() == record(2, "c"))
        #expect(reader.next() == nil)
        #expect(reader.isAtEnd)
    }

    @Test func waitsForTheWholeHeaderBeforeDetectingTheDelimiter() {
        var reader = CSVReader()
        reader.feed(Array("phone,na".utf8))
        #expect(reader.next() == nil)
        #expect(reader.delimiter == nil)
        reader.feed(Array("me;x;y\n".utf8))
        #expect(reader.next() == record(1, "phone,name", "x", "y"))
    }
}
