import DialerCore
import DialerProtocol
import DialerTransport
import NIOPosix
import Synchronization

/// Builds queue pictures and sends them to their nodes on a thread of its own, so that the
/// reservation service's actor only takes each picture's source (``QueuePictureSource``) and
/// never waits for the O(agents) build and encoding.
///
/// Pictures go out one at a time, in the order they were taken, from one effect loop
/// (``run(clock:built:)``) that the service owns. A queue's picture still waiting when a newer
/// one of the same queue is submitted is replaced by it (the newer one is what the node needs),
/// so at most one picture per queue waits: the backlog is bounded by the number of queues.
final class PicturePublisher: Sendable {
    /// One picture to build and send.
    struct Job: Sendable {
        var source: QueuePictureSource
        var sequence: UInt64
        /// The owning node's connections when the picture was taken.
        var sinks: [any EnvelopeSink]
    }

    private struct Waiting {
        var jobs: [QueueID: Job] = [:]
        var order: [QueueID] = []
    }

    /// The threads every publisher of the process builds on: one, apart from the cooperative
    /// pool that runs the actors (a picture of 10,000 agents takes milliseconds of CPU).
    private static let threads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        return pool
    }()

    private let waiting = Mutex(Waiting())
    private let wakeUps: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    init() {
        (wakeUps, wake) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues a picture to build and send; an older one of the same queue still waiting is
    /// dropped in its favour.
    func submit(_ job: Job) {
        waiting.withLock { waiting in
            if waiting.jobs.updateValue(job, forKey: job.source.queue) == nil {
                waiting.order.append(job.source.queue)
            }
        }
        wake.yield()
    }

    /// Ends the loop once what waits is sent.
    func finish() { wake.finish() }

    /// The effect loop: builds, encodes and sends each waiting picture in turn on the
    /// publisher's thread, then tells `built` what it cost on `clock` (the service spaces a
    /// costly queue's pictures by it). Returns when ``finish()`` was called or the task is
    /// cancelled.
    func run(clock: any DialerClock, built: @Sendable (QueueID, Duration) async -> Void) async {
        for await _ in wakeUps {
            while let job = next() {
                let cost: Duration
                do {
                    cost = try await Self.threads.runIfActive {
                        let started = clock.now()
                        let picture = job.source.picture()
                        let envelope = Envelope(
                            .queuePicture(Dialer_V1_QueuePictureUpdate(picture, sequence: job.sequence)))
                        // Each delivery encodes the frame here, on the publisher's thread.
                        for sink in job.sinks { sink.deliver(envelope) }
                        return clock.now() - started
                    }
                } catch {
                    return
                }
                await built(job.source.queue, cost)
            }
        }
    }

    private func next() -> Job? {
        waiting.withLock { waiting in
            guard !waiting.order.isEmpty else { return nil }
            let queue = waiting.order.removeFirst()
            return waiting.jobs.removeValue(forKey: queue)
        }
    }
}
