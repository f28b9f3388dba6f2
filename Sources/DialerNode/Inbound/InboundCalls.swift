public import DialerCore
import DialerProtocol
import DialerTransport
public import Logging
import Metrics

/// The inbound calls of the numbers (DIDs) of the queues this node owns.
///
/// The node takes a number's calls while it holds the lease of the number's queue (it tells
/// the trunk, as a SIP trunk registers numbers). Each call is answered, routed by the manager
/// (DOMAIN.md, "Inbound and blending": a caller who is an open contact of an outbound campaign
/// goes to that campaign's agents; a hotline call becomes a contact of the hotline's campaign;
/// other calls go to the line's own queue), and reserved through the gateway as an inbound
/// request, so that blending by queue rank holds across nodes. A call routed to a campaign is
/// an attempt on its contact: reported connected when an agent took it, given back when the
/// caller hung up first.
public actor InboundCalls {
    /// The queue a number belongs to.
    public struct Line: Sendable, Hashable {
        public var queue: QueueID
        /// The number is a hotline of the campaign dialing `queue`.
        public var hotline: Bool

        public init(queue: QueueID, hotline: Bool) {
            self.queue = queue
            self.hotline = hotline
        }
    }

    private let trunk: any Trunk
    private let timeScale: Double
    /// Turns the trunk's moments (call time) into the dates a report carries.
    private let calendar: CalendarAnchor
    private let feed: CampaignFeed
    private let reservations: GatewayReservations
    private let validity: LeaseValidity
    private let lines: [String: Line]
    private let longestWait: Duration
    private let logger: Logger
    private var held: [QueueID: Epoch] = [:]

    /// - Parameters:
    ///   - lines: every number of the cluster's queues, by number.
    ///   - calendar: the wall calendar of the trunk's clock, for the times of reports.
    ///   - longestWait: how long (call time) a caller waits for an agent before the node stops
    ///     asking; the caller's own patience usually ends it sooner.
    public init(
        trunk: any Trunk, timeScale: Double, calendar: CalendarAnchor, feed: CampaignFeed,
        reservations: GatewayReservations, validity: LeaseValidity, lines: [String: Line],
        longestWait: Duration = .seconds(600), logger: Logger
    ) {
        self.trunk = trunk
        self.timeScale = timeScale
        self.calendar = calendar
        self.feed = feed
        self.reservations = reservations
        self.validity = validity
        self.lines = lines
        self.longestWait = longestWait
        self.logger = logger
    }

    /// The node now owns `queue`: its numbers' calls come here.
    public func leaseStarted(_ queue: QueueID, epoch: Epoch) async {
        guard held[queue].map({ $0 < epoch }) ?? true else { return }
        held[queue] = epoch
        await registerNumbers()
    }

    /// The node no longer owns `queue`: its numbers' calls go to the next owner. Calls already
    /// here finish here.
    public func leaseStopped(_ queue: QueueID, epoch: Epoch) async {
        guard held[queue] == epoch else { return }
        held[queue] = nil
        await registerNumbers()
    }

    private func registerNumbers() async {
        await trunk.receiveCalls(to: Set(lines.filter { held[$0.value.queue] != nil }.keys))
    }

    /// Takes calls until the trunk's stream ends or the task is cancelled.
    public func run() async {
        // Nothing is taken until a lease says which numbers are this node's.
        await registerNumbers()
        await withDiscardingTaskGroup { group in
            for await call in trunk.inboundCalls {
                group.addTask { await self.handle(call) }
            }
        }
    }

    private func handle(_ call: InboundCall) async {
        guard let line = lines[call.did], let epoch = held[line.queue], validity.isValid(line.queue, epoch: epoch)
        else {
            // A number of no queue this node owns (the lease just moved): the carrier's next try
            // reaches the new owner.
            try? await trunk.hangUp(call.id)
            return
        }
        let lease = HeldLease(queue: line.queue, epoch: epoch)
        let watch = InboundCallWatch()
        let watcher = Task {
            for await event in call.progress { await watch.record(event) }
            await watch.finish()
        }
        defer { watcher.cancel() }
        do {
            try await trunk.accept(call.id)
        } catch {
            count("missed", line.queue)
            return
        }
        // The manager unreachable: the call still reaches the line's agents.
        var route: CampaignFeed.InboundRoute?
        do {
            route = try await feed.inboundRoute(for: lease, caller: call.from, did: call.did, hotline: line.hotline)
        } catch {
            logger.notice(
                "inbound call not routed by the manager: the line's queue takes it",
                metadata: ["did": "\(call.did)", "reason": "\(error)"])
        }
        let serving = route.map(\.queue) ?? line.queue
        let attempt = route?.attempt
        let id = await reservations.makeRequestID()
        let notices = await reservations.notices()
        await watch.onEnd { [reservations] in try? await reservations.cancel(id) }
        var card = Dialer_V1_ContactCard()
        card.phone = call.from
        if let attempt {
            card.campaign = route?.campaign?.rawValue ?? ""
            card.contact = attempt.contact.rawValue
            card.attempt = attempt.attempt.rawValue
            card.fields = attempt.fields
        }
        let answer = await reservations.request(
            .init(
                queue: line.queue, epoch: epoch, kind: .inboundCall, deadline: longestWait / timeScale,
                contact: card, servingQueue: serving == line.queue ? nil : serving),
            id: id)
        guard case .granted(let agent, _) = answer, await !watch.hasEnded else {
            if case .granted = answer { try? await reservations.release(id) }
            try? await trunk.hangUp(call.id)
            if let attempt { await feed.giveBack(attempt.attempt, lease: lease) }
            count("abandoned", serving)
            return
        }
        do {
            try await trunk.bridge(call.id, to: agent)
        } catch {
            try? await reservations.release(id)
            if let attempt { await feed.giveBack(attempt.attempt, lease: lease) }
            count("abandoned", serving)
            return
        }
        await watch.clearOnEnd()
        try? await reservations.confirm(id, epoch: epoch, queue: line.queue)
        count("connected", serving)
        // The agent may end the call from the desktop; otherwise the caller does.
        let agentHangup = Task {
            for await notice in notices {
                if case .hangup(let request) = notice, request == id {
                    try? await trunk.hangUp(call.id)
                    return
                }
            }
        }
        await watch.waitForEnd()
        agentHangup.cancel()
        try? await reservations.callEnded(id)
        if let attempt {
            // The caller "answered" when the node accepted the call; it is "dialed" when it arrived.
            let moments = await watch.moments
            await feed.report(
                AttemptResult(
                    attempt: attempt.attempt, contact: attempt.contact, outcome: .connected, agent: agent,
                    answeredAt: moments.accepted.map(calendar.date(at:)), dialedAt: calendar.date(at: call.arrivedAt),
                    bridgedAt: moments.bridged.map(calendar.date(at:)),
                    callEndedAt: moments.ended.map(calendar.date(at:))),
                lease: lease)
        }
    }

    private func count(_ outcome: String, _ queue: QueueID) {
        Counter(
            label: "dialer_node_inbound_calls_total", dimensions: [("queue", queue.rawValue), ("outcome", outcome)]
        )
        .increment()
    }
}

/// What an inbound call's progress stream has said so far, for the tasks that wait on it.
actor InboundCallWatch {
    private(set) var hasEnded = false
    private var endWaiters: [CheckedContinuation<Void, Never>] = []
    private var onEndActions: [@Sendable () async -> Void] = []

    /// When the call was accepted, bridged and ended, as its progress said.
    private(set) var moments: (accepted: Moment?, bridged: Moment?, ended: Moment?) = (nil, nil, nil)

    func record(_ event: CallProgress) async {
        switch event {
        case .accepted(let at): moments.accepted = at
        case .bridged(_, let at): moments.bridged = at
        default: if event.isFinal { moments.ended = event.moment }
        }
        if event.isFinal { await finish() }
    }

    func finish() async {
        guard !hasEnded else { return }
        hasEnded = true
        for waiter in endWaiters { waiter.resume() }
        endWaiters = []
        let actions = onEndActions
        onEndActions = []
        for action in actions { await action() }
    }

    /// Runs `action` when the call ends (at once if it has).
    func onEnd(_ action: @escaping @Sendable () async -> Void) async {
        if hasEnded { await action() } else { onEndActions.append(action) }
    }

    /// Forgets the actions `onEnd` registered (they were for the wait before the bridge).
    func clearOnEnd() {
        onEndActions = []
    }

    func waitForEnd() async {
        if hasEnded { return }
        await withCheckedContinuation { endWaiters.append($0) }
    }
}
