/// A phone number in E.164 form: a country calling code and a national significant number,
/// written `+4512345678`.
///
/// Values come from ``PhoneNumber/normalize(_:defaultRegion:)`` or ``init(_:)``, so they are
/// always valid by this module's tables. Two spellings of the same number are equal once
/// normalised, which is what makes "numbers are unique within a list" checkable.
public struct E164: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The country calling code (`45` for Denmark, `1` for the NANP).
    public let countryCode: Int
    /// The national significant number: the digits after the country code, without a trunk
    /// prefix.
    public let nationalNumber: String

    init(countryCode: Int, nationalNumber: String) {
        self.countryCode = countryCode
        self.nationalNumber = nationalNumber
    }

    /// Reads a number in canonical form, `+` and digits only (as ``description`` writes it and a
    /// database stores it). Nil for any other text or an invalid number; use
    /// ``PhoneNumber/normalize(_:defaultRegion:)`` for numbers as people write them.
    public init?(_ canonical: String) {
        let utf8 = canonical.utf8
        guard utf8.first == UInt8(ascii: "+"), utf8.count > 1,
            utf8.dropFirst().allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            case .success(let number) = PhoneNumber.normalize(canonical, defaultRegion: "")
        else { return nil }
        self = number
    }

    /// The digits without `+`: country code then national number.
    public var digits: String { String(countryCode) + nationalNumber }

    /// `+` and the digits.
    public var description: String { "+" + digits }

    /// The number with all but the country code and the last two digits masked
    /// (`+45******78`), for logs: a full number is personal data.
    public var redacted: String {
        let shown = min(2, nationalNumber.count / 4)
        return "+\(countryCode)" + String(repeating: "*", count: nationalNumber.count - shown)
            + nationalNumber.suffix(shown)
    }

    /// The ISO 3166 region the number belongs to, as far as the calling code (and, in the North
    /// American Numbering Plan, the area code) tells: `DK`, `CA`, `JM`. A code shared by several
    /// regions gives its main one (`+44` is `GB`, `+7` is `RU` but `KZ` for `+76`/`+77`). NANP
    /// area codes not known to be elsewhere are `US`.
    public var region: String {
        NumberingTables.region(of: self)
    }

    /// Whether the number is in another country than `region` (ISO 3166 alpha-2, any case).
    ///
    /// Within the NANP the area code decides, so a Canadian or Jamaican number is foreign to
    /// `US`; US territories with their own ISO code (`PR`, `GU`, `VI` ...) count as foreign to
    /// `US` too. Elsewhere the calling code decides: every region sharing a code (GB, JE, GG,
    /// IM share `+44`) is home to all of its numbers. A region this module does not know is
    /// treated as foreign to every number.
    public func isForeign(to region: String) -> Bool {
        let region = region.uppercased()
        if countryCode == 1 {
            return self.region != region
        }
        return NumberingTables.callingCode(of: region) != countryCode
    }

    public static func < (lhs: E164, rhs: E164) -> Bool {
        lhs.digits < rhs.digits
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let number = E164(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "not a valid E.164 number in +digits form")
        }
        self = number
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
