/// Why a phone number was rejected.
///
/// The reasons name the country and the rule, never the number: they end up in import
/// reports and logs, and a full number is personal data.
public enum PhoneNumberError: Error, Sendable, Hashable, CustomStringConvertible {
    /// There are no digits at all.
    case empty
    /// The text holds letters (`ext. 12`, `n/a`, a name in the wrong column).
    case containsLetters
    /// The text holds a character that is neither a digit nor a separator.
    case invalidCharacter(Character)
    /// A `+` that is not in front of the first digit.
    case misplacedPlus
    /// The number has no international prefix and the default region is not one whose
    /// national numbers this module can read.
    case unsupportedRegion(String)
    /// The digits after `+` or the international prefix start with no geographic country
    /// calling code.
    case unknownCountryCode
    /// The national number has fewer digits than the country uses; `country` is the region
    /// (`GB`) or, for a country without a national table, its calling code (`+52`).
    case tooShort(country: String, minimumDigits: Int)
    /// The national number has more digits than the country uses.
    case tooLong(country: String, maximumDigits: Int)
    /// The national number starts with a digit the country's numbers never start with.
    case invalidPrefix(country: String)
    /// A North American area code that cannot exist (starts with 0 or 1, is N11, or has 9 in
    /// the middle, which is reserved).
    case invalidAreaCode(String)
    /// A North American exchange (the three digits after the area code) that cannot exist.
    case invalidExchange(String)

    /// The reason in words, for an import report.
    public var description: String {
        switch self {
        case .empty:
            "no digits"
        case .containsLetters:
            "contains letters"
        case .invalidCharacter(let character):
            "contains the character \(character.debugDescription)"
        case .misplacedPlus:
            "a + may only stand before the country code"
        case .unsupportedRegion(let region):
            "national numbers of region \"\(region)\" are not supported; write the number with + and the country code"
        case .unknownCountryCode:
            "unknown country calling code"
        case .tooShort(let country, let minimum):
            "too short for a \(country) number (at least \(minimum) digits after the country code)"
        case .tooLong(let country, let maximum):
            "too long for a \(country) number (at most \(maximum) digits after the country code)"
        case .invalidPrefix(let country):
            "\(country) numbers do not start this way"
        case .invalidAreaCode(let code):
            "\(code) is not a valid North American area code"
        case .invalidExchange(let code):
            "\(code) is not a valid North American exchange"
        }
    }

    /// The same as ``description``: a reason string for an import report.
    public var reason: String { description }
}
