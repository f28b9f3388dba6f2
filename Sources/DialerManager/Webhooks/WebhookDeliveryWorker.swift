public import DialerCore
import FoundationEssentials
public import Logging
import ServiceLifecycle

/// Delivers the outbox: the shell around ``WebhookDeliveryMachine``. One effect loop performs
/// the machine's actions in order; sends and timers run as child tasks of the loop's task
/// group (so they end with it) and come back as events.
public actor WebhookDeliveryWorker {
    private let store: any WebhookStore
    private let sender: any WebhookSender
    private let clock: any DialerClock
    private let wallTime: WallTime
    private let logger: Logger
    private var machine: WebhookDeliveryMachine

    /// - Parameters:
    ///   - wallTime: dates on `clock` (the outbox's instants are dates).
    ///   - seed: the jitter's random sequence.
    public init(
        store: any WebhookStore, sender: any WebhookSender, clock: any DialerClock, wallTime: WallTime,
        settings: WebhookDeliveryMachine.Settings = .init(), seed: UInt64 = UInt64.random(in: .min ... .max),
        logger: Logger
    ) {
        self.store = store
        self.sender = sender
        self.clock = clock
        self.wallTime = wallTime
        self.logger = logger
        self.machine = WebhookDeliveryMachine(settings: settings, seed: seed)
    }

    /// Delivers until cancelled. A delivery in flight when the worker stops stays pending in
    /// the store and is sent again by the next run: at least once.
    public func run() async {
        let (events, continuation) = AsyncStream.makeStream(of: WebhookDeliveryMachine.Event.self)
        continuation.yield(.started(now: wallTime.now()))
        let sender = self.sender
        let clock = self.clock
        let wallTime = self.wallTime
        let timeout = machine.settings.timeout
        await withDiscardingTaskGroup { group in
            for await event in events {
                var queue = [event]
                while !queue.isEmpty {
                    for action in machine.handle(queue.removeFirst()) {
                        switch action {
                        case .load(let limit, let excluding, let now):
                            do {
                                let (due, next) = try await store.dueWebhookDeliveries(
                                    now: now, excluding: excluding, limit: limit)
                                queue.append(.loaded(due, nextDueAt: next, now: wallTime.now()))
                            } catch is CancellationError {
                                break
                            } catch {
                                logger.error("cannot read the webhook outbox", metadata: ["error": "\(error)"])
                                queue.append(.loaded([], nextDueAt: nil, now: wallTime.now()))
                            }
                        case .send(let delivery):
                            group.addTask {
                                let started = clock.now()
                                let timestamp = Int64(wallTime.now().timeIntervalSince1970.rounded(.down))
                                // Shielded from the loop's cancellation: URLSession on Linux may
                                // never resume a cancelled request, and the send's own timeout
                                // bounds how long a stopping worker waits for it.
                                let result = await Task {
                                    await sender.send(delivery, timestamp: timestamp, timeout: timeout)
                                }.value
                                let elapsed = (clock.now() - started).totalMilliseconds
                                continuation.yield(
                                    .finished(
                                        delivery, result, durationMilliseconds: Int(clamping: elapsed),
                                        now: wallTime.now()))
                            }
                        case .record(let record):
                            do {
                                try await store.recordWebhookTry(record)
                            } catch is CancellationError {
                                // Stopping: the delivery stays pending as it was and is sent
                                // again by the next run.
                                break
                            } catch {
                                // The delivery stays pending as it was: it is sent again.
                                logger.error("cannot record a webhook try", metadata: ["error": "\(error)"])
                            }
                        case .armTimer(let at, let generation):
                            let delay = max(0, at.timeIntervalSince(wallTime.now()))
                            let deadline = clock.now() + .milliseconds(Int64((delay * 1000).rounded(.up)))
                            group.addTask {
                                do { try await clock.sleep(until: deadline) } catch { return }
                                continuation.yield(.timerFired(generation: generation, now: wallTime.now()))
                            }
                        }
                    }
                }
            }
            group.cancelAll()
        }
        continuation.finish()
    }
}

/// The worker as a service of the manager's process.
struct WebhookDeliveryService: Service {
    let worker: WebhookDeliveryWorker

    func run() async throws {
        await cancelWhenGracefulShutdown { await worker.run() }
    }
}
