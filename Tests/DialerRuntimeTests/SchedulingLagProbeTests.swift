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

    /// Each sleep takes the next lateness, in order; once none are left, a sleep throws as a
    /// cancelled one does.
    init(lateness: [Duration]) { state = Mutex((Instant(offset: .zero), lateness)) }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try state.withLock { state in
            guard !state.lateness.isEmpty else { throw CancellationError() }
            state.now = deadline.advanced(by: state.lateness.removeFirst())
        }
    }
}

@Suite("The scheduling lag probe")
struct SchedulingLagProbeTests {
    @Test func eachSampleIsHowLateItsSleepWokeUp() async throws {
        let lateness: [Duration] = [.zero, .milliseconds(3), .microseconds(250), .milliseconds(40)]
        let samples = Mutex<[Duration]>([])
        let probe = SchedulingLagProbe(
            interval: .milliseconds(10), clock: LateClock(lateness: lateness),
            record: { sample in samples.withLock { $0.append(sample) } })
        // The clock's sleeps end once per lateness, then throw as a cancelled sleep does: the
        // probe takes exactly that many samples and returns.
        try await probe.run()
        #expect(samples.withLock { $0 } == lateness)
    }
}
