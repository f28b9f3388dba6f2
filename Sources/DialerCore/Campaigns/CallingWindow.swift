/// A wall-clock time of day, to the minute, from 00:00 through 24:00.
///
/// 24:00 exists so that a window can run to the end of a day: windows never cross midnight
/// (write two windows instead), which keeps "is it open now?" a question about one local day.
/// Encoded as the string `"HH:MM"`.
public struct LocalTime: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Minutes since the start of the local day, 0 through 1440.
    public var minutesSinceMidnight: Int

    /// The time `hour`:`minute`; use ``isValid`` (or the settings' validation) to check the range.
    public init(hour: Int, minute: Int = 0) {
        self.minutesSinceMidnight = hour * 60 + minute
    }

    /// Parses `"HH:MM"` (or `"H:MM"`); `nil` if it is not a time from 00:00 through 24:00.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, (1...2).contains(parts[0].count), parts[1].count == 2,
            let hour = Int(parts[0]), let minute = Int(parts[1]),
            (0...24).contains(hour), (0...59).contains(minute), hour < 24 || minute == 0
        else { return nil }
        self.init(hour: hour, minute: minute)
    }

    /// 00:00, the start of a day.
    public static let startOfDay = LocalTime(hour: 0)
    /// 24:00, the end of a day.
    public static let endOfDay = LocalTime(hour: 24)

    /// The hour, 0 through 24.
    public var hour: Int { minutesSinceMidnight / 60 }
    /// The minute of the hour.
    public var minute: Int { minutesSinceMidnight % 60 }
    /// Whether the time lies in 00:00 through 24:00.
    public var isValid: Bool { (0...1440).contains(minutesSinceMidnight) }

    /// Seconds since the start of the local day.
    var secondOfDay: Double { Double(minutesSinceMidnight * 60) }

    public var description: String {
        guard isValid else { return "\(minutesSinceMidnight) min" }
        let minutes = minute < 10 ? "0\(minute)" : "\(minute)"
        let hours = hour < 10 ? "0\(hour)" : "\(hour)"
        return "\(hours):\(minutes)"
    }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.minutesSinceMidnight < rhs.minutesSinceMidnight }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let time = LocalTime(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected a time of day \"HH:MM\" from 00:00 to 24:00")
        }
        self = time
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// A day of the week, as local calendars name it.
public enum Weekday: String, Hashable, Sendable, Codable, CaseIterable {
    case sunday
    case monday
    case tuesday
    case wednesday
    case thursday
    case friday
    case saturday

    /// 0 for Sunday through 6 for Saturday.
    var index: Int {
        switch self {
        case .sunday: 0
        case .monday: 1
        case .tuesday: 2
        case .wednesday: 3
        case .thursday: 4
        case .friday: 5
        case .saturday: 6
        }
    }

    /// Monday through Friday.
    public static let workdays: [Weekday] = [.monday, .tuesday, .wednesday, .thursday, .friday]
}

/// One calling window of a campaign: a weekday and a span of local wall-clock time on it.
///
/// The window is open while the campaign's clock reads from `start` (inclusive) to `end`
/// (exclusive) on that weekday. Being about the wall clock, a window follows daylight-saving
/// changes: 09:00–17:00 is 09:00–17:00 on the day the clocks move, and a part of a window that
/// the clock skips (02:00–03:00 on a spring-forward night) simply does not happen that day.
public struct CallingWindow: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The day the window is on.
    public var weekday: Weekday
    /// When it opens, local time.
    public var start: LocalTime
    /// When it closes, local time; after `start`, at most 24:00.
    public var end: LocalTime

    /// A window on `weekday` from `start` to `end`.
    public init(weekday: Weekday, start: LocalTime, end: LocalTime) {
        self.weekday = weekday
        self.start = start
        self.end = end
    }

    /// The same window on each of `weekdays`.
    public static func on(_ weekdays: [Weekday], from start: LocalTime, to end: LocalTime) -> [CallingWindow] {
        weekdays.map { CallingWindow(weekday: $0, start: start, end: end) }
    }

    public var description: String { "\(weekday.rawValue) \(start)-\(end)" }
}

/// The hours of every day in which a contact may be called, in the contact's own time zone.
///
/// The default, 08:00 to 21:00, is the US rule (and a common choice elsewhere).
public struct CallingHours: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The earliest local time a call may start.
    public var start: LocalTime
    /// The local time from which no call may start.
    public var end: LocalTime

    /// Calling hours from `start` to `end`, local time, every day.
    public init(start: LocalTime = LocalTime(hour: 8), end: LocalTime = LocalTime(hour: 21)) {
        self.start = start
        self.end = end
    }

    /// 08:00 to 21:00.
    public static let standard = CallingHours()

    public var description: String { "\(start)-\(end)" }
}
