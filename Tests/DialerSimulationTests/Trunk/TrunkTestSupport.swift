import DialerCore
import DialerSimulation
import Synchronization

/// A clock that moves only when the test says; sleepers wake when it passes their deadline,
/// and a cancelled sleeper wakes at once (the trunk cancels a timer it replaces).
final class TrunkTestClock: DialerClock {
    private struct State {
        var now: Moment
        var sleepers: [UInt64: (deadline: Moment, continuation: CheckedContinuation<Void, any Error>)] = [:]
        var cancelled: Set<UInt64> = []
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>

    init(start: Moment = .origin) {
        state = Mutex(State(now: start))
    }

    func now() -> Moment { state.withLock { $0.now } }

    func sleep(until deadline: Moment) async throws {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome = state.withLock { state -> Result<Bool, CancellationError> in
                    if state.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(true) }
                    state.sleepers[id] = (deadline, continuation)
                    return .success(false)
                }
                switch outcome {
                case .failure(let error): continuation.resume(throwing: error)
                case .success(true): continuation.resume()
                case .success(false): break
                }
            }
        } onCancel: {
            let sleeper = state.withLock { state in
                // Cancelled before it was registered: the registration will see this.
                guard let sleeper = state.sleepers.removeValue(forKey: id) else {
                    state.cancelled.insert(id)
                    return nil as CheckedContinuation<Void, any Error>?
                }
                return sleeper.continuation
            }
            sleeper?.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock to `moment` (never backwards), waking the sleepers it passes.
    func advance(to moment: Moment) {
        let due = state.withLock { state in
            state.now = max(state.now, moment)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
    }

    func advance(by duration: Duration) { advance(to: now() + duration) }
}

/// Everything a trunk reported to its observer, in order.
final class ObservationLog: Sendable {
    private let state = Mutex<(all: [SimulatedTrunk.Observation], unread: Int)>(([], 0))

    func append(_ observation: SimulatedTrunk.Observation) {
        state.withLock { $0.all.append(observation) }
    }

    var all: [SimulatedTrunk.Observation] { state.withLock { $0.all } }

    /// The observations since the last call.
    func unread() -> [SimulatedTrunk.Observation] {
        state.withLock { state in
            let new = Array(state.all[state.unread...])
            state.unread = state.all.count
            return new
        }
    }

    /// Each call's progress events, in order.
    var progressByCall: [CallID: [CallProgress]] {
        var result: [CallID: [CallProgress]] = [:]
        for case .progress(let id, let event) in all { result[id, default: []].append(event) }
        return result
    }
}

/// A simulated trunk on a manual clock, with its observations, driven step by step.
struct TrunkHarness {
    let clock = TrunkTestClock()
    let log = ObservationLog()
    let trunk: SimulatedTrunk

    init(_ population: SimulatedTrunk.Population) async throws {
        let log = self.log
        trunk = try await SimulatedTrunk(population: population, clock: clock) { log.append($0) }
    }

    /// The trunk's (scaled) time.
    var now: Moment { trunk.clock.now() }

    /// Moves the base clock so that the trunk's time is at least `moment`, and lets the trunk
    /// catch up.
    func advance(to moment: Moment) async {
        clock.advance(to: baseMoment(for: moment))
        await trunk.catchUp()
    }

    func advance(by duration: Duration) async { await advance(to: now + duration) }

    /// Runs the trunk through every scheduled moment up to `end`, handing each new
    /// observation to `react` at the moment it happened (reactions may operate on the trunk).
    func run(until end: Moment, react: (SimulatedTrunk.Observation) async throws -> Void = { _ in }) async throws {
        while true {
            for observation in log.unread() { try await react(observation) }
            guard let next = await trunk.nextScheduledMoment(), next <= end else { break }
            await advance(to: next)
        }
        await advance(to: end)
        for observation in log.unread() { try await react(observation) }
    }

    /// The base moment at which the scaled clock reaches `moment` (the tests use whole scales).
    private func baseMoment(for moment: Moment) -> Moment {
        let scale = Int64(trunk.clock.scale)
        let (quotient, remainder) = moment.nanosecondsSinceOrigin.quotientAndRemainder(dividingBy: scale)
        return Moment(nanosecondsSinceOrigin: remainder > 0 ? quotient + 1 : quotient)
    }
}

/// Seconds as a moment on the trunk's time line.
func atSecond(_ seconds: Double) -> Moment {
    Moment(nanosecondsSinceOrigin: Int64((seconds * 1e9).rounded()))
}

/// A population whose calls all go one way, with fixed times, for exact event sequences.
func fixedPopulation(
    _ outcomes: SimulatedTrunk.Population.Outcomes,
    falsePositiveRate: Double = 0,
    falseNegativeRate: Double = 0,
    channels: Int = 100,
    callsPerSecond: Int = 100
) -> SimulatedTrunk.Population {
    SimulatedTrunk.Population(
        seed: 42,
        outcomes: outcomes,
        ringSeconds: .fixed(seconds: 5),
        signalSeconds: .fixed(seconds: 2),
        greetingSeconds: .fixed(seconds: 1),
        machineGreetingSeconds: .fixed(seconds: 12),
        machineDetection: .init(
            seconds: .fixed(seconds: 3), falsePositiveRate: falsePositiveRate, falseNegativeRate: falseNegativeRate),
        talkSeconds: .fixed(seconds: 60),
        patienceSeconds: .fixed(seconds: 10),
        channels: channels,
        callsPerSecond: callsPerSecond,
        messageSeconds: ["hold": 20],
        defaultMessageSeconds: 7
    )
}

extension TrunkHarness {
    /// Every element of a stream that has finished (or finishes without help).
    static func collect<Element>(_ stream: AsyncStream<Element>) async -> [Element] {
        var elements: [Element] = []
        for await element in stream { elements.append(element) }
        return elements
    }
}
