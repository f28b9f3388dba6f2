import Synchronization
import Testing

@testable import DialerRuntime

/// A clock whose sleeps wake up a set time after their deadline, as a busy pool would run them.
private final class LateClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let state: Mutex<(now: Instant, lateness: [Duration])>
    var minimumResolution: Duration { .nanoseconds(1) }
    var now: Instant { state.withLock { $0.now } }

    /// Each sleep takes the next lateness, in order; once none are left, sleeps never end.
    init(lateness: [Duration]) { state = Mutex((Instant(offset: .zero), lateness)) }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let late: Duration? = state.withLock { state in
            guard !state.lateness.isEmpty else { return nil }
            let late = state.lateness.removeFirst()
            state.now = deadline.advanced(by: late)
            return late
        }
        if late == nil {
            // Wait for the test to cancel the probe.
            try await Task.sleep(for: .seconds(3600))
        }
    }
}

@Suite("The scheduling lag probe")
struct SchedulingLagProbeTests {
    @Test func eachSampleIsHowLateItsSleepWokeUp() async throws {
        let lateness: [Duration] = [.zero, .milliseconds(3), .microseconds(250), .milliseconds(40)]
        let (samples, recorded) = AsyncStream.makeStream(of: Duration.self)
        let probe = SchedulingLagProbe(
            interval: .milliseconds(10), clock: LateClock(lateness: lateness),
            record: { recorded.yield($0) })
        let running = Task { try await probe.run() }
        // The clock's sleeps end once per lateness, then never: exactly that many samples.
        var taken: [Duration] = []
        for await sample in samples.prefix(lateness.count) { taken.append(sample) }
        running.cancel()
        try await running.value
        #expect(taken == lateness)
    }
}
