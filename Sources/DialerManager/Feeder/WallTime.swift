public import DialerCore
public import FoundationEssentials

/// Calendar dates read from the injected clock: the date at a known moment plus the time the
/// clock has run since, so that the feeder's rules (calling hours, retry times) follow a test's
/// manual clock or the simulator's virtual one exactly as they follow real time.
public struct WallTime: Sendable {
    /// The clock the dates run on.
    let clock: any DialerClock
    private let calendar: CalendarAnchor

    /// Dates on `clock`, where the clock's current moment is `date` (the system's date, in a
    /// process; a fixed date, in a test).
    public init(clock: any DialerClock, now date: Date) {
        self.clock = clock
        self.calendar = CalendarAnchor(moment: clock.now(), date: date)
    }

    /// The date now.
    public func now() -> Date { calendar.date(at: clock.now()) }

    /// The date at `moment` of the clock.
    public func date(at moment: Moment) -> Date { calendar.date(at: moment) }
}
