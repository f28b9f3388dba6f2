import DequeModule

/// What a queue runner must do, in order, after an event.
public enum QueueRunnerAction: Hashable, Sendable {
    /// Ask the manager for up to `count` more contacts to dial.
    case requestContacts(count: Int)
    /// Place a call for the attempt.
    case originate(AttemptID, OriginateRequest)
    /// Ask the gateway for an agent.
    case requestAgent(AgentRequestDraft)
    /// Tell the gateway: the call to the target is bridged to the granted agent (whose desktop
    /// shows the target's contact and attempt).
    case confirm(RequestID, DialTarget)
    /// Give a granted agent back without a call.
    case release(RequestID)
    /// Withdraw a request.
    case cancel(RequestID)
    /// The call of a confirmed reservation ended: the agent goes to wrap-up.
    case callEnded(RequestID)
    /// Connect the attempt's call to the agent.
    case bridge(AttemptID, to: AgentID)
    /// Play a message on the attempt's call.
    case play(AttemptID, CallMessage)
    /// Hang up the attempt's call.
    case hangUp(AttemptID)
    /// Report how an attempt ended to the manager.
    case report(DialedAttempt)
    /// Give a contact back to the manager undialed (the lease was lost or the queue drained).
    case returnContact(DialTarget)
    /// Everything in hand is finished after a drain or a lost lease: the runner may stop.
    case finished
}

/// A request for an agent, before it is sent to the gateway.
public struct AgentRequestDraft: Hashable, Sendable {
    public var id: RequestID
    public var kind: RequestKind
    /// When the runner stops waiting.
    public var deadline: Moment
    /// A private callback: only this agent.
    public var namedAgent: AgentID?
    /// The contact, shown to the agent (a preview offer, a connected call).
    public var target: DialTarget?

    public init(
        id: RequestID, kind: RequestKind, deadline: Moment, namedAgent: AgentID? = nil, target: DialTarget? = nil
    ) {
        self.id = id
        self.kind = kind
        self.deadline = deadline
        self.namedAgent = namedAgent
        self.target = target
    }
}

/// The events a queue runner feeds its state machine.
public enum QueueRunnerEvent: Hashable, Sendable {
    /// Time passed: pace.
    case tick
    /// The node holds the queue's lease under this epoch.
    case leaseHeld(Epoch)
    /// The lease may have lapsed: place nothing more, hand back what is not dialed.
    case leaseLost
    /// The queue is drained: finish the calls in hand, place nothing more.
    case drain
    /// The campaign's settings changed.
    case settingsChanged(CampaignSettings)
    /// The manager answered a contact request; `exhausted` when it had fewer than asked.
    case contactsArrived([DialTarget], exhausted: Bool)
    /// The contact request failed (no manager, a fencing error ...).
    case contactRequestFailed
    /// The gateway's new picture of the queue's agents.
    case agentsChanged(AgentPicture)
    /// The trunk failed to place the attempt's call (the network, not the carrier's limits).
    case originateFailed(AttemptID)
    /// The trunk refused to place the call for now: every channel is in use or the carrier's
    /// calls-per-second cap is reached. The call never existed, so it is not an attempt: the
    /// contact is dialed again after ``QueueRunnerStateMachine/Configuration/carrierBackoff``.
    case originateRefused(AttemptID)
    /// The trunk reported progress on the attempt's call.
    case progress(AttemptID, CallProgress)
    /// The gateway granted an agent.
    case agentGranted(RequestID, AgentID)
    /// The gateway answered a request without an agent: none was free in time, it refused, or
    /// it could not be reached.
    case agentNotGranted(RequestID, because: AgentRefusal = .noAgentFree)
    /// The gateway took back an unconfirmed grant.
    case grantRevoked(RequestID)
    /// The agent hung up the call of this reservation.
    case agentHungUp(RequestID)
}

/// The decisions of one leased queue's runner, as a value: events in, actions out.
///
/// It paces with the campaign's ``PacingPolicy``, keeps a buffer of contacts from the manager,
/// places calls, classifies their answers, reserves agents at the gateway, connects live
/// answers within the regulated grace or abandons them with the message, applies the
/// answering-machine policy, and reports every attempt with its timestamps. It places nothing
/// once the lease may have lapsed or the queue is drained, and says ``QueueRunnerAction/finished``
/// when what it held is done.
public struct QueueRunnerStateMachine: Sendable {
    /// What the runner is configured with besides the campaign's settings.
    public struct Configuration: Hashable, Sendable {
        public var queue: QueueID
        public var node: MemberID
        /// From the end of the greeting, how long an answered call may wait for an agent before
        /// it counts as abandoned (2 s in the UK and US rules).
        public var connectGrace: Duration
        /// Played to a live answer no agent takes.
        public var noAgentMessage: CallMessage
        /// Played by agentless campaigns to a live answer.
        public var campaignMessage: CallMessage
        /// Contacts kept in hand beyond what is being dialed.
        public var contactBuffer: Int
        /// After the manager had fewer contacts than asked, how long before asking again.
        public var contactRetryDelay: Duration
        /// How long an outbound reservation or a preview offer may wait for an agent.
        public var reservationTimeout: Duration
        /// The calendar of the runner's clock, for checking calling hours again at dial time;
        /// `nil` leaves them to the manager's hand-out alone.
        public var calendar: CalendarAnchor?
        /// After the trunk refused a call for its channels or the carrier's rate, how long no
        /// new call is placed (one second: a calls-per-second cap counts whole seconds).
        public var carrierBackoff: Duration
        /// How long the node needs to connect an agent it already holds once a live answer is
        /// known (the bridge and the confirmation). Answering-machine detection is told to decide
        /// by the grace less this after the greeting, so that a live answer is never known too
        /// late to be connected.
        public var connectAllowance: Duration
        /// How long an agent asked for at the answer, while the detector classifies it, may be
        /// waited for: the longest detection plus the grace.
        public var classificationHold: Duration

        /// The connect allowance for a trunk running `timeScale` seconds of call time per
        /// second of wall time: a second (the detector then decides within a second of silence
        /// after the greeting, as detectors are set to), or 40 ms of wall time for a round trip
        /// on a busy machine, whichever is longer, and never more than 1.5 s (the detector keeps
        /// at least half a second after the greeting).
        public static func connectAllowance(timeScale: Double) -> Duration {
            let scale = timeScale.isFinite ? min(max(timeScale, 0), 1_000_000) : 1
            return min(.milliseconds(1500), max(.seconds(1), .milliseconds(Int64(40 * scale))))
        }

        public init(
            queue: QueueID, node: MemberID, connectGrace: Duration = .seconds(2),
            noAgentMessage: CallMessage = CallMessage(id: "no-agent"),
            campaignMessage: CallMessage = CallMessage(id: "campaign"),
            contactBuffer: Int = 20, contactRetryDelay: Duration = .seconds(5),
            reservationTimeout: Duration = .seconds(30), calendar: CalendarAnchor? = nil,
            carrierBackoff: Duration = .seconds(1), connectAllowance: Duration = .seconds(1),
            classificationHold: Duration = .seconds(8)
        ) {
            self.connectAllowance = min(max(.zero, connectAllowance), connectGrace)
            self.classificationHold = max(classificationHold, connectGrace)
            self.queue = queue
            self.node = node
            self.connectGrace = connectGrace
            self.noAgentMessage = noAgentMessage
            self.campaignMessage = campaignMessage
            self.contactBuffer = max(1, contactBuffer)
            self.contactRetryDelay = contactRetryDelay
            self.reservationTimeout = reservationTimeout
            self.calendar = calendar
            self.carrierBackoff = carrierBackoff
        }
    }

    /// Whether the runner may place calls.
    public enum LeaseState: Hashable, Sendable {
        case notHeld
        case held(Epoch)
        /// Finishing what is in hand; nothing new.
        case winding

        /// Whether the lease is held and the runner dials.
        public var isHeld: Bool {
            if case .held = self { return true }
            return false
        }
    }

    /// Where one call stands.
    enum Stage: Hashable, Sendable {
        case dialing
        /// Answered, and answering-machine detection is classifying it; an agent may already
        /// be asked for (the request), so that a live verdict finds one.
        case classifying(RequestID?)
        /// A live answer waiting for an agent (request sent).
        case waitingForAgent(RequestID, deadline: Moment)
        case bridged(RequestID, AgentID)
        /// Playing a message (no agent, machine, agentless) before hanging up.
        case playing(AttemptOutcome)
        /// Hung up by the node; waiting for the trunk's hang-up event.
        case hangingUp(AttemptOutcome)
    }

    struct Call: Hashable, Sendable {
        var target: DialTarget
        var callerID: String?
        var dialedAt: Moment
        var answeredAt: Moment?
        var bridgedAt: Moment?
        var agent: AgentID?
        var stage: Stage
        /// The reservation the call was placed for (progressive, preview).
        var reservation: RequestID?
        /// Why the call was abandoned, once it was.
        var abandonCause: AbandonCause?
        /// When the runner learned the answer was live.
        var liveAt: Moment?
    }

    enum ReservationState: Hashable, Sendable {
        case pending
        case granted(AgentID)
        /// Bridged to a call.
        case connected(AgentID, AttemptID)
    }

    struct Reservation: Hashable, Sendable {
        var kind: RequestKind
        var state: ReservationState
        /// The preview offer's contact, until it is dialed.
        var target: DialTarget?
        /// Lines placed for the reservation (progressive, preview).
        var lines: Set<AttemptID> = []
        /// The answered call it is for (connect requests).
        var call: AttemptID?
        var deadline: Moment
        /// Asked for at the answer, while the detector listened: the gateway waits longer than
        /// the regulated deadline, so the runner withdraws it at that deadline.
        var early = false
    }

    public let configuration: Configuration
    public private(set) var settings: CampaignSettings
    public private(set) var lease: LeaseState = .notHeld
    private var policy: any PacingPolicy
    private var buffer: Deque<DialTarget> = []
    private var calls: [AttemptID: Call] = [:]
    private var reservations: [RequestID: Reservation] = [:]
    private var agents = AgentPicture()
    /// Whether a picture of the queue's agents has arrived yet (before it, no agents are known
    /// to be missing).
    private var pictureReceived = false
    private var contactsRequested = false
    private var nextContactRequest: Moment = .origin
    private var recentAttempts: Deque<Moment> = []
    private var nextRequestNumber: UInt64 = 0
    private var measured = MeasuredCalls()
    /// Calls per pooled caller ID since `callerIDDayStart`, for the pool's daily cap.
    private var callerIDUsedToday: [String: Int] = [:]
    private var callerIDDayStart: Moment?
    /// The pool index round-robin tries next.
    private var callerIDRotationCursor = 0
    private var abandonWindow: AbandonWindow
    private var lastDecision: PacingDecision?
    /// Requests withdrawn at their deadline, with the call they were for: a grant that still
    /// arrives tells that the agent came late.
    private var lateGrants: [RequestID: LateAnswer] = [:]
    /// When each agent's last call of this queue ended, until a picture shows them available
    /// again: the gap, less their time available, is their wrap-up.
    private var callEndedAt: [AgentID: Moment] = [:]
    /// A request the runner stopped waiting for at its deadline, and the call it was for.
    struct LateAnswer: Hashable, Sendable {
        var attempt: AttemptID
        /// Withdrawn by the runner: a refusal then says the request was still waiting at the
        /// gateway, i.e. no agent had been free for it.
        var withdrawn: Bool
    }

    /// Abandons since the runner started, by cause.
    public private(set) var abandonsByCause: [AbandonCause: Int] = [:]
    /// No call is placed before this moment: the trunk refused one for its capacity or rate.
    private var carrierBackoffUntil: Moment = .origin
    /// Calls the trunk refused for its capacity or rate, since the runner started.
    public private(set) var callsRefusedByTrunk = 0
    /// The campaign's time rules for the dial-time check, built once per settings (they resolve
    /// zones and weekly hours, which every call would otherwise redo).
    private var dialTimeRules: DialingRules<NoTimeZoneResolver>?
    /// Contacts handed back undialed because the hours had closed when their turn came.
    public private(set) var contactsHeldAtDialTime = 0

    public init(configuration: Configuration, settings: CampaignSettings, now: Moment) {
        self.configuration = configuration
        self.settings = settings
        self.policy = settings.pacingPolicy()
        self.abandonWindow = AbandonWindow(
            length: (settings.predictive.regulatedWindows.min() ?? .twentyFourHours).length, start: now)
    }

    // MARK: - What the runner holds, for metrics and tests

    /// Calls in flight by stage name (dialing, waiting, bridged, playing, hanging-up).
    public var callsByStage: [String: Int] {
        var counts: [String: Int] = [:]
        for call in calls.values {
            let name =
                switch call.stage {
                case .dialing: "dialing"
                case .classifying: "classifying"
                case .waitingForAgent: "waiting"
                case .bridged: "bridged"
                case .playing: "playing"
                case .hangingUp: "hanging-up"
                }
            counts[name, default: 0] += 1
        }
        return counts
    }

    /// The attempts with a call in flight.
    public var attemptsInFlight: Set<AttemptID> { Set(calls.keys) }
    /// Contacts in hand, not yet dialed.
    public var contactsInHand: Int { buffer.count }
    /// Requests for agents not yet answered or not yet finished.
    public var reservationsHeld: Int { reservations.count }
    /// The last pacing decision.
    public var lastPacingDecision: PacingDecision? { lastDecision }
    /// Wrap-up times measured from the gateway's pictures (the most recent calls).
    public var measuredWrapUp: DistributionSummary? {
        var recent = measured.wrapUpTime
        return recent.summary()
    }
    /// Live answers and abandons over the campaign's regulated window, as this runner saw them.
    public mutating func abandonCounts(at now: Moment) -> AbandonCounts { abandonWindow.counts(at: now) }

    // MARK: - Events

    /// Applies one event at `now` and returns what to do.
    public mutating func handle(_ event: QueueRunnerEvent, now: Moment) -> [QueueRunnerAction] {
        var actions: [QueueRunnerAction] = []
        switch event {
        case .tick:
            expireWaits(now: now, into: &actions)
            pace(now: now, into: &actions)
        case .leaseHeld(let epoch):
            lease = .held(epoch)
            pace(now: now, into: &actions)
        case .drain:
            // A drained queue still holds its lease until it hands it back: answered calls
            // still get agents.
            if case .held = lease { drainingWithLease = true }
            windDown(into: &actions)
        case .leaseLost:
            drainingWithLease = false
            windDown(into: &actions)
        case .settingsChanged(let newSettings):
            if newSettings.mode != settings.mode || newSettings.dialRate != settings.dialRate
                || newSettings.predictive != settings.predictive || newSettings.ivrPorts != settings.ivrPorts
                || newSettings.callsPerReadyAgent != settings.callsPerReadyAgent
                || newSettings.callsPerWrapUpAgent != settings.callsPerWrapUpAgent
            {
                policy = newSettings.pacingPolicy()
            }
            settings = newSettings
            dialTimeRules = nil
        case .contactsArrived(let targets, let exhausted):
            contactsRequested = false
            if exhausted { nextContactRequest = now + configuration.contactRetryDelay }
            if case .held = lease {
                buffer.append(contentsOf: targets)
                pace(now: now, into: &actions)
            } else {
                actions += targets.map { .returnContact($0) }
            }
        case .contactRequestFailed:
            contactsRequested = false
            nextContactRequest = now + configuration.contactRetryDelay
        case .agentsChanged(let picture):
            agents = picture
            pictureReceived = true
            measureWrapUps(now: now)
            pace(now: now, into: &actions)
        case .originateFailed(let attempt):
            if let call = calls[attempt] {
                finish(attempt, call, outcome: .networkFailure, endedAt: now, into: &actions)
            }
        case .originateRefused(let attempt):
            refused(attempt, now: now, into: &actions)
        case .progress(let attempt, let progress):
            self.progress(attempt, progress, now: now, into: &actions)
        case .agentGranted(let request, let agent):
            granted(request, agent: agent, now: now, into: &actions)
        case .agentNotGranted(let request, let refusal):
            notGranted(request, refusal: refusal, now: now, into: &actions)
        case .grantRevoked(let request):
            notGranted(request, refusal: .refused, now: now, into: &actions)
        case .agentHungUp(let request):
            if let reservation = reservations[request], case .connected(_, let attempt) = reservation.state,
                let call = calls[attempt], case .bridged = call.stage
            {
                actions.append(.hangUp(attempt))
            }
        }
        handBackWhileIdle(now: now, into: &actions)
        finishIfWoundDown(into: &actions)
        return actions
    }

    // MARK: - Pacing

    /// Wrap-up times of this queue's calls, from the pictures: an agent whose call ended at
    /// `e` and who shows as available for `idle` at `now` wrapped up for `now − idle − e`.
    private mutating func measureWrapUps(now: Moment) {
        guard !callEndedAt.isEmpty else { return }
        for (agent, idle) in zip(agents.availableAgents, agents.available) {
            guard let ended = callEndedAt.removeValue(forKey: agent) else { continue }
            let wrapUp = now - idle - ended
            if wrapUp >= .zero { measured.recordWrapUp(wrapUp) }
        }
        // Agents who left without showing as available again are not waited for forever.
        if callEndedAt.count > 4 * max(16, agents.staffed) {
            let cutoff = now - .seconds(3600)
            callEndedAt = callEndedAt.filter { $0.value >= cutoff }
        }
    }

    private mutating func pace(now: Moment, into actions: inout [QueueRunnerAction]) {
        guard case .held = lease else { return }
        trimRecentAttempts(now: now)
        refillContacts(now: now, into: &actions)

        let pendingOutbound = reservations.values.filter {
            $0.state == .pending && ($0.kind == .outboundReservation || $0.kind == .previewOffer)
        }.count
        var picture = agents
        // Agents this runner already holds may still show as available in a picture sent
        // before their grant: they are not free to ask for again.
        let held = heldAgents
        if !held.isEmpty, picture.availableAgents.count == picture.available.count {
            var available: [Duration] = []
            var availableAgents: [AgentID] = []
            for (agent, idle) in zip(picture.availableAgents, picture.available) where !held.contains(agent) {
                available.append(idle)
                availableAgents.append(agent)
            }
            picture.available = available
            picture.availableAgents = availableAgents
        }
        // Agents already asked for are not free to ask for again.
        picture.available = Array(picture.available.dropFirst(pendingOutbound))
        let grantedIdle = reservations.values.filter {
            if case .granted = $0.state, $0.kind == .outboundReservation || $0.kind == .previewOffer {
                true
            } else {
                false
            }
        }
        picture.reserved = max(picture.reserved, grantedIdle.count)
        let input = PacingInput(
            now: now, agents: picture, calls: callsInFlight(), statistics: statistics(now: now),
            limits: PacingLimits(
                maximumDialRate: settings.mode == .predictive ? settings.predictive.maximumDialRate : nil,
                overdialLimitPercent: settings.overdialLimitPercent,
                attemptsPerFiveSeconds: settings.attemptsPerFiveSeconds,
                attemptsInCurrentFiveSeconds: recentAttempts.count,
                remainingContacts: buffer.count))
        let decision = policy.decide(input)
        lastDecision = decision
        // The trunk has no room or the carrier no rate for now: asking it again at once would
        // only be refused again.
        guard now >= carrierBackoffUntil else { return }

        switch settings.mode {
        case .progressive, .preview:
            for _ in 0..<decision.reservationsToRequest {
                guard let draft = newReservation(now: now, into: &actions) else { break }
                actions.append(.requestAgent(draft))
            }
            dialForGrantedReservations(now: now, into: &actions)
        case .power, .predictive, .agentless:
            for _ in 0..<decision.callsToStart {
                guard let target = nextDialableContact(now: now, into: &actions) else { break }
                originate(target, reservation: nil, now: now, into: &actions)
            }
        }
    }

    private mutating func refillContacts(now: Moment, into actions: inout [QueueRunnerAction]) {
        guard !contactsRequested, now >= nextContactRequest, !agentsGone, campaignHold(now: now) == nil else { return }
        let wanted = configuration.contactBuffer + max(agents.staffed, 1) * 2 - buffer.count
        guard buffer.count < configuration.contactBuffer, wanted > 0 else { return }
        contactsRequested = true
        actions.append(.requestContacts(count: wanted))
    }

    /// The agents granted to this runner and not yet given back.
    private var heldAgents: Set<AgentID> {
        var held: Set<AgentID> = []
        for reservation in reservations.values {
            switch reservation.state {
            case .granted(let agent), .connected(let agent, _): held.insert(agent)
            case .pending: continue
            }
        }
        return held
    }

    private func callsInFlight() -> CallsInFlight {
        var flight = CallsInFlight()
        for call in calls.values {
            switch call.stage {
            case .dialing:
                // A progressive or preview line already has its agent; it is not waiting for one.
                if call.reservation == nil { flight.dialing += 1 }
            case .classifying:
                // A progressive or preview line's own agent is already waiting for the verdict.
                if !callHasGrantedAgent(call) { flight.classifying += 1 }
            case .waitingForAgent: flight.answeredWaiting += 1
            case .playing where settings.mode == .agentless: flight.inIVR += 1
            case .bridged, .playing, .hangingUp: break
            }
        }
        return flight
    }

    private mutating func statistics(now: Moment) -> CampaignStatistics {
        let window = abandonWindow.counts(at: now)
        // Every attempt is resolved by the ring timeout plus the detector's verdict: only attempts
        // that old count in the answer rate, so that the quick signals (busy, invalid) of the
        // first seconds do not make it look low before the first answers come.
        let maturity = max(settings.ringTimeout, .seconds(15)) + .seconds(5)
        return measured.statistics(window: window, now: now, maturity: maturity)
    }

    private mutating func trimRecentAttempts(now: Moment) {
        while let first = recentAttempts.first, now - first >= .seconds(5) { recentAttempts.removeFirst() }
    }

    private var fiveSecondCapReached: Bool {
        guard let cap = settings.attemptsPerFiveSeconds else { return false }
        return recentAttempts.count >= cap
    }

    private mutating func newRequestID() -> RequestID {
        nextRequestNumber += 1
        return RequestID("\(configuration.node)/\(configuration.queue)/\(nextRequestNumber)")
    }

    /// An outbound reservation (progressive) or a preview offer with the next contact.
    private mutating func newReservation(now: Moment, into actions: inout [QueueRunnerAction]) -> AgentRequestDraft? {
        let id = newRequestID()
        let deadline = now + configuration.reservationTimeout
        if settings.mode == .preview {
            guard let target = nextDialableContact(now: now, into: &actions) else { return nil }
            reservations[id] = Reservation(kind: .previewOffer, state: .pending, target: target, deadline: deadline)
            return AgentRequestDraft(
                id: id, kind: .previewOffer, deadline: deadline, namedAgent: target.privateAgent, target: target)
        }
        guard !buffer.isEmpty else { return nil }
        reservations[id] = Reservation(kind: .outboundReservation, state: .pending, deadline: deadline)
        return AgentRequestDraft(id: id, kind: .outboundReservation, deadline: deadline)
    }

    /// Places the lines of granted reservations that have none yet: the dial rate for
    /// progressive, the offered contact for preview.
    private mutating func dialForGrantedReservations(now: Moment, into actions: inout [QueueRunnerAction]) {
        guard case .held = lease, now >= carrierBackoffUntil else { return }
        for id in reservations.keys.sorted() {
            guard let reservation = reservations[id], case .granted = reservation.state,
                reservation.lines.isEmpty
            else { continue }
            switch reservation.kind {
            case .previewOffer:
                guard let target = reservation.target, !fiveSecondCapReached else { continue }
                reservations[id]?.target = nil
                if dialTimeHold(target, now: now) != nil {
                    // Accepted, but the hours closed meanwhile: the agent goes back, the contact
                    // to the manager, which dials it when they open.
                    heldAtDialTime(target, into: &actions)
                    reservations[id] = nil
                    actions.append(.release(id))
                    continue
                }
                originate(target, reservation: id, now: now, into: &actions)
            case .outboundReservation:
                var placed = 0
                while placed < max(1, settings.dialRate), !fiveSecondCapReached,
                    let target = nextDialableContact(now: now, into: &actions)
                {
                    originate(target, reservation: id, now: now, into: &actions)
                    placed += 1
                }
                if placed == 0, buffer.isEmpty, !contactsRequested {
                    // Nothing to dial for this agent now: give the agent back.
                    reservations[id] = nil
                    actions.append(.release(id))
                }
            case .inboundCall, .connectAnsweredCall:
                continue
            }
        }
    }

    /// The next contact of the buffer that may be dialed now; those whose hours have closed go
    /// back to the manager on the way.
    private mutating func nextDialableContact(now: Moment, into actions: inout [QueueRunnerAction]) -> DialTarget? {
        while let target = buffer.popFirst() {
            guard dialTimeHold(target, now: now) != nil else { return target }
            heldAtDialTime(target, into: &actions)
        }
        return nil
    }

    /// Calling hours and windows, checked again at dial time on the runner's calendar.
    private mutating func dialTimeHold(_ target: DialTarget, now: Moment) -> HoldRule? {
        guard let calendar = configuration.calendar else { return nil }
        var rules = dialTimeRules ?? DialingRules(campaign: settings, timeZones: NoTimeZoneResolver())
        defer { dialTimeRules = rules }
        return rules.dialTimeHold(phoneNumber: target.phone, timeZone: target.timeZone, now: calendar.date(at: now))
    }

    private mutating func heldAtDialTime(_ target: DialTarget, into actions: inout [QueueRunnerAction]) {
        contactsHeldAtDialTime += 1
        actions.append(.returnContact(target))
    }

    private mutating func originate(
        _ target: DialTarget, reservation: RequestID?, now: Moment, into actions: inout [QueueRunnerAction]
    ) {
        let callerID = chooseCallerID(for: target, now: now)
        calls[target.attempt] = Call(
            target: target, callerID: callerID, dialedAt: now, stage: .dialing, reservation: reservation)
        if let reservation { reservations[reservation]?.lines.insert(target.attempt) }
        recentAttempts.append(now)
        measured.attempts += 1
        let ringTimeout = max(settings.ringTimeout, .seconds(15))
        actions.append(
            .originate(
                target.attempt,
                OriginateRequest(
                    number: target.phone, callerID: callerID ?? "", ringTimeout: ringTimeout,
                    detectsMachines: settings.answeringMachine != .off,
                    detectionLimit: configuration.connectGrace - configuration.connectAllowance,
                    machineDetection: settings.answeringMachineDetection)))
    }

    /// The contact's own number, else a pooled one (local presence, then rotation, under the
    /// daily cap), else the campaign's (``CallerIDSelection``). "Today" is the runner's day: 24
    /// hours of its clock from its first call, counted on this node only.
    private mutating func chooseCallerID(for target: DialTarget, now: Moment) -> String? {
        if let start = callerIDDayStart, now - start >= .seconds(86_400) {
            callerIDUsedToday = [:]
            callerIDDayStart = now
        } else if callerIDDayStart == nil {
            callerIDDayStart = now
        }
        guard
            let choice = CallerIDSelection.choose(
                calling: target.phone, ownCallerID: target.callerID, fields: target.fields, settings: settings.callerID,
                usedToday: callerIDUsedToday, rotationCursor: callerIDRotationCursor)
        else { return nil }
        if let index = choice.poolIndex {
            callerIDUsedToday[choice.number, default: 0] += 1
            callerIDRotationCursor = index + 1
        }
        return choice.number
    }

    /// The trunk refused the call before placing it: the contact goes back to the front of the
    /// buffer (to the same agent, for preview) and nothing is dialed until the backoff ends.
    private mutating func refused(_ attempt: AttemptID, now: Moment, into actions: inout [QueueRunnerAction]) {
        guard let call = calls.removeValue(forKey: attempt) else { return }
        callsRefusedByTrunk += 1
        measured.attempts -= 1
        carrierBackoffUntil = max(carrierBackoffUntil, now + configuration.carrierBackoff)
        if let id = call.reservation, var reservation = reservations[id] {
            reservation.lines.remove(attempt)
            reservations[id] = reservation
            if reservation.kind == .previewOffer, case .held = lease {
                // The agent accepted this contact: it is dialed for them once the trunk has room.
                reservations[id]?.target = call.target
                return
            }
        }
        guard case .held = lease else {
            lineEndedWithoutAgent(call, now: now, into: &actions)
            actions.append(.returnContact(call.target))
            return
        }
        buffer.prepend(call.target)
    }

    // MARK: - Calls

    private mutating func progress(
        _ attempt: AttemptID, _ progress: CallProgress, now: Moment, into actions: inout [QueueRunnerAction]
    ) {
        guard var call = calls[attempt] else { return }
        switch progress {
        case .ringing, .accepted, .bridged, .messageStarted:
            return
        case .answered(let at):
            guard case .dialing = call.stage else { return }
            call.answeredAt = at
            calls[attempt] = call
            classifying(attempt, answeredAt: at, now: now, into: &actions)
        case .answeredLive(let at, let greetingEndsAt):
            call.answeredAt = at
            call.liveAt = now
            measured.recordAnswer(after: at - call.dialedAt, live: true, dialedAt: call.dialedAt)
            calls[attempt] = call
            answeredLive(attempt, greetingEndsAt: greetingEndsAt, now: now, into: &actions)
        case .answeredByMachine(let at, _):
            call.answeredAt = at
            measured.recordAnswer(after: at - call.dialedAt, live: false, dialedAt: call.dialedAt)
            if case .classifying(let request?) = call.stage {
                // The agent held for the verdict goes back, keeping their place in line.
                giveUpEarlyRequest(request, into: &actions)
            }
            call.stage = .dialing
            calls[attempt] = call
            switch settings.answeringMachine {
            case .leaveMessage(let message):
                calls[attempt]?.stage = .playing(.machine)
                actions.append(.play(attempt, CallMessage(id: message)))
            case .off, .hangUp:
                calls[attempt]?.stage = .hangingUp(.machine)
                actions.append(.hangUp(attempt))
            }
            lineEndedWithoutAgent(call, now: now, into: &actions)
        case .messageFinished:
            if case .playing(let outcome) = call.stage {
                calls[attempt]?.stage = .hangingUp(outcome)
                actions.append(.hangUp(attempt))
            }
        case .busy(let at):
            finish(attempt, call, outcome: .busy, endedAt: at, into: &actions)
        case .noAnswer(let at):
            finish(attempt, call, outcome: .noAnswer, endedAt: at, into: &actions)
        case .invalidNumber(let at):
            finish(attempt, call, outcome: .invalidNumber, endedAt: at, into: &actions)
        case .networkFailure(let at):
            finish(attempt, call, outcome: .networkFailure, endedAt: at, into: &actions)
        case .hungUp(_, let at):
            let outcome: AttemptOutcome
            switch call.stage {
            case .dialing: outcome = .noAnswer
            case .classifying(let request):
                // Answered, and gone before the detector decided: counted as a person left
                // without an agent, the cautious reading a regulator would take.
                if let request { giveUpEarlyRequest(request, into: &actions) }
                calls[attempt]?.stage = .dialing
                abandonWindow.recordLiveAnswer(at: call.answeredAt ?? at, abandoned: true)
                call.abandonCause = .customerHungUp
                outcome = .abandoned
            case .waitingForAgent:
                // The customer gave up before an agent came: a silent call, abandoned (`finish`
                // withdraws the request).
                abandonWindow.recordLiveAnswer(at: call.answeredAt ?? at, abandoned: true)
                call.abandonCause = .customerHungUp
                outcome = .abandoned
            case .bridged(let request, let agent):
                actions.append(.callEnded(request))
                reservations[request] = nil
                measured.recordTalk(at - (call.bridgedAt ?? at))
                callEndedAt[agent] = at
                outcome = .connected
            case .playing(let planned), .hangingUp(let planned):
                outcome = planned
            }
            finish(attempt, call, outcome: outcome, endedAt: at, into: &actions)
        }
    }

    /// Detection is classifying an answer: ask for an agent now, so that a live verdict finds
    /// one waiting (a machine's gives it back with its place in line kept).
    private mutating func classifying(
        _ attempt: AttemptID, answeredAt: Moment, now: Moment, into actions: inout [QueueRunnerAction]
    ) {
        guard let call = calls[attempt] else { return }
        // Agentless calls need no agent; a progressive or preview line has its own.
        guard settings.mode != .agentless, mayConnectAnsweredCalls, !callHasGrantedAgent(call) else {
            calls[attempt]?.stage = .classifying(nil)
            return
        }
        let id = newRequestID()
        let deadline = answeredAt + configuration.classificationHold
        reservations[id] = Reservation(
            kind: .connectAnsweredCall, state: .pending, call: attempt, deadline: deadline, early: true)
        calls[attempt]?.stage = .classifying(id)
        actions.append(
            .requestAgent(
                AgentRequestDraft(
                    id: id, kind: .connectAnsweredCall, deadline: deadline,
                    namedAgent: call.target.privateAgent, target: call.target)))
    }

    private func callHasGrantedAgent(_ call: Call) -> Bool {
        guard let id = call.reservation, let reservation = reservations[id], case .granted = reservation.state else {
            return false
        }
        return true
    }

    /// The agent asked for while the detector listened is not needed: released if granted
    /// (the gateway keeps their place in line), withdrawn if still pending.
    private mutating func giveUpEarlyRequest(_ request: RequestID, into actions: inout [QueueRunnerAction]) {
        guard let reservation = reservations.removeValue(forKey: request) else { return }
        switch reservation.state {
        case .granted: actions.append(.release(request))
        case .pending: actions.append(.cancel(request))
        case .connected: break
        }
    }

    private mutating func answeredLive(
        _ attempt: AttemptID, greetingEndsAt: Moment, now: Moment, into actions: inout [QueueRunnerAction]
    ) {
        guard let call = calls[attempt] else { return }
        var early: RequestID?
        if case .classifying(let request) = call.stage { early = request }
        calls[attempt]?.stage = .dialing
        if settings.mode == .agentless {
            calls[attempt]?.stage = .playing(.connected)
            abandonWindow.recordLiveAnswer(at: call.answeredAt ?? now, abandoned: false)
            actions.append(.play(attempt, configuration.campaignMessage))
            return
        }
        // The line's own reserved agent takes the first live answer.
        if let id = call.reservation, let reservation = reservations[id], case .granted(let agent) = reservation.state {
            connect(attempt, request: id, agent: agent, now: now, into: &actions)
            // The reservation's other lines now need an agent of their own if they answer.
            for other in reservation.lines where other != attempt { calls[other]?.reservation = nil }
            reservations[id]?.lines = [attempt]
            if let early { giveUpEarlyRequest(early, into: &actions) }
            return
        }
        let deadline = greetingEndsAt + configuration.connectGrace
        if now >= deadline {
            // The detector spoke too late for any agent to be connected in time.
            if let early { giveUpEarlyRequest(early, into: &actions) }
            abandon(attempt, cause: .classifiedLate, now: now, into: &actions)
            return
        }
        if let early, let reservation = reservations[early] {
            calls[attempt]?.reservation = nil
            switch reservation.state {
            case .granted(let agent):
                connect(attempt, request: early, agent: agent, now: now, into: &actions)
                return
            case .pending:
                // Asked for at the answer: keep waiting, now until the regulated deadline.
                reservations[early]?.deadline = deadline
                calls[attempt]?.stage = .waitingForAgent(early, deadline: deadline)
                return
            case .connected:
                break
            }
        }
        if mayConnectAnsweredCalls {
            let id = newRequestID()
            reservations[id] = Reservation(
                kind: .connectAnsweredCall, state: .pending, call: attempt, deadline: deadline)
            calls[attempt]?.stage = .waitingForAgent(id, deadline: deadline)
            calls[attempt]?.reservation = nil
            actions.append(
                .requestAgent(
                    AgentRequestDraft(
                        id: id, kind: .connectAnsweredCall, deadline: deadline,
                        namedAgent: call.target.privateAgent, target: call.target)))
        } else {
            abandon(attempt, cause: .leaseLost, now: now, into: &actions)
        }
    }

    private mutating func connect(
        _ attempt: AttemptID, request: RequestID, agent: AgentID, now: Moment, into actions: inout [QueueRunnerAction]
    ) {
        guard let call = calls[attempt] else { return }
        calls[attempt]?.stage = .bridged(request, agent)
        calls[attempt]?.agent = agent
        calls[attempt]?.bridgedAt = now
        reservations[request]?.state = .connected(agent, attempt)
        abandonWindow.recordLiveAnswer(at: call.answeredAt ?? now, abandoned: false)
        actions.append(.bridge(attempt, to: agent))
        actions.append(.confirm(request, call.target))
    }

    /// No agent for a live answer: play the message, hang up, count the abandon.
    private mutating func abandon(
        _ attempt: AttemptID, cause: AbandonCause, now: Moment, into actions: inout [QueueRunnerAction]
    ) {
        guard let call = calls[attempt] else { return }
        calls[attempt]?.stage = .playing(.abandoned)
        calls[attempt]?.abandonCause = cause
        abandonsByCause[cause, default: 0] += 1
        abandonWindow.recordLiveAnswer(at: call.answeredAt ?? now, abandoned: true)
        actions.append(.play(attempt, configuration.noAgentMessage))
    }

    /// A line of a reservation ended (or was classified a machine): when no line of the
    /// reservation is left, the agent goes back.
    private mutating func lineEndedWithoutAgent(_ call: Call, now: Moment, into actions: inout [QueueRunnerAction]) {
        guard let id = call.reservation, var reservation = reservations[id] else { return }
        reservation.lines.remove(call.target.attempt)
        reservations[id] = reservation
        if let other = calls[call.target.attempt], other.reservation == id {
            calls[call.target.attempt]?.reservation = nil
        }
        guard reservation.lines.isEmpty, case .granted = reservation.state else { return }
        reservations[id] = nil
        actions.append(.release(id))
    }

    private mutating func finish(
        _ attempt: AttemptID, _ call: Call, outcome: AttemptOutcome, endedAt: Moment,
        into actions: inout [QueueRunnerAction]
    ) {
        calls[attempt] = nil
        if call.answeredAt == nil { measured.recordUnanswered(dialedAt: call.dialedAt) }
        if case .waitingForAgent(let request, _) = call.stage {
            reservations[request] = nil
            actions.append(.cancel(request))
        }
        lineEndedWithoutAgent(call, now: endedAt, into: &actions)
        actions.append(
            .report(
                DialedAttempt(
                    target: call.target, outcome: outcome, agent: call.agent, callerID: call.callerID,
                    dialedAt: call.dialedAt, answeredAt: call.answeredAt, bridgedAt: call.bridgedAt,
                    endedAt: endedAt, abandonCause: outcome == .abandoned ? call.abandonCause : nil, liveAt: call.liveAt
                )))
    }

    // MARK: - Agents

    private mutating func granted(
        _ request: RequestID, agent: AgentID, now: Moment, into actions: inout [QueueRunnerAction]
    ) {
        guard var reservation = reservations[request], reservation.state == .pending else {
            // A grant nobody waits for any more: give the agent back at once. If it came for a
            // caller already abandoned at the deadline, the agent was there, only late.
            lateGrants[request].map { late in
                if calls[late.attempt]?.abandonCause == .deadlinePassed {
                    calls[late.attempt]?.abandonCause = .grantedLate
                }
            }
            lateGrants[request] = nil
            actions.append(.release(request))
            return
        }
        switch reservation.kind {
        case .connectAnsweredCall:
            guard let attempt = reservation.call, let call = calls[attempt] else {
                reservations[request] = nil
                actions.append(.release(request))
                return
            }
            switch call.stage {
            case .waitingForAgent:
                connect(attempt, request: request, agent: agent, now: now, into: &actions)
            case .classifying(request):
                // Held for the detector's verdict.
                reservations[request]?.state = .granted(agent)
            default:
                reservations[request] = nil
                actions.append(.release(request))
            }
        case .outboundReservation, .previewOffer:
            reservation.state = .granted(agent)
            reservations[request] = reservation
            if case .held = lease {
                dialForGrantedReservations(now: now, into: &actions)
            } else {
                reservations[request] = nil
                if let target = reservation.target { actions.append(.returnContact(target)) }
                actions.append(.release(request))
            }
        case .inboundCall:
            reservations[request] = nil
            actions.append(.release(request))
        }
    }

    private mutating func notGranted(
        _ request: RequestID, refusal: AgentRefusal, now: Moment, into actions: inout [QueueRunnerAction]
    ) {
        if let late = lateGrants.removeValue(forKey: request),
            refusal == .noAgentFree || (late.withdrawn && refusal == .refused),
            calls[late.attempt]?.abandonCause == .deadlinePassed
        {
            // The gateway, too, found no agent by the deadline (or still had the request waiting
            // when it was withdrawn): the abandon was a shortage of agents, not lateness.
            calls[late.attempt]?.abandonCause = .noAgentFree
        }
        guard let reservation = reservations.removeValue(forKey: request) else { return }
        switch reservation.kind {
        case .connectAnsweredCall:
            guard let attempt = reservation.call, let call = calls[attempt] else { break }
            switch call.stage {
            case .waitingForAgent:
                let cause: AbandonCause =
                    switch refusal {
                    case .noAgentFree: .noAgentFree
                    case .refused, .unreachable: .gatewayUnavailable
                    }
                abandon(attempt, cause: cause, now: now, into: &actions)
            case .classifying:
                // Asked for early and not granted: the verdict asks again if it is live.
                calls[attempt]?.stage = .classifying(nil)
            default:
                break
            }
        case .previewOffer:
            // Nobody took the offer: the contact waits for the next agent.
            if let target = reservation.target {
                if case .held = lease { buffer.prepend(target) } else { actions.append(.returnContact(target)) }
            }
            fallthrough
        case .outboundReservation:
            // A revoked grant may already have lines ringing: they now need an agent of their own.
            for line in reservation.lines { calls[line]?.reservation = nil }
        case .inboundCall:
            break
        }
    }

    /// Answered calls whose agent did not come by the deadline are abandoned even if the
    /// gateway's answer is late.
    private mutating func expireWaits(now: Moment, into actions: inout [QueueRunnerAction]) {
        for (attempt, call) in calls {
            guard case .waitingForAgent(let request, let deadline) = call.stage, now >= deadline else { continue }
            // A request asked at the regulated deadline ends at the gateway at the same moment:
            // its answer (no agent free, or a late grant) then names the cause. One asked at the
            // answer would wait longer there, so it is withdrawn.
            let withdrawn = reservations.removeValue(forKey: request)?.early == true
            if withdrawn { actions.append(.cancel(request)) }
            // A grant may still be on its way: then the cause becomes ``AbandonCause/grantedLate``.
            lateGrants[request] = LateAnswer(attempt: attempt, withdrawn: withdrawn)
            abandon(attempt, cause: .deadlinePassed, now: now, into: &actions)
        }
    }

    // MARK: - Handing back while the campaign cannot dial

    /// The queue's agents have all left (a picture shows none logged in): nothing is dialed for
    /// them, so contacts in hand would only wait.
    private var agentsGone: Bool {
        settings.mode != .agentless && pictureReceived && agents.staffed + agents.paused == 0
    }

    /// A hold of the whole campaign now (disabled, automatic and off, outside its windows), as the
    /// dial-time check would find for any contact (so only with a calendar, as that check);
    /// `nil` when the campaign may dial.
    private mutating func campaignHold(now: Moment) -> HoldRule? {
        let probe = DialTarget(attempt: AttemptID(""), contact: ContactID(""), phone: "")
        switch dialTimeHold(probe, now: now) {
        case .campaignDisabled?: return .campaignDisabled
        case .campaignAutomaticOff?: return .campaignAutomaticOff
        case .campaignWindowClosed?: return .campaignWindowClosed
        default: return nil
        }
    }

    /// While the campaign is held or its agents are gone, contacts in hand go back to the
    /// manager at once, with the agent requests made for them, instead of waiting in the buffer
    /// (the manager hands them out again when dialing can resume). Calls in progress go on.
    private mutating func handBackWhileIdle(now: Moment, into actions: inout [QueueRunnerAction]) {
        guard case .held = lease else { return }
        let undialed = !buffer.isEmpty || reservations.values.contains { $0.lines.isEmpty && $0.call == nil }
        guard undialed, agentsGone || campaignHold(now: now) != nil else { return }
        while let target = buffer.popFirst() { actions.append(.returnContact(target)) }
        for id in reservations.keys.sorted() {
            guard let reservation = reservations[id], reservation.lines.isEmpty,
                reservation.kind == .outboundReservation || reservation.kind == .previewOffer
            else { continue }
            switch reservation.state {
            case .pending:
                reservations[id] = nil
                if let target = reservation.target { actions.append(.returnContact(target)) }
                actions.append(.cancel(id))
            case .granted:
                reservations[id] = nil
                if let target = reservation.target { actions.append(.returnContact(target)) }
                actions.append(.release(id))
            case .connected:
                continue
            }
        }
    }

    // MARK: - Winding down

    private mutating func windDown(into actions: inout [QueueRunnerAction]) {
        lease = .winding
        while let target = buffer.popFirst() { actions.append(.returnContact(target)) }
        for id in reservations.keys.sorted() {
            guard let reservation = reservations[id] else { continue }
            switch reservation.state {
            case .pending where reservation.kind != .connectAnsweredCall:
                reservations[id] = nil
                if let target = reservation.target { actions.append(.returnContact(target)) }
                actions.append(.cancel(id))
            case .granted where reservation.lines.isEmpty:
                reservations[id] = nil
                if let target = reservation.target { actions.append(.returnContact(target)) }
                actions.append(.release(id))
            default:
                // Calls in progress finish: their customers are on the line.
                continue
            }
        }
    }

    private var wound = false

    /// Winding down after a drain with the lease still valid: answered calls may still be
    /// given agents (a lost lease may not).
    public private(set) var drainingWithLease = false

    /// Whether an agent may be asked for an answered call now.
    private var mayConnectAnsweredCalls: Bool {
        if case .held = lease { return true }
        return drainingWithLease
    }

    private mutating func finishIfWoundDown(into actions: inout [QueueRunnerAction]) {
        guard case .winding = lease, !wound, calls.isEmpty, reservations.isEmpty, !contactsRequested else { return }
        wound = true
        actions.append(.finished)
    }
}

/// What the runner measured of its own calls, for predictive pacing.
///
/// Rates come from the most recent resolved attempts and durations from the most recent calls,
/// not from everything since start-up, so that the estimates follow a list whose answer rate
/// or talk time changes during the day. An attempt counts in the answer rate once it is old
/// enough to be resolved whatever its fate (the ring timeout and the detector's verdict), never
/// earlier: counting attempts as they resolve would count the quick signals (busy, invalid,
/// failed) before the slow answers and no-answers of the same moment, and a new campaign on a
/// large floor would measure an answer rate near zero and overdial.
struct MeasuredCalls: Hashable, Sendable {
    /// How many resolved attempts the rates are measured over.
    static let rateWindow = 400
    /// How many recent calls each duration is measured over.
    static let durationWindow = 500

    enum Resolution: Hashable, Sendable {
        case live, machine, unanswered
    }

    struct Resolved: Hashable, Sendable {
        var dialedAt: Moment
        var resolution: Resolution
    }

    /// Attempts placed (refused ones taken back).
    var attempts = 0
    /// Live answers since start-up.
    var liveAnswers = 0
    /// Live answers among the attempts old enough to count: with ``recent``, the sample behind
    /// the rates, which pacing must not trust before it is large enough.
    private var maturedLiveAnswers = 0
    /// Resolved attempts not yet old enough to count, in order of dialing.
    private var maturing: Deque<Resolved> = []
    private var recent: Deque<Resolution> = []
    private var recentLive = 0
    private var recentMachines = 0
    var timeToAnswer = RecentDurations(capacity: durationWindow)
    var talkTime = RecentDurations(capacity: durationWindow)
    var wrapUpTime = RecentDurations(capacity: durationWindow)

    mutating func recordAnswer(after delay: Duration, live: Bool, dialedAt: Moment) {
        if live { liveAnswers += 1 }
        resolve(live ? .live : .machine, dialedAt: dialedAt)
        timeToAnswer.add(delay)
    }

    mutating func recordUnanswered(dialedAt: Moment) { resolve(.unanswered, dialedAt: dialedAt) }

    mutating func recordTalk(_ talk: Duration) { talkTime.add(talk) }

    mutating func recordWrapUp(_ wrapUp: Duration) { wrapUpTime.add(wrapUp) }

    private mutating func resolve(_ resolution: Resolution, dialedAt: Moment) {
        // Attempts resolve nearly in the order they were dialed: the insertion point is near the end.
        var index = maturing.endIndex
        while index > maturing.startIndex, maturing[index - 1].dialedAt > dialedAt { index -= 1 }
        maturing.insert(Resolved(dialedAt: dialedAt, resolution: resolution), at: index)
    }

    /// Moves the attempts dialed at least `maturity` ago into the rate window.
    private mutating func mature(now: Moment, maturity: Duration) {
        while let first = maturing.first, now - first.dialedAt >= maturity {
            maturing.removeFirst()
            if first.resolution == .live { maturedLiveAnswers += 1 }
            recent.append(first.resolution)
            count(first.resolution, by: 1)
            if recent.count > Self.rateWindow, let oldest = recent.popFirst() { count(oldest, by: -1) }
        }
    }

    private mutating func count(_ resolution: Resolution, by step: Int) {
        switch resolution {
        case .live: recentLive += step
        case .machine: recentMachines += step
        case .unanswered: break
        }
    }

    /// The statistics at `now`; rates over the attempts dialed at least `maturity` ago.
    mutating func statistics(window: AbandonCounts, now: Moment, maturity: Duration) -> CampaignStatistics {
        mature(now: now, maturity: maturity)
        let defaults = CampaignStatistics()
        let resolved = recent.count
        return CampaignStatistics(
            attempts: resolved, liveAnswers: maturedLiveAnswers,
            answerRate: resolved > 0 ? Double(recentLive) / Double(resolved) : 0,
            machineRate: resolved > 0 ? Double(recentMachines) / Double(resolved) : 0,
            timeToAnswer: timeToAnswer.summary() ?? defaults.timeToAnswer,
            talkTime: talkTime.summary() ?? defaults.talkTime,
            wrapUpTime: wrapUpTime.summary() ?? defaults.wrapUpTime, window: window)
    }
}

/// The most recent durations of one kind, summarised (mean, spread, percentiles) on demand.
struct RecentDurations: Hashable, Sendable {
    let capacity: Int
    private var values: Deque<Duration> = []
    private var cached: DistributionSummary?

    init(capacity: Int) { self.capacity = max(1, capacity) }

    var count: Int { values.count }

    mutating func add(_ value: Duration) {
        values.append(max(.zero, value))
        if values.count > capacity { values.removeFirst() }
        cached = nil
    }

    mutating func summary() -> DistributionSummary? {
        if let cached { return cached }
        guard !values.isEmpty else { return nil }
        let seconds = values.map(\.seconds).sorted()
        let mean = seconds.reduce(0, +) / Double(seconds.count)
        let variance = seconds.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, seconds.count - 1))
        func percentile(_ p: Double) -> Duration {
            .seconds(seconds[min(seconds.count - 1, Int(p * Double(seconds.count)))])
        }
        // Spread and percentiles only once there are enough calls to mean something.
        let summary =
            seconds.count >= 10
            ? DistributionSummary(
                mean: .seconds(mean), standardDeviation: .seconds(variance.squareRoot()), p10: percentile(0.1),
                p50: percentile(0.5), p90: percentile(0.9))
            : DistributionSummary(mean: .seconds(mean))
        cached = summary
        return summary
    }
}
