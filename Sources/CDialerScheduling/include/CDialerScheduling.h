#ifndef C_DIALER_SCHEDULING_H
#define C_DIALER_SCHEDULING_H

#include <stdint.h>

// The kernel's per-thread time slice for the fair scheduler (EEVDF, Linux 6.12 and later), set
// through sched_setattr(2), which glibc does not wrap. Swift cannot call the variadic syscall(2).

/// Asks the kernel for a slice of `nanoseconds` for thread `tid` (0: the calling thread),
/// keeping its policy and nice value; a thread of another policy than SCHED_OTHER or SCHED_BATCH
/// is left as it is. Returns 0 or an errno value (ENOSYS off Linux). A kernel
/// before 6.12 accepts the call and ignores the slice: read it back with
/// `c_dialer_thread_slice` to know.
int c_dialer_set_thread_slice(int tid, uint64_t nanoseconds);

/// The slice thread `tid` (0: the calling thread) runs with, in nanoseconds, into `nanoseconds`:
/// 0 when the kernel does not report one (before 6.12, or a policy other than the fair ones).
/// Returns 0 or an errno value.
int c_dialer_thread_slice(int tid, uint64_t *nanoseconds);

#endif
