public import Foundation

/// Calendar dates read from moments of one ``DialerClock``: the date at a known moment, plus the
/// clock's time since, slowed by the clock's scale.
///
/// A node's runners keep call time, which a simulated trunk may run faster than the wall
/// (``clockSecondsPerSecond`` is then its time scale); calling hours are on the wall's calendar,
/// the one the manager hands contacts out by. A test fixes the date, so that hours open and close
/// where it wants.
public struct CalendarAnchor: Hashable, Sendable {
    /// A moment of the clock.
    public var moment: Moment
    /// The date at ``moment``.
    public var date: Date
    /// Seconds of the clock per second of the calendar (1 for a clock that keeps wall time).
    public var clockSecondsPerSecond: Double

    /// The calendar where the clock's `moment` is `date`.
    public init(moment: Moment, date: Date, clockSecondsPerSecond: Double = 1) {
        self.moment = moment
        self.date = date
        self.clockSecondsPerSecond = clockSecondsPerSecond > 0 ? clockSecondsPerSecond : 1
    }

    /// The date at `moment` of the clock.
    public func date(at moment: Moment) -> Date {
        let clockSeconds = Double((moment - self.moment).totalNanoseconds) / 1e9
        return date.addingTimeInterval(clockSeconds / clockSecondsPerSecond)
    }
}
