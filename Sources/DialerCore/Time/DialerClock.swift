/// The time source every actor of the product is given, instead of reading the system clock.
///
/// The real clock, a scaled clock (a simulated minute per real second), a test's manual clock
/// and the simulator's virtual clock all conform, so that time-dependent behaviour (leases,
/// heartbeats, pacing, timeouts) can be driven step by step in tests.
public protocol DialerClock: Sendable {
    /// The current moment on this clock's monotonic time line.
    func now() -> Moment
    /// Suspends until the clock reaches `deadline` (or returns at once if it has passed).
    func sleep(until deadline: Moment) async throws
}

extension DialerClock {
    /// Suspends for `duration` on this clock.
    public func sleep(for duration: Duration) async throws {
        try await sleep(until: now() + duration)
    }
}

/// The machine's monotonic clock; moments count from the first use in this process.
public struct SystemClock: DialerClock {
    private static let origin = ContinuousClock.now

    public init() {}

    public func now() -> Moment {
        Moment(nanosecondsSinceOrigin: (ContinuousClock.now - Self.origin).totalNanoseconds)
    }

    public func sleep(until deadline: Moment) async throws {
        let target = Self.origin + .nanoseconds(deadline.nanosecondsSinceOrigin)
        try await Task.sleep(until: target, clock: .continuous)
    }
}
