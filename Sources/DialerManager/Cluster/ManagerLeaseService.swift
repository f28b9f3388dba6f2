public import DialerCore
import FoundationEssentials
public import Logging
import Metrics
public import ServiceLifecycle

/// Whether this manager is the active one, for the services that run only then (the cluster
/// port's feeder and lease clock, watched folders, webhook deliveries).
public actor ManagerActivity {
    /// The term under which this manager is active; `nil` while it stands by.
    public private(set) var activeTerm: ManagerTerm?
    private var watchers: [Int: AsyncStream<ManagerTerm?>.Continuation] = [:]
    private var nextWatcher = 0

    /// - Parameter active: a manager without standbys is active from the start under term 0.
    public init(active: Bool) {
        activeTerm = active ? ManagerTerm(0) : nil
    }

    func set(_ term: ManagerTerm?) {
        guard term != activeTerm else { return }
        activeTerm = term
        for watcher in watchers.values { watcher.yield(term) }
    }

    /// The current term, then each change.
    func updates() -> AsyncStream<ManagerTerm?> {
        let (stream, continuation) = AsyncStream.makeStream(of: ManagerTerm?.self, bufferingPolicy: .bufferingNewest(1))
        let id = nextWatcher
        nextWatcher += 1
        watchers[id] = continuation
        continuation.yield(activeTerm)
        return stream
    }

    /// Runs `body` while this manager is active: it starts at each activation and is cancelled
    /// (and awaited) at each deactivation, until the calling task is cancelled.
    public func whileActive(_ body: @escaping @Sendable (ManagerTerm) async throws -> Void) async {
        var running: Task<Void, Never>?
        for await term in updates() {
            if let task = running {
                task.cancel()
                await task.value
                running = nil
            }
            if let term {
                running = Task { try? await body(term) }
            }
        }
        running?.cancel()
        await running?.value
    }
}

/// A service that runs `inner` only while the manager is active.
struct WhileActiveService<Inner: Service>: Service {
    let activity: ManagerActivity
    let inner: Inner

    func run() async throws {
        let inner = self.inner
        await cancelWhenGracefulShutdown {
            await activity.whileActive { _ in try await inner.run() }
        }
    }
}

/// The shell of a ``ManagerLeaseMachine``: one effect loop takes ticks and the store's answers
/// as events and performs the machine's actions in order; at most one store call is in flight,
/// in a task the loop owns, so that the lease's end is noticed on time even while a write waits.
public actor ManagerLeaseService: Service {
    private enum Event: Sendable {
        case tick
        case acquired(ManagerTerm, startedAt: Moment)
        case acquireFailed(String)
        case renewed(ManagerTerm, startedAt: Moment)
        case renewalFailed(String)
        case lost
    }

    private var machine: ManagerLeaseMachine
    private let store: any ManagerLeaseStore
    private let holder: String
    private let coordinator: ClusterCoordinator
    private let activity: ManagerActivity
    private let fence: ManagerTermFence?
    private let clock: any DialerClock
    private let logger: Logger
    private var storeCall: Task<Void, Never>?
    private let takeovers = Counter(label: "dialer_manager_lease_takeovers_total")
    private let losses = Counter(label: "dialer_manager_lease_losses_total")
    private let activeGauge = Gauge(label: "dialer_manager_active")

    public init(
        holder: String, duration: Duration, store: any ManagerLeaseStore, coordinator: ClusterCoordinator,
        activity: ManagerActivity, fence: ManagerTermFence? = nil, clock: any DialerClock, logger: Logger
    ) {
        self.fence = fence
        self.machine = ManagerLeaseMachine(duration: duration, at: clock.now())
        self.holder = holder
        self.store = store
        self.coordinator = coordinator
        self.activity = activity
        self.clock = clock
        self.logger = logger
    }

    public func run() async throws {
        activeGauge.record(0)
        let (events, sink) = AsyncStream.makeStream(of: Event.self)
        let (clock, tickInterval) = (self.clock, machine.duration / 20)
        let ticker = Task {
            while !Task.isCancelled {
                sink.yield(.tick)
                try? await clock.sleep(for: tickInterval)
            }
        }
        await withGracefulShutdownHandler {
            for await event in events {
                await handle(event, sink: sink)
            }
        } onGracefulShutdown: {
            sink.finish()
        }
        ticker.cancel()
        storeCall?.cancel()
        await storeCall?.value
        let role = machine.role
        for action in machine.shutDown() { await perform(action, sink: sink) }
        if case .active(let term) = role {
            // A standby need not wait for the lease to expire.
            try? await store.release(holder: holder, term: term)
        }
    }

    private func handle(_ event: Event, sink: AsyncStream<Event>.Continuation) async {
        let now = clock.now()
        let actions: [ManagerLeaseMachine.Action]
        switch event {
        case .tick:
            actions = machine.tick(at: now)
        case .acquired(let term, let started):
            storeCall = nil
            actions = machine.acquired(term, startedAt: started, now: now)
        case .acquireFailed(let reason):
            storeCall = nil
            logger.debug("manager lease not acquired", metadata: ["reason": "\(reason)"])
            actions = machine.acquireFailed(at: now)
        case .renewed(let term, let started):
            storeCall = nil
            actions = machine.renewed(term, startedAt: started, now: now)
        case .renewalFailed(let reason):
            storeCall = nil
            logger.error("manager lease renewal failed", metadata: ["error": "\(reason)"])
            actions = machine.renewalFailed(at: now)
        case .lost:
            storeCall = nil
            actions = machine.lost(at: now)
        }
        for action in actions { await perform(action, sink: sink) }
    }

    private func perform(_ action: ManagerLeaseMachine.Action, sink: AsyncStream<Event>.Continuation) async {
        let (store, holder, clock, duration) = (self.store, self.holder, self.clock, machine.duration)
        switch action {
        case .tryAcquire:
            storeCall = Task {
                let started = clock.now()
                do {
                    switch try await store.acquire(holder: holder, duration: duration) {
                    case .acquired(let term): sink.yield(.acquired(term, startedAt: started))
                    case .heldBy(let other, let term, _):
                        sink.yield(.acquireFailed("held by \(other) under term \(term)"))
                    }
                } catch {
                    sink.yield(.acquireFailed("\(error)"))
                }
            }
        case .renew(let term):
            storeCall = Task {
                let started = clock.now()
                do {
                    let kept = try await store.renew(holder: holder, term: term, duration: duration)
                    sink.yield(kept ? .renewed(term, startedAt: started) : .lost)
                } catch {
                    sink.yield(.renewalFailed("\(error)"))
                }
            }
        case .startServing(let term):
            let grants: [QueueID: LeaseTable.LastGrant]
            do {
                grants = try await store.journaledGrants()
            } catch {
                // Without the journal the epochs cannot be continued: give the lease up.
                logger.error("cannot read the queue-lease journal", metadata: ["error": "\(error)"])
                try? await store.release(holder: holder, term: term)
                for action in machine.lost(at: clock.now()) { await perform(action, sink: sink) }
                return
            }
            takeovers.increment()
            activeGauge.record(1)
            fence?.activate(term)
            await coordinator.activate(
                term: term, journal: LeaseJournal(store: store, holder: holder, term: term), restoring: grants)
            await activity.set(term)
        case .stopServing:
            losses.increment()
            activeGauge.record(0)
            await coordinator.deactivate()
            await activity.set(nil)
        }
    }
}
