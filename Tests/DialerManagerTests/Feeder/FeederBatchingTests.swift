import DialerCore
import Testing

@testable import DialerManager

@Suite("The feeder's batching rule")
struct FeederBatchingTests {
    private func moment(_ milliseconds: Int64) -> Moment {
        Moment(nanosecondsSinceOrigin: milliseconds * 1_000_000)
    }

    @Test func nothingWaitingIsIdle() {
        var batching = FeederBatching(limits: .standard)
        #expect(batching.next(at: moment(0)) == .idle)
        #expect(batching.next(at: moment(1_000)) == .idle)
    }

    @Test func theOldestWaitsItsLingerThenEverythingWaitingGoesInOneBatch() {
        var batching = FeederBatching(limits: FeederBatching.Limits(maximumOperations: 10, linger: .milliseconds(2)))
        batching.received(submittedAt: moment(100))
        #expect(batching.next(at: moment(100)) == .wait(until: moment(102)))
        batching.received(submittedAt: moment(101))
        batching.received(submittedAt: moment(101))
        // The deadline is the oldest's, not the newest's.
        #expect(batching.next(at: moment(101)) == .wait(until: moment(102)))
        #expect(batching.next(at: moment(102)) == .flush(count: 3))
        #expect(batching.waitingCount == 0)
        #expect(batching.next(at: moment(103)) == .idle)
    }

    @Test func aFullBatchGoesAtOnceAndTheRestKeepsItsOwnDeadline() {
        var batching = FeederBatching(limits: FeederBatching.Limits(maximumOperations: 3, linger: .milliseconds(5)))
        for index in 0..<5 { batching.received(submittedAt: moment(10 + Int64(index))) }
        #expect(batching.next(at: moment(14)) == .flush(count: 3))
        // The fourth, submitted at 13, is now the oldest.
        #expect(batching.next(at: moment(14)) == .wait(until: moment(18)))
        #expect(batching.next(at: moment(18)) == .flush(count: 2))
        #expect(batching.next(at: moment(18)) == .idle)
    }

    @Test func withoutLingerWhateverWaitsGoesAsSoonAsAsked() {
        var batching = FeederBatching(limits: .immediate)
        batching.received(submittedAt: moment(7))
        batching.received(submittedAt: moment(7))
        #expect(batching.next(at: moment(7)) == .flush(count: 2))
    }

    @Test func perOperationCommitsOneAtATime() {
        var batching = FeederBatching(limits: .perOperation)
        for _ in 0..<3 { batching.received(submittedAt: moment(0)) }
        #expect(batching.next(at: moment(0)) == .flush(count: 1))
        #expect(batching.next(at: moment(0)) == .flush(count: 1))
        #expect(batching.next(at: moment(0)) == .flush(count: 1))
        #expect(batching.next(at: moment(0)) == .idle)
    }

    @Test func limitsHaveTheirRanges() {
        #expect(FeederBatching.Limits.operationsRange == 1...10_000)
        #expect(FeederBatching.Limits.standard.maximumOperations == 256)
        #expect(FeederBatching.Limits.standard.linger == .milliseconds(2))
    }
}
