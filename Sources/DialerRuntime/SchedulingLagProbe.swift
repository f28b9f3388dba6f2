public import ServiceLifecycle

/// Measures how late the process's cooperative thread pool runs a task that is due: it sleeps
/// for ``interval`` again and again and records by how much each wake-up overshot, to
/// `dialer_scheduling_lag_seconds`.
///
/// The process's actors run on that pool unless they have an executor of their own (a node's
/// queue runners do), two threads on a two-core machine: a job that holds a thread for long,
/// or more ready work than threads, delays every other actor's next step by the same amount. A latency a process reports (the reservation round trip, an
/// agent's operation) includes this lag; the histogram tells it apart from the work itself.
public struct SchedulingLagProbe<C: Clock>: Service where C.Duration == Duration {
    /// The sleep between two samples.
    public var interval: Duration
    private let clock: C
    private let record: @Sendable (Duration) -> Void

    /// - Parameters:
    ///   - interval: the sleep between samples; short enough to see a busy second, long enough
    ///     to cost nothing (100 wake-ups a second at the default).
    ///   - record: gets each sample's lag; by default the `dialer_scheduling_lag_seconds` timer.
    public init(
        interval: Duration = .milliseconds(10), clock: C,
        record: (@Sendable (Duration) -> Void)? = nil
    ) {
        self.interval = interval
        self.clock = clock
        self.record = record ?? durationRecorder(label: "dialer_scheduling_lag_seconds")
    }

    /// Samples until the task is cancelled or a graceful shutdown begins.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let due = clock.now.advanced(by: interval)
                do {
                    try await clock.sleep(until: due, tolerance: nil)
                } catch {
                    return
                }
                let late = due.duration(to: clock.now)
                record(late > .zero ? late : .zero)
            }
        }
    }
}

extension SchedulingLagProbe where C == ContinuousClock {
    /// A probe on the continuous clock (wall time, not paused while the machine sleeps).
    public init(interval: Duration = .milliseconds(10)) {
        self.init(interval: interval, clock: ContinuousClock())
    }
}
