import Foundation
import Testing

@testable import DialerImport

/// The zone guessed for `number`, which must be valid.
private func zone(_ number: String) throws -> String? {
    TimeZoneGuess.zone(for: try #require(E164(number), "\(number) is not valid"))
}

@Suite("Time zone guess")
struct TimeZoneGuessTests {
    @Test(arguments: [
        ("+4532123456", "Europe/Copenhagen"),
        ("+49301234567", "Europe/Berlin"),
        ("+442079460000", "Europe/London"),
        ("+441534123456", "Europe/London"),
        ("+33123456789", "Europe/Paris"),
        ("+4722123456", "Europe/Oslo"),
        ("+46812345678", "Europe/Stockholm"),
        ("+358401234567", "Europe/Helsinki"),
        ("+48221234567", "Europe/Warsaw"),
        ("+31201234567", "Europe/Amsterdam"),
        ("+390612345678", "Europe/Rome"),
        ("+34912345678", "Europe/Madrid"),
        ("+34612345678", "Europe/Madrid"),
        ("+34928123456", "Atlantic/Canary"),
        ("+34822123456", "Atlantic/Canary"),
        ("+41441234567", "Europe/Zurich"),
        ("+81312345678", "Asia/Tokyo"),
        // NANP by area code, every US zone.
        ("+12125550100", "America/New_York"),
        ("+13125550100", "America/Chicago"),
        ("+17135550100", "America/Chicago"),
        ("+13035550100", "America/Denver"),
        ("+16025550100", "America/Phoenix"),
        ("+12135550100", "America/Los_Angeles"),
        ("+19075550100", "America/Anchorage"),
        ("+18085550100", "Pacific/Honolulu"),
        ("+13175550100", "America/Indiana/Indianapolis"),
        // Canada and the territories.
        ("+14165550100", "America/Toronto"),
        ("+16045550100", "America/Vancouver"),
        ("+14035550100", "America/Edmonton"),
        ("+13065550100", "America/Regina"),
        ("+12045550100", "America/Winnipeg"),
        ("+19025550100", "America/Halifax"),
        ("+17095550100", "America/St_Johns"),
        ("+18765550100", "America/Jamaica"),
        ("+17875550100", "America/Puerto_Rico"),
        ("+16715550100", "Pacific/Guam"),
        // Australia by area digit.
        ("+61298765432", "Australia/Sydney"),
        ("+61398765432", "Australia/Melbourne"),
        ("+61798765432", "Australia/Brisbane"),
        ("+61898765432", "Australia/Perth"),
        ("+61861234567", "Australia/Perth"),
    ])
    func guessesTheZone(number: String, expected: String) throws {
        #expect(try zone(number) == expected)
    }

    @Test(arguments: [
        "+18505550100",  // Florida panhandle: Central and Eastern
        "+19285550100",  // Arizona with the Navajo Nation
        "+12505550100",  // British Columbia, several zones
        "+18675550100",  // Canada's territories
        "+15555550100",  // not an area code in use
        "+61412345678",  // Australian mobile
        "+61881234567",  // South Australia, Northern Territory or Broken Hill
        "+74951234567",  // Russia
        "+525512345678",  // Mexico
        "+351211234567",  // Portugal, with the Azores
    ])
    func saysNothingWhenTheNumberDoesNotSettleIt(number: String) throws {
        #expect(try zone(number) == nil)
    }

    @Test func theAreaCodeTableHasNoRepeatsAndCoversEveryUSZone() {
        let entries = TimeZoneGuess.nanpZoneEntries
        let codes = entries.map(\.areaCode)
        #expect(Set(codes).count == codes.count)
        #expect(codes.count >= 250)
        let zones = Set(entries.map(\.zone))
        for usZone in [
            "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles",
            "America/Anchorage", "Pacific/Honolulu",
        ] {
            #expect(zones.contains(usZone))
        }
    }

    @Test func everyTabledAreaCodeIsAValidNANPCodeInTheRightCountry() throws {
        let canadianZones: Set = [
            "America/Toronto", "America/Winnipeg", "America/Regina", "America/Edmonton", "America/Vancouver",
            "America/Halifax", "America/Moncton", "America/St_Johns",
        ]
        for (areaCode, zone) in TimeZoneGuess.nanpZoneEntries {
            let number = try #require(E164("+1\(areaCode)5550100"), "area code \(areaCode)")
            #expect(number.region == (canadianZones.contains(zone) ? "CA" : "US"), "area code \(areaCode)")
        }
    }

    @Test func everyZoneInTheTablesIsAKnownIANAZone() {
        var identifiers = Set(TimeZoneGuess.nanpZoneEntries.map(\.zone))
        identifiers.formUnion(NumberingTables.nanpTerritoryZones.values)
        identifiers.formUnion(NumberingTables.callingCodes.values.compactMap(\.zone))
        identifiers.formUnion([
            "Atlantic/Canary", "Australia/Sydney", "Australia/Melbourne", "Australia/Brisbane", "Australia/Perth",
        ])
        for identifier in identifiers {
            #expect(TimeZone(identifier: identifier) != nil, "\(identifier)")
        }
    }

    @Test func callingCodesArePrefixFree() {
        let codes = NumberingTables.callingCodes.keys.map(String.init)
        for code in codes {
            #expect(!codes.contains { $0 != code && $0.hasPrefix(code) }, "\(code)")
        }
    }
}
