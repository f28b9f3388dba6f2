import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs every job of the process's global concurrent executor on one thread of its own while
/// installed, so that a test driven by a manual clock can tell when nothing can move any more:
/// ``settle()`` returns when its own task is the only runnable one.
///
/// It replaces the runtime's global enqueue hooks (`swift_task_enqueueGlobal_hook` and the
/// delayed variants), the mechanism that deterministic test executors use. Default actors and
/// unstructured tasks both go through the global executor, so their jobs all land here; work on
/// other executors (a NIO event loop, the main actor) does not, and a bench that settles on it
/// must not use them. Install for the span of one test (``install()`` / ``uninstall()``):
/// while installed, a blocking wait in any task would stop the whole process.
public final class QuiescenceExecutor: SerialExecutor, @unchecked Sendable {
    private struct State {
        var jobs: [UnownedJob] = []
        var head = 0
        var installs = 0
    }

    /// The process's one instance: the hooks are process-wide.
    public static let shared = QuiescenceExecutor()

    private let state = Mutex(State())
    private let ready = DispatchSemaphore(value: 0)

    private init() {
        let thread = Thread { [unowned self] in self.runJobs() }
        thread.start()
    }

    /// Sends the global executor's jobs here, until as many ``uninstall()`` calls.
    public func install() {
        let first = state.withLock { state -> Bool in
            state.installs += 1
            return state.installs == 1
        }
        guard first else { return }
        Hooks.enqueue.pointee = { job, _ in QuiescenceExecutor.shared.add(job) }
        Hooks.enqueueWithDelay.pointee = { delay, job, _ in
            let unowned = job
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(min(delay, UInt64(Int.max))))) {
                QuiescenceExecutor.shared.add(unowned)
            }
        }
        Hooks.enqueueWithDeadline.pointee = { seconds, nanoseconds, _, _, _, job, _ in
            // The deadline is on the continuous clock; Dispatch's uptime clock is close enough
            // for the rare real-time sleep inside a bench.
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let wait = (seconds - Int64(now.tv_sec)) * 1_000_000_000 + (nanoseconds - Int64(now.tv_nsec))
            let unowned = job
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(max(0, wait)))) {
                QuiescenceExecutor.shared.add(unowned)
            }
        }
    }

    /// Gives the global executor back its jobs (jobs already queued here still run here).
    public func uninstall() {
        let last = state.withLock { state -> Bool in
            state.installs = max(0, state.installs - 1)
            return state.installs == 0
        }
        guard last else { return }
        Hooks.enqueue.pointee = nil
        Hooks.enqueueWithDelay.pointee = nil
        Hooks.enqueueWithDeadline.pointee = nil
    }

    /// Returns once every job that could run has run and none is waiting: all tasks are
    /// suspended on something outside (a manual clock, a stream that nobody feeds).
    ///
    /// Work that another thread hands in later (a continuation resumed from a Dispatch queue or
    /// a NIO event loop) is not waited for: a bench that settles keeps all its work on this
    /// executor and on the manual clock.
    ///
    /// The caller's own task goes to the back of the one queue at each yield; when it runs
    /// again with nothing queued, every job enqueued before it has run and enqueued nothing
    /// more.
    public func settle() async {
        var quietRounds = 0
        // Two quiet rounds: a job resumed from outside the executor (a Dispatch timer) between
        // the check and the yield is caught by the second.
        while quietRounds < 2 {
            await Task.yield()
            quietRounds = isQuiet ? quietRounds + 1 : 0
        }
    }

    /// Whether no job is queued (the caller's, running now, aside).
    public var isQuiet: Bool { state.withLock { $0.head == $0.jobs.count } }

    public func enqueue(_ job: consuming ExecutorJob) {
        add(UnownedJob(job))
    }

    private func add(_ job: UnownedJob) {
        state.withLock { $0.jobs.append(job) }
        ready.signal()
    }

    private func runJobs() {
        while true {
            ready.wait()
            let job = state.withLock { state -> UnownedJob in
                let job = state.jobs[state.head]
                state.head += 1
                if state.head > 1_024, state.head * 2 > state.jobs.count {
                    state.jobs.removeFirst(state.head)
                    state.head = 0
                }
                return job
            }
            job.runSynchronously(on: asUnownedSerialExecutor())
        }
    }
}

/// The Swift runtime's global enqueue hooks (libswift_Concurrency exports them as variables).
private enum Hooks {
    typealias Original = @convention(thin) (UnownedJob) -> Void
    typealias Enqueue = @convention(thin) (UnownedJob, Original) -> Void
    typealias OriginalWithDelay = @convention(thin) (UInt64, UnownedJob) -> Void
    typealias EnqueueWithDelay = @convention(thin) (UInt64, UnownedJob, OriginalWithDelay) -> Void
    typealias OriginalWithDeadline = @convention(thin) (Int64, Int64, Int64, Int64, Int32, UnownedJob) -> Void
    typealias EnqueueWithDeadline =
        @convention(thin) (Int64, Int64, Int64, Int64, Int32, UnownedJob, OriginalWithDeadline) -> Void

    nonisolated(unsafe) static let enqueue = symbol("swift_task_enqueueGlobal_hook", as: Enqueue?.self)
    nonisolated(unsafe) static let enqueueWithDelay = symbol(
        "swift_task_enqueueGlobalWithDelay_hook", as: EnqueueWithDelay?.self)
    nonisolated(unsafe) static let enqueueWithDeadline = symbol(
        "swift_task_enqueueGlobalWithDeadline_hook", as: EnqueueWithDeadline?.self)

    private static func symbol<T>(_ name: String, as type: T.Type) -> UnsafeMutablePointer<T> {
        guard let address = dlsym(dlopen(nil, RTLD_NOW), name) else {
            fatalError("the Swift runtime has no \(name): QuiescenceExecutor cannot run here")
        }
        return address.assumingMemoryBound(to: T.self)
    }
}
