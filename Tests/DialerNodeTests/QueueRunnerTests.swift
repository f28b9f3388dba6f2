import DialerCore
import DialerNode
import DialerSimulation
import Logging
import Testing

/// The gateway's reservation book, in-process: the real matching rules, agents that finish
/// their wrap-up as soon as the call ends.
actor InProcessDesk: AgentDesk {
    private var book = ReservationBook()
    private var waiting: [RequestID: CheckedContinuation<AgentAnswer, Never>] = [:]
    private var answered: [RequestID: AgentAnswer] = [:]
    private let clock: any DialerClock
    private let node: MemberID
    private(set) var grants = 0
    private(set) var busyTwice = 0
    private var holders: [AgentID: RequestID] = [:]
    private var connectedAt: [RequestID: Moment] = [:]

    init(agents: Int, queue: QueueID, node: MemberID, epoch: Epoch, clock: any DialerClock) throws {
        self.clock = clock
        self.node = node
        let now = clock.now()
        _ = try book.setQueueOwner(queue, node: node, epoch: epoch, now: now)
        for index in 0..<agents {
            let agent = AgentID("agent-\(index)")
            _ = try book.logIn(agent, skills: AgentSkills([queue: 1]), now: now)
            _ = try book.makeReady(agent, now: now)
        }
    }

    func request(_ draft: AgentRequestDraft, queue: QueueID, epoch: Epoch) async -> AgentAnswer {
        let request = ReservationRequest(
            id: draft.id, queue: queue, epoch: epoch, node: node, kind: draft.kind, namedAgent: draft.namedAgent,
            deadline: draft.deadline)
        let actions = (try? book.request(request, now: clock.now())) ?? [.timedOut(draft.id, node: node)]
        perform(actions)
        if let answer = answered.removeValue(forKey: draft.id) { return answer }
        return await withCheckedContinuation { waiting[draft.id] = $0 }
    }

    func confirm(_ request: RequestID, queue: QueueID, epoch: Epoch) async {
        guard let held = book.heldRequest(request) else { return }
        connectedAt[request] = clock.now()
        perform((try? book.confirm(request, epoch: held.request.epoch, now: clock.now())) ?? [])
    }

    func release(_ request: RequestID) { perform((try? book.release(request, now: clock.now())) ?? []) }

    func cancel(_ request: RequestID) async { perform((try? book.cancel(request, now: clock.now())) ?? []) }

    /// Calls connected longer than `limit`, each returned once.
    func callsLongerThan(_ limit: Duration) -> [RequestID] {
        let now = clock.now()
        let long = connectedAt.filter { now - $0.value > limit }.map(\.key)
        for request in long { connectedAt[request] = nil }
        return long
    }

    func callEnded(_ request: RequestID) async {
        connectedAt[request] = nil
        guard case .connected(let agent) = book.heldRequest(request)?.status else { return }
        perform((try? book.callEnded(request, now: clock.now())) ?? [])
        perform((try? book.finishWrapUp(agent, now: clock.now())) ?? [])
    }

    private func perform(_ actions: [ReservationAction]) {
        for action in actions {
            switch action {
            case .granted(let grant):
                grants += 1
                answer(grant.request, .granted(grant.agent))
            case .rejected(let request, _, _), .timedOut(let request, _):
                answer(request, .notGranted)
            case .agentChanged(let session):
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
            case .grantRevoked, .offer, .offerWithdrawn, .cancelTimer:
                break
            }
        }
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
        queue = (1...count).map {
            DialTarget(attempt: AttemptID("a\($0)"), contact: ContactID("c\($0)"), phone: "+1555\(1_000_000 + $0)")
        }
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

@Suite("Queue runner over the simulated trunk")
struct QueueRunnerTests {
    /// A power campaign of 60 contacts with 5 agents, at a time scale: every contact is dialed
    /// once and reported once with a consistent outcome, and no agent is reserved twice.
    @Test(arguments: [DialingMode.power, .predictive])
    func aCampaignRunsToTheEndWithEveryContactReportedOnce(mode: DialingMode) async throws {
        let population = SimulatedTrunk.Population(
            seed: 11, timeScale: 200, ringSeconds: .uniform(min: 2, max: 8),
            talkSeconds: .uniform(min: 20, max: 60), patienceSeconds: .fixed(seconds: 10))
        let trunk = try await SimulatedTrunk(population: population, clock: SystemClock())
        let queue = QueueID("sales")
        let node = MemberID("node-1")
        let desk = try InProcessDesk(agents: 5, queue: queue, node: node, epoch: Epoch(1), clock: trunk.clock)
        let contacts = InMemoryContacts(count: 60)
        var settings = CampaignSettings(mode: mode, callsPerReadyAgent: 1.5)
        settings.answeringMachine = .hangUp
        let runner = QueueRunner(
            configuration: .init(queue: queue, node: node, contactBuffer: 10), settings: settings, epoch: Epoch(1),
            trunk: trunk, contacts: contacts, desk: desk, clock: trunk.clock, tickInterval: .seconds(1),
            logger: Logger(label: "test"), leaseIsValid: { true })
        let run = Task { await runner.run() }
        let agentsPicture = AgentPicture(available: Array(repeating: .seconds(5), count: 5))
        // Keep the runner's picture fresh, as the gateway's stream would.
        while await contacts.reports.count < 60 {
            // An agent connected to an answering machine the detector missed hangs up, as people
            // do (the simulated machine never does).
            for request in await desk.callsLongerThan(.seconds(120)) { await runner.handle(.agentHungUp(request)) }
            await runner.agentsChanged(agentsPicture, present: [AgentID("agent-0")])
            try await trunk.clock.sleep(until: trunk.clock.now() + .seconds(2))
        }
        await runner.drain()
        await runner.waitUntilFinished()
        run.cancel()
        await trunk.shutDown()

        let reports = await contacts.reports
        #expect(Set(reports.map(\.target.attempt)).count == 60, "each contact reported once")
        #expect(await contacts.givenBack.isEmpty)
        for report in reports {
            #expect(report.endedAt >= report.dialedAt)
            if report.outcome == .connected {
                #expect(report.agent != nil)
                #expect(report.bridgedAt != nil)
            }
            if report.outcome.isLiveAnswer || report.outcome == .machine { #expect(report.answeredAt != nil) }
        }
        #expect(await desk.busyTwice == 0)
        #expect(await contacts.lastPresent == [AgentID("agent-0")], "the feeder hears who is logged in")
    }
}
