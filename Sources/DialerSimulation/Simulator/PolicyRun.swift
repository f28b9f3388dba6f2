import DialerCore
import HeapModule

extension Simulator {
    /// One policy's run through a scenario: the event loop.
    ///
    /// The loop plays the parts around the product's code: a queue runner (it builds a
    /// `PacingInput` from the book's `QueuePicture` and its own measurements, asks the policy, and
    /// starts the calls it is told to), a trunk (each attempt resolves as its contact's draws
    /// say) and the agents (ready for the shift, wrapping up for their drawn time). Agents are
    /// matched to calls by the product's `ReservationBook`: an answered call asks for an agent
    /// (`connectAnsweredCall`) with a deadline at the connect grace, and a call still without an
    /// agent at the deadline, or whose customer hangs up first, is abandoned.
    struct PolicyRun {
        private enum Stage {
            case ringing
            case detectingMachine
            case waiting(RequestID)
            case talking(RequestID, agent: Int, wrapUp: Int64)
        }

        private struct Call {
            var plan: AttemptPlan
            var fate: ContactFate
            var answeredAt = Moment.origin
            var stage = Stage.ringing
        }

        private enum RequestPurpose {
            case connect(call: Int)
            case outbound
        }

        private struct AgentLedger {
            var state: AgentState = .loggedOut
            var since = Moment.origin
            var callsToday = 0
        }

        /// What the run counts: agents' talk and wrap-up within the shifts (nanoseconds, summed
        /// over agents), calls by stage, and the waits between an agent's calls.
        private struct Tally {
            var talk: Int64 = 0
            var wrapUp: Int64 = 0
            var attempts = 0
            var liveAnswers = 0
            var connects = 0
            var connectsInShift = 0
            var abandons = 0
            var waitBetweenCalls: Int64 = 0
            var waits = 0
        }

        private static let shiftEndPause = PauseReason("shift-end")
        private static let day: Int64 = 24 * 3600 * 1_000_000_000

        let spec: PolicySpec
        private let pictures: AgentPictureSource
        private let scenario: Scenario
        private let population: Population
        private var durations: AgentCallDurations
        private var policy: (any PacingPolicy)?
        private var book = ReservationBook(configuration: .init(logCapacity: 0))
        private var events = Heap<ScheduledEvent>()
        private var sequence: UInt64 = 0
        private var now = Moment.origin

        private let queue = QueueID("campaign")
        private let node = MemberID("dialer-sim")
        private let epoch = Epoch(1)
        private let agentIDs: [AgentID]
        private let agentIndex: [AgentID: Int]
        private var agents: [AgentLedger]
        /// The agents in the book's picture order (by id), and each one's place in it.
        private let pictureOrder: [Int]
        private let placeInPicture: [Int]

        private var calls: [Int: Call] = [:]
        private var nextCall = 0
        private var nextContact = 0
        private var nextRequest = 0
        private var purposes: [RequestID: RequestPurpose] = [:]
        /// Outbound (progressive) grants not yet used by a live answer, oldest first.
        private var outboundGrants: [RequestID] = []
        private var dialing = 0
        private var waiting = 0
        private var cancelledTimers: Set<UInt64> = []

        private var measured: MeasuredStatistics
        private var regulated: AbandonWindow
        private var rolling24h: AbandonWindow
        private var rolling1h: AbandonWindow
        private var tally = Tally()

        private let shiftLength: Int64
        private let pacingInterval: Int64
        private let grace: Int64
        private let shiftStarts: [Moment]
        private var day = 0
        private var dialingOpen = false
        private var closing = false

        init(scenario: Scenario, spec: PolicySpec, seed: UInt64, pictures: AgentPictureSource = .ledger) {
            self.scenario = scenario
            self.spec = spec
            self.pictures = pictures
            population = Population(scenario: scenario, seed: seed)
            durations = AgentCallDurations(scenario: scenario, seed: seed)
            agentIDs = (0..<scenario.agents).map { AgentID("agent-\($0)") }
            agentIndex = Dictionary(uniqueKeysWithValues: agentIDs.enumerated().map { ($1, $0) })
            agents = Array(repeating: AgentLedger(), count: scenario.agents)
            let ids = agentIDs
            pictureOrder = ids.indices.sorted { ids[$0] < ids[$1] }
            var places = [Int](repeating: 0, count: ids.count)
            for (place, index) in pictureOrder.enumerated() { places[index] = place }
            placeInPicture = places
            measured = MeasuredStatistics(sample: scenario.statisticsSample)
            regulated = AbandonWindow(length: .seconds(scenario.windowHours * 3600))
            rolling24h = AbandonWindow(length: .seconds(24 * 3600))
            rolling1h = AbandonWindow(length: .seconds(3600))
            shiftLength = Self.nanoseconds(scenario.shiftHours * 3600)
            pacingInterval = Self.nanoseconds(scenario.pacingIntervalSeconds)
            grace = Self.nanoseconds(scenario.connectGraceSeconds)
            // A lead before the first shift leaves the clairvoyant room to dial ahead of it.
            let lead = Self.nanoseconds(scenario.ringTimeoutSeconds + 60)
            shiftStarts = (0..<scenario.days).map { Moment(nanosecondsSinceOrigin: lead + Int64($0) * Self.day) }
            policy = spec.makePolicy(for: scenario, firstShiftEnd: shiftStarts[0].advanced(by: shiftLength))
            for (index, start) in shiftStarts.enumerated() {
                schedule(.shiftStart(day: index), at: start)
                if policy == nil {
                    schedule(.planDay(day: index), at: start.advanced(by: -population.ringTimeout - 1_000_000_000))
                }
            }
        }

        private static func nanoseconds(_ seconds: Double) -> Int64 { Int64((seconds * 1e9).rounded()) }

        // MARK: The loop

        /// Runs to the end and reports; `progress` is told the share of the shifts done, now and then.
        mutating func run(progress: (Double) -> Void) -> PolicyReport {
            let first = shiftStarts[0]
            let last = shiftStarts[shiftStarts.count - 1].advanced(by: shiftLength)
            let span = Double(last.nanosecondsSinceOrigin - first.nanosecondsSinceOrigin)
            var nextReport = 0.05
            while let next = events.popMin() {
                now = next.moment
                handle(next.event)
                if closing { closeShiftIfSettled() }
                let done = Double(now.nanosecondsSinceOrigin - first.nanosecondsSinceOrigin) / span
                if done >= nextReport, done <= 1 {
                    progress(done)
                    nextReport = (done / 0.05).rounded(.down) * 0.05 + 0.05
                }
            }
            progress(1)
            return report(end: last)
        }

        private mutating func schedule(_ event: SimulationEvent, at moment: Moment) {
            sequence += 1
            events.insert(ScheduledEvent(moment: moment, rank: event.rank, sequence: sequence, event: event))
        }

        private mutating func handle(_ event: SimulationEvent) {
            switch event {
            case .shiftStart(let day): startShift(day)
            case .shiftEnd: endShift()
            case .bookTimer(let timer):
                if cancelledTimers.remove(timer.id) != nil { return }
                let now = self.now
                withBook { $0.timerFired(timer, now: now) }
            case .talkEnds(let call): endTalk(call)
            case .ringEnds(let call): resolve(call)
            case .machineDetected(let call):
                calls[call] = nil
                dialing -= 1
                measured.recordAttempt(.machine)
            case .customerHangsUp(let call): hangUp(call)
            case .planDay(let day): planClairvoyantDay(day)
            case .plannedDial(let contact): startCall(contact: contact)
            case .pacingTick:
                guard dialingOpen else { return }
                pace()
                let next = now.advanced(by: pacingInterval)
                if next < shiftStarts[day].advanced(by: shiftLength) { schedule(.pacingTick, at: next) }
            }
        }

        // MARK: Shifts

        private mutating func startShift(_ day: Int) {
            self.day = day
            dialingOpen = true
            closing = false
            let now = self.now
            for (index, agent) in agentIDs.enumerated() {
                agents[index].callsToday = 0
                let skills = AgentSkills([queue: QueueKind.campaign.defaultRank])
                if day == 0 { withBook { try $0.logIn(agent, skills: skills, now: now) } }
                withBook { try $0.makeReady(agent, now: now) }
            }
            schedule(.shiftEnd(day: day), at: now.advanced(by: shiftLength))
            if policy != nil { schedule(.pacingTick, at: now) }
        }

        private mutating func endShift() {
            dialingOpen = false
            closing = true
        }

        /// Once no call needs an agent any more, the day's agents go: reservations held for lines
        /// that will not be placed are released and everyone pauses (after their call, if on one).
        private mutating func closeShiftIfSettled() {
            guard dialing == 0, waiting == 0 else { return }
            closing = false
            let now = self.now
            for request in outboundGrants {
                purposes[request] = nil
                withBook { try $0.release(request, now: now) }
            }
            outboundGrants.removeAll()
            // In request order: a dictionary's order changes from process to process.
            let pending = purposes.compactMap { request, purpose -> RequestID? in
                if case .outbound = purpose { request } else { nil }
            }
            for request in pending.sorted(by: { Self.number(of: $0) < Self.number(of: $1) }) {
                purposes[request] = nil
                withBook { try $0.cancel(request, now: now) }
            }
            for agent in agentIDs {
                withBook { try $0.pause(agent, reason: Self.shiftEndPause, now: now) }
            }
        }

        // MARK: Pacing

        /// Asks the policy, as a queue runner does on its tick, and does what it says. Asked again
        /// when it reserved agents, since the lines for them follow the reservations.
        private mutating func pace() {
            for _ in 0..<4 {
                let input = pacingInput()
                guard let decision = policy?.decide(input) else { return }
                for _ in 0..<decision.callsToStart {
                    if let limit = scenario.contacts, nextContact >= limit { break }
                    startCall(contact: nextContact)
                    nextContact += 1
                }
                guard decision.reservationsToRequest > 0 else { return }
                let granted = outboundGrants.count
                for _ in 0..<decision.reservationsToRequest { requestOutboundAgent() }
                if outboundGrants.count == granted { return }
            }
        }

        private mutating func pacingInput() -> PacingInput {
            let agents =
                switch pictures {
                case .ledger: ledgerPicture()
                case .book: bookPicture()
                }
            let remaining = scenario.contacts.map { max(0, $0 - nextContact) } ?? .max
            return PacingInput(
                now: now,
                agents: agents,
                calls: CallsInFlight(dialing: dialing, answeredWaiting: waiting),
                statistics: measured.statistics(now: now, window: regulated.counts(at: now)),
                limits: PacingLimits(remainingContacts: remaining)
            )
        }

        /// The agents as the book's `QueuePicture` shows them, which sorts every session.
        private func bookPicture() -> AgentPicture {
            let picture = book.picture(of: queue, now: now)
            return AgentPicture(
                available: picture.available.map(\.idle),
                reserved: picture.reserved.count,
                onCall: picture.onCall.map(\.talking),
                wrapUp: picture.wrapUp.map(\.elapsed),
                paused: picture.notReady.count
            )
        }

        /// The same agents from the run's ledger, which follows every change the book reports,
        /// in the picture's order: by id, the available ones longest available first (ties by
        /// id). Every agent is skilled for the one queue, so all logged-in agents are in it.
        private func ledgerPicture() -> AgentPicture {
            var available: [(since: Moment, place: Int)] = []
            var onCall: [Duration] = []
            var wrapUp: [Duration] = []
            onCall.reserveCapacity(agents.count)
            wrapUp.reserveCapacity(agents.count)
            var reserved = 0
            var paused = 0
            for index in pictureOrder {
                switch agents[index].state {
                case .loggedOut: continue
                case .available(let since): available.append((since, placeInPicture[index]))
                case .notReady: paused += 1
                case .reserved: reserved += 1
                case .onCall(let call): onCall.append(now - call.connectedAt)
                case .wrapUp(let work): wrapUp.append(work.elapsed(at: now))
                }
            }
            available.sort { ($0.since, $0.place) < ($1.since, $1.place) }
            return AgentPicture(
                available: available.map { now - $0.since },
                reserved: reserved,
                onCall: onCall,
                wrapUp: wrapUp,
                paused: paused
            )
        }

        private mutating func requestOutboundAgent() {
            let id = newRequestID()
            purposes[id] = .outbound
            let request = ReservationRequest(
                id: id,
                queue: queue,
                epoch: epoch,
                node: node,
                kind: .outboundReservation,
                deadline: now.advanced(by: pacingInterval)
            )
            let now = self.now
            withBook { try $0.request(request, now: now) }
        }

        private mutating func newRequestID() -> RequestID {
            nextRequest += 1
            return RequestID("r\(nextRequest)")
        }

        private static func number(of request: RequestID) -> Int {
            Int(request.rawValue.dropFirst()) ?? 0
        }

        // MARK: Calls

        private mutating func startCall(contact: Int) {
            let fate = population.contact(contact)
            let hours = (now - shiftStarts[day]).seconds / 3600
            let plan = population.plan(fate, hoursIntoShift: hours)
            let id = nextCall
            nextCall += 1
            calls[id] = Call(plan: plan, fate: fate)
            dialing += 1
            tally.attempts += 1
            schedule(.ringEnds(call: id), at: now.advanced(by: plan.untilResolved))
        }

        private mutating func resolve(_ id: Int) {
            guard var call = calls[id] else { return }
            switch call.plan.outcome {
            case .live:
                dialing -= 1
                measured.recordAttempt(.live, timeToAnswer: Double(call.plan.untilResolved) / 1e9)
                call.answeredAt = now
                tally.liveAnswers += 1
                if !outboundGrants.isEmpty {
                    // Progressive: the agent is already reserved for this line.
                    let request = outboundGrants.removeFirst()
                    purposes[request] = nil
                    calls[id] = call
                    connect(id, request: request, agent: agentOf(request))
                    return
                }
                let request = newRequestID()
                purposes[request] = .connect(call: id)
                call.stage = .waiting(request)
                calls[id] = call
                waiting += 1
                if call.fate.patienceNanoseconds < grace {
                    schedule(.customerHangsUp(call: id), at: now.advanced(by: call.fate.patienceNanoseconds))
                }
                let reservation = ReservationRequest(
                    id: request,
                    queue: queue,
                    epoch: epoch,
                    node: node,
                    kind: .connectAnsweredCall,
                    deadline: now.advanced(by: grace)
                )
                let now = self.now
                withBook { try $0.request(reservation, now: now) }
            case .machine:
                call.stage = .detectingMachine
                calls[id] = call
                schedule(.machineDetected(call: id), at: now.advanced(by: call.fate.machineDetectionNanoseconds))
            case .busy, .noAnswer, .invalid, .failed:
                calls[id] = nil
                dialing -= 1
                measured.recordAttempt(call.plan.outcome)
            }
        }

        private func agentOf(_ request: RequestID) -> AgentID {
            guard case .granted(let agent, _) = book.heldRequest(request)?.status else {
                preconditionFailure("an outbound grant the book does not hold as granted")
            }
            return agent
        }

        /// Bridges the answered call to the granted agent: the call is connected.
        private mutating func connect(_ id: Int, request: RequestID, agent: AgentID) {
            guard var call = calls[id], let index = agentIndex[agent] else { return }
            let (now, epoch) = (self.now, self.epoch)
            withBook { try $0.confirm(request, epoch: epoch, now: now) }
            let drawn = durations.call(day: day, agent: index, index: agents[index].callsToday)
            agents[index].callsToday += 1
            call.stage = .talking(request, agent: index, wrapUp: drawn.wrapUp)
            calls[id] = call
            record(answeredAt: call.answeredAt, abandoned: false)
            tally.connects += 1
            if isInShift(now) { tally.connectsInShift += 1 }
            schedule(.talkEnds(call: id), at: now.advanced(by: drawn.talk))
        }

        private mutating func endTalk(_ id: Int) {
            guard let call = calls.removeValue(forKey: id), case .talking(let request, _, let wrapUp) = call.stage
            else {
                return
            }
            let now = self.now
            withBook { try $0.callEnded(request, wrapUp: .nanoseconds(wrapUp), now: now) }
        }

        private mutating func hangUp(_ id: Int) {
            guard let call = calls[id], case .waiting(let request) = call.stage else { return }
            abandon(id)
            let now = self.now
            withBook { try $0.cancel(request, now: now) }
        }

        private mutating func abandon(_ id: Int) {
            guard let call = calls.removeValue(forKey: id), case .waiting(let request) = call.stage else { return }
            purposes[request] = nil
            waiting -= 1
            tally.abandons += 1
            record(answeredAt: call.answeredAt, abandoned: true)
        }

        private mutating func record(answeredAt: Moment, abandoned: Bool) {
            regulated.recordLiveAnswer(at: answeredAt, abandoned: abandoned)
            rolling24h.recordLiveAnswer(at: answeredAt, abandoned: abandoned)
            rolling1h.recordLiveAnswer(at: answeredAt, abandoned: abandoned)
        }

        // MARK: The reservation book

        /// Applies one event to the book and performs what it answers.
        private mutating func withBook(
            _ body: (inout ReservationBook) throws -> [ReservationAction]
        ) {
            let actions: [ReservationAction]
            do {
                actions = try body(&book)
            } catch {
                // The loop only sends what the book's rules allow; a refusal is a simulator bug.
                preconditionFailure("the reservation book refused a simulator step: \(error)")
            }
            perform(actions)
        }

        /// Performs the book's actions in order. Grants are acted on after the rest, because a
        /// grant's confirmation changes the agent again, and the book's earlier news of that agent
        /// (in this same list) must not overwrite the later state.
        private mutating func perform(_ actions: [ReservationAction]) {
            var grants: [Grant] = []
            for action in actions {
                switch action {
                case .granted(let grant):
                    grants.append(grant)
                case .timedOut(let request, _):
                    switch purposes.removeValue(forKey: request) {
                    case .connect(let call): abandon(call)
                    case .outbound, nil: break
                    }
                case .rejected(let request, _, _):
                    purposes[request] = nil
                case .grantRevoked(let request, _, _, _):
                    purposes[request] = nil
                    outboundGrants.removeAll { $0 == request }
                case .offer, .offerWithdrawn:
                    break
                case .agentChanged(let session):
                    agentChanged(session)
                case .scheduleTimer(let timer, let moment):
                    schedule(.bookTimer(timer), at: moment)
                case .cancelTimer(let timer):
                    cancelledTimers.insert(timer.id)
                }
            }
            for grant in grants {
                switch purposes[grant.request] {
                case .connect(let call):
                    purposes[grant.request] = nil
                    waiting -= 1
                    connect(call, request: grant.request, agent: grant.agent)
                case .outbound:
                    outboundGrants.append(grant.request)
                case nil:
                    break
                }
            }
        }

        /// Keeps each agent's time in state, counted within the shifts only, and measures talk and
        /// wrap-up times as the runner learns them: when the agent leaves the state.
        private mutating func agentChanged(_ session: AgentSession) {
            guard let index = agentIndex[session.id] else { return }
            let ledger = agents[index]
            let inShift = shiftOverlap(from: ledger.since, to: now)
            switch (ledger.state, session.state) {
            case (.onCall, .onCall):
                tally.talk += inShift
            case (.onCall(let call), _):
                tally.talk += inShift
                measured.recordTalk(seconds: (now - call.connectedAt).seconds)
            case (.wrapUp, .wrapUp):
                tally.wrapUp += inShift
            case (.wrapUp(let wrapUp), _):
                tally.wrapUp += inShift
                measured.recordWrapUp(seconds: (now - wrapUp.startedAt).seconds)
            case (_, .onCall(let call)):
                // A new call: the agent waited for it since they were last free.
                if isInShift(now) {
                    tally.waitBetweenCalls += (now - call.reservation.availableSince).totalNanoseconds
                    tally.waits += 1
                }
            default:
                break
            }
            agents[index] = AgentLedger(state: session.state, since: now, callsToday: ledger.callsToday)
        }

        private func hoursSinceStart(_ moment: Moment) -> Double {
            (moment - shiftStarts[0]).seconds / 3600
        }

        private func isInShift(_ moment: Moment) -> Bool {
            let start = shiftStarts[day]
            return moment >= start && moment < start.advanced(by: shiftLength)
        }

        /// Nanoseconds of [from, to) that fall within a shift.
        private func shiftOverlap(from: Moment, to: Moment) -> Int64 {
            var total: Int64 = 0
            for start in shiftStarts {
                let low = max(from.nanosecondsSinceOrigin, start.nanosecondsSinceOrigin)
                let high = min(to.nanosecondsSinceOrigin, start.nanosecondsSinceOrigin + shiftLength)
                if high > low { total += high - low }
            }
            return total
        }

        // MARK: The clairvoyant

        /// Lays out the day: every agent takes a call the moment they are ready and the moment each
        /// wrap-up ends, back to back, until the shift ends. For each such moment, in time order,
        /// the next contact that will answer live is dialed exactly its ring time earlier.
        private mutating func planClairvoyantDay(_ day: Int) {
            let start = shiftStarts[day]
            let end = start.advanced(by: shiftLength)
            var answers: [Moment] = []
            for agent in 0..<scenario.agents {
                var moment = start
                var index = 0
                while moment < end {
                    answers.append(moment)
                    let call = durations.call(day: day, agent: agent, index: index)
                    moment = moment.advanced(by: max(1, call.talk + call.wrapUp))
                    index += 1
                }
            }
            answers.sort()
            for answer in answers {
                while true {
                    if let limit = scenario.contacts, nextContact >= limit { break }
                    let contact = nextContact
                    nextContact += 1
                    let fate = population.contact(contact)
                    let dialAt = answer.advanced(by: -fate.ringNanoseconds)
                    let plan = population.plan(fate, hoursIntoShift: (dialAt - start).seconds / 3600)
                    // A contact that will not answer live costs no agent time: it is not dialed.
                    guard plan.outcome == .live else { continue }
                    schedule(.plannedDial(contact: contact), at: dialAt)
                    break
                }
            }
        }

        // MARK: The report

        private mutating func report(end: Moment) -> PolicyReport {
            for index in agents.indices {
                let ledger = agents[index]
                let inShift = shiftOverlap(from: ledger.since, to: now)
                switch ledger.state {
                case .onCall: tally.talk += inShift
                case .wrapUp: tally.wrapUp += inShift
                default: break
                }
                agents[index].since = now
            }
            // One-hour windows ending in the quiet hour after the last shift hold only its last
            // calls, and count: nothing else would be in them. Day-long windows ending later are
            // left out: they would also hold the next day's calls, which are not simulated (with
            // `days` > 1 the windows across each night are all there).
            rolling24h.advance(to: now)
            rolling1h.advance(to: end.advanced(by: 3600 * 1_000_000_000))
            let staffed = Double(scenario.agents) * Double(shiftLength) * Double(scenario.days)
            let shiftHours = scenario.shiftHours * Double(scenario.days)
            let talk = Double(tally.talk)
            let wrapUp = Double(tally.wrapUp)
            return PolicyReport(
                policy: spec.name,
                staffedAgentHours: staffed / 3.6e12,
                talkOccupancy: talk / staffed,
                busyOccupancy: (talk + wrapUp) / staffed,
                talkMinutesPerAgentHour: talk / staffed * 60,
                attempts: tally.attempts,
                liveAnswers: tally.liveAnswers,
                connects: tally.connects,
                abandons: tally.abandons,
                abandonRate: tally.liveAnswers > 0 ? Double(tally.abandons) / Double(tally.liveAnswers) : 0,
                worstRolling24hAbandonRate: rolling24h.worstRate,
                worstRolling24hWindowEndHours: rolling24h.worstWindowEnd.map { hoursSinceStart($0) },
                worstRolling1hAbandonRate: rolling1h.worstRate,
                worstRolling1hWindowEndHours: rolling1h.worstWindowEnd.map { hoursSinceStart($0) },
                meanWaitBetweenCallsSeconds: tally.waits > 0
                    ? Double(tally.waitBetweenCalls) / Double(tally.waits) / 1e9 : nil,
                connectsPerHour: Double(tally.connectsInShift) / shiftHours,
                connectsPerAgentHour: Double(tally.connectsInShift) / (shiftHours * Double(scenario.agents))
            )
        }
    }
}

extension Moment {
    fileprivate func advanced(by nanoseconds: Int64) -> Moment {
        Moment(nanosecondsSinceOrigin: nanosecondsSinceOrigin + nanoseconds)
    }
}
