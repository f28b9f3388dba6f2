/// Normalisation of phone numbers as people write them into E.164.
public enum PhoneNumber {
    /// The regions whose national numbers ``normalize(_:defaultRegion:)`` can read: US, CA, GB,
    /// DE, FR, DK, NO, SE, FI, PL, NL, ES, IT and AU. Numbers of every other geographic country
    /// are accepted in international form (`+`, `00`, or the region's own international prefix).
    public static var supportedRegions: [String] {
        NumberingTables.plans.map(\.region)
    }

    /// The number `raw` in E.164 form, or why it is not a valid number.
    ///
    /// - Spaces (any Unicode white space), dashes, dots, slashes and parentheses are dropped;
    ///   letters and other characters reject the number. A `+` may only come before the first
    ///   digit.
    /// - `+` or an international prefix starts the country calling code: `00` everywhere, and
    ///   the region's own as well (`011` in the NANP, `0011` in Australia). The calling code
    ///   must be a geographic country's; satellite, freephone and other non-geographic codes
    ///   are rejected as unknown.
    /// - Otherwise the number is national in `defaultRegion` (ISO 3166 alpha-2, any case): the
    ///   trunk prefix is dropped where the country has one (`0` in GB, DE, FR, SE, FI, NL and
    ///   AU; an optional `1` in the NANP; none in DK, NO, PL, ES and IT, where a leading `0`
    ///   is part of Italian numbers). A national number that is invalid as such but starts
    ///   with the region's own calling code is read as international, because spreadsheets
    ///   drop the `+` of `+4512345678`.
    /// - The national significant number must have a length the country uses and a first
    ///   digit its numbers can start with, from a table of geographic and mobile numbers for
    ///   the supported regions (service and premium ranges are not contacts to dial); other
    ///   countries only get the E.164 bounds (4 to 14 digits, 15 in all). A trunk prefix written
    ///   after the calling code, as in `+44 (0)20 ...` or `+1 1 212 ...`, is dropped.
    /// - NANP numbers have 10 digits whose area code and exchange start with 2 to 9; N11 codes
    ///   and area codes with 9 in the middle (reserved) are rejected.
    public static func normalize(_ raw: String, defaultRegion: String) -> Result<E164, PhoneNumberError> {
        var digits: [UInt8] = []
        var hasPlus = false
        for scalar in raw.unicodeScalars {
            switch scalar {
            case "0"..."9":
                // Anything longer than E.164 allows is rejected below; stop storing early so
                // that a pasted essay costs nothing.
                if digits.count <= 20 {
                    digits.append(UInt8(scalar.value))
                }
            case "+":
                guard digits.isEmpty && !hasPlus else { return .failure(.misplacedPlus) }
                hasPlus = true
            case " ", "-", ".", "(", ")", "/", "\u{2010}", "\u{2011}", "\u{2012}", "\u{2013}", "\u{2014}":
                continue
            default:
                if scalar.properties.isWhitespace {
                    continue
                }
                if scalar.properties.isAlphabetic {
                    return .failure(.containsLetters)
                }
                return .failure(.invalidCharacter(Character(scalar)))
            }
        }
        guard !digits.isEmpty else { return .failure(.empty) }

        if hasPlus {
            return international(digits[...])
        }
        guard let plan = NumberingTables.plan(forRegion: defaultRegion.uppercased()) else {
            // Without national rules only an explicit international prefix can be read.
            if digits.starts(with: Array("00".utf8)) {
                return international(digits.dropFirst(2))
            }
            return .failure(.unsupportedRegion(defaultRegion))
        }
        for prefix in plan.internationalPrefixes where digits.count > prefix.count && digits.starts(with: prefix) {
            return international(digits.dropFirst(prefix.count))
        }
        return national(digits[...], plan: plan)
    }

    /// Digits after `+` or an international prefix: a calling code, then a national number.
    private static func international(_ digits: ArraySlice<UInt8>) -> Result<E164, PhoneNumberError> {
        for length in 1...3 where digits.count > length {
            guard let code = Int(String(decoding: digits.prefix(length), as: UTF8.self)),
                digits.first != UInt8(ascii: "0"), NumberingTables.isCallingCode(code)
            else { continue }
            return validate(digits.dropFirst(length), callingCode: code)
        }
        return .failure(.unknownCountryCode)
    }

    /// Digits written nationally in the region of `plan`.
    private static func national(_ digits: ArraySlice<UInt8>, plan: NumberingPlan) -> Result<E164, PhoneNumberError> {
        let result = validate(digits, callingCode: plan.callingCode)
        guard case .failure = result else { return result }
        // `4512345678` for `+45 12 34 56 78`: the + was lost on the way (a spreadsheet cell
        // formatted as a number). Only the region's own code is tried, so nothing is guessed.
        let code = Array(String(plan.callingCode).utf8)
        if digits.starts(with: code), case .success(let number) = international(digits) {
            return .success(number)
        }
        return result
    }

    /// Checks a national number, after dropping one trunk prefix: written nationally it is
    /// expected, and after the calling code it is the common `+44 (0)20` mistake.
    private static func validate(
        _ nationalDigits: ArraySlice<UInt8>, callingCode: Int
    ) -> Result<E164, PhoneNumberError> {
        var national = nationalDigits
        if callingCode == 1 {
            return validateNANP(national)
        }
        guard let plan = NumberingTables.plan(forCallingCode: callingCode) else {
            let country = "+\(callingCode)"
            let codeLength = String(callingCode).count
            if national.count < 4 {
                return .failure(.tooShort(country: country, minimumDigits: 4))
            }
            if national.count > 15 - codeLength {
                return .failure(.tooLong(country: country, maximumDigits: 15 - codeLength))
            }
            return .success(E164(countryCode: callingCode, nationalNumber: String(decoding: national, as: UTF8.self)))
        }
        if let trunk = plan.trunkPrefix, national.first == trunk {
            national = national.dropFirst()
        }
        if national.count < plan.lengths.lowerBound {
            return .failure(.tooShort(country: plan.region, minimumDigits: plan.lengths.lowerBound))
        }
        if national.count > plan.lengths.upperBound {
            return .failure(.tooLong(country: plan.region, maximumDigits: plan.lengths.upperBound))
        }
        guard let first = national.first, plan.leadingDigits.contains(first) else {
            return .failure(.invalidPrefix(country: plan.region))
        }
        return .success(E164(countryCode: callingCode, nationalNumber: String(decoding: national, as: UTF8.self)))
    }

    /// The North American Numbering Plan: `[1] NXX NXX XXXX`.
    private static func validateNANP(_ digits: ArraySlice<UInt8>) -> Result<E164, PhoneNumberError> {
        var national = digits
        if national.count == 11 && national.first == UInt8(ascii: "1") {
            national = national.dropFirst()
        }
        if national.count < 10 {
            return .failure(.tooShort(country: "NANP", minimumDigits: 10))
        }
        if national.count > 10 {
            return .failure(.tooLong(country: "NANP", maximumDigits: 10))
        }
        let number = Array(national)
        func isN(_ digit: UInt8) -> Bool { digit >= UInt8(ascii: "2") && digit <= UInt8(ascii: "9") }
        func isN11(_ start: Int) -> Bool {
            number[start + 1] == UInt8(ascii: "1") && number[start + 2] == UInt8(ascii: "1")
        }
        let areaCode = String(decoding: number[0..<3], as: UTF8.self)
        // N9X area codes are held back for expanding the plan; N11 codes are service numbers.
        guard isN(number[0]), number[1] != UInt8(ascii: "9"), !isN11(0) else {
            return .failure(.invalidAreaCode(areaCode))
        }
        guard isN(number[3]), !isN11(3) else {
            return .failure(.invalidExchange(String(decoding: number[3..<6], as: UTF8.self)))
        }
        return .success(E164(countryCode: 1, nationalNumber: String(decoding: number, as: UTF8.self)))
    }
}
