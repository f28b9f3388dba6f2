public import DialerCore

/// A clock that runs `scale` times faster than the clock it wraps.
///
/// With a scale of 60 a minute of simulated call passes in a second of the base clock: the
/// simulated trunk computes every duration in call time and sleeps on this clock, so the
/// same population runs in real time (scale 1 over `SystemClock`), faster for a demo, or in
/// a test's manual time.
///
/// Its moments are the base clock's scaled from the base's origin (a base moment of 2 s is
/// 120 s at scale 60), so two scaled clocks with the same base and scale agree, whenever
/// each was made.
public struct ScaledClock: DialerClock {
    /// The clock it runs on.
    public let base: any DialerClock
    /// Seconds of scaled time per second of base time.
    public let scale: Double

    /// Wraps `base`; `scale` must be above 0 (and finite).
    public init(base: any DialerClock, scale: Double) {
        precondition(scale > 0 && scale.isFinite, "a clock's scale must be above 0 and finite")
        self.base = base
        self.scale = scale
    }

    public func now() -> Moment {
        Moment(nanosecondsSinceOrigin: scaled(base.now().nanosecondsSinceOrigin))
    }

    /// Sleeps on the base clock until its scaled time reaches `deadline`.
    public func sleep(until deadline: Moment) async throws {
        // The base sleeps until the first base moment whose scaled time reaches the deadline.
        // That moment depends on the deadline alone, never on the base's time when it was
        // computed: the base may pass it meanwhile (another thread advancing a manual clock),
        // and the sleep then returns at once. (Sleeping to "the base's now plus one" instead
        // hung whenever the base reached the deadline between the two reads, on a clock that
        // nobody advances any further.)
        while now() < deadline {
            try await base.sleep(
                until: Moment(nanosecondsSinceOrigin: firstBaseReaching(deadline.nanosecondsSinceOrigin)))
        }
    }

    /// The first base nanosecond at which the scaled time is at least `nanoseconds`, allowing
    /// for the rounding of fractional scales.
    private func firstBaseReaching(_ nanoseconds: Int64) -> Int64 {
        var target = unscaledRoundingUp(nanoseconds)
        var steps = 0
        while scaled(target) < nanoseconds, target < .max, steps < 1 << 16 {
            target += 1
            steps += 1
        }
        return target
    }

    /// Scaled nanoseconds for base nanoseconds; exact for whole scales.
    private func scaled(_ nanoseconds: Int64) -> Int64 {
        if let whole = wholeScale {
            let (product, overflow) = nanoseconds.multipliedReportingOverflow(by: whole)
            if !overflow { return product }
        }
        return saturating(Double(nanoseconds) * scale)
    }

    /// The first base nanosecond at which the scaled time reaches `nanoseconds`.
    private func unscaledRoundingUp(_ nanoseconds: Int64) -> Int64 {
        if let whole = wholeScale {
            // Ceiling division that is also right for negative values.
            let (quotient, remainder) = nanoseconds.quotientAndRemainder(dividingBy: whole)
            return remainder > 0 ? quotient + 1 : quotient
        }
        return saturating((Double(nanoseconds) / scale).rounded(.up))
    }

    private var wholeScale: Int64? {
        scale == scale.rounded() && scale <= 1_000_000_000 ? Int64(scale) : nil
    }

    private func saturating(_ value: Double) -> Int64 {
        if value >= Double(Int64.max) { return .max }
        if value <= Double(Int64.min) { return .min }
        return Int64(value.rounded(.down))
    }
}
