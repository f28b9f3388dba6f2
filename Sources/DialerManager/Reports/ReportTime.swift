public import FoundationEssentials

/// Instants as reports and exports read and write them: RFC 3339 text, parsed and formatted by
/// hand. The export formats several instants per row for a million rows, and a strict parser
/// can say which part of a bad value is wrong.
public enum ReportTime {
    /// The earliest and latest instants the API accepts (1970-01-01 and 2200-01-01, UTC): far
    /// beyond any call, and well inside what every conversion can hold.
    static let earliest = Date(timeIntervalSince1970: 0)
    static let latest = Date(timeIntervalSince1970: 7_258_118_400)

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The civil date of a day count since 1970-01-01.
    static func civil(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// `2026-12-06T09:30:00.250Z` or, with an offset in seconds, `2026-12-06T10:30:00.250+01:00`;
    /// milliseconds only when there are any.
    public static func format(unixSeconds: Double, offsetSeconds: Int = 0) -> String {
        // Years 0001 to 9999 at most, so that no stored value can trap the conversion.
        let bounded = unixSeconds.isFinite ? min(max(unixSeconds, -62_135_596_800), 253_402_300_799) : 0
        let totalMilliseconds = Int((bounded * 1000).rounded(.down)) + offsetSeconds * 1000
        let (seconds, milliseconds) = floorDivide(totalMilliseconds, 1000)
        let (days, secondOfDay) = floorDivide(seconds, 86_400)
        let date = civil(days: days)
        var text = ""
        text.reserveCapacity(29)
        appendDigits(date.year, 4, to: &text)
        text.append("-")
        appendDigits(date.month, 2, to: &text)
        text.append("-")
        appendDigits(date.day, 2, to: &text)
        text.append("T")
        appendDigits(secondOfDay / 3600, 2, to: &text)
        text.append(":")
        appendDigits(secondOfDay / 60 % 60, 2, to: &text)
        text.append(":")
        appendDigits(secondOfDay % 60, 2, to: &text)
        if milliseconds != 0 {
            text.append(".")
            appendDigits(milliseconds, 3, to: &text)
        }
        if offsetSeconds == 0 {
            text.append("Z")
        } else {
            text.append(offsetSeconds < 0 ? "-" : "+")
            let minutes = abs(offsetSeconds) / 60
            appendDigits(minutes / 60, 2, to: &text)
            text.append(":")
            appendDigits(minutes % 60, 2, to: &text)
        }
        return text
    }

    /// An instant in the API's form, in `zone` (`Z` for UTC).
    public static func format(_ date: Date, in zone: TimeZone) -> String {
        format(unixSeconds: date.timeIntervalSince1970, offsetSeconds: zone.secondsFromGMT(for: date))
    }

    private static func floorDivide(_ value: Int, _ divisor: Int) -> (Int, Int) {
        let quotient = value >= 0 ? value / divisor : -((-value + divisor - 1) / divisor)
        return (quotient, value - quotient * divisor)
    }

    private static func appendDigits(_ value: Int, _ width: Int, to text: inout String) {
        let digits = String(value)
        if digits.count < width { text.append(String(repeating: "0", count: width - digits.count)) }
        text.append(digits)
    }

    /// Reads an RFC 3339 date-time (`2026-12-06T10:00:00Z`, `...10:00:00.5+01:00`) or a date
    /// (`2026-12-06`, midnight in `zone`). The message names `field` and what is wrong.
    static func parse(_ text: String, field: String, zone: TimeZone) throws(APIError) -> Date {
        let bytes = Array(text.utf8)
        func fail(_ why: String) -> APIError {
            APIError.invalid(
                "\(field): \(why); expected an RFC 3339 date-time such as 2026-12-06T09:00:00Z or a date such as 2026-12-06"
            )
        }
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[start..<start + count] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        guard bytes.count >= 10, let year = number(0, 4), bytes[4] == 0x2D, let month = number(5, 2),
            bytes[7] == 0x2D, let day = number(8, 2)
        else { throw fail("not a date") }
        guard (1970...2199).contains(year) else { throw fail("the year must be from 1970 to 2199") }
        guard (1...12).contains(month) else { throw fail("the month must be from 01 to 12") }
        guard (1...daysInMonth(year: year, month: month)).contains(day) else {
            throw fail("day \(day) is not in that month")
        }
        if bytes.count == 10 {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            guard let date = calendar.date(from: DateComponents(year: year, month: month, day: day)) else {
                throw fail("not a day in \(zone.identifier)")
            }
            return date
        }
        guard bytes[10] == 0x54 || bytes[10] == 0x74, let hour = number(11, 2), bytes.count >= 19,
            bytes[13] == 0x3A, let minute = number(14, 2), bytes[16] == 0x3A, let second = number(17, 2)
        else { throw fail("not a date-time") }
        guard hour <= 23, minute <= 59, second <= 59 else { throw fail("the time of day is out of range") }
        var index = 19
        var fraction = 0.0
        if index < bytes.count, bytes[index] == 0x2E {
            index += 1
            var scale = 0.1
            let start = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
                fraction += Double(bytes[index] - 0x30) * scale
                scale /= 10
                index += 1
            }
            guard index > start, index - start <= 9 else { throw fail("1 to 9 digits of fractional seconds") }
        }
        var offset = 0
        guard index < bytes.count else { throw fail("the time zone offset (Z or +hh:mm) is missing") }
        switch bytes[index] {
        case 0x5A, 0x7A:
            index += 1
        case 0x2B, 0x2D:
            guard let offsetHours = number(index + 1, 2), index + 3 < bytes.count, bytes[index + 3] == 0x3A,
                let offsetMinutes = number(index + 4, 2), offsetHours <= 23, offsetMinutes <= 59
            else { throw fail("the offset must be +hh:mm or -hh:mm") }
            offset = (offsetHours * 3600 + offsetMinutes * 60) * (bytes[index] == 0x2D ? -1 : 1)
            index += 6
        default:
            throw fail("the time zone offset (Z or +hh:mm) is missing")
        }
        guard index == bytes.count else { throw fail("unexpected text after the offset") }
        let seconds = days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        let date = Date(timeIntervalSince1970: Double(seconds) + fraction)
        guard date >= earliest, date < latest else { throw fail("out of range (1970 to 2199)") }
        return date
    }

    /// The time zone named `identifier` (IANA, such as `Europe/Copenhagen`), UTC when absent.
    static func zone(_ identifier: String?, field: String = "time_zone") throws(APIError) -> TimeZone {
        guard let identifier else { return TimeZone(identifier: "UTC")! }
        guard identifier.utf8.count <= 64, let zone = TimeZone(identifier: identifier) else {
            throw APIError.invalid(
                "\(field): '\(identifier.prefix(64))' is not an IANA time zone such as Europe/Copenhagen or UTC")
        }
        return zone
    }
}
