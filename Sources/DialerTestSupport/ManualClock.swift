public import DialerCore
import Synchronization

/// A clock that moves only when a test says so; sleepers wake when it passes their deadline.
public final class ManualClock: DialerClock {
    private struct Sleeper {
        var deadline: Moment
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Moment
        var sleepers: [Sleeper] = []
    }

    private let state: Mutex<State>

    public init(start: Moment = .origin) {
        self.state = Mutex(State(now: start))
    }

    public func now() -> Moment { state.withLock { $0.now } }

    /// Whether someone sleeps until `deadline`: a test waits for a timer to be armed before it
    /// moves the clock past it.
    public func hasSleeper(until deadline: Moment) -> Bool {
        state.withLock { $0.sleepers.contains { $0.deadline == deadline } }
    }

    public func sleep(until deadline: Moment) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let resumeNow = state.withLock { state -> Bool in
                if deadline <= state.now { return true }
                state.sleepers.append(Sleeper(deadline: deadline, continuation: continuation))
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// Moves the clock forward by `duration`, waking every sleeper whose deadline passed.
    public func advance(by duration: Duration) {
        let due = state.withLock { state -> [Sleeper] in
            state.now += duration
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }
}
