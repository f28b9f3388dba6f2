public import NIOCore

/// Runs a task's nonisolated steps on one event loop's thread: a task executor (SE-0417) for
/// `withTaskExecutorPreference(_:operation:)`.
///
/// A connection's reader that runs with the connection's own event loop as its preference is
/// resumed on the thread that just read the frame, not woken on the cooperative pool; an actor
/// whose executor is the same loop then takes the message on that thread too. Where every
/// step of a request's way costs a wait for a thread (two cores, several busy processes),
/// each such wake-up saved comes off the round trip's tail.
///
/// What runs here must be short: it delays the loop's I/O while it runs.
public final class EventLoopTaskExecutor: TaskExecutor {
    /// The loop whose thread runs the jobs.
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }
}
