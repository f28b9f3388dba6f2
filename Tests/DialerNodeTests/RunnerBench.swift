import DialerCore
import DialerNode
import DialerSimulation
import DialerTestSupport
import Logging
import Synchronization
import Testing

/// The gateway's reservation book, in-process: the real matching rules, preview offers an agent
/// (the test) accepts or skips, and agents that finish their wrap-up as soon as the call ends.
///
/// When it watches a runner, it pushes the queue's picture to it after every change, in order,
/// as the gateway's picture stream does.
actor InProcessDesk: AgentDesk {
    private var book: ReservationBook
    private var waiting: [RequestID: CheckedContinuation<AgentAnswer, Never>] = [:]
    private var answered: [RequestID: AgentAnswer] = [:]
    private let clock: any DialerClock
    private let node: MemberID
    private let queue: QueueID
    private(set) var grants = 0
    private(set) var busyTwice = 0
    /// Every request the runner made, in order.
    private(set) var requests: [AgentRequestDraft] = []
    /// Every preview offer shown to an agent, in order.
    private(set) var offers: [Offer] = []
    /// Grants by request, in order.
    private(set) var granted: [(request: RequestID, agent: AgentID)] = []
    /// The contact shown to the agent of each confirmed call, in order.
    private(set) var confirmed: [(request: RequestID, agent: AgentID, target: DialTarget)] = []
    /// Changes of any kind, for a test to see that things have stopped moving.
    private(set) var operations = 0
    /// Confirmations received: calls bridged to an agent.
    private(set) var confirmations = 0
    /// Grants for the runner's queue made while a request of another queue (an inbound
    /// caller) waited that the granted agent ranks higher: blending by rank broken.
    private(set) var grantsPassingOverHigherRanks = 0
    private var holders: [AgentID: RequestID] = [:]
    private var connectedAt: [RequestID: Moment] = [:]
    private var pictures: AsyncStream<(AgentPicture, [AgentID])>.Continuation?

    init(
        agents: Int, queue: QueueID, node: MemberID, epoch: Epoch, clock: any DialerClock,
        configuration: ReservationBook.Configuration = .init(), skills: AgentSkills? = nil
    ) throws {
        self.clock = clock
        self.node = node
        self.queue = queue
        self.book = ReservationBook(configuration: configuration)
        let now = clock.now()
        _ = try book.setQueueOwner(queue, node: node, epoch: epoch, now: now)
        let skills = skills ?? AgentSkills([queue: 1])
        for other in skills.ranks.keys where other != queue {
            _ = try book.setQueueOwner(other, node: node, epoch: epoch, now: now)
        }
        for index in 0..<agents {
            let agent = AgentID("agent-\(index)")
            _ = try book.logIn(agent, skills: skills, now: now)
            _ = try book.makeReady(agent, now: now)
        }
    }

    /// Pushes the queue's picture to `runner` now and after every change.
    func watch(_ runner: QueueRunner) -> Task<Void, Never> {
        let (stream, continuation) = AsyncStream.makeStream(of: (AgentPicture, [AgentID]).self)
        pictures = continuation
        pushPicture()
        return Task {
            for await (picture, present) in stream { await runner.agentsChanged(picture, present: present) }
        }
    }

    func request(_ draft: AgentRequestDraft, queue: QueueID, epoch: Epoch) async -> AgentAnswer {
        requests.append(draft)
        let request = ReservationRequest(
            id: draft.id, queue: queue, epoch: epoch, node: node, kind: draft.kind, namedAgent: draft.namedAgent,
            deadline: draft.deadline)
        let actions = (try? book.request(request, now: clock.now())) ?? [.timedOut(draft.id, node: node)]
        perform(actions)
        if let answer = answered.removeValue(forKey: draft.id) { return answer }
        return await withCheckedContinuation { waiting[draft.id] = $0 }
    }

    func confirm(_ request: RequestID, target: DialTarget, queue: QueueID, epoch: Epoch) async {
        confirmations += 1
        guard let held = book.heldRequest(request) else { return }
        connectedAt[request] = clock.now()
        perform((try? book.confirm(request, epoch: held.request.epoch, now: clock.now())) ?? [])
        if case .connected(let agent) = book.heldRequest(request)?.status {
            confirmed.append((request, agent, target))
        }
    }

    func release(_ request: RequestID) { perform((try? book.release(request, now: clock.now())) ?? []) }

    /// The agent's state in the book.
    func state(of agent: AgentID) -> AgentState? { book.agent(agent)?.state }

    func cancel(_ request: RequestID) async { perform((try? book.cancel(request, now: clock.now())) ?? []) }

    func callEnded(_ request: RequestID) async {
        connectedAt[request] = nil
        guard case .connected(let agent) = book.heldRequest(request)?.status else { return }
        perform((try? book.callEnded(request, now: clock.now())) ?? [])
        perform((try? book.finishWrapUp(agent, now: clock.now())) ?? [])
    }

    /// The agent accepts the preview offer of `request`.
    func accept(_ agent: AgentID, request: RequestID) throws {
        perform(try book.acceptOffer(agent, request: request, now: clock.now()))
    }

    /// The agent skips the preview offer of `request`.
    func reject(_ agent: AgentID, request: RequestID) throws {
        perform(try book.rejectOffer(agent, request: request, now: clock.now()))
    }

    /// Calls connected longer than `limit`, each returned once.
    func callsLongerThan(_ limit: Duration) -> [RequestID] {
        let now = clock.now()
        let long = connectedAt.filter { now - $0.value > limit }.map(\.key)
        for request in long { connectedAt[request] = nil }
        return long
    }

    private func perform(_ actions: [ReservationAction]) {
        operations += 1
        var agentsChanged = false
        for action in actions {
            switch action {
            case .granted(let grant):
                grants += 1
                if grant.queue == queue, let rank = book.agent(grant.agent)?.skills.rank(for: queue),
                    book.picture(of: queue, now: clock.now()).pendingAhead > 0,
                    book.agent(grant.agent)?.skills.ranks.contains(where: { $0.key != queue && $0.value < rank })
                        == true
                {
                    grantsPassingOverHigherRanks += 1
                }
                granted.append((grant.request, grant.agent))
                answer(grant.request, .granted(grant.agent))
            case .rejected(let request, _, _), .timedOut(let request, _):
                answer(request, .notGranted)
            case .agentChanged(let session):
                agentsChanged = true
                // An agent moving from one request straight to another was granted twice.
                let holder = session.state.heldBy
                if let previous = holders[session.id], let holder, previous != holder { busyTwice += 1 }
                holders[session.id] = holder
            case .scheduleTimer(let timer, let moment):
                let clock = self.clock
                Task {
                    try? await clock.sleep(until: moment)
                    self.fire(timer)
                }
            case .offer(let offer):
                offers.append(offer)
            case .grantRevoked, .offerWithdrawn, .cancelTimer:
                break
            }
        }
        if agentsChanged { pushPicture() }
    }

    /// The picture the gateway would send: what pacing needs of the book's view of the queue.
    private func pushPicture() {
        guard let pictures else { return }
        let view = book.picture(of: queue, now: clock.now())
        let picture = AgentPicture(
            available: view.available.map(\.idle),
            reserved: view.reserved.filter { $0.reservation.queue == queue }.count,
            onCall: view.onCall.map(\.talking),
            wrapUp: view.wrapUp.map(\.elapsed),
            paused: view.notReady.count,
            availableAgents: view.available.map(\.agent),
            demandAhead: view.pendingAhead)
        let present =
            view.available.map(\.agent) + view.reserved.map(\.agent) + view.onCall.map(\.agent)
            + view.wrapUp.map(\.agent)
        pictures.yield((picture, present))
    }

    private func fire(_ timer: BookTimer) { perform(book.timerFired(timer, now: clock.now())) }

    private func answer(_ request: RequestID, _ answer: AgentAnswer) {
        if let continuation = waiting.removeValue(forKey: request) {
            continuation.resume(returning: answer)
        } else {
            answered[request] = answer
        }
    }
}

/// A list in memory that records what comes back.
actor InMemoryContacts: ContactSource {
    private var queue: [DialTarget]
    private(set) var reports: [DialedAttempt] = []
    private(set) var givenBack: [DialTarget] = []
    /// The agents the last contact request said were present.
    private(set) var lastPresent: [AgentID] = []

    init(count: Int) {
        self.init(targets: (1...count).map(Self.target))
    }

    init(targets: [DialTarget]) {
        queue = targets
    }

    /// The `index`th contact of a generated list.
    static func target(_ index: Int) -> DialTarget {
        DialTarget(attempt: AttemptID("a\(index)"), contact: ContactID("c\(index)"), phone: "+1555\(1_000_000 + index)")
    }

    func contacts(queue: QueueID, epoch: Epoch, count: Int, presentAgents: [AgentID]) async throws
        -> (targets: [DialTarget], exhausted: Bool)
    {
        lastPresent = presentAgents
        let taken = Array(self.queue.prefix(count))
        self.queue.removeFirst(taken.count)
        return (taken, taken.count < count)
    }

    func report(_ attempt: DialedAttempt, queue: QueueID, epoch: Epoch) async { reports.append(attempt) }

    func giveBack(_ target: DialTarget, queue: QueueID, epoch: Epoch) async { givenBack.append(target) }

    var remaining: Int { queue.count }
}

/// What the simulated trunk did, as its observer saw it.
final class TrunkLog: Sendable {
    private let entries = Mutex<[SimulatedTrunk.Observation]>([])

    func append(_ observation: SimulatedTrunk.Observation) { entries.withLock { $0.append(observation) } }

    var all: [SimulatedTrunk.Observation] { entries.withLock { $0 } }
    var count: Int { entries.withLock { $0.count } }

    /// The calls placed: id, request and moment, in order.
    var originated: [(call: CallID, request: OriginateRequest, at: Moment)] {
        all.compactMap {
            if case .originated(let call, let request, let at, _) = $0 { (call, request, at) } else { nil }
        }
    }

    /// The calls the trunk refused.
    var refused: [TrunkError] {
        all.compactMap { if case .refused(_, let error, _) = $0 { error } else { nil } }
    }

    /// The progress of `call`, in order.
    func progress(of call: CallID) -> [CallProgress] {
        all.compactMap { if case .progress(call, let progress) = $0 { progress } else { nil } }
    }

    /// The call placed to `number` (the first, if there were several).
    func call(to number: String) -> CallID? { originated.first { $0.request.number == number }?.call }
}

/// A queue runner over a ``SimulatedTrunk`` and an in-process gateway, on a manual clock that
/// the test moves: call time passes only when the test says, and every moment in a report is
/// one the test chose, however busy the machine is.
///
/// After each step of the clock the bench waits until nothing moves any more (the trunk's log,
/// the desk and the contact source unchanged over a few rounds of yielding), so events happen
/// at the step they are due in.
struct RunnerBench {
    let clock: ManualClock
    let trunk: SimulatedTrunk
    let desk: InProcessDesk
    let contacts: InMemoryContacts
    let runner: QueueRunner
    let log: TrunkLog
    let queue = QueueID("sales")
    private let tasks: [Task<Void, Never>]
    /// Every job of the bench runs on one thread while it lives, so that ``settle()`` can tell
    /// when nothing moves any more.
    private let oneThread = OneThreadWhileAlive()

    /// A runner for `settings` over `population` (run at time scale 1 on the manual clock),
    /// with `agents` ready agents and the list `targets`.
    init(
        settings: CampaignSettings, population: SimulatedTrunk.Population, agents: Int, targets: [DialTarget],
        configure: (inout QueueRunnerStateMachine.Configuration) -> Void = { _ in },
        book: ReservationBook.Configuration = .init(), skills: AgentSkills? = nil
    ) async throws {
        var population = population
        population.timeScale = 1
        let clock = ManualClock(start: .origin + .seconds(10_000))
        let log = TrunkLog()
        let trunk = try await SimulatedTrunk(population: population, clock: clock, observer: { log.append($0) })
        let node = MemberID("node-1")
        let desk = try InProcessDesk(
            agents: agents, queue: queue, node: node, epoch: Epoch(1), clock: trunk.clock, configuration: book,
            skills: skills)
        let contacts = InMemoryContacts(targets: targets)
        var configuration = QueueRunnerStateMachine.Configuration(queue: queue, node: node, contactBuffer: 10)
        configure(&configuration)
        let runner = QueueRunner(
            configuration: configuration, settings: settings, epoch: Epoch(1), trunk: trunk, contacts: contacts,
            desk: desk, clock: trunk.clock, tickInterval: .milliseconds(100), logger: Logger(label: "bench"),
            // On the bench's one thread, like every other job of the bench, so that it settles.
            executor: QuiescenceExecutor.shared, leaseIsValid: { true })
        self.clock = clock
        self.trunk = trunk
        self.desk = desk
        self.contacts = contacts
        self.runner = runner
        self.log = log
        let watching = await desk.watch(runner)
        tasks = [Task { await runner.run() }, watching]
        await settle()
    }

    /// The trunk's moment now.
    var now: Moment { trunk.clock.now() }

    /// Moves call time on by `step` and lets everything due by then happen.
    func step(_ step: Duration = .milliseconds(100)) async {
        clock.advance(by: step)
        await trunk.catchUp()
        await settle()
    }

    /// Steps until `condition` holds; records an issue if it does not within `limit` of call time.
    @discardableResult
    func run(
        until what: String, within limit: Duration = .seconds(300), sourceLocation: SourceLocation = #_sourceLocation,
        _ condition: () async -> Bool
    ) async -> Bool {
        let end = now + limit
        while now < end {
            if await condition() { return true }
            await step()
        }
        if await condition() { return true }
        Issue.record("not within \(limit) of call time: \(what)", sourceLocation: sourceLocation)
        return false
    }

    /// Steps until the runner reported `count` attempts.
    func runUntilReported(
        _ count: Int, within limit: Duration = .seconds(300), sourceLocation: SourceLocation = #_sourceLocation
    ) async {
        await run(until: "\(count) attempts are reported", within: limit, sourceLocation: sourceLocation) {
            await contacts.reports.count == count
        }
    }

    /// Drains the runner, lets its calls end, and stops everything.
    func finish() async {
        await runner.drain()
        await run(until: "the runner finished") { await runner.callsByStage.isEmpty }
        for task in tasks { task.cancel() }
        await trunk.shutDown()
    }

    /// Waits until nothing moves any more at the current moment (after the test acted itself):
    /// every task of the bench is suspended on the manual clock or on an event nobody sends.
    func settle() async {
        await QuiescenceExecutor.shared.settle()
    }
}

/// Installs the ``QuiescenceExecutor`` for as long as it lives (a bench that fails halfway
/// still gives the process its threads back).
private final class OneThreadWhileAlive: Sendable {
    init() { QuiescenceExecutor.shared.install() }
    deinit { QuiescenceExecutor.shared.uninstall() }
}
