public import DialerCore
public import FoundationEssentials
import Synchronization

/// The feeder's write loop: applies attempt reports and hand-outs in batches, one transaction
/// per batch, as ``FeederBatching`` decides.
///
/// Operations are applied in the order they were submitted, so that a contact's reports and
/// hand-outs keep their order. Each submission's completion runs once, after its batch
/// committed (or failed as a whole): nothing is acknowledged that a crash could still undo.
/// ``run(wallTime:)`` is the one loop that applies them; a submission made before it starts waits
/// for it, and one made after it stopped fails at once with ``Stopped``.
public final class FeederBatcher: Sendable {
    /// What a submission comes to: its operation's outcome, or why it has none.
    public typealias Completion = @Sendable (Result<FeederOperationOutcome, any Error>) -> Void

    /// A submission waiting for its batch.
    private struct Work: Sendable {
        /// `nil`: a barrier, completed once everything submitted before it is committed.
        var operation: FeederOperation?
        var submittedAt: Moment
        var completion: Completion
    }

    /// The loop stopped before the operation's batch was applied: nothing of it was recorded,
    /// and no answer should be sent (the node sends it again to the next manager).
    public struct Stopped: Error, Hashable, Sendable {}

    private let store: any FeederBatchStore
    private let limits: FeederBatching.Limits
    private let clock: any DialerClock
    /// Submissions not yet taken by the loop; `nil` once the loop has stopped.
    private let inbox = Mutex<[Work]?>([])
    private let wakes: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// Called with each batch's size after it commits (for metrics and benchmarks).
    private let committed: @Sendable (Int) -> Void

    /// - Parameters:
    ///   - clock: the clock of the linger deadline.
    ///   - committed: told each committed batch's size.
    public init(
        store: any FeederBatchStore, limits: FeederBatching.Limits, clock: any DialerClock,
        committed: @escaping @Sendable (Int) -> Void = { _ in }
    ) {
        self.store = store
        self.limits = limits
        self.clock = clock
        self.committed = committed
        (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues an operation; `completion` is called once, after its batch commits.
    public func submit(_ operation: FeederOperation, completion: @escaping Completion) {
        enqueue(Work(operation: operation, submittedAt: clock.now(), completion: completion))
    }

    /// Queues an operation and waits for its outcome.
    public func apply(_ operation: FeederOperation) async throws -> FeederOperationOutcome {
        let (outcomes, continuation) = AsyncStream.makeStream(
            of: Result<FeederOperationOutcome, any Error>.self, bufferingPolicy: .bufferingNewest(1))
        submit(operation) { outcome in
            continuation.yield(outcome)
            continuation.finish()
        }
        for await outcome in outcomes { return try outcome.get() }
        throw Stopped()
    }

    /// Waits until everything submitted before this call is committed (or has failed).
    public func barrier() async {
        let (done, continuation) = AsyncStream.makeStream(of: Void.self)
        enqueue(Work(operation: nil, submittedAt: clock.now()) { _ in continuation.finish() })
        for await _ in done {}
    }

    private func enqueue(_ work: Work) {
        let accepted = inbox.withLock { inbox in
            inbox?.append(work)
            return inbox != nil
        }
        guard accepted else { return work.completion(.failure(Stopped())) }
        wake.yield()
    }

    /// Applies batches until the task is cancelled.
    ///
    /// - Parameter wallTime: the date each batch is applied at.
    public func run(wallTime: @escaping @Sendable () -> Date) async {
        var policy = FeederBatching(limits: limits)
        var waiting: [Work] = []
        var wakes = self.wakes.makeAsyncIterator()
        func take(stopping: Bool = false) {
            let arrived = inbox.withLock { inbox in
                defer { inbox = stopping ? nil : [] }
                return inbox ?? []
            }
            for work in arrived { policy.received(submittedAt: work.submittedAt) }
            waiting += arrived
        }
        running: while !Task.isCancelled {
            take()
            switch policy.next(at: clock.now()) {
            case .flush(let count):
                let batch = Array(waiting.prefix(count))
                waiting.removeFirst(count)
                await commit(batch, now: wallTime())
            case .wait(let deadline):
                // Submissions meanwhile wait in the inbox: the linger is short, so a batch that
                // fills up during it is committed at its end.
                do { try await clock.sleep(until: deadline) } catch { break running }
            case .idle:
                guard await wakes.next() != nil else { break running }
            }
        }
        // Stopping: what waits is not applied, and not answered; its nodes send it again to the
        // manager they reach next. Later submissions fail at once.
        take(stopping: true)
        for work in waiting { work.completion(.failure(Stopped())) }
    }

    /// Applies one batch and completes each submission in order, after the commit.
    private func commit(_ batch: [Work], now: Date) async {
        let operations = batch.compactMap(\.operation)
        let results: [Result<FeederOperationOutcome, any Error>]
        do {
            // A batch of barriers alone has nothing to apply.
            results = operations.isEmpty ? [] : try await store.applyFeederBatch(operations, now: now)
            guard results.count == operations.count else {
                throw StoreError.corruptRow("a batch of \(operations.count) returned \(results.count) results")
            }
            if !operations.isEmpty { committed(operations.count) }
        } catch {
            let failure = error is CancellationError ? Stopped() : error
            for work in batch { work.completion(.failure(failure)) }
            return
        }
        var next = results.makeIterator()
        for work in batch {
            if work.operation == nil {
                // A barrier: its completion only says that what came before is done.
                work.completion(.failure(Stopped()))
            } else if let result = next.next() {
                work.completion(result)
            }
        }
    }
}
