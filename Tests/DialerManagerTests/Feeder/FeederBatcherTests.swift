import DialerCore
import DialerTestSupport
import Foundation
import Synchronization
import Testing

@testable import DialerManager

/// A batch store that records each batch and holds it until the test releases it.
private final class GatedBatchStore: FeederBatchStore {
    struct Failure: Error {}

    let batches = Mutex<[[FeederOperation]]>([])
    let failing = Mutex(false)
    private let gate: AsyncStream<Void>
    private let opener: AsyncStream<Void>.Continuation

    init() {
        (gate, opener) = AsyncStream.makeStream(of: Void.self)
    }

    var batchSizes: [Int] { batches.withLock { $0.map(\.count) } }

    /// Lets one held batch finish.
    func release() { opener.yield() }

    func applyFeederBatch(_ operations: [FeederOperation], now: Date) async throws
        -> [Result<FeederOperationOutcome, any Error>]
    {
        batches.withLock { $0.append(operations) }
        var gate = self.gate.makeAsyncIterator()
        _ = await gate.next()
        if failing.withLock({ $0 }) { throw Failure() }
        return operations.map { _ in .success(.report(.duplicate)) }
    }
}

/// What each submission's completion said, in the order they came.
private final class Completions: Sendable {
    let outcomes = Mutex<[(String, Result<FeederOperationOutcome, any Error>)]>([])

    func record(_ name: String) -> FeederBatcher.Completion {
        { outcome in self.outcomes.withLock { $0.append((name, outcome)) } }
    }

    var names: [String] { outcomes.withLock { $0.map(\.0) } }
    var stopped: [String] {
        outcomes.withLock { $0.filter { if case .failure(is FeederBatcher.Stopped) = $0.1 { true } else { false } } }
            .map(\.0)
    }
}

private func report(_ attempt: String) -> FeederOperation {
    .report(
        AttemptResult(attempt: AttemptID(attempt), contact: ContactID("1"), outcome: .busy), node: MemberID("n1"),
        epoch: Epoch(1))
}

@Suite("The feeder's batch loop")
struct FeederBatcherTests {
    let clock = ManualClock()
    private let store = GatedBatchStore()
    private let completions = Completions()

    private func start(_ batcher: FeederBatcher) -> Task<Void, Never> {
        Task { await batcher.run(wallTime: { Date(timeIntervalSince1970: 0) }) }
    }

    @Test func submissionsAreAcknowledgedOnlyAfterTheirBatchCommits() async throws {
        let batcher = FeederBatcher(store: store, limits: .immediate, clock: clock)
        for name in ["a1", "a2", "a3"] { batcher.submit(report(name), completion: completions.record(name)) }
        let loop = start(batcher)
        #expect(await waitForCondition(timeout: .seconds(10)) { store.batchSizes == [3] })
        // The store holds the batch: nothing may be acknowledged yet.
        #expect(completions.names.isEmpty)
        store.release()
        #expect(await waitForCondition(timeout: .seconds(10)) { completions.names.count == 3 })
        #expect(completions.names == ["a1", "a2", "a3"])
        #expect(store.batches.withLock { $0 } == [[report("a1"), report("a2"), report("a3")]])
        loop.cancel()
        await loop.value
    }

    @Test func theFirstSubmissionLingersForOthersOnTheInjectedClock() async throws {
        let batcher = FeederBatcher(
            store: store, limits: FeederBatching.Limits(maximumOperations: 10, linger: .milliseconds(2)), clock: clock)
        let loop = start(batcher)
        let begin = clock.now()
        batcher.submit(report("a1"), completion: completions.record("a1"))
        batcher.submit(report("a2"), completion: completions.record("a2"))
        #expect(await waitForCondition(timeout: .seconds(10)) { clock.hasSleeper(until: begin + .milliseconds(2)) })
        #expect(store.batchSizes.isEmpty)
        batcher.submit(report("a3"), completion: completions.record("a3"))
        clock.advance(by: .milliseconds(2))
        #expect(await waitForCondition(timeout: .seconds(10)) { store.batchSizes == [3] })
        store.release()
        #expect(await waitForCondition(timeout: .seconds(10)) { completions.names == ["a1", "a2", "a3"] })
        loop.cancel()
        await loop.value
    }

    @Test func aFullBatchGoesAtOnceAndTheRestWaitsItsLinger() async throws {
        let batcher = FeederBatcher(
            store: store, limits: FeederBatching.Limits(maximumOperations: 2, linger: .seconds(1)), clock: clock)
        let begin = clock.now()
        for name in ["a1", "a2", "a3"] { batcher.submit(report(name), completion: completions.record(name)) }
        let loop = start(batcher)
        #expect(await waitForCondition(timeout: .seconds(10)) { store.batchSizes == [2] })
        store.release()
        #expect(await waitForCondition(timeout: .seconds(10)) { clock.hasSleeper(until: begin + .seconds(1)) })
        #expect(completions.names == ["a1", "a2"])
        clock.advance(by: .seconds(1))
        #expect(await waitForCondition(timeout: .seconds(10)) { store.batchSizes == [2, 1] })
        store.release()
        #expect(await waitForCondition(timeout: .seconds(10)) { completions.names == ["a1", "a2", "a3"] })
        loop.cancel()
        await loop.value
    }

    @Test func aBatchThatFailsFailsEverySubmissionInIt() async throws {
        store.failing.withLock { $0 = true }
        let batcher = FeederBatcher(store: store, limits: .immediate, clock: clock)
        for name in ["a1", "a2"] { batcher.submit(report(name), completion: completions.record(name)) }
        let loop = start(batcher)
        store.release()
        #expect(await waitForCondition(timeout: .seconds(10)) { completions.names.count == 2 })
        let failures = completions.outcomes.withLock { $0 }.filter {
            if case .failure(is GatedBatchStore.Failure) = $0.1 { true } else { false }
        }
        #expect(failures.count == 2)
        loop.cancel()
        await loop.value
    }

    @Test func aBarrierReturnsOnlyAfterWhatCameBeforeIsCommitted() async throws {
        let batcher = FeederBatcher(store: store, limits: .immediate, clock: clock)
        batcher.submit(report("a1"), completion: completions.record("a1"))
        let loop = start(batcher)
        let barrier = Task { await batcher.barrier() }
        #expect(await waitForCondition(timeout: .seconds(10)) { store.batchSizes == [1] })
        store.release()
        await barrier.value
        #expect(completions.names == ["a1"])
        loop.cancel()
        await loop.value
    }

    @Test func stoppingAnswersWhatWaitsWithStoppedAndAppliesNothingMore() async throws {
        let batcher = FeederBatcher(store: store, limits: .immediate, clock: clock)
        batcher.submit(report("a1"), completion: completions.record("a1"))
        let loop = start(batcher)
        #expect(await waitForCondition(timeout: .seconds(10)) { store.batchSizes == [1] })
        batcher.submit(report("a2"), completion: completions.record("a2"))
        loop.cancel()
        await loop.value
        batcher.submit(report("a3"), completion: completions.record("a3"))
        // The batch under way committed (the fake store returns when cancelled); a2 waited and
        // a3 came after the loop stopped: neither was applied nor acknowledged.
        #expect(store.batchSizes == [1])
        #expect(completions.names == ["a1", "a2", "a3"])
        #expect(completions.stopped == ["a2", "a3"])
    }
}
