public import DialerCore
public import Logging
import Metrics
import NIOCore
import NIOPosix

/// One leased campaign queue's dialer: the actor that carries out a
/// ``QueueRunnerStateMachine``'s decisions against a trunk, a contact source and the agent
/// gateway.
///
/// Every event goes through ``handle(_:)``; before each one the runner asks its lease check
/// whether the lease is still valid by the node's own clock, so no call is placed, and no agent
/// asked for, after the lease may have lapsed.
///
/// The machine's actions are carried out in the order it emitted them, by lanes the runner owns:
/// one per call (its origination, bridge, the gateway's confirmation, messages, hang-up, the
/// call's end at the gateway and its report, in that order), one for the queue (contacts given
/// back), and one for each request withdrawn or released before it concerns a call. Calls do not
/// wait for each other, nor do agents being freed. Long waits whose results come back as events (a contact request to the
/// manager, an agent request at the gateway, a call's progress) run in tasks of their own,
/// which the runner also owns and cancels when it stops.
///
/// The runner's own steps run on a thread of ``pacingThreads``, not on the cooperative pool:
/// a predictive decision over a queue of thousands of agents holds its thread for milliseconds,
/// and on the pool (as many threads as cores) every other actor of the node, the gateway's
/// answers to the node's agent requests among them, waited that long for a thread. On threads
/// of their own the operating system's scheduler shares the cores between them and the pool.
public actor QueueRunner {
    /// The threads the node's runners take turns on, one event loop each, as many as cores;
    /// a runner stays on the one it was given. Started on first use and kept for the process.
    static let pacingThreads = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)

    private let executor: any SerialExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    private var machine: QueueRunnerStateMachine
    private let trunk: any Trunk
    private let contacts: any ContactSource
    private let desk: any AgentDesk
    private let clock: any DialerClock
    private let leaseIsValid: @Sendable () -> Bool
    private let logger: Logger
    private let tickInterval: Duration
    private let epoch: Epoch
    private var calls: [AttemptID: CallID] = [:]
    /// The lanes taking work, by what they serve.
    private var lanes: [LaneKey: ActionLane] = [:]
    /// Every lane and long wait still running (closed lanes finish what they hold), each
    /// removed when it ends so that a long day does not accumulate finished tasks.
    private var tasks: [UInt64: Task<Void, Never>] = [:]
    private var nextTask: UInt64 = 0
    /// The call each confirmed request is for: the call's end at the gateway follows its
    /// confirmation in the call's lane.
    private var confirmedCalls: [RequestID: AttemptID] = [:]
    /// The other way round, so that a call's report forgets its requests without a scan of every
    /// confirmed call (thousands on a large floor, at every report).
    private var confirmedRequests: [AttemptID: Set<RequestID>] = [:]
    private var finished = false
    private var finishedWaiters: [CheckedContinuation<Void, Never>] = []
    private let metrics: QueueRunnerMetrics
    /// When the in-flight gauges were last set: counting the calls by stage costs O(calls), too
    /// much for every event of a 10,000-agent queue, so it is done on the ticks (and after a
    /// tick interval without one, and when the runner finishes), which keeps the gauges at most
    /// a tick behind.
    private var metricsUpdatedAt: Moment?
    /// The agents logged in to the queue, as the last picture showed them: the manager hands
    /// out a private callback only while its agent is among them.
    private var presentAgents: [AgentID] = []
    /// The node is stopping: a call the trunk places from now on is hung up at once.
    private var hangingUpAll = false
    /// Calls asked of the trunk since the runner started, for the dial rate the live panel shows.
    private var attemptsStarted = 0

    public nonisolated let queue: QueueID

    /// A runner for `queue` under `epoch`.
    ///
    /// - Parameters:
    ///   - leaseIsValid: whether the node may still act on the lease now, by its own clock;
    ///     checked before every event.
    ///   - executor: where the runner's steps run; by default the next of ``pacingThreads``.
    public init(
        configuration: QueueRunnerStateMachine.Configuration, settings: CampaignSettings, epoch: Epoch,
        trunk: any Trunk, contacts: any ContactSource, desk: any AgentDesk, clock: any DialerClock,
        tickInterval: Duration = .milliseconds(200), timeScale: Double = 1, logger: Logger,
        executor: (any SerialExecutor)? = nil, leaseIsValid: @escaping @Sendable () -> Bool
    ) {
        self.executor = executor ?? Self.pacingThreads.next().executor
        self.queue = configuration.queue
        self.machine = QueueRunnerStateMachine(configuration: configuration, settings: settings, now: clock.now())
        self.epoch = epoch
        self.trunk = trunk
        self.contacts = contacts
        self.desk = desk
        self.clock = clock
        self.tickInterval = tickInterval
        self.logger = logger
        self.leaseIsValid = leaseIsValid
        self.metrics = QueueRunnerMetrics(queue: configuration.queue, timeScale: timeScale)
    }

    /// Runs until the lease is lost or the queue drained and everything in hand is finished,
    /// or until cancelled (which hands back nothing: the manager closes the attempts when the
    /// node is declared lost).
    public func run() async {
        handle(.leaseHeld(epoch))
        while !finished, !Task.isCancelled {
            do {
                try await clock.sleep(until: clock.now() + tickInterval)
            } catch {
                break
            }
            handle(.tick)
        }
        for lane in lanes.values { lane.close() }
        lanes = [:]
        for task in tasks.values { task.cancel() }
    }

    /// Waits until the runner finished what it held after a drain or a lost lease.
    public func waitUntilFinished() async {
        if finished { return }
        await withCheckedContinuation { finishedWaiters.append($0) }
    }

    /// The gateway's latest picture of the queue's agents: pacing's view and who is present.
    public func agentsChanged(_ picture: AgentPicture, present: [AgentID]) {
        presentAgents = present
        handle(.agentsChanged(picture))
    }

    /// The queue is drained: finish the calls in hand, place nothing new.
    public func drain() { handle(.drain) }

    /// The node is stopping: places nothing new, hands back what it has not dialed, hangs up
    /// every call in progress, and returns when each is reported (with the outcome its hang-up
    /// gives: connected for a bridged call, whose agent goes to wrap-up) and the messages about
    /// them have left, or when `limit` has passed.
    public func shutDown(within limit: Duration) async {
        hangingUpAll = true
        handle(.drain)
        for attempt in calls.keys.sorted() { hangUpNow(attempt) }
        // Then the reports, call ends and returns the machine asked for leave from the lanes.
        let deadline = ContinuousClock.now + limit
        while !(finished && tasks.isEmpty), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    private func hangUpNow(_ attempt: AttemptID) {
        onCall(attempt) { trunk, call in try await trunk.hangUp(call) }
    }

    /// Feeds one event (a gateway push, a settings change ...) and carries out the decisions.
    public func handle(_ event: QueueRunnerEvent) {
        let now = clock.now()
        var actions: [QueueRunnerAction] = []
        if machine.lease.isHeld || machine.drainingWithLease, !leaseIsValid() {
            logger.warning("the lease may have lapsed: placing nothing more", metadata: ["queue": "\(queue)"])
            actions += machine.handle(.leaseLost, now: now)
        }
        actions += machine.handle(event, now: now)
        perform(actions)
        var tick = false
        if case .tick = event { tick = true }
        // The last update (the runner finished) is never skipped: no tick follows it.
        if tick || finished || metricsUpdatedAt.map({ now - $0 >= tickInterval }) ?? true {
            metricsUpdatedAt = now
            metrics.update(from: machine)
        }
    }

    /// The calls in flight by stage, for `/v1/queues` and tests.
    public var callsByStage: [String: Int] { machine.callsByStage }
    /// Live answers and abandons over the campaign's regulated window, as this runner counted
    /// them (what predictive pacing holds to its target).
    public func abandonCounts() -> AbandonCounts { machine.abandonCounts(at: clock.now()) }
    /// The campaign settings the runner dials with now.
    public var settings: CampaignSettings { machine.settings }
    /// The last pacing decision's dial level.
    public var dialLevel: Double { machine.lastPacingDecision?.dialLevel ?? 0 }
    /// The last pacing decision and the counts the live panel shows beside it.
    public var pacing: PacingState {
        PacingState(
            decision: machine.lastPacingDecision, attemptsStarted: attemptsStarted,
            callsInFlight: machine.callsByStage.values.reduce(0, +))
    }

    // MARK: - Carrying out decisions

    private func perform(_ actions: [QueueRunnerAction]) {
        for action in actions {
            switch action {
            case .requestContacts(let count):
                let present = presentAgents
                startLongWait {
                    do {
                        let batch = try await self.contacts.contacts(
                            queue: self.queue, epoch: self.epoch, count: count, presentAgents: present)
                        await self.handle(.contactsArrived(batch.targets, exhausted: batch.exhausted))
                    } catch {
                        await self.contactRequestFailed(error)
                    }
                }
            case .originate(let attempt, let request):
                metrics.attempts.increment()
                attemptsStarted += 1
                lane(.call(attempt)).add {
                    do throws(TrunkError) {
                        let call = try await self.trunk.originate(request)
                        await self.follow(call, for: attempt)
                    } catch {
                        switch error {
                        case .channelCapacityExhausted, .callsPerSecondExceeded:
                            // The trunk's or the carrier's limits, not a failed call: the
                            // contact is dialed again shortly.
                            await self.refused(attempt, error)
                        default:
                            await self.handle(.originateFailed(attempt))
                        }
                    }
                }
            case .requestAgent(let draft):
                // The answer may take until the deadline; withdrawing or releasing the request
                // must not wait for it, so the wait is not in a lane.
                startLongWait {
                    let answer = await self.desk.request(draft, queue: self.queue, epoch: self.epoch)
                    switch answer {
                    case .granted(let agent): await self.handle(.agentGranted(draft.id, agent))
                    case .notGranted(let refusal): await self.handle(.agentNotGranted(draft.id, because: refusal))
                    }
                }
            case .confirm(let request, let target):
                // After the bridge the machine asked for first, in the same lane.
                forgetConfirmation(of: request)
                confirmedCalls[request] = target.attempt
                confirmedRequests[target.attempt, default: []].insert(request)
                lane(.call(target.attempt)).add {
                    await self.desk.confirm(request, target: target, queue: self.queue, epoch: self.epoch)
                }
            case .release(let request):
                requestLane(request).add { await self.desk.release(request) }
                closeRequestLane(request)
            case .cancel(let request):
                requestLane(request).add { await self.desk.cancel(request) }
                closeRequestLane(request)
            case .callEnded(let request):
                // The end must not overtake the confirmation at the gateway: an end refused for a
                // call not yet connected there would leave the agent on the call for good.
                let lane = lane(for: request)
                forgetConfirmation(of: request)
                lane.add { await self.desk.callEnded(request) }
            case .bridge(let attempt, let agent):
                onCall(attempt) { trunk, call in try await trunk.bridge(call, to: agent) }
            case .play(let attempt, let message):
                onCall(attempt) { trunk, call in try await trunk.play(message, on: call) }
            case .hangUp(let attempt):
                onCall(attempt) { trunk, call in try await trunk.hangUp(call) }
            case .report(let record):
                let attempt = record.target.attempt
                calls[attempt] = nil
                metrics.record(record)
                // The attempt's last action: its lane closes once the report has left.
                lane(.call(attempt)).add {
                    await self.contacts.report(record, queue: self.queue, epoch: self.epoch)
                }
                closeLane(.call(attempt))
                for request in confirmedRequests.removeValue(forKey: attempt) ?? [] { confirmedCalls[request] = nil }
            case .returnContact(let target):
                lane(.queue).add { await self.contacts.giveBack(target, queue: self.queue, epoch: self.epoch) }
                closeLane(.call(target.attempt))
            case .finished:
                finished = true
                closeLane(.queue)
                for waiter in finishedWaiters { waiter.resume() }
                finishedWaiters = []
            }
        }
    }

    /// The lane for `key`, opened on first use.
    private func lane(_ key: LaneKey) -> ActionLane {
        if let lane = lanes[key] { return lane }
        let (lane, operations) = ActionLane.make()
        lanes[key] = lane
        own { for await operation in operations { await operation() } }
        return lane
    }

    private func forgetConfirmation(of request: RequestID) {
        guard let attempt = confirmedCalls.removeValue(forKey: request) else { return }
        confirmedRequests[attempt]?.remove(request)
        if confirmedRequests[attempt]?.isEmpty == true { confirmedRequests[attempt] = nil }
    }

    /// The lane of the call a request concerns, else the queue's.
    private func lane(for request: RequestID) -> ActionLane {
        if let attempt = confirmedCalls[request] { return lane(.call(attempt)) }
        return lane(.queue)
    }

    /// The lane of a request's release or cancellation: its call's lane once confirmed, else a
    /// lane of the request's own, so that releases and cancellations of different requests (each
    /// a gateway round trip) do not queue behind one another while agents wait to be freed.
    private func requestLane(_ request: RequestID) -> ActionLane {
        if let attempt = confirmedCalls[request] { return lane(.call(attempt)) }
        return lane(.request(request))
    }

    private func closeRequestLane(_ request: RequestID) {
        if confirmedCalls[request] == nil { closeLane(.request(request)) }
    }

    /// Takes no more work for `key`; the lane ends after what it holds.
    private func closeLane(_ key: LaneKey) {
        lanes.removeValue(forKey: key)?.close()
    }

    /// Starts a long wait whose result comes back as an event.
    private func startLongWait(_ body: @escaping @Sendable () async -> Void) {
        own(body)
    }

    /// Runs `body` in a task the runner keeps until it ends, and cancels when it stops.
    private func own(_ body: @escaping @Sendable () async -> Void) {
        nextTask += 1
        let id = nextTask
        tasks[id] = Task {
            await body()
            self.taskEnded(id)
        }
    }

    private func taskEnded(_ id: UInt64) {
        tasks[id] = nil
    }

    private func refused(_ attempt: AttemptID, _ error: TrunkError) {
        metrics.refusedByTrunk.increment()
        logger.debug("the trunk refused a call", metadata: ["queue": "\(queue)", "reason": "\(error)"])
        handle(.originateRefused(attempt))
    }

    private func contactRequestFailed(_ error: any Error) {
        logger.notice("contact request failed", metadata: ["queue": "\(queue)", "error": "\(error)"])
        handle(.contactRequestFailed)
    }

    /// Feeds the call's progress to the machine until it ends.
    private func follow(_ call: OutboundCall, for attempt: AttemptID) {
        calls[attempt] = call.id
        if hangingUpAll { hangUpNow(attempt) }
        startLongWait {
            for await progress in call.progress {
                await self.handle(.progress(attempt, progress))
                if progress.isFinal { break }
            }
        }
    }

    private func onCall(
        _ attempt: AttemptID, _ operation: @escaping @Sendable (any Trunk, CallID) async throws -> Void
    ) {
        guard let call = calls[attempt] else { return }
        let trunk = self.trunk
        lane(.call(attempt)).add {
            do {
                try await operation(trunk, call)
            } catch {
                // The call may have ended meanwhile; its end comes through its progress.
                await self.logOperationFailure(attempt, error)
            }
        }
    }

    private func logOperationFailure(_ attempt: AttemptID, _ error: any Error) {
        logger.debug("trunk operation failed", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
    }
}

/// What a lane of the runner serves.
private enum LaneKey: Hashable {
    /// One call: everything the machine asks for about it, in order.
    case call(AttemptID)
    /// One request not (or no longer) tied to a confirmed call: its release or cancellation.
    case request(RequestID)
    /// The queue: what concerns no call.
    case queue
}

/// Operations performed one after another, in the order they were added, by the one task that
/// reads them (the runner owns it).
private struct ActionLane: Sendable {
    typealias Operation = @Sendable () async -> Void
    private let operations: AsyncStream<Operation>.Continuation

    static func make() -> (ActionLane, AsyncStream<Operation>) {
        let (stream, continuation) = AsyncStream.makeStream(of: Operation.self)
        return (ActionLane(operations: continuation), stream)
    }

    func add(_ operation: @escaping Operation) { operations.yield(operation) }

    /// No more operations; the reader ends after the ones added.
    func close() { operations.finish() }
}

/// The runner's figures, per queue, through swift-metrics.
struct QueueRunnerMetrics: Sendable {
    /// Calls the runner asked the trunk to place, refused ones included.
    let attempts: Counter
    /// Calls the trunk refused for its channels or the carrier's calls-per-second cap; they are
    /// not attempts, and their contacts are dialed again.
    let refusedByTrunk: Counter
    let dialLevel: Gauge
    let inFlight: [String: Gauge]
    let outcomes: [AttemptOutcome: Counter]
    /// Abandoned calls by cause (`AbandonCause`): overdial apart from latency, detection and
    /// lost gateways.
    let abandons: [AbandonCause: Counter]
    /// From a live answer to the bridge, on the runner's clock: call time, which a simulated
    /// trunk may run faster than the wall (divide by its time scale for wall time).
    let answerToBridge: Timer
    /// From the moment the node knew the answer was live (the detector's verdict) to the bridge,
    /// in wall time: the node's and the gateway's own share of the 2-second rule.
    let liveToBridge: Timer
    let timeScale: Double

    init(queue: QueueID, timeScale: Double) {
        self.timeScale = min(max(timeScale, 1e-6), 1e6)
        let dimensions = [("queue", queue.rawValue)]
        attempts = Counter(label: "dialer_node_attempts_total", dimensions: dimensions)
        refusedByTrunk = Counter(label: "dialer_node_calls_refused_by_trunk_total", dimensions: dimensions)
        dialLevel = Gauge(label: "dialer_node_dial_level", dimensions: dimensions)
        inFlight = Dictionary(
            uniqueKeysWithValues: ["dialing", "classifying", "waiting", "bridged", "playing", "hanging-up"].map {
                ($0, Gauge(label: "dialer_node_calls_in_flight", dimensions: dimensions + [("stage", $0)]))
            })
        outcomes = Dictionary(
            uniqueKeysWithValues: AttemptOutcome.allCases.map {
                (
                    $0,
                    Counter(
                        label: "dialer_node_attempt_outcomes_total", dimensions: dimensions + [("outcome", $0.rawValue)]
                    )
                )
            })
        abandons = Dictionary(
            uniqueKeysWithValues: AbandonCause.allCases.map {
                ($0, Counter(label: "dialer_node_abandons_total", dimensions: dimensions + [("cause", $0.rawValue)]))
            })
        answerToBridge = Timer(label: "dialer_node_answer_to_bridge_seconds", dimensions: dimensions)
        liveToBridge = Timer(label: "dialer_node_live_to_bridge_seconds", dimensions: dimensions)
    }

    func update(from machine: QueueRunnerStateMachine) {
        let stages = machine.callsByStage
        for (stage, gauge) in inFlight { gauge.record(stages[stage] ?? 0) }
        dialLevel.record(machine.lastPacingDecision?.dialLevel ?? 0)
    }

    func record(_ attempt: DialedAttempt) {
        outcomes[attempt.outcome]?.increment()
        if let cause = attempt.abandonCause { abandons[cause]?.increment() }
        if let answered = attempt.answeredAt, let bridged = attempt.bridgedAt {
            answerToBridge.recordNanoseconds((bridged - answered).totalNanoseconds)
        }
        if let live = attempt.liveAt, let bridged = attempt.bridgedAt {
            let wall = Double(max(.zero, bridged - live).totalNanoseconds) / timeScale
            liveToBridge.recordNanoseconds(Int64(wall.rounded()))
        }
    }
}
