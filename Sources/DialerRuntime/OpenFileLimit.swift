#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's limit on open files (`RLIMIT_NOFILE`): each agent connection holds one, so a
/// gateway with 10,000 agents (and a load tester playing them) needs more than the common soft
/// limit of 1,024.
public enum OpenFileLimit {
    /// The soft and hard limits now; nil when they cannot be read.
    public static func current() -> (soft: UInt64, hard: UInt64)? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return (UInt64(limit.rlim_cur), UInt64(limit.rlim_max))
    }

    /// Raises the soft limit to the hard limit (at most `ceiling`), which an unprivileged
    /// process may do. Returns the soft limit in force afterwards, nil when it cannot be read.
    @discardableResult
    public static func raiseToHardLimit(ceiling: UInt64 = 1 << 20) -> UInt64? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        let wanted = min(UInt64(limit.rlim_max), ceiling)
        if UInt64(limit.rlim_cur) < wanted {
            var raised = limit
            raised.rlim_cur = rlim_t(wanted)
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return wanted }
        }
        return UInt64(limit.rlim_cur)
    }
}
