#ifdef __linux__
#define _GNU_SOURCE  // SCHED_BATCH
#endif

#include "CDialerScheduling.h"

#include <errno.h>

#ifdef __linux__
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

// struct sched_attr of sched_setattr(2), up to the utilization clamps (SCHED_ATTR_SIZE_VER1).
struct c_dialer_sched_attr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
    uint32_t sched_util_min;
    uint32_t sched_util_max;
};

static int c_dialer_get_attr(int tid, struct c_dialer_sched_attr *attr) {
    memset(attr, 0, sizeof *attr);
    if (syscall(SYS_sched_getattr, tid, attr, (unsigned int)sizeof *attr, 0U) != 0) return errno;
    return 0;
}

int c_dialer_set_thread_slice(int tid, uint64_t nanoseconds) {
    struct c_dialer_sched_attr attr;
    int error = c_dialer_get_attr(tid, &attr);
    if (error != 0) return error;
    // Only the fair policies have a slice; a real-time or idle thread is left as it is.
    if (attr.sched_policy != SCHED_OTHER && attr.sched_policy != SCHED_BATCH) return 0;
    attr.size = sizeof attr;
    attr.sched_flags = 0;
    attr.sched_runtime = nanoseconds;
    attr.sched_deadline = 0;
    attr.sched_period = 0;
    if (syscall(SYS_sched_setattr, tid, &attr, 0U) != 0) return errno;
    return 0;
}

int c_dialer_thread_slice(int tid, uint64_t *nanoseconds) {
    struct c_dialer_sched_attr attr;
    int error = c_dialer_get_attr(tid, &attr);
    if (error != 0) return error;
    *nanoseconds = (attr.sched_policy == SCHED_OTHER || attr.sched_policy == SCHED_BATCH) ? attr.sched_runtime : 0;
    return 0;
}

#else

int c_dialer_set_thread_slice(int tid, uint64_t nanoseconds) {
    (void)tid;
    (void)nanoseconds;
    return ENOSYS;
}

int c_dialer_thread_slice(int tid, uint64_t *nanoseconds) {
    (void)tid;
    *nanoseconds = 0;
    return ENOSYS;
}

#endif
