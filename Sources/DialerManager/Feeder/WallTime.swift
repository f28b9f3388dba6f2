public import DialerCore
public import FoundationEssentials

/// Calendar dates read from the injected clock: the date at a known moment plus the time the
/// clock has run since, so that the feeder's rules (calling hours, retry times) follow a test's
/// manual clock or the simulator's virtual one exactly as they follow real time.
public struct WallTime: Sendable {
    private let clock: any DialerClock
    private let anchorDate: Date
    private let anchorMoment: Moment

    /// Dates on `clock`, where the clock's current moment is `date` (the system's date, in a
    /// process; a fixed date, in a test).
    public init(clock: any DialerClock, now date: Date) {
        self.clock = clock
        self.anchorDate = date
        self.anchorMoment = clock.now()
    }

    /// The date now.
    public func now() -> Date { date(at: clock.now()) }

    /// The date at `moment` of the clock.
    public func date(at moment: Moment) -> Date {
        anchorDate.addingTimeInterval(Double((moment - anchorMoment).totalNanoseconds) / 1e9)
    }
}
