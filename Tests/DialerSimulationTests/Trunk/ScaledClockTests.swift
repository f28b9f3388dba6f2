import DialerCore
import DialerSimulation
import Synchronization
import Testing

@Suite("Scaled clock")
struct ScaledClockTests {
    @Test func momentsAreTheBaseClocksScaledFromItsOrigin() {
        let base = TrunkTestClock()
        let clock = ScaledClock(base: base, scale: 60)
        #expect(clock.now() == .origin)
        base.advance(by: .seconds(2))
        #expect(clock.now() == atSecond(120))
        let later = ScaledClock(base: base, scale: 60)
        #expect(later.now() == clock.now(), "clocks over one base agree whenever made")
        #expect(ScaledClock(base: base, scale: 1).now() == base.now())
    }

    @Test func fractionalScales() {
        let base = TrunkTestClock()
        let clock = ScaledClock(base: base, scale: 2.5)
        base.advance(by: .seconds(4))
        #expect(clock.now() == atSecond(10))
    }

    /// The sleeper and the base clock's advances interleave however the threads run them; in
    /// particular the base may reach the deadline between the sleeper's reads of the time.
    @Test(arguments: [60.0, 2.5, 0.5])
    func sleepWakesWhenTheScaledTimeReachesTheDeadline(scale: Double) async throws {
        let base = TrunkTestClock()
        let clock = ScaledClock(base: base, scale: scale)
        let deadline = atSecond(30)
        let woke = Mutex<Moment?>(nil)
        let sleeper = Task {
            try await clock.sleep(until: deadline)
            woke.withLock { $0 = clock.now() }
        }
        // Short of the deadline by a whole base nanosecond's worth of scaled time: still asleep.
        let baseDeadline = Int64((30e9 / scale).rounded(.up))
        base.advance(to: Moment(nanosecondsSinceOrigin: baseDeadline - 1))
        await Task.yield()
        #expect(woke.withLock { $0 } == nil)
        base.advance(to: Moment(nanosecondsSinceOrigin: baseDeadline))
        try await sleeper.value
        let wokeAt = try #require(woke.withLock { $0 })
        #expect(wokeAt >= deadline)
    }

    /// The interleaving that hung one run in seven, forced: the base reaches the deadline right
    /// after the sleeper first reads the time. The sleep must end (within a generous deadline
    /// on the wall; it used to wait for a base moment one nanosecond later that never came).
    @Test(arguments: [60.0, 2.5, 0.5])
    func aBaseThatReachesTheDeadlineBetweenTwoReadsEndsTheSleep(scale: Double) async throws {
        let baseDeadline = Moment(nanosecondsSinceOrigin: Int64((30e9 / scale).rounded(.up)))
        let base = JumpingClock(start: Moment(nanosecondsSinceOrigin: baseDeadline.nanosecondsSinceOrigin - 1))
        base.jump(to: baseDeadline, afterReads: 1)
        let clock = ScaledClock(base: base, scale: scale)
        let sleeper = Task { try await clock.sleep(until: atSecond(30)) }
        let ended = Task {
            try? await sleeper.value
            return true
        }
        let timeout = Task {
            try? await Task.sleep(for: .seconds(10))
            sleeper.cancel()
        }
        defer { timeout.cancel() }
        #expect(await ended.value)
        #expect(!sleeper.isCancelled, "the sleep hung until it was cancelled")
        #expect(clock.now() >= atSecond(30))
    }

    @Test func cancellingASleepEndsIt() async {
        let base = TrunkTestClock()
        let clock = ScaledClock(base: base, scale: 60)
        let sleeper = Task { try await clock.sleep(until: atSecond(3600)) }
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
    }
}

/// A manual clock that moves itself to a set moment right after its `n`th read, as another
/// thread advancing it at the worst time would.
private final class JumpingClock: DialerClock {
    private let inner: TrunkTestClock
    private let plan = Mutex<(target: Moment?, reads: Int)>((nil, 0))

    init(start: Moment) {
        inner = TrunkTestClock(start: start)
    }

    func jump(to moment: Moment, afterReads reads: Int) {
        plan.withLock { $0 = (moment, reads) }
    }

    func now() -> Moment {
        let current = inner.now()
        let target = plan.withLock { plan -> Moment? in
            plan.reads -= 1
            guard plan.reads == 0, let target = plan.target else { return nil }
            plan.target = nil
            return target
        }
        if let target { inner.advance(to: target) }
        return current
    }

    func sleep(until deadline: Moment) async throws { try await inner.sleep(until: deadline) }
}
