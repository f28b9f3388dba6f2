import Foundation

// Wall-clock arithmetic in one time zone, built on the zone's UTC offsets alone.
//
// `Calendar` answers "the instant of 02:30 on 8 March in New York" with a guess (the clock skips
// 02:30 that night) and picks one of the two 01:30s on a fall-back night; the rules here need to
// know that there is no such instant, or that there are two. Working from offsets also keeps
// the arithmetic exact: an instant plus its offset is the local wall time, counted in seconds
// since 1970-01-01T00:00 local, and a local day is a whole multiple of 86,400 of those.

/// The local wall-clock reading of one zone, as day number and second of that day.
struct WallClock: Sendable {
    static let secondsPerDay: Double = 86_400
    /// How far ahead an opening is searched: a week of windows, plus a day for the clock moving.
    static let searchHorizon: Double = 8 * 86_400

    let zone: TimeZone

    init(_ zone: TimeZone) {
        self.zone = zone
    }

    /// The zone's offset from UTC at `instant` (seconds since 1970 UTC).
    func offset(at instant: Double) -> Double {
        Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: instant)))
    }

    /// The local day (days since 1970-01-01 local) and the second of that day at `instant`.
    func reading(at instant: Double) -> (day: Int, second: Double) {
        let local = instant + offset(at: instant)
        let day = (local / Self.secondsPerDay).rounded(.down)
        return (Int(day), local - day * Self.secondsPerDay)
    }

    /// 0 for Sunday through 6 for Saturday (1970-01-01 was a Thursday).
    static func weekdayIndex(ofDay day: Int) -> Int {
        ((day + 4) % 7 + 7) % 7
    }

    /// Every instant at which the clock reads `second` on local `day`, earliest first: one on most
    /// days, two when the clock is turned back across that time, none when it skips it.
    func instants(day: Int, second: Double) -> [Double] {
        let wall = Double(day) * Self.secondsPerDay + second
        // The instant is within 14 hours of `wall`, so the offsets in force a day either side
        // include every offset that can apply (zones move their clocks at most once in two days).
        var found: [Double] = []
        for probe in [wall - Self.secondsPerDay, wall, wall + Self.secondsPerDay] {
            let candidate = wall - offset(at: probe)
            if offset(at: candidate) + candidate == wall, !found.contains(candidate) {
                found.append(candidate)
            }
        }
        return found.sorted()
    }

    /// The instants in (`start`, `end`] at which the zone's offset changes.
    ///
    /// Found by sampling every three hours and bisecting to the second; zones change offset at
    /// whole seconds and never twice within three hours.
    func transitions(after start: Double, through end: Double) -> [Double] {
        let step = 3 * 3600.0
        var result: [Double] = []
        var low = start.rounded(.down)
        var lowOffset = offset(at: low)
        while low < end {
            let high = min(low + step, end.rounded(.up))
            let highOffset = offset(at: high)
            if highOffset != lowOffset {
                var before = low
                var after = high
                while after - before > 1 {
                    let middle = ((before + after) / 2).rounded(.down)
                    if offset(at: middle) == lowOffset { before = middle } else { after = middle }
                }
                if after > start, after <= end { result.append(after) }
            }
            low = high
            lowOffset = highOffset
        }
        return result
    }
}

/// Spans of wall-clock time in a week: for each weekday, the half-open spans of the day
/// (in seconds since local midnight) that are "open".
struct WeeklyHours: Sendable {
    /// Seven entries, Sunday first.
    private(set) var spans: [[(start: Double, end: Double)]]

    /// The campaign's windows, as given.
    init(windows: [CallingWindow]) {
        var spans = [[(start: Double, end: Double)]](repeating: [], count: 7)
        for window in windows where window.start < window.end {
            spans[window.weekday.index].append((window.start.secondOfDay, window.end.secondOfDay))
        }
        self.spans = spans
    }

    /// The same hours on every day.
    init(daily hours: CallingHours) {
        let span = hours.start < hours.end ? [(start: hours.start.secondOfDay, end: hours.end.secondOfDay)] : []
        self.spans = [[(start: Double, end: Double)]](repeating: span, count: 7)
    }

    /// For each weekday, one span from its first window's start to its last window's end: when
    /// an automatic campaign counts as switched on (the gaps between windows do not switch it off).
    static func envelope(of windows: [CallingWindow]) -> WeeklyHours {
        var hours = WeeklyHours(windows: windows)
        hours.spans = hours.spans.map { day in
            guard let first = day.map(\.start).min(), let last = day.map(\.end).max() else { return [] }
            return [(first, last)]
        }
        return hours
    }

    /// Whether no span is open on any day.
    var isEmpty: Bool { spans.allSatisfy(\.isEmpty) }

    func contains(weekday: Int, second: Double) -> Bool {
        spans[weekday].contains { $0.start <= second && second < $0.end }
    }
}

extension WallClock {
    /// Whether the clock's reading at `instant` falls in an open span.
    func isOpen(_ hours: WeeklyHours, at instant: Double) -> Bool {
        let (day, second) = reading(at: instant)
        return hours.contains(weekday: Self.weekdayIndex(ofDay: day), second: second)
    }

    /// The earliest instant at or after `instant` at which `hours` are open, or `nil` if none is
    /// within ``searchHorizon``.
    ///
    /// The reading enters an open span either by the clock passing a span's start or by the
    /// clock jumping (a daylight-saving change); so those instants, and `instant` itself, are the
    /// only candidates.
    func nextOpening(_ hours: WeeklyHours, from instant: Double) -> Double? {
        if isOpen(hours, at: instant) { return instant }
        if hours.isEmpty { return nil }
        let limit = instant + Self.searchHorizon
        var candidates = transitions(after: instant, through: limit)
        let firstDay = reading(at: instant).day - 1
        let lastDay = reading(at: limit).day + 1
        for day in firstDay...lastDay {
            for span in hours.spans[Self.weekdayIndex(ofDay: day)] {
                candidates += instants(day: day, second: span.start).filter { $0 > instant && $0 <= limit }
            }
        }
        return candidates.sorted().first { isOpen(hours, at: $0) }
    }
}
