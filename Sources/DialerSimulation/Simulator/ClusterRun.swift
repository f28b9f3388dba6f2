import DialerCore
import Foundation
import HeapModule

/// The cluster simulator: the product's own queue runners and reservation book, a trunk that
/// places calls exactly as ``SimulatedTrunk`` does, and synthetic agents, in virtual time, with
/// what a cluster has between them.
///
/// ## What runs
///
/// - One `QueueRunnerStateMachine` per campaign (DialerCore's, unchanged), fed events and
///   carrying out its actions as a node's `QueueRunner` does: ticks every
///   ``ClusterScenario/tickMilliseconds``, contacts from a list, calls on the trunk, requests,
///   confirmations, releases, cancels and call ends to the gateway.
/// - One `ReservationBook` (the gateway's): every request and agent operation, its timers, and
///   the pictures it sends each runner on change, at most once per
///   ``ClusterScenario/pictureIntervalMilliseconds``, built as a node converts them (agents just
///   granted still show as available until the next one; the runner leaves them out by id).
/// - Calls whose fate is ``SimulatedTrunk/Population/fate(number:attempt:)`` and whose reports
///   are ``SimulatedTrunk/plan(fate:request:at:)``: the answer announced while the detector
///   classifies, the verdict at the detection time or at the runner's detection limit after the
///   greeting, the person's patience, the talk, messages.
/// - Inbound callers of the population's lines, each asking the book for an agent of its
///   queue (`inboundCall`), bridged when granted, as a node's inbound handler does.
/// - Agents driven by ``SyntheticAgentBehaviour`` (the load tester's and the demo's agents):
///   their accept, talk, wrap-up and pause times, their dispositions ending the wrap-up.
/// - Between node and gateway, each message takes ``ClusterScenario/gatewayLatencyMilliseconds``
///   of wall time; wall times are multiplied by the time scale into call time, as on a cluster
///   whose trunk runs at that scale.
///
/// Same scenario and seed, same report: events at one moment run in the order they were
/// scheduled, and every draw comes from the seed.
public struct ClusterRun {
    public let scenario: ClusterScenario

    public init(scenario: ClusterScenario) {
        var scenario = scenario
        scenario.population.seed = scenario.seed
        scenario.population.timeScale = 1
        self.scenario = scenario
    }

    /// Runs the shift, then until the calls in progress end; `progress` gets the share of the
    /// shift simulated, now and then.
    public func run(progress: (Double) -> Void = { _ in }) -> ClusterReport {
        var engine = Engine(scenario: scenario)
        return engine.run(progress: progress)
    }
}

extension ClusterRun {
    private enum Owner: Hashable {
        case runner(Int)
        case inbound(CallID)
    }

    private enum GatewayOperation {
        case request(ReservationRequest)
        case confirm(RequestID)
        case release(RequestID)
        case cancel(RequestID)
        case callEnded(RequestID)
    }

    private enum Event {
        case tick(runner: Int)
        case toRunner(Int, QueueRunnerEvent)
        case toGateway(GatewayOperation)
        case bookTimer(BookTimer)
        case sendPictures
        case network(CallID, CallProgress, customerHangsUpAt: Moment?)
        case customerHangsUp(CallID, token: Int)
        case messageEnds(CallID, CallMessage, token: Int)
        case agentTimer(agent: Int, SyntheticAgentBehaviour.Timer)
        case agentStarts(agent: Int)
        case arrival(line: Int)
        /// The gateway's answer to an inbound caller's request reached the node.
        case inboundAnswer(CallID, RequestID, agent: AgentID?)
        /// An agent hung up a call: the gateway's notice reached the node.
        case hangupNotice(RequestID)
        case shiftEnds
    }

    private struct Scheduled: Comparable {
        var moment: Moment
        var sequence: UInt64
        var event: Event
        static func < (lhs: Self, rhs: Self) -> Bool { (lhs.moment, lhs.sequence) < (rhs.moment, rhs.sequence) }
        static func == (lhs: Self, rhs: Self) -> Bool { lhs.sequence == rhs.sequence }
    }

    private struct Call {
        var leg: CallLegStateMachine
        var owner: Owner
        var attempt: AttemptID?
        var talkTime: Duration?
        var customerToken = 0
        var messageToken = 0
        /// Inbound: the caller's request at the gateway, and when they arrived.
        var request: RequestID?
        var arrivedAt: Moment
        var bridged = false
    }

    private struct Runner {
        var machine: QueueRunnerStateMachine
        var campaign: ClusterScenario.Campaign
        var nextContact = 0
        var drained = false
        var finished = false
        var figures: ClusterReport.CampaignFigures
    }

    private struct Agent {
        var id: AgentID
        var skills: AgentSkills
        var behaviour: SyntheticAgentBehaviour
        var state: AgentState = .loggedOut
        var since: Moment = .origin
        var talk: Duration = .zero
        var wrapUp: Duration = .zero
        var loggedIn: Duration = .zero
    }

    private struct Engine {
        let scenario: ClusterScenario
        var book: ReservationBook
        var runners: [Runner] = []
        var agents: [Agent] = []
        var agentIndex: [AgentID: Int] = [:]
        var heap = Heap<Scheduled>()
        var sequence: UInt64 = 0
        var now = Moment.origin
        let shiftEnd: Moment
        let epoch = Epoch(1)
        let node = MemberID("sim-node")
        let latency: Duration
        let managerLatency: Duration
        let pictureInterval: Duration
        let tick: Duration

        var calls: [CallID: Call] = [:]
        var callOfAttempt: [AttemptID: CallID] = [:]
        var truth: [AttemptID: SimulatedTrunk.Fate] = [:]
        var placed = 0
        var attemptsByNumber: [String: Int] = [:]
        var recentOriginations: [Moment] = []
        var requestOwner: [RequestID: Owner] = [:]
        var attemptOfRequest: [RequestID: AttemptID] = [:]
        var nextInboundRequest = 0

        var lines: [SeededGenerator]
        var arrivalsOnLine: [Int]
        var arrivalsOpen = true

        var picturesChanged = false
        var picturesScheduled = false
        var lastPictures: Moment?

        var rolling24h = AbandonWindow(length: .seconds(24 * 3600))
        var rolling1h = AbandonWindow(length: .seconds(3600))
        var inbound = ClusterReport.InboundFigures(arrived: 0, taken: 0, abandoned: 0)
        var inboundWait: Duration = .zero
        var bookRefusals = 0
        /// Requests waiting at the gateway for an agent, by the queue whose agents take them.
        var waiting: [QueueID: Set<RequestID>] = [:]
        var queueOfRequest: [RequestID: QueueID] = [:]
        var grantsAheadOfLowerRank = 0
        var grantsPastHigherRank = 0

        init(scenario: ClusterScenario) {
            self.scenario = scenario
            // The gateway's leases and timeouts are its defaults, in wall time.
            let wall = ReservationBook.Configuration()
            let callTime = { (duration: Duration) in scenario.callTime(wallMilliseconds: duration.seconds * 1000) }
            book = ReservationBook(
                configuration: .init(
                    outboundLease: callTime(wall.outboundLease), inboundLease: callTime(wall.inboundLease),
                    previewLease: callTime(wall.previewLease), connectLease: callTime(wall.connectLease),
                    offerTimeout: callTime(wall.offerTimeout),
                    wrapUpLength: scenario.callTime(wallMilliseconds: scenario.gatewayWrapUpSeconds * 1000),
                    logCapacity: 0))
            shiftEnd = .origin + .seconds(scenario.shiftHours * 3600)
            latency = scenario.callTime(wallMilliseconds: scenario.gatewayLatencyMilliseconds)
            managerLatency = scenario.callTime(wallMilliseconds: scenario.managerLatencyMilliseconds)
            pictureInterval = scenario.callTime(wallMilliseconds: scenario.pictureIntervalMilliseconds)
            tick = .nanoseconds(Int64((scenario.tickMilliseconds * 1e6).rounded()))
            lines = scenario.population.inbound.map { scenario.population.arrivalGenerator(line: $0) }
            arrivalsOnLine = Array(repeating: 0, count: scenario.population.inbound.count)
            for (index, campaign) in scenario.campaigns.enumerated() {
                let configuration = QueueRunnerStateMachine.Configuration(
                    queue: campaign.queue, node: node, connectGrace: .seconds(scenario.connectGraceSeconds),
                    connectAllowance: scenario.connectAllowance)
                runners.append(
                    Runner(
                        machine: QueueRunnerStateMachine(
                            configuration: configuration, settings: campaign.settings, now: .origin),
                        campaign: campaign,
                        figures: .init(
                            queue: campaign.queue.rawValue, mode: campaign.settings.mode.rawValue, attempts: 0,
                            liveAnswers: 0, connected: 0, abandons: 0, abandonsByCause: [:], machines: 0,
                            humansClassedAsMachines: 0, refusedByTrunk: 0)))
                schedule(.toRunner(index, .leaseHeld(epoch)), at: .origin)
                // Runners' ticks are spread over the tick, as separate nodes' would be.
                schedule(
                    .tick(runner: index), at: .origin + tick * Double(index + 1) / Double(scenario.campaigns.count + 1))
            }
            var number = 0
            for team in scenario.teams {
                for _ in 0..<team.agents {
                    number += 1
                    let id = AgentID("agent-\(number)")
                    agentIndex[id] = agents.count
                    // Each agent's own stream, from the seed and its number.
                    let seed = TrunkStreams.mix(scenario.seed &+ TrunkStreams.mix(0xA6E7 &+ UInt64(number)))
                    agents.append(
                        Agent(
                            id: id, skills: AgentSkills(team.ranks),
                            behaviour: SyntheticAgentBehaviour(profile: scenario.agentProfile, seed: seed)))
                    // Agents log in over the first seconds, not all at one instant.
                    schedule(.agentStarts(agent: agents.count - 1), at: .origin + .milliseconds(37 * (number % 100)))
                }
            }
            for index in lines.indices where index < scenario.inboundQueues.count {
                if let gap = scenario.population.inbound[index].arrivalGap(&lines[index]) {
                    schedule(.arrival(line: index), at: .origin + gap)
                }
            }
            schedule(.shiftEnds, at: shiftEnd)
        }

        mutating func schedule(_ event: Event, at moment: Moment) {
            sequence += 1
            heap.insert(Scheduled(moment: max(moment, now), sequence: sequence, event: event))
        }

        // MARK: The loop

        mutating func run(progress: (Double) -> Void) -> ClusterReport {
            let shift = Double(shiftEnd.nanosecondsSinceOrigin)
            var reported = -1
            // After the shift, calls in progress end; agents who never finish (a machine bridged
            // to an agent who never hangs up) are not waited for past a day.
            let hardStop = shiftEnd + .seconds(24 * 3600)
            while let next = heap.popMin() {
                if next.moment > hardStop { break }
                now = next.moment
                handle(next.event)
                let done = Int(Double(now.nanosecondsSinceOrigin) / shift * 100)
                if done > reported, done <= 100 {
                    reported = done
                    progress(Double(done) / 100)
                }
                if now >= shiftEnd, runners.allSatisfy(\.finished), calls.isEmpty { break }
            }
            return report()
        }

        mutating func handle(_ event: Event) {
            switch event {
            case .tick(let index):
                guard !runners[index].finished else { return }
                deliver(.tick, to: index)
                if now >= shiftEnd, !runners[index].drained, runners[index].machine.contactsInHand == 0,
                    runners[index].machine.attemptsInFlight.isEmpty
                {
                    // The list is closed and the last calls are done: the queue is drained.
                    runners[index].drained = true
                    deliver(.drain, to: index)
                }
                schedule(.tick(runner: index), at: now + tick)
            case .toRunner(let index, let event):
                deliver(event, to: index)
            case .toGateway(let operation):
                gateway(operation)
            case .bookTimer(let timer):
                withBook { book, now throws(ReservationError) in book.timerFired(timer, now: now) }
            case .sendPictures:
                sendPictures()
            case .network(let id, let progress, let hangsUpAt):
                guard let call = calls[id], call.leg.allows(progress) else { return }
                // The person's hang-up is planned before the runner hears of the answer: a bridge
                // it makes at once (the agent was held for the verdict) then cancels it.
                if let hangsUpAt { schedule(.customerHangsUp(id, token: call.customerToken), at: hangsUpAt) }
                emit(progress, on: id)
            case .customerHangsUp(let id, let token):
                guard let call = calls[id], call.customerToken == token else { return }
                emit(.hungUp(by: .customer, at: now), on: id)
            case .messageEnds(let id, let message, let token):
                guard let call = calls[id], call.messageToken == token else { return }
                emit(.messageFinished(message, at: now), on: id)
            case .agentTimer(let index, let timer):
                perform(agents[index].behaviour.timerFired(timer), agent: index)
            case .agentStarts(let index):
                perform(agents[index].behaviour.start(), agent: index)
            case .arrival(let line):
                arrive(on: line)
            case .inboundAnswer(let id, let request, let agent):
                inboundAnswered(id, request: request, agent: agent)
            case .hangupNotice(let request):
                switch requestOwner[request] {
                case .runner(let index): deliver(.agentHungUp(request), to: index)
                case .inbound(let id):
                    if let call = calls[id], call.leg.allows(.hungUp(by: .node, at: now)) {
                        emit(.hungUp(by: .node, at: now), on: id)
                    }
                case nil: break
                }
            case .shiftEnds:
                // Callers stop arriving and the manager hands out no more contacts; the runners
                // dial what they hold and are drained once their calls are done (a drain with
                // calls still ringing would abandon their live answers as `lease-lost`).
                arrivalsOpen = false
            }
        }

        // MARK: The runners

        mutating func deliver(_ event: QueueRunnerEvent, to index: Int) {
            let actions = runners[index].machine.handle(event, now: now)
            for action in actions { perform(action, runner: index) }
        }

        mutating func perform(_ action: QueueRunnerAction, runner index: Int) {
            switch action {
            case .requestContacts(let count):
                var campaign = runners[index]
                var targets: [DialTarget] = []
                let limit = campaign.campaign.contacts ?? .max
                while targets.count < count, campaign.nextContact < limit, now < shiftEnd {
                    let number = campaign.nextContact
                    campaign.nextContact += 1
                    targets.append(
                        DialTarget(
                            attempt: AttemptID("\(campaign.campaign.queue)-\(number)"),
                            contact: ContactID("\(campaign.campaign.queue)-\(number)"),
                            phone: Self.phone(number)))
                }
                runners[index] = campaign
                schedule(
                    .toRunner(index, .contactsArrived(targets, exhausted: targets.count < count)),
                    at: now + managerLatency * 2)
            case .originate(let attempt, let request):
                originate(attempt, request, runner: index)
            case .requestAgent(let draft):
                requestOwner[draft.id] = .runner(index)
                if let target = draft.target { attemptOfRequest[draft.id] = target.attempt }
                // The gateway waits what was left when the node sent it, from when it arrives.
                let wait = max(.zero, draft.deadline - now)
                let request = ReservationRequest(
                    id: draft.id, queue: runners[index].campaign.queue, epoch: epoch, node: node, kind: draft.kind,
                    namedAgent: draft.namedAgent, deadline: now + latency + wait)
                schedule(.toGateway(.request(request)), at: now + latency)
            case .confirm(let request, _):
                schedule(.toGateway(.confirm(request)), at: now + latency)
            case .release(let request):
                schedule(.toGateway(.release(request)), at: now + latency)
            case .cancel(let request):
                schedule(.toGateway(.cancel(request)), at: now + latency)
            case .callEnded(let request):
                schedule(.toGateway(.callEnded(request)), at: now + latency)
            case .bridge(let attempt, let agent):
                guard let id = callOfAttempt[attempt] else { return }
                bridge(id, to: agent)
            case .play(let attempt, let message):
                guard let id = callOfAttempt[attempt], let call = calls[id],
                    call.leg.allows(.messageStarted(message, at: now))
                else { return }
                calls[id]?.messageToken += 1
                emit(.messageStarted(message, at: now), on: id)
                if let token = calls[id]?.messageToken {
                    schedule(
                        .messageEnds(id, message, token: token), at: now + scenario.population.length(of: message))
                }
            case .hangUp(let attempt):
                guard let id = callOfAttempt[attempt], let call = calls[id],
                    call.leg.allows(.hungUp(by: .node, at: now))
                else { return }
                // The trunk's report of the hang-up reaches the runner as its next event.
                calls[id]?.customerToken += 1
                calls[id]?.messageToken += 1
                schedule(.network(id, .hungUp(by: .node, at: now), customerHangsUpAt: nil), at: now)
            case .report(let attempt):
                record(attempt, runner: index)
            case .returnContact:
                break
            case .finished:
                runners[index].finished = true
            }
        }

        static func phone(_ index: Int) -> String {
            // The load tester's and the demo's generated list: distinct Tokyo numbers.
            String(format: "+813%08d", 31_230_000 + index)
        }

        mutating func record(_ attempt: DialedAttempt, runner index: Int) {
            var figures = runners[index].figures
            figures.attempts += 1
            switch attempt.outcome {
            case .connected:
                figures.liveAnswers += 1
                figures.connected += 1
                rolling24h.recordLiveAnswer(at: attempt.answeredAt ?? attempt.endedAt, abandoned: false)
                rolling1h.recordLiveAnswer(at: attempt.answeredAt ?? attempt.endedAt, abandoned: false)
            case .abandoned:
                figures.liveAnswers += 1
                figures.abandons += 1
                figures.abandonsByCause[attempt.abandonCause?.rawValue ?? "none", default: 0] += 1
                rolling24h.recordLiveAnswer(at: attempt.answeredAt ?? attempt.endedAt, abandoned: true)
                rolling1h.recordLiveAnswer(at: attempt.answeredAt ?? attempt.endedAt, abandoned: true)
            case .machine:
                figures.machines += 1
                if truth[attempt.target.attempt]?.outcome == .live { figures.humansClassedAsMachines += 1 }
            default:
                break
            }
            truth[attempt.target.attempt] = nil
            runners[index].figures = figures
        }

        // MARK: The trunk

        /// The population in force now (the answer-rate schedule applied).
        func populationNow() -> SimulatedTrunk.Population {
            var population = scenario.population
            let hours = Double(now.nanosecondsSinceOrigin) / 3.6e12
            if let live = scenario.liveRate(atHour: hours) {
                let pool = population.outcomes.live + population.outcomes.noAnswer
                population.outcomes.live = live
                population.outcomes.noAnswer = max(0, pool - live)
            }
            return population
        }

        mutating func originate(_ attempt: AttemptID, _ request: OriginateRequest, runner index: Int) {
            let population = populationNow()
            let refusal: Bool
            if calls.count >= population.channels {
                refusal = true
            } else {
                let windowStart = now - .seconds(1)
                recentOriginations.removeAll { $0 <= windowStart }
                refusal = recentOriginations.count >= population.callsPerSecond
            }
            if refusal {
                runners[index].figures.refusedByTrunk += 1
                schedule(.toRunner(index, .originateRefused(attempt)), at: now)
                return
            }
            recentOriginations.append(now)
            let count = attemptsByNumber[request.number, default: 0]
            attemptsByNumber[request.number] = count + 1
            var fate = population.fate(number: request.number, attempt: count)
            if !PhoneNumbers.isE164(request.number) { fate.outcome = .invalid }
            placed += 1
            let id = CallID("out-\(placed)")
            calls[id] = Call(
                leg: CallLegStateMachine(direction: .outbound), owner: .runner(index), attempt: attempt,
                talkTime: fate.outcome == .live ? fate.talkTime : nil, arrivedAt: now)
            callOfAttempt[attempt] = id
            truth[attempt] = fate
            for report in SimulatedTrunk.plan(fate: fate, request: request, at: now) {
                schedule(.network(id, report.event, customerHangsUpAt: report.customerHangsUpAt), at: report.at)
            }
        }

        mutating func bridge(_ id: CallID, to agent: AgentID) {
            guard let call = calls[id], call.leg.allows(.bridged(to: agent, at: now)) else { return }
            calls[id]?.customerToken += 1
            calls[id]?.messageToken += 1
            calls[id]?.bridged = true
            emit(.bridged(to: agent, at: now), on: id)
            if let entry = calls[id], let talk = entry.talkTime {
                schedule(.customerHangsUp(id, token: entry.customerToken), at: now + talk)
            } else if let entry = calls[id] {
                // A machine the detector took for a person never hangs up: the agent who hears
                // it does, after a few seconds (the trunk leaves that to the agent's desktop).
                schedule(.customerHangsUp(id, token: entry.customerToken), at: now + Self.machineHeardFor)
            }
        }

        /// How long an agent bridged to an answering machine listens before hanging up.
        static let machineHeardFor: Duration = .seconds(5)

        /// Applies the report to the call's leg and passes it to whoever follows the call.
        mutating func emit(_ progress: CallProgress, on id: CallID) {
            guard var call = calls[id] else { return }
            do {
                try call.leg.apply(progress)
            } catch {
                return
            }
            if progress.isFinal {
                calls[id] = nil
                if let attempt = call.attempt { callOfAttempt[attempt] = nil }
            } else {
                calls[id] = call
            }
            switch call.owner {
            case .runner(let index):
                guard let attempt = call.attempt else { return }
                switch progress {
                case .ringing, .bridged, .messageStarted: return
                default: deliver(.progress(attempt, progress), to: index)
                }
            case .inbound:
                guard progress.isFinal else { return }
                inboundEnded(call)
            }
        }

        // MARK: Inbound callers

        mutating func arrive(on line: Int) {
            guard arrivalsOpen else { return }
            let entry = scenario.population.inbound[line]
            if let gap = entry.arrivalGap(&lines[line]) { schedule(.arrival(line: line), at: now + gap) }
            let fate = scenario.population.inboundFate(line: entry, index: arrivalsOnLine[line])
            arrivalsOnLine[line] += 1
            guard calls.count < scenario.population.channels else { return }
            inbound.arrived += 1
            nextInboundRequest += 1
            let id = CallID("in-\(nextInboundRequest)")
            let request = RequestID("\(node)/inbound/\(nextInboundRequest)")
            var call = Call(
                leg: CallLegStateMachine(direction: .inbound), owner: .inbound(id), talkTime: fate.talkTime,
                request: request, arrivedAt: now)
            try? call.leg.apply(.accepted(at: now))
            calls[id] = call
            schedule(.customerHangsUp(id, token: 0), at: now + fate.patience)
            requestOwner[request] = .inbound(id)
            let wait = Duration.seconds(600)
            schedule(
                .toGateway(
                    .request(
                        ReservationRequest(
                            id: request, queue: scenario.inboundQueues[line], epoch: epoch, node: node,
                            kind: .inboundCall, deadline: now + latency + wait))),
                at: now + latency)
        }

        mutating func inboundAnswered(_ id: CallID, request: RequestID, agent: AgentID?) {
            guard let agent else {
                if let call = calls[id], call.leg.allows(.hungUp(by: .node, at: now)) {
                    emit(.hungUp(by: .node, at: now), on: id)
                }
                return
            }
            guard calls[id] != nil else {
                schedule(.toGateway(.release(request)), at: now + latency)
                return
            }
            inbound.taken += 1
            inboundWait += now - (calls[id]?.arrivedAt ?? now)
            bridge(id, to: agent)
            schedule(.toGateway(.confirm(request)), at: now + latency)
        }

        mutating func inboundEnded(_ call: Call) {
            guard let request = call.request else { return }
            if call.bridged {
                schedule(.toGateway(.callEnded(request)), at: now + latency)
            } else {
                inbound.abandoned += 1
                schedule(.toGateway(.cancel(request)), at: now + latency)
            }
        }

        // MARK: The gateway

        mutating func gateway(_ operation: GatewayOperation) {
            let epoch = self.epoch
            switch operation {
            case .request(let request):
                queueOfRequest[request.id] = request.agentQueue
                waiting[request.agentQueue, default: []].insert(request.id)
                withBook { book, now throws(ReservationError) in try book.request(request, now: now) }
            case .confirm(let id):
                withBook { book, now throws(ReservationError) in try book.confirm(id, epoch: epoch, now: now) }
            case .release(let id):
                withBook { book, now throws(ReservationError) in try book.release(id, now: now) }
            case .cancel(let id):
                withBook { book, now throws(ReservationError) in try book.cancel(id, now: now) }
            case .callEnded(let id):
                withBook { book, now throws(ReservationError) in try book.callEnded(id, now: now) }
            }
        }

        /// Runs one book operation and carries out its actions; a refusal is counted.
        @discardableResult
        mutating func withBook(
            _ body: (inout ReservationBook, Moment) throws(ReservationError) -> [ReservationAction]
        ) -> Bool {
            let actions: [ReservationAction]
            do {
                actions = try body(&book, now)
            } catch {
                bookRefusals += 1
                return false
            }
            perform(actions)
            picturesChanged = true
            schedulePictures()
            return true
        }

        mutating func perform(_ actions: [ReservationAction]) {
            for action in actions {
                switch action {
                case .granted(let grant):
                    answered(grant.request, by: grant.agent)
                    answer(grant.request, agent: grant.agent, refusal: nil)
                case .rejected(let request, _, _):
                    answered(request, by: nil)
                    answer(request, agent: nil, refusal: .refused)
                case .timedOut(let request, _):
                    answered(request, by: nil)
                    answer(request, agent: nil, refusal: .noAgentFree)
                case .grantRevoked(let request, _, _, _):
                    if case .runner(let index) = requestOwner[request] {
                        schedule(.toRunner(index, .grantRevoked(request)), at: now + latency)
                    }
                case .offer(let offer):
                    if let index = agentIndex[offer.agent] {
                        perform(agents[index].behaviour.offered(request: offer.request.rawValue), agent: index)
                    }
                case .offerWithdrawn(let request, let agent, _):
                    if let index = agentIndex[agent] {
                        perform(agents[index].behaviour.offerWithdrawn(request: request.rawValue), agent: index)
                    }
                case .agentChanged(let session):
                    agentChanged(session)
                case .scheduleTimer(let timer, let at):
                    schedule(.bookTimer(timer), at: at)
                case .cancelTimer:
                    // A cancelled timer that fires is recognised as stale by the book.
                    break
                }
            }
        }

        /// The request no longer waits; a grant is checked against the ranking: the agent's
        /// queues ranked above the request's should have had nothing waiting (else it was served
        /// past them), and those ranked below may have (it was served ahead of them).
        mutating func answered(_ request: RequestID, by agent: AgentID?) {
            guard let queue = queueOfRequest.removeValue(forKey: request) else { return }
            waiting[queue]?.remove(request)
            guard let agent, let index = agentIndex[agent], let rank = agents[index].skills.rank(for: queue) else {
                return
            }
            for (other, otherRank) in agents[index].skills.ranks where other != queue {
                guard waiting[other]?.isEmpty == false else { continue }
                if otherRank < rank { grantsPastHigherRank += 1 }
                if otherRank > rank { grantsAheadOfLowerRank += 1 }
            }
        }

        /// The gateway's answer to a request, on its way to the node that asked.
        mutating func answer(_ request: RequestID, agent: AgentID?, refusal: AgentRefusal?) {
            switch requestOwner[request] {
            case .runner(let index):
                let event: QueueRunnerEvent =
                    if let agent { .agentGranted(request, agent) } else {
                        .agentNotGranted(request, because: refusal ?? .noAgentFree)
                    }
                schedule(.toRunner(index, event), at: now + latency)
            case .inbound(let id):
                schedule(.inboundAnswer(id, request, agent: agent), at: now + latency)
            case nil:
                break
            }
        }

        // MARK: Pictures

        mutating func schedulePictures() {
            guard !picturesScheduled, !runners.isEmpty else { return }
            picturesScheduled = true
            let at = lastPictures.map { max(now, $0 + pictureInterval) } ?? now
            schedule(.sendPictures, at: at)
        }

        mutating func sendPictures() {
            picturesScheduled = false
            guard picturesChanged else { return }
            picturesChanged = false
            lastPictures = now
            for index in runners.indices where !runners[index].finished {
                let picture = book.picture(of: runners[index].campaign.queue, now: now)
                schedule(.toRunner(index, .agentsChanged(Self.pacingPicture(picture))), at: now + latency)
            }
        }

        /// What a node makes of the gateway's picture (`AgentPicture(_:timeScale:)` in
        /// DialerNode): elapsed times, this queue's reserved agents, the available agents' ids
        /// and the demand of the queues ranked above.
        static func pacingPicture(_ picture: QueuePicture) -> AgentPicture {
            AgentPicture(
                available: picture.available.map(\.idle), reserved: picture.reservedForQueue,
                onCall: picture.onCall.map(\.talking), wrapUp: picture.wrapUp.map(\.elapsed),
                paused: picture.notReady.count, availableAgents: picture.available.map(\.agent),
                demandAhead: picture.pendingAhead)
        }

        // MARK: Agents

        mutating func perform(_ actions: [SyntheticAgentBehaviour.Action], agent index: Int) {
            for action in actions {
                switch action {
                case .setTimer(let timer, let after):
                    schedule(.agentTimer(agent: index, timer), at: now + after)
                case .send(let operation):
                    send(operation, agent: index)
                }
            }
        }

        mutating func send(_ operation: SyntheticAgentBehaviour.Operation, agent index: Int) {
            let id = agents[index].id
            let skills = agents[index].skills
            let accepted: Bool
            switch operation {
            case .logIn:
                accepted = withBook { book, now throws(ReservationError) in
                    try book.logIn(id, skills: skills, now: now)
                }
                if accepted { perform(agents[index].behaviour.loggedIn(), agent: index) }
            case .setReady:
                accepted = withBook { book, now throws(ReservationError) in try book.makeReady(id, now: now) }
            case .setNotReady(let reason):
                accepted = withBook { book, now throws(ReservationError) in
                    try book.pause(id, reason: PauseReason(reason), now: now)
                }
            case .answerOffer(let request, let accept):
                accepted = withBook { book, now throws(ReservationError) in
                    try accept
                        ? book.acceptOffer(id, request: RequestID(request), now: now)
                        : book.rejectOffer(id, request: RequestID(request), now: now)
                }
            case .hangUp(let request):
                // The gateway passes the hang-up to the node that has the call.
                accepted = true
                schedule(.hangupNotice(RequestID(request)), at: now + latency)
            case .extendWrapUp(let seconds):
                accepted = withBook { book, now throws(ReservationError) in
                    try book.extendWrapUp(id, by: .seconds(seconds), now: now)
                }
            case .disposition:
                // The manager records it and the gateway ends the wrap-up.
                guard case .wrapUp = agents[index].state else {
                    accepted = true
                    break
                }
                accepted = withBook { book, now throws(ReservationError) in try book.finishWrapUp(id, now: now) }
            case .logOut:
                accepted = withBook { book, now throws(ReservationError) in try book.logOut(id, now: now) }
            }
            if accepted {
                agents[index].behaviour.answered(operation)
            } else {
                perform(agents[index].behaviour.refused(operation), agent: index)
            }
        }

        mutating func agentChanged(_ session: AgentSession) {
            guard let index = agentIndex[session.id] else { return }
            account(index)
            let before = agents[index].state
            agents[index].state = session.state
            var remaining: Duration?
            switch session.state {
            case .onCall(let call):
                var wasOnCall = false
                if case .onCall = before { wasOnCall = true }
                if !wasOnCall {
                    let request = call.reservation.request
                    let attempt = attemptOfRequest[request]?.rawValue ?? request.rawValue
                    perform(
                        agents[index].behaviour.connected(request: request.rawValue, attempt: attempt), agent: index)
                }
            case .wrapUp(let wrapUp):
                remaining = max(.zero, wrapUp.endsAt - now)
            default:
                break
            }
            perform(
                agents[index].behaviour.statusChanged(
                    state: session.state.name, request: session.state.heldBy?.rawValue, wrapUpRemaining: remaining),
                agent: index)
        }

        /// Adds the time since the agent's last change to its state's account (within the shift).
        mutating func account(_ index: Int, until end: Moment? = nil) {
            let until = min(end ?? now, shiftEnd)
            let from = agents[index].since
            agents[index].since = now
            guard until > from else { return }
            let span = until - from
            switch agents[index].state {
            case .loggedOut: return
            case .onCall: agents[index].talk += span
            case .wrapUp: agents[index].wrapUp += span
            default: break
            }
            agents[index].loggedIn += span
        }

        // MARK: The report

        mutating func report() -> ClusterReport {
            for index in agents.indices { account(index) }
            rolling24h.advance(to: now)
            rolling1h.advance(to: max(now, shiftEnd + .seconds(3600)))
            let loggedIn = agents.reduce(Duration.zero) { $0 + $1.loggedIn }.seconds
            let talk = agents.reduce(Duration.zero) { $0 + $1.talk }.seconds
            let wrapUp = agents.reduce(Duration.zero) { $0 + $1.wrapUp }.seconds
            let figures = runners.map(\.figures)
            let live = figures.reduce(0) { $0 + $1.liveAnswers }
            let abandons = figures.reduce(0) { $0 + $1.abandons }
            let humans = figures.reduce(0) { $0 + $1.humansClassedAsMachines }
            var causes: [String: Int] = [:]
            for campaign in figures { causes.merge(campaign.abandonsByCause, uniquingKeysWith: +) }
            var inboundFigures = inbound
            inboundFigures.meanWaitSeconds = inbound.taken > 0 ? inboundWait.seconds / Double(inbound.taken) : nil
            let hours = { (moment: Moment) in Double(moment.nanosecondsSinceOrigin) / 3.6e12 }
            return ClusterReport(
                scenario: scenario.name, seed: scenario.seed, agents: scenario.agents, shiftHours: scenario.shiftHours,
                timeScale: scenario.timeScale, gatewayLatencyMilliseconds: scenario.gatewayLatencyMilliseconds,
                pictureIntervalMilliseconds: scenario.pictureIntervalMilliseconds,
                attempts: figures.reduce(0) { $0 + $1.attempts }, liveAnswers: live,
                connected: figures.reduce(0) { $0 + $1.connected }, abandons: abandons, abandonsByCause: causes,
                abandonRate: live > 0 ? Double(abandons) / Double(live) : 0,
                worstRolling24hAbandonRate: rolling24h.worstRate,
                worstRolling24hWindowEndHours: rolling24h.worstWindowEnd.map(hours),
                worstRolling1hAbandonRate: rolling1h.worstRate,
                worstRolling1hWindowEndHours: rolling1h.worstWindowEnd.map(hours),
                humansClassedAsMachines: humans,
                ofcomAbandonRate: live + humans > 0 ? Double(abandons + humans) / Double(live + humans) : 0,
                talkOccupancy: loggedIn > 0 ? talk / loggedIn : 0,
                occupancy: loggedIn > 0 ? (talk + wrapUp) / loggedIn : 0, campaigns: figures,
                inbound: scenario.inboundQueues.isEmpty ? nil : inboundFigures,
                grantsAheadOfWaitingLowerRank: grantsAheadOfLowerRank,
                grantsPastWaitingHigherRank: grantsPastHigherRank, bookRefusals: bookRefusals)
        }
    }
}
