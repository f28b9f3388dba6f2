/// A point on a monotonic time line, as nanoseconds since an arbitrary origin.
///
/// State machines take the current moment as an argument instead of reading a clock, so the
/// same code runs in real time, scaled time, a test's manual time and the simulator's
/// virtual time. Only differences between moments of one clock mean anything.
public struct Moment: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanosecondsSinceOrigin: Int64

    public init(nanosecondsSinceOrigin: Int64) {
        self.nanosecondsSinceOrigin = nanosecondsSinceOrigin
    }

    /// The origin of the time line.
    public static let origin = Moment(nanosecondsSinceOrigin: 0)

    public static func < (lhs: Self, rhs: Self) -> Bool {
        lhs.nanosecondsSinceOrigin < rhs.nanosecondsSinceOrigin
    }

    public static func + (lhs: Self, rhs: Duration) -> Self {
        Moment(nanosecondsSinceOrigin: lhs.nanosecondsSinceOrigin + rhs.totalNanoseconds)
    }

    public static func - (lhs: Self, rhs: Duration) -> Self {
        Moment(nanosecondsSinceOrigin: lhs.nanosecondsSinceOrigin - rhs.totalNanoseconds)
    }

    public static func - (lhs: Self, rhs: Self) -> Duration {
        .nanoseconds(lhs.nanosecondsSinceOrigin - rhs.nanosecondsSinceOrigin)
    }

    public static func += (lhs: inout Self, rhs: Duration) { lhs = lhs + rhs }

    public var description: String {
        let ms = Double(nanosecondsSinceOrigin) / 1_000_000
        return "t+\(ms)ms"
    }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating at `Int64` bounds.
    public var totalNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (ns, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (total, overflow2) = ns.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? .min : .max }
        return total
    }

    /// The duration in whole milliseconds (truncated).
    public var totalMilliseconds: Int64 { totalNanoseconds / 1_000_000 }

    /// The duration in seconds as a floating-point number.
    public var seconds: Double { Double(totalNanoseconds) / 1_000_000_000 }
}
