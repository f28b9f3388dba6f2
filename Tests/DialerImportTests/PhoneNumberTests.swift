import DialerImport
import Foundation
import Testing

/// `raw` normalised in `region`, as `+digits`, or the error.
private func normalized(_ raw: String, _ region: String) -> Result<String, PhoneNumberError> {
    PhoneNumber.normalize(raw, defaultRegion: region).map(\.description)
}

@Suite("Phone numbers")
struct PhoneNumberTests {
    @Test(arguments: [
        // US and Canada (NANP): optional trunk 1, 011 and 00 international prefixes.
        ("(212) 555-0100", "US", "+12125550100"),
        ("1-212-555-0100", "US", "+12125550100"),
        ("212.555.0100", "us", "+12125550100"),
        ("+1 212 555 0100", "DK", "+12125550100"),
        ("+1 1 212 555 0100", "DK", "+12125550100"),
        ("011 44 20 7946 0000", "US", "+442079460000"),
        ("00 45 32 12 34 56", "US", "+4532123456"),
        ("613-555-0123", "CA", "+16135550123"),
        ("416 555 0123", "US", "+14165550123"),
        // GB: trunk 0, (0) after the country code.
        ("020 7946 0000", "GB", "+442079460000"),
        ("07911 123456", "GB", "+447911123456"),
        ("+44 (0)20 7946 0000", "GB", "+442079460000"),
        ("0044 20 7946 0000", "DK", "+442079460000"),
        ("447911123456", "GB", "+447911123456"),
        // DE: trunk 0, slashes, long mobile numbers.
        ("030 1234567", "DE", "+49301234567"),
        ("030/123 456-78", "DE", "+493012345678"),
        ("0151 23456789", "DE", "+4915123456789"),
        ("+49 (0) 89 1234 5678 90", "DE", "+4989123456789" + "0"),
        // FR.
        ("01 23 45 67 89", "FR", "+33123456789"),
        ("06.12.34.56.78", "FR", "+33612345678"),
        ("+33 6 12 34 56 78", "FR", "+33612345678"),
        // DK: no trunk prefix; a lost + is recovered.
        ("32 12 34 56", "DK", "+4532123456"),
        ("+45 32 12 34 56", "DK", "+4532123456"),
        ("4532123456", "DK", "+4532123456"),
        ("32\u{00A0}12\u{00A0}34\u{00A0}56", "DK", "+4532123456"),
        // NO.
        ("22 12 34 56", "NO", "+4722123456"),
        ("+47 912 34 567", "SE", "+4791234567"),
        // SE: trunk 0.
        ("08-123 456 78", "SE", "+46812345678"),
        ("070-123 45 67", "SE", "+46701234567"),
        // FI: trunk 0.
        ("040 123 4567", "FI", "+358401234567"),
        ("09 1234 567", "FI", "+35891234567"),
        ("+358 40 123 4567", "DE", "+358401234567"),
        // PL: no trunk prefix.
        ("512 345 678", "PL", "+48512345678"),
        ("+48 22 123 45 67", "PL", "+48221234567"),
        // NL: trunk 0.
        ("020-123 4567", "NL", "+31201234567"),
        ("06-12345678", "NL", "+31612345678"),
        // ES: no trunk prefix.
        ("912 345 678", "ES", "+34912345678"),
        ("612 34 56 78", "ES", "+34612345678"),
        // IT: the leading 0 of fixed lines is part of the number.
        ("06 1234 5678", "IT", "+390612345678"),
        ("+39 06 1234 5678", "IT", "+390612345678"),
        ("347 123 4567", "IT", "+393471234567"),
        // AU: trunk 0, 0011 international prefix.
        ("(02) 9876 5432", "AU", "+61298765432"),
        ("0412 345 678", "AU", "+61412345678"),
        ("0011 44 20 7946 0000", "AU", "+442079460000"),
        ("+61 2 9876 5432", "AU", "+61298765432"),
        // Countries without a national table, in international form; no region needed.
        ("+52 55 1234 5678", "US", "+525512345678"),
        ("00 45 32 12 34 56", "XX", "+4532123456"),
        ("(+45) 32 12 34 56", "", "+4532123456"),
        ("+1 876 555 0123", "US", "+18765550123"),
        ("+7 701 123 4567", "RU", "+77011234567"),
        ("+ 299 123456", "DK", "+299123456"),
    ])
    func normalizesValidNumbers(raw: String, region: String, expected: String) {
        #expect(normalized(raw, region) == .success(expected))
    }

    @Test(arguments: [
        ("", "DK", PhoneNumberError.empty),
        (" - ( ) ", "DK", .empty),
        ("abc", "DK", .containsLetters),
        ("+45 32 12 34 56 ext 2", "DK", .containsLetters),
        ("32 12 34 56 x", "DK", .containsLetters),
        ("12+34", "DK", .misplacedPlus),
        ("++45 32123456", "DK", .misplacedPlus),
        ("#32 12 34 56", "DK", .invalidCharacter("#")),
        ("32*12", "DK", .invalidCharacter("*")),
        ("32 12 34 56", "XX", .unsupportedRegion("XX")),
        ("+999 1234 5678", "DK", .unknownCountryCode),
        ("+0 123 4567", "DK", .unknownCountryCode),
        ("+800 1234 5678", "DK", .unknownCountryCode),
        ("+881 6 1234 5678", "DK", .unknownCountryCode),
        // Lengths per country.
        ("3212345", "DK", .tooShort(country: "DK", minimumDigits: 8)),
        ("321234567", "DK", .tooLong(country: "DK", maximumDigits: 8)),
        ("12 34 56 78", "DK", .invalidPrefix(country: "DK")),
        ("020 794 600", "GB", .tooShort(country: "GB", minimumDigits: 9)),
        ("+44 40 1234 5678", "GB", .invalidPrefix(country: "GB")),
        ("020 7946 00001", "GB", .tooLong(country: "GB", maximumDigits: 10)),
        ("030 12", "DE", .tooShort(country: "DE", minimumDigits: 6)),
        ("01 23 45 67", "FR", .tooShort(country: "FR", minimumDigits: 9)),
        ("+33 0 1 23 45 67 89 0", "FR", .tooLong(country: "FR", maximumDigits: 9)),
        ("512 345 67", "PL", .tooShort(country: "PL", minimumDigits: 9)),
        ("512345678", "ES", .invalidPrefix(country: "ES")),
        ("+39 5 1234 5678", "IT", .invalidPrefix(country: "IT")),
        ("0612 345 678", "AU", .invalidPrefix(country: "AU")),
        ("+52 123", "US", .tooShort(country: "+52", minimumDigits: 4)),
        ("+52 1234 5678 9012 34", "US", .tooLong(country: "+52", maximumDigits: 13)),
        // NANP rules.
        ("555-0100", "US", .tooShort(country: "NANP", minimumDigits: 10)),
        ("212 555 01000", "US", .tooLong(country: "NANP", maximumDigits: 10)),
        ("112 555 0100", "US", .invalidAreaCode("112")),
        ("012 555 0100", "US", .invalidAreaCode("012")),
        ("211 555 0100", "US", .invalidAreaCode("211")),
        ("292 555 0100", "US", .invalidAreaCode("292")),
        ("+1 911 555 0100", "GB", .invalidAreaCode("911")),
        ("212 155 0100", "US", .invalidExchange("155")),
        ("212 055 0100", "CA", .invalidExchange("055")),
        ("212 911 0100", "US", .invalidExchange("911")),
    ])
    func rejectsInvalidNumbers(raw: String, region: String, expected: PhoneNumberError) {
        #expect(normalized(raw, region) == .failure(expected))
    }

    @Test func reasonsAreWords() {
        #expect(
            PhoneNumberError.tooShort(country: "DK", minimumDigits: 8).reason
                == "too short for a DK number (at least 8 digits after the country code)")
        #expect(PhoneNumberError.invalidAreaCode("112").reason == "112 is not a valid North American area code")
        #expect(PhoneNumberError.containsLetters.reason == "contains letters")
    }

    @Test func aVeryLongInputIsRejectedCheaply() {
        #expect(
            normalized(String(repeating: "1", count: 100_000), "DK")
                == .failure(.tooLong(country: "DK", maximumDigits: 8)))
    }

    @Test func foreignNumbers() throws {
        let danish = try PhoneNumber.normalize("32 12 34 56", defaultRegion: "DK").get()
        #expect(!danish.isForeign(to: "DK"))
        #expect(!danish.isForeign(to: "dk"))
        #expect(danish.isForeign(to: "SE"))
        #expect(danish.isForeign(to: "QQ"))
        #expect(danish.region == "DK")

        let toronto = try PhoneNumber.normalize("416 555 0123", defaultRegion: "US").get()
        #expect(toronto.region == "CA")
        #expect(toronto.isForeign(to: "US"))
        #expect(!toronto.isForeign(to: "CA"))

        let newYork = try PhoneNumber.normalize("+1 212 555 0100", defaultRegion: "CA").get()
        #expect(newYork.region == "US")
        #expect(!newYork.isForeign(to: "US"))
        #expect(newYork.isForeign(to: "CA"))

        let jamaica = try PhoneNumber.normalize("876 555 0123", defaultRegion: "US").get()
        #expect(jamaica.region == "JM")
        #expect(jamaica.isForeign(to: "US"))

        let jersey = try PhoneNumber.normalize("+44 1534 123456", defaultRegion: "DK").get()
        #expect(!jersey.isForeign(to: "GB"))
        #expect(!jersey.isForeign(to: "JE"))
        #expect(jersey.isForeign(to: "DK"))

        let mexico = try PhoneNumber.normalize("+52 55 1234 5678", defaultRegion: "US").get()
        #expect(mexico.region == "MX")
        #expect(mexico.isForeign(to: "US"))
        #expect(!mexico.isForeign(to: "MX"))

        #expect(try PhoneNumber.normalize("+7 701 123 4567", defaultRegion: "DK").get().region == "KZ")
        #expect(try PhoneNumber.normalize("+7 495 123 4567", defaultRegion: "DK").get().region == "RU")
    }

    @Test func theCanonicalFormRoundTrips() throws {
        let number = try #require(E164("+4532123456"))
        #expect(number.countryCode == 45)
        #expect(number.nationalNumber == "32123456")
        #expect(number.digits == "4532123456")
        #expect(number.description == "+4532123456")
        #expect(number.redacted == "+45******56")
        #expect(E164("4532123456") == nil)
        #expect(E164("+45 32 12 34 56") == nil)
        #expect(E164("+4512345678") == nil)
        #expect(E164("+") == nil)
        #expect(E164("") == nil)
        #expect(try PhoneNumber.normalize("32 12 34 56", defaultRegion: "DK").get() == number)

        let encoded = try JSONEncoder().encode([number])
        #expect(String(decoding: encoded, as: UTF8.self) == "[\"+4532123456\"]")
        #expect(try JSONDecoder().decode([E164].self, from: encoded) == [number])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([E164].self, from: Data("[\"+45\"]".utf8)) }
    }

    @Test func everySupportedRegionReadsItsOwnNumbers() {
        #expect(
            PhoneNumber.supportedRegions.sorted() == [
                "AU", "CA", "DE", "DK", "ES", "FI", "FR", "GB", "IT", "NL", "NO", "PL", "SE", "US",
            ])
    }
}
