import DialerCore
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Drives a ``ReservationBook`` and a ``ReservationModel`` with the same random events and checks
/// the invariants after every step. Plays the gateway: keeps the book's timers and fires them as
/// time advances.
struct ReservationFuzzer {
    static let configuration = ReservationBook.Configuration(
        outboundLease: .seconds(20),
        inboundLease: .seconds(5),
        previewLease: .seconds(15),
        connectLease: .seconds(2),
        offerTimeout: .seconds(8),
        wrapUpLength: .seconds(10),
        logCapacity: 64
    )

    let queues: [(QueueID, QueueKind)] = [
        (QueueID("in-1"), .inbound), (QueueID("in-2"), .inbound),
        (QueueID("camp-1"), .campaign), (QueueID("camp-2"), .campaign),
    ]
    let nodes = [MemberID("n1"), MemberID("n2"), MemberID("n3")]
    let agentIDs: [AgentID]
    let reasons = [PauseReason("break"), PauseReason("lunch"), PauseReason("training")]

    var rng: SeededGenerator
    var book = ReservationBook(configuration: configuration)
    var model = ReservationModel(configuration: configuration)
    var now = Moment.origin
    /// Timers the book asked for and has not cancelled, by id.
    var timers: [UInt64: (timer: BookTimer, at: Moment)] = [:]
    /// How often each accepted request was answered.
    var answers: [RequestID: Int] = [:]
    var nextRequest = 0
    /// Per agent, where the reservation log says they are: nil (free) or the holding request and
    /// its last log event.
    var logState: [AgentID: (request: RequestID, event: ReservationLogEntry.Event)] = [:]
    var logSeen = 0
    var stepsRun = 0
    var failure: String?
    /// Describes the step being run, built only when a failure is reported.
    var currentStep: () -> String = { "setup" }
    var counts: [String: Int] = [:]
    /// Every how many steps the pictures are compared with the reference (it rebuilds them from
    /// every session, which costs more than the step).
    var picturesEvery = 4

    init(seed: UInt64, agents: Int) {
        rng = SeededGenerator(seed: seed)
        agentIDs = (0..<agents).map { AgentID("agent-\($0)") }
    }

    // MARK: Random choices

    mutating func chance(_ probability: Double) -> Bool {
        Double.random(in: 0..<1, using: &rng) < probability
    }

    mutating func pick<T>(_ items: [T]) -> T {
        items[Int.random(in: 0..<items.count, using: &rng)]
    }

    mutating func seconds(_ range: ClosedRange<Double>) -> Duration {
        .milliseconds(Int64(Double.random(in: range, using: &rng) * 1000))
    }

    mutating func randomSkills() -> AgentSkills {
        var ranks: [QueueID: Int] = [:]
        let custom = chance(0.3)
        for (queue, kind) in queues where chance(0.6) {
            ranks[queue] = custom ? Int.random(in: 1...3, using: &rng) : kind.defaultRank
        }
        if ranks.isEmpty, let (queue, kind) = queues.randomElement(using: &rng) { ranks[queue] = kind.defaultRank }
        return AgentSkills(ranks)
    }

    /// A random live request of the model in a status matching `filter`, sometimes a made-up or
    /// unfit id (to exercise refusals); `nil` when there is none, so the step can do something useful.
    mutating func someRequest(_ filter: (ReservationModel.Request.Status) -> Bool) -> RequestID? {
        let candidates = model.requests.values.filter { filter($0.status) }.map(\.request.id).sorted()
        if chance(0.05) { return RequestID("r\(Int.random(in: 0...nextRequest, using: &rng))") }
        return candidates.isEmpty ? nil : pick(candidates)
    }

    mutating func someAgent() -> AgentID {
        pick(agentIDs)
    }

    /// Mostly an agent whose model state matches `filter` (so that most steps are valid), sometimes any.
    mutating func someAgent(_ filter: (ReservationModel.Agent.State) -> Bool) -> AgentID {
        let candidates = agentIDs.filter { filter(model.agents[$0]?.state ?? .loggedOut) }
        if candidates.isEmpty || chance(0.1) { return someAgent() }
        return pick(candidates)
    }

    // MARK: Running

    /// Runs `steps` random steps, then lets time run out, then checks every request was answered once.
    mutating func run(steps: Int) {
        let now = self.now
        for queue in queues.map(\.0) where chance(0.5) {
            let node = pick(nodes)
            step("setQueueOwner", "\(queue), \(node), 1") { book in
                try book.setQueueOwner(queue, node: node, epoch: Epoch(1), now: now)
            } model: { model in
                model.setQueueOwner(queue, node: node, epoch: Epoch(1), now: now)
            }
        }
        for _ in 0..<steps where failure == nil {
            randomStep()
        }
        // Let every deadline, offer, lease and wrap-up run out.
        while failure == nil, let next = timers.values.map(\.at).min() {
            advance(to: max(now, next))
        }
        guard failure == nil else { return }
        for (id, count) in answers where count != 1 {
            fail("request \(id) answered \(count) times")
            return
        }
        for record in model.requests.values {
            guard case .connected = record.status else {
                fail("request \(record.request.id) still \(record.status) after all timers ran")
                return
            }
        }
    }

    mutating func randomStep() {
        let now = self.now
        let roll = Int.random(in: 0..<100, using: &rng)
        var agent = someAgent()
        switch roll {
        case 0..<5:
            agent = someAgent { $0 == .loggedOut }
            let skills = randomSkills()
            step("logIn", "\(agent), \(skills)") { book in
                try book.logIn(agent, skills: skills, now: now)
            } model: {
                $0.logIn(agent, skills: skills, now: now)
            }
        case 5..<7:
            let skills = randomSkills()
            step("updateSkills", "\(agent), \(skills)") { book in
                try book.updateSkills(agent, skills: skills, now: now)
            } model: {
                $0.updateSkills(agent, skills: skills)
            }
        case 7..<17:
            agent = someAgent {
                switch $0 {
                case .notReady, .wrapUp: true
                default: false
                }
            }
            step("makeReady", "\(agent)") { book in
                try book.makeReady(agent, now: now)
            } model: {
                $0.makeReady(agent, now: now)
            }
        case 17..<21:
            agent = someAgent { $0 != .loggedOut }
            let reason = pick(reasons)
            step("pause", "\(agent), \(reason)") { book in
                try book.pause(agent, reason: reason, now: now)
            } model: {
                $0.pause(agent, reason: reason, now: now)
            }
        case 21..<23:
            agent = someAgent { $0 != .loggedOut }
            step("logOut", "\(agent)") { book in
                try book.logOut(agent, now: now)
            } model: {
                $0.logOut(agent)
            }
        case 23..<24:
            agent = someAgent { $0 != .loggedOut }
            step("agentDisconnected", "\(agent)") { book in
                try book.agentDisconnected(agent, now: now)
            } model: {
                $0.disconnect(agent, now: now)
            }
        case 24..<44:
            randomRequest()
        case 44..<52:
            guard let id = someRequest({ if case .granted = $0 { true } else { false } }) else {
                return randomRequest()
            }
            let epoch = model.requests[id].map { chance(0.05) ? $0.request.epoch.next : $0.request.epoch } ?? Epoch(1)
            step("confirm", "\(id), \(epoch)") { book in
                try book.confirm(id, epoch: epoch, now: now)
            } model: {
                $0.confirm(id, epoch: epoch, now: now)
            }
        case 52..<57:
            guard let id = someRequest({ if case .granted = $0 { true } else { false } }) else {
                return randomRequest()
            }
            step("release", "\(id)") { book in
                try book.release(id, now: now)
            } model: {
                $0.release(id, now: now)
            }
        case 57..<60:
            let cancellable: (ReservationModel.Request.Status) -> Bool = {
                if case .connected = $0 { false } else { true }
            }
            guard let id = someRequest(cancellable) else { return randomRequest() }
            step("cancel", "\(id)") { book in
                try book.cancel(id, now: now)
            } model: {
                $0.cancel(id, now: now)
            }
        case 60..<68:
            guard let id = someRequest({ if case .offered = $0 { true } else { false } }) else {
                return randomRequest()
            }
            let offeredTo: AgentID
            if case .offered(let holder) = model.requests[id]?.status, !chance(0.05) {
                offeredTo = holder
            } else {
                offeredTo = agent
            }
            if chance(0.5) {
                step("acceptOffer", "\(offeredTo), \(id)") { book in
                    try book.acceptOffer(offeredTo, request: id, now: now)
                } model: {
                    $0.acceptOffer(offeredTo, request: id, now: now)
                }
            } else {
                step("rejectOffer", "\(offeredTo), \(id)") { book in
                    try book.rejectOffer(offeredTo, request: id, now: now)
                } model: {
                    $0.rejectOffer(offeredTo, request: id, now: now)
                }
            }
        case 68..<74:
            guard let id = someRequest({ if case .connected = $0 { true } else { false } }) else {
                return randomRequest()
            }
            let wrapUp: Duration = chance(0.2) ? .zero : seconds(1...15)
            step("callEnded", "\(id), \(wrapUp)") { book in
                try book.callEnded(id, wrapUp: wrapUp, now: now)
            } model: {
                $0.callEnded(id, wrapUp: wrapUp, now: now)
            }
        case 74..<77:
            agent = someAgent { if case .wrapUp = $0 { true } else { false } }
            step("finishWrapUp", "\(agent)") { book in
                try book.finishWrapUp(agent, now: now)
            } model: {
                $0.finishWrapUp(agent, now: now)
            }
        case 77..<79:
            agent = someAgent { if case .wrapUp = $0 { true } else { false } }
            let extra: Duration = chance(0.05) ? .seconds(-1) : seconds(0...10)
            step("extendWrapUp", "\(agent), \(extra)") { book in
                try book.extendWrapUp(agent, by: extra, now: now)
            } model: {
                $0.extendWrapUp(agent, by: extra)
            }
        case 79..<81:
            let (queue, _) = pick(queues)
            let node = pick(nodes)
            let current = model.owners[queue]?.epoch ?? Epoch(0)
            let epoch = chance(0.8) ? current.next : (chance(0.5) ? current : Epoch(max(current.rawValue, 1) - 1))
            step("setQueueOwner", "\(queue), \(node), \(epoch)") { book in
                try book.setQueueOwner(queue, node: node, epoch: epoch, now: now)
            } model: {
                $0.setQueueOwner(queue, node: node, epoch: epoch, now: now)
            }
        case 81..<82:
            let node = pick(nodes)
            step("nodeLost", "\(node)") { book in
                book.nodeLost(node, now: now)
            } model: {
                $0.nodeLost(node, now: now)
                return nil
            }
        default:
            advance(to: now + seconds(0...6))
        }
    }

    mutating func randomRequest() {
        let now = self.now
        let (queue, _) = pick(queues)
        var node = pick(nodes)
        var epoch = Epoch(1)
        if let owner = model.owners[queue] {
            let roll = Double.random(in: 0..<1, using: &rng)
            if roll < 0.85 {
                (node, epoch) = (owner.node, owner.epoch)
            } else if roll < 0.90 {
                (node, epoch) = (owner.node, Epoch(max(owner.epoch.rawValue, 1) - 1))
            } else if roll < 0.95 {
                epoch = owner.epoch
            } else {
                epoch = owner.epoch.next
            }
        }
        let id: RequestID
        if chance(0.02), let live = model.requests.keys.sorted().first {
            id = live
        } else {
            id = RequestID("r\(nextRequest)")
            nextRequest += 1
        }
        let kind = pick(RequestKind.allCases)
        let named: AgentID? = chance(0.15) ? someAgent() : nil
        let deadline = chance(0.03) ? now : now + seconds(0.5...40)
        let request = ReservationRequest(
            id: id,
            queue: queue,
            epoch: epoch,
            node: node,
            kind: kind,
            namedAgent: named,
            deadline: deadline
        )
        step("request", "\(id) \(queue) e\(epoch) \(node) \(kind) named:\(named?.rawValue ?? "-") dl:\(deadline)") {
            book in
            try book.request(request, now: now)
        } model: {
            $0.request(request, now: now)
        }
    }

    /// Advances time to `target`, firing every due timer in order, each as its own step.
    mutating func advance(to target: Moment) {
        while failure == nil {
            let due = timers.values.filter { $0.at <= target }.min { ($0.at, $0.timer.id) < ($1.at, $1.timer.id) }
            guard let due else { break }
            timers[due.timer.id] = nil
            now = max(now, due.at)
            let firedAt = now
            step("timerFired", "\(due.timer) at \(firedAt)") { book in
                book.timerFired(due.timer, now: firedAt)
            } model: {
                $0.timerFired(due.timer.purpose, now: firedAt)
                return nil
            }
        }
        guard failure == nil else { return }
        now = target
        let overdue = model.overdue(at: now)
        if !overdue.isEmpty { fail("after advancing to \(now): \(overdue)") }
    }

    // MARK: One step and its checks

    mutating func fail(_ message: String) {
        if failure == nil { failure = "step \(stepsRun) \(currentStep()): \(message)" }
    }

    mutating func step(
        _ kind: String,
        _ detail: @escaping @autoclosure () -> String,
        book operation: (inout ReservationBook) throws -> [ReservationAction],
        model predict: (inout ReservationModel) -> ReservationModel.Refusal?
    ) {
        guard failure == nil else { return }
        stepsRun += 1
        currentStep = { "\(kind)(\(detail()))" }
        counts[kind, default: 0] += 1
        let before = book
        model.expected = []
        model.deferredRequest = nil
        let refusal = predict(&model)
        let actions: [ReservationAction]
        do {
            actions = try operation(&book)
        } catch let error as ReservationError {
            guard let refusal else {
                fail("book refused with \(error), model accepted")
                return
            }
            let expectedError: ReservationError
            switch refusal {
            case .exactly(let error): expectedError = error
            case .notAllowed(let operation, let agent):
                expectedError = .notAllowed(operation, before.agent(agent)?.state ?? .loggedOut)
            }
            if error != expectedError { fail("refused with \(error), expected \(expectedError)") }
            if book != before { fail("a refused operation changed the book") }
            counts["refused", default: 0] += 1
            counts["refused@\(kind)", default: 0] += 1
            return
        } catch {
            fail("unexpected error type \(error)")
            return
        }
        if let refusal {
            fail("book accepted, model expected refusal \(refusal)")
            return
        }
        check(actions: actions, before: before)
        // Which events lead to matches, so the test can show both matching paths were taken.
        if actions.contains(where: { if case .granted = $0 { true } else if case .offer = $0 { true } else { false } })
        {
            counts["match@\(kind)", default: 0] += 1
        }
    }

    mutating func check(actions: [ReservationAction], before: ReservationBook) {
        // A request's own output starts with its deadline timer (or its immediate timeout); when
        // its queue was taken over, the takeover's output comes before that, and the model adds
        // the request only there, so that choices made by agents freed in the takeover are judged
        // without it.
        var deferred = model.deferredRequest
        var observed: [ReservationModel.Note] = []
        var lastChanged: [AgentID: AgentSession] = [:]
        for action in actions {
            if let request = deferred, Self.startsRequest(action, request.id) {
                model.addDeferredRequest(now: now)
                deferred = nil
            }
            switch action {
            case .granted(let grant):
                answered(grant.request)
                if case .granted(grant.agent) = model.requests[grant.request]?.status,
                    model.expected.contains(
                        .init(request: grant.request, node: grant.node, kind: .acceptedGrant(grant.agent)))
                {
                    observed.append(.init(request: grant.request, node: grant.node, kind: .acceptedGrant(grant.agent)))
                    if grant.leaseUntil != now + Self.configuration.previewLease {
                        fail("accepted preview lease \(grant.leaseUntil)")
                    }
                    continue
                }
                if let violation = model.violation(giving: grant.request, to: grant.agent) {
                    fail("\(violation)")
                    return
                }
                let request = model.requests[grant.request]!.request
                if request.kind == .previewOffer { fail("preview granted without an offer") }
                if grant.node != request.node || grant.queue != request.queue || grant.epoch != request.epoch
                    || grant.kind != request.kind || grant.at != now
                {
                    fail("grant \(grant) does not match \(request)")
                }
                let leaseUntil = model.applyGrant(grant.request, to: grant.agent, now: now)
                if grant.leaseUntil != leaseUntil { fail("lease \(grant.leaseUntil), expected \(leaseUntil)") }
                counts["grant", default: 0] += 1
            case .offer(let offer):
                if let violation = model.violation(giving: offer.request, to: offer.agent) {
                    fail("offer: \(violation)")
                    return
                }
                if model.requests[offer.request]!.request.kind != .previewOffer {
                    fail("offer for a request that is no preview")
                }
                let until = model.applyOffer(offer.request, to: offer.agent, now: now)
                if offer.until != until { fail("offer until \(offer.until), expected \(until)") }
                counts["offer", default: 0] += 1
            case .rejected(let id, let node, let reason):
                answered(id)
                observed.append(.init(request: id, node: node, kind: .rejected(reason)))
            case .timedOut(let id, let node):
                answered(id)
                observed.append(.init(request: id, node: node, kind: .timedOut))
            case .grantRevoked(let id, let node, let agent, let reason):
                observed.append(.init(request: id, node: node, kind: .revoked(agent, reason)))
            case .offerWithdrawn(let id, let agent, let reason):
                observed.append(.init(request: id, node: nil, kind: .withdrawn(agent, reason)))
            case .agentChanged(let session):
                lastChanged[session.id] = session
            case .scheduleTimer(let timer, let at):
                if at <= now { fail("timer \(timer) scheduled at \(at), not after \(now)") }
                if timers[timer.id] != nil { fail("timer id \(timer.id) reused") }
                timers[timer.id] = (timer, at)
            case .cancelTimer(let timer):
                if timers.removeValue(forKey: timer.id) == nil { fail("cancelled unknown \(timer)") }
            }
        }
        if deferred != nil { fail("the request's own output never started") }
        if failure != nil { return }

        // Non-choice outputs: exactly what the model predicted.
        if model.expected.sorted(by: { $0.description < $1.description })
            != observed.sorted(by: { $0.description < $1.description })
        {
            fail("expected outputs \(model.expected), got \(observed)\nactions: \(actions)")
            return
        }
        compareStates()
        if stepsRun % picturesEvery == 0 { comparePictures() }
        checkAgentChanges(lastChanged: lastChanged, before: before)
        checkLog()
        if let (request, agent) = model.missedMatch() {
            fail("pending \(request) left waiting while \(agent) is eligible and available")
        }
    }

    static func startsRequest(_ action: ReservationAction, _ id: RequestID) -> Bool {
        switch action {
        case .scheduleTimer(let timer, _): timer.purpose == .requestDeadline(id)
        case .timedOut(let timedOut, _): timedOut == id
        default: false
        }
    }

    mutating func answered(_ id: RequestID) {
        answers[id, default: 0] += 1
        if answers[id]! > 1 { fail("request \(id) answered twice") }
    }

    /// The book's agents and requests are exactly the model's.
    mutating func compareStates() {
        for (id, agent) in model.agents {
            guard let session = book.agent(id) else {
                fail("book does not know \(id)")
                return
            }
            let state: ReservationModel.Agent.State
            switch session.state {
            case .loggedOut: state = .loggedOut
            case .notReady(let reason, let since): state = .notReady(reason, since: since)
            case .available(let since): state = .available(since: since)
            case .reserved(let reservation):
                switch reservation.phase {
                case .offered(let until):
                    state = .offered(reservation.request, restore: reservation.availableSince, until: until)
                case .granted(let leaseUntil):
                    state = .granted(reservation.request, restore: reservation.availableSince, leaseUntil: leaseUntil)
                }
            case .onCall(let call): state = .onCall(call.reservation.request)
            case .wrapUp(let wrapUp): state = .wrapUp(wrapUp.request, endsAt: wrapUp.endsAt)
            }
            if state != agent.state || session.pendingChange != agent.pending || session.skills != agent.skills {
                fail("\(id) is \(session.state) pending \(String(describing: session.pendingChange)), model \(agent)")
                return
            }
        }
        if book.agents.count != model.agents.count { fail("book has agents the model does not") }
        if book.heldRequestCount != model.requests.count {
            fail("book holds \(book.heldRequests.map(\.request.id)), model \(model.requests.keys.sorted())")
            return
        }
        var holders: [AgentID: RequestID] = [:]
        for record in model.requests.values {
            guard let request = book.heldRequest(record.request.id) else {
                fail("book does not hold \(record.request.id)")
                return
            }
            let status: ReservationModel.Request.Status
            let holder: AgentID?
            switch request.status {
            case .pending: (status, holder) = (.pending, nil)
            case .offered(let agent, _): (status, holder) = (.offered(agent), agent)
            case .granted(let agent, _): (status, holder) = (.granted(agent), agent)
            case .connected(let agent): (status, holder) = (.connected(agent), agent)
            }
            if status != record.status || request.skipped != record.skipped || request.request != record.request {
                fail("\(request) differs from model \(record)")
                return
            }
            // At most one reservation or call per agent, and it is the one the agent shows.
            if let holder {
                if let other = holders[holder] { fail("\(holder) held by \(other) and \(request.request.id)") }
                holders[holder] = request.request.id
                if book.agent(holder)?.state.heldBy != request.request.id {
                    fail("\(holder) does not show \(request.request.id)")
                }
            }
        }
        for (queue, owner) in model.owners where book.owner(of: queue) != owner {
            fail("owner of \(queue) is \(String(describing: book.owner(of: queue))), model \(owner)")
        }
    }

    /// The book's pictures, built from its indexes, equal pictures built from every session and
    /// request.
    mutating func comparePictures() {
        for (queue, _) in queues {
            let picture = book.picture(of: queue, now: now)
            let expected = ReservationPictureReference.picture(of: queue, in: book, now: now)
            if picture != expected {
                fail("picture of \(queue) is \(picture), expected \(expected)")
                return
            }
        }
    }

    /// Every agent whose session changed was pushed, and the last push is the current session.
    mutating func checkAgentChanges(lastChanged: [AgentID: AgentSession], before: ReservationBook) {
        for (id, session) in book.agents {
            let changed = before.agent(id) != session
            if let pushed = lastChanged[id] {
                if pushed != session { fail("last push for \(id) is \(pushed.state), now \(session.state)") }
            } else if changed {
                fail("\(id) changed to \(session.state) without a push")
            }
        }
    }

    /// The log never shows an agent granted (or offered) twice without a return or a call's end.
    mutating func checkLog() {
        let fresh = book.logEntriesRecorded - logSeen
        logSeen = book.logEntriesRecorded
        let log = book.log
        guard fresh <= log.count else {
            fail("\(fresh) new log entries but the log keeps \(log.count)")
            return
        }
        for entry in log.suffix(fresh) {
            let current = logState[entry.agent]
            switch (entry.event, current?.event) {
            case (.offered, nil), (.granted, nil):
                logState[entry.agent] = (entry.request, entry.event)
            case (.granted, .offered?) where current?.request == entry.request:
                logState[entry.agent] = (entry.request, .granted)
            case (.connected, .granted?) where current?.request == entry.request:
                logState[entry.agent] = (entry.request, .connected)
            case (.returned, .offered?) where current?.request == entry.request,
                (.returned, .granted?) where current?.request == entry.request,
                (.callEnded, .connected?) where current?.request == entry.request:
                logState[entry.agent] = nil
            default:
                fail("log \(entry.event) for \(entry.agent)/\(entry.request) after \(String(describing: current))")
                return
            }
        }
    }
}

@Suite("Reservation book: randomised against a model")
struct ReservationRandomizedTests {
    /// Each seed runs many independent sequences of a thousand steps or more (more with
    /// `RESERVATION_FUZZ_SEQUENCES` / `RESERVATION_FUZZ_STEPS` in the environment).
    @Test(arguments: [UInt64(1), 2, 3, 4])
    func randomSequencesKeepEveryInvariant(seed: UInt64) {
        var seeds = SeededGenerator(seed: seed)
        var totals: [String: Int] = [:]
        for sequence in 0..<Self.sequencesPerSeed {
            let sequenceSeed = seeds.next()
            var fuzzer = ReservationFuzzer(seed: sequenceSeed, agents: 4 + sequence % 6)
            fuzzer.run(steps: Self.stepsPerSequence)
            if let failure = fuzzer.failure {
                Issue.record("seed \(seed) sequence \(sequence) (generator seed \(sequenceSeed)): \(failure)")
                return
            }
            totals.merge(fuzzer.counts, uniquingKeysWith: +)
        }
        // The sequences must have exercised every kind of event, and matches on both paths
        // (a new request, and an agent becoming available), not just a few.
        for kind in [
            "logIn", "updateSkills", "makeReady", "pause", "logOut", "agentDisconnected", "request", "confirm",
            "release", "cancel", "acceptOffer", "rejectOffer", "callEnded", "finishWrapUp", "extendWrapUp",
            "setQueueOwner", "nodeLost", "timerFired", "grant", "offer", "refused", "match@request",
            "match@makeReady", "match@release", "match@timerFired", "match@rejectOffer", "match@callEnded",
            "match@finishWrapUp", "match@nodeLost", "match@setQueueOwner", "match@cancel",
        ] {
            #expect(
                totals[kind, default: 0] >= Self.sequencesPerSeed / 5, "\(kind) ran \(totals[kind, default: 0]) times")
        }
    }

    /// A larger floor, where the book's indexes (longest available per queue, members per queue)
    /// hold many agents at once and stale entries pile up between matches.
    @Test func aLargerFloorKeepsEveryInvariant() {
        var seeds = SeededGenerator(seed: 99)
        for sequence in 0..<8 {
            let sequenceSeed = seeds.next()
            var fuzzer = ReservationFuzzer(seed: sequenceSeed, agents: 48)
            fuzzer.picturesEvery = 1
            fuzzer.run(steps: 2_000)
            if let failure = fuzzer.failure {
                Issue.record("sequence \(sequence) (generator seed \(sequenceSeed)): \(failure)")
                return
            }
        }
    }

    static let sequencesPerSeed = environment("RESERVATION_FUZZ_SEQUENCES") ?? 125
    static let stepsPerSequence = environment("RESERVATION_FUZZ_STEPS") ?? 1000

    private static func environment(_ name: String) -> Int? {
        getenv(name).flatMap { Int(String(cString: $0)) }
    }
}
