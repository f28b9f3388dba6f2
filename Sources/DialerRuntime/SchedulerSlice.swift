import CDialerScheduling
import DialerConfig
public import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The time slice Linux's fair scheduler (EEVDF, kernel 6.12 and later) gives this process's
/// threads: how long a thread runs before the scheduler looks again, and so how soon a thread
/// that wakes (a frame on its socket, a job for its pool) gets a core that another thread holds.
///
/// On a busy machine a thread that wakes waits for the one on its core to use up its slice
/// (1.4 ms by default on a two-core machine here), and a request that crosses four threads
/// between a node and the gateway can wait for several. A short slice lets such a thread preempt
/// sooner (the kernel's wakeup preemption favours the earlier deadline a short slice gives); the
/// process's share of the CPU is unchanged (that is the nice value), only its latency. The slice
/// is per thread and a new thread inherits its creator's, so the process sets it once at start on
/// every thread it has, and the threads it makes later (event loops, the cooperative pool) take it.
///
/// An unprivileged process may set it. Kernels before 6.12 accept the call and ignore the slice:
/// ``apply(_:)`` reads it back and says so. The processes set it only when configured
/// (`cluster.thread_slice_us`): measured on a saturated two-core machine it did not reliably
/// shorten the reservation round trip (BENCHMARKS.md).
public enum SchedulerSlice {
    /// The shortest and longest slices the kernel takes (it clamps to them), as the
    /// configuration checks them (`ClusterSettings.threadSliceMicroseconds`).
    public static let range: ClosedRange<Duration> =
        .microseconds(ClusterSettings.threadSliceMicroseconds.lowerBound)
        ... .microseconds(ClusterSettings.threadSliceMicroseconds.upperBound)

    /// What ``apply(_:)`` did.
    public enum Outcome: Sendable, Equatable, CustomStringConvertible {
        /// Every thread of the process runs with the slice: how many threads there were.
        case applied(threads: Int)
        /// The kernel took the call but kept its own slice (before Linux 6.12), or has no such
        /// call (ENOSYS, not Linux).
        case unsupported
        /// The kernel refused for some thread: the errno value and how many threads took it.
        case failed(errno: Int32, threads: Int)

        public var description: String {
            switch self {
            case .applied(let threads): "applied to \(threads) thread(s)"
            case .unsupported: "not supported by this kernel (Linux 6.12 or later sets a thread's slice)"
            case .failed(let errno, let threads):
                "refused: \(String(cString: strerror(errno))) (errno \(errno)), \(threads) thread(s) set"
            }
        }
    }

    /// Gives every thread of the process (and so, by inheritance, every thread it starts later)
    /// a slice of `slice`, clamped to ``range``.
    @discardableResult
    public static func apply(_ slice: Duration) -> Outcome {
        let nanoseconds = nanoseconds(of: min(max(slice, range.lowerBound), range.upperBound))
        let outcome = set(nanoseconds)
        guard case .applied = outcome else { return outcome }
        guard let now = current(), now == nanoseconds else { return .unsupported }
        return outcome
    }

    /// Gives every thread of the process the kernel's default slice back.
    @discardableResult
    public static func reset() -> Outcome { set(0) }

    /// Applies a process's configured slice (`cluster.thread_slice_us`; nil: the kernel's
    /// default, nothing is done) and logs what came of it: info when it took effect, notice when
    /// the kernel cannot or would not (the process runs on regardless).
    @discardableResult
    public static func apply(configured slice: Duration?, logger: Logger) -> Outcome? {
        guard let slice else { return nil }
        let outcome = apply(slice)
        if case .applied = outcome {
            logger.info("thread slice set", metadata: ["slice": "\(slice)", "outcome": "\(outcome)"])
        } else {
            logger.notice("thread slice left to the kernel", metadata: ["slice": "\(slice)", "outcome": "\(outcome)"])
        }
        return outcome
    }

    /// The calling thread's slice in nanoseconds, nil when the kernel does not report one
    /// (before 6.12).
    public static func current() -> UInt64? { slice(of: 0) }

    /// The slice of one thread of the process (0: the calling thread), nil when unknown.
    static func slice(of thread: Int32) -> UInt64? {
        var nanoseconds: UInt64 = 0
        guard c_dialer_thread_slice(thread, &nanoseconds) == 0, nanoseconds > 0 else { return nil }
        return nanoseconds
    }

    /// Asks for `nanoseconds` (0: the default) on every thread.
    private static func set(_ nanoseconds: UInt64) -> Outcome {
        var threads = 0
        for thread in threadIDs() {
            let error = c_dialer_set_thread_slice(thread, nanoseconds)
            if error == ENOSYS { return .unsupported }
            // A thread that ended since the listing is not an error.
            if error == ESRCH { continue }
            if error != 0 { return .failed(errno: error, threads: threads) }
            threads += 1
        }
        return .applied(threads: threads)
    }

    /// The process's threads (`/proc/self/task`); the calling thread alone where that cannot be
    /// read.
    static func threadIDs() -> [Int32] {
        #if os(Linux)
        guard let directory = opendir("/proc/self/task") else { return [0] }
        defer { closedir(directory) }
        var threads: [Int32] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if let thread = Int32(name) { threads.append(thread) }
        }
        return threads.isEmpty ? [0] : threads
        #else
        return [0]
        #endif
    }

    /// `duration` is within ``range`` (at most 100 ms), so the product cannot overflow; the
    /// clamping conversions keep a negative part from trapping all the same.
    private static func nanoseconds(of duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(clamping: seconds) * 1_000_000_000 + UInt64(clamping: attoseconds / 1_000_000_000)
    }
}
