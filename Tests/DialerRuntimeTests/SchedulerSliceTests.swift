import Foundation
import Testing

@testable import DialerRuntime

/// These tests set the slice of every thread of the test process (there is no narrower scope),
/// and give the kernel's default back at the end; the slice changes only how soon a waking
/// thread runs, so tests running beside them are not disturbed.
@Suite("The threads' time slice")
struct SchedulerSliceTests {
    @Test func everyThreadTakesTheSliceNewThreadsInheritItAndItIsClampedToTheKernelsBounds() async throws {
        defer { SchedulerSlice.reset() }
        let outcome = SchedulerSlice.apply(.microseconds(300))
        guard SchedulerSlice.current() != nil else {
            // A kernel before 6.12 reports no slice: the call must say so rather than claim it.
            #expect(outcome == .unsupported)
            return
        }
        guard case .applied(let threads) = outcome else {
            Issue.record("the slice was not applied: \(outcome)")
            return
        }
        #expect(threads >= 1)
        for thread in SchedulerSlice.threadIDs() {
            // A thread may end between the listing and the read: nil then.
            if let slice = SchedulerSlice.slice(of: thread) { #expect(slice == 300_000, "thread \(thread)") }
        }
        let inherited = await withCheckedContinuation { (answer: CheckedContinuation<UInt64?, Never>) in
            Thread { answer.resume(returning: SchedulerSlice.current()) }.start()
        }
        #expect(inherited == 300_000)

        #expect(SchedulerSlice.apply(.microseconds(10)) != .unsupported)
        #expect(SchedulerSlice.current() == 100_000)
        #expect(SchedulerSlice.apply(.seconds(5)) != .unsupported)
        #expect(SchedulerSlice.current() == 100_000_000)

        #expect(SchedulerSlice.reset() != .unsupported)
        #expect(SchedulerSlice.current() != 100_000_000)
    }

    @Test func theOutcomeSaysWhatHappenedInWords() {
        #expect("\(SchedulerSlice.Outcome.applied(threads: 3))" == "applied to 3 thread(s)")
        #expect("\(SchedulerSlice.Outcome.unsupported)".contains("6.12"))
        #expect("\(SchedulerSlice.Outcome.failed(errno: EPERM, threads: 1))".contains("errno \(EPERM)"))
    }
}
