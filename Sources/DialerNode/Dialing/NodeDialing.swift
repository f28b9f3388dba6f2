public import DialerCore
import DialerProtocol
import DialerTransport
import FoundationEssentials
public import Logging

/// The queue runners of one node: a runner for each leased campaign queue, started when the
/// lease starts and stopped (drained) when it stops, with the node's trunk, the campaign feed
/// and the gateway's reservations as its ports.
public actor NodeDialing {
    private struct Running {
        var epoch: Epoch
        var runner: QueueRunner?
        var task: Task<Void, Never>
    }

    private let node: MemberID
    private let trunk: any Trunk
    /// Call time: the trunk's clock (a simulated trunk may run faster than the wall).
    private let clock: any DialerClock
    /// Seconds of call time per second of wall time.
    private let timeScale: Double
    private let feed: CampaignFeed
    private let reservations: GatewayReservations
    private let validity: LeaseValidity
    private let logger: Logger
    private var running: [QueueID: Running] = [:]
    /// Runners of stopped leases finishing their calls, each removed when it is done; the node's
    /// shutdown hangs their calls up too.
    private var finishing: [UInt64: (runner: QueueRunner, task: Task<Void, Never>)] = [:]
    private var nextFinishing: UInt64 = 0
    /// Distinguishes this process's request ids from an earlier run's under the same epoch.
    private let incarnation = UInt32.random(in: 1...UInt32.max)
    /// How often a queue without a campaign (or whose campaign's settings were refused) asks
    /// again.
    private let campaignPollInterval: Duration
    /// How often a running queue looks for changed settings.
    private let settingsRefreshInterval: Duration

    public init(
        node: MemberID, trunk: any Trunk, clock: any DialerClock, timeScale: Double, feed: CampaignFeed,
        reservations: GatewayReservations, validity: LeaseValidity,
        campaignPollInterval: Duration = .seconds(2), settingsRefreshInterval: Duration = .seconds(5), logger: Logger
    ) {
        self.campaignPollInterval = campaignPollInterval
        self.settingsRefreshInterval = settingsRefreshInterval
        self.node = node
        self.trunk = trunk
        self.clock = clock
        self.timeScale = timeScale
        self.feed = feed
        self.reservations = reservations
        self.validity = validity
        self.logger = logger
    }

    /// The queue's lease started: start a runner if a campaign dials the queue.
    public func start(_ queue: QueueID, epoch: Epoch) {
        if let current = running[queue] {
            guard current.epoch < epoch else { return }
            stop(queue, epoch: current.epoch)
        }
        let task = Task { await self.run(queue, epoch: epoch) }
        running[queue] = Running(epoch: epoch, runner: nil, task: task)
    }

    /// The queue's lease stopped: the runner places nothing more and finishes its calls.
    public func stop(_ queue: QueueID, epoch: Epoch) {
        guard let current = running[queue], current.epoch == epoch else { return }
        running[queue] = nil
        if let runner = current.runner {
            nextFinishing += 1
            let id = nextFinishing
            finishing[id] = (
                runner,
                Task {
                    await runner.drain()
                    await runner.waitUntilFinished()
                    current.task.cancel()
                    self.finished(id)
                }
            )
        } else {
            current.task.cancel()
        }
    }

    /// The node is stopping (SIGTERM): every runner hangs up its calls, reports them with their
    /// outcomes (bridged calls end for their agents, who go to wrap-up) and hands back what it
    /// has not dialed, all at once, within `limit`; then the runners stop.
    public func shutDown(within limit: Duration) async {
        let stopping = running
        running = [:]
        let draining = finishing.values.map(\.runner)
        await withDiscardingTaskGroup { group in
            for runner in stopping.values.compactMap(\.runner) + draining {
                group.addTask { await runner.shutDown(within: limit) }
            }
        }
        for entry in stopping.values { entry.task.cancel() }
        for entry in finishing.values { entry.task.cancel() }
        logger.notice("queue runners shut down", metadata: ["queues": "\(stopping.count)"])
    }

    private func finished(_ id: UInt64) {
        finishing[id] = nil
    }

    /// The settings the queue's runner dials with, `nil` while it has no runner.
    public func settings(of queue: QueueID) async -> CampaignSettings? {
        await running[queue]?.runner?.settings
    }

    /// Calls in flight per queue, for the node's HTTP view.
    public func callsInFlight() async -> [QueueID: [String: Int]] {
        var result: [QueueID: [String: Int]] = [:]
        for (queue, entry) in running { if let runner = entry.runner { result[queue] = await runner.callsByStage } }
        return result
    }

    private func run(_ queue: QueueID, epoch: Epoch) async {
        let lease = HeldLease(queue: queue, epoch: epoch)
        // An inbound queue, or one no campaign dials yet (a campaign may be created for it at
        // any time), or no manager: ask again while the lease lasts.
        var details: CampaignFeed.CampaignDetails?
        var told = false
        while details == nil, running[queue]?.epoch == epoch, !Task.isCancelled {
            do {
                details = try await feed.campaign(for: lease)
            } catch {
                if !told {
                    logger.info(
                        "no campaign to dial on this queue yet", metadata: ["queue": "\(queue)", "reason": "\(error)"])
                    told = true
                }
                try? await Task.sleep(for: campaignPollInterval)
            }
        }
        guard let details, running[queue]?.epoch == epoch else { return }
        let validity = self.validity
        let clock = self.clock
        // Calling hours and the reported times are on the wall's calendar, as the manager reads it.
        let calendar = CalendarAnchor(moment: clock.now(), date: Date(), clockSecondsPerSecond: timeScale)
        let runner = QueueRunner(
            configuration: .init(
                queue: queue, node: MemberID("\(node)~\(incarnation)~\(epoch.rawValue)"), calendar: calendar,
                connectAllowance: QueueRunnerStateMachine.Configuration.connectAllowance(timeScale: timeScale)),
            settings: details.settings, epoch: epoch, trunk: trunk,
            contacts: FeedContactSource(feed: feed, lease: lease, calendar: calendar),
            desk: GatewayDesk(reservations: reservations, clock: clock, timeScale: timeScale),
            clock: clock, timeScale: timeScale, logger: logger,
            leaseIsValid: { validity.isValid(queue, epoch: epoch) })
        running[queue]?.runner = runner
        logger.info(
            "queue runner started",
            metadata: ["queue": "\(queue)", "campaign": "\(details.campaign)", "mode": "\(details.settings.mode)"])
        await withDiscardingTaskGroup { group in
            group.addTask { await runner.run() }
            group.addTask {
                var readiness = ReadyToDialLatency(queue: queue)
                let timeScale = self.timeScale
                for await picture in await self.reservations.pictures(of: queue) {
                    let present = (picture.available + picture.reserved + picture.onCall + picture.wrapUp).map {
                        AgentID($0.agent)
                    }
                    let received = clock.now()
                    await runner.agentsChanged(AgentPicture(picture, timeScale: timeScale), present: present)
                    // The clock keeps call time; the metric is in wall time.
                    readiness.record(picture, handling: (clock.now() - received) / timeScale)
                }
            }
            group.addTask {
                for await notice in await self.reservations.notices() {
                    switch notice {
                    case .revoked(let request, _, _): await runner.handle(.grantRevoked(request))
                    case .hangup(let request): await runner.handle(.agentHungUp(request))
                    }
                }
            }
            let refresh = settingsRefreshInterval
            group.addTask {
                // The feed fetches the settings again once a batch shows a new revision; pass each
                // change on once. Settings the feed refuses (invalid) never reach the runner: it
                // goes on with its last good ones, and the feed logs and counts the refusal.
                var current = details.settings
                while !Task.isCancelled {
                    try? await Task.sleep(for: refresh)
                    if let fresh = try? await self.feed.campaign(for: lease), fresh.settings != current {
                        current = fresh.settings
                        await runner.handle(.settingsChanged(fresh.settings))
                    }
                }
            }
            group.addTask {
                // The live panel's view of the queue's pacing, sampled once a second (wall time).
                var publisher = PacingPublisher()
                let (started, scale) = (clock.now(), max(self.timeScale, 1e-6))
                while !Task.isCancelled {
                    let wall = (clock.now() - started) / scale
                    if let sample = publisher.sample(await runner.pacing, at: wall) {
                        await self.feed.publish(sample, lease: lease)
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            await runner.waitUntilFinished()
            group.cancelAll()
        }
        await feed.forget(queue)
        logger.info("queue runner finished", metadata: ["queue": "\(queue)", "epoch": "\(epoch)"])
    }
}

/// The manager's feeder, as a runner's contact source.
struct FeedContactSource: ContactSource {
    let feed: CampaignFeed
    let lease: HeldLease
    /// Turns the runner's moments (call time) into the dates the manager stores.
    let calendar: CalendarAnchor

    func contacts(queue: QueueID, epoch: Epoch, count: Int, presentAgents: [AgentID]) async throws
        -> (targets: [DialTarget], exhausted: Bool)
    {
        let batch = try await feed.contacts(for: lease, count: count, presentAgents: Set(presentAgents))
        let targets = batch.attempts.map {
            DialTarget(
                attempt: $0.attempt, contact: $0.contact, phone: $0.phone, callerID: $0.callerID,
                timeZone: $0.timeZone, privateAgent: $0.privateAgent, fields: $0.fields)
        }
        return (targets, targets.count < count)
    }

    func report(_ attempt: DialedAttempt, queue: QueueID, epoch: Epoch) async {
        await feed.report(
            AttemptResult(
                attempt: attempt.target.attempt, contact: attempt.target.contact, outcome: attempt.outcome,
                agent: attempt.agent, answeredAt: attempt.answeredAt.map(calendar.date(at:)),
                dialedAt: calendar.date(at: attempt.dialedAt), bridgedAt: attempt.bridgedAt.map(calendar.date(at:)),
                callEndedAt: calendar.date(at: attempt.endedAt), callerID: attempt.callerID,
                abandonCause: attempt.abandonCause),
            lease: lease)
    }

    func giveBack(_ target: DialTarget, queue: QueueID, epoch: Epoch) async {
        await feed.giveBack(target.attempt, lease: lease)
    }
}

/// The gateway's reservation service, as a runner's agent desk. Deadlines are in call time;
/// the gateway waits in wall time.
struct GatewayDesk: AgentDesk {
    let reservations: GatewayReservations
    let clock: any DialerClock
    let timeScale: Double

    func request(_ draft: AgentRequestDraft, queue: QueueID, epoch: Epoch) async -> AgentAnswer {
        let callTime = max(.zero, draft.deadline - clock.now())
        let wait = callTime / timeScale
        let card = draft.target.map(Self.card)
        let answer = await reservations.request(
            .init(
                queue: queue, epoch: epoch, kind: draft.kind, deadline: wait, namedAgent: draft.namedAgent,
                contact: card),
            id: draft.id)
        switch answer {
        case .granted(let agent, _): return .granted(agent)
        case .timedOut: return .notGranted(.noAgentFree)
        case .rejected: return .notGranted(.refused)
        case .connectionLost: return .notGranted(.unreachable)
        }
    }

    func confirm(_ request: RequestID, target: DialTarget, queue: QueueID, epoch: Epoch) async {
        try? await reservations.confirm(request, epoch: epoch, queue: queue, contact: Self.card(target))
    }

    /// What the agent's desktop shows of a contact.
    static func card(_ target: DialTarget) -> Dialer_V1_ContactCard {
        var contact = Dialer_V1_ContactCard()
        contact.contact = target.contact.rawValue
        contact.attempt = target.attempt.rawValue
        contact.phone = target.phone
        contact.fields = target.fields
        return contact
    }

    func release(_ request: RequestID) async { try? await reservations.release(request) }

    func cancel(_ request: RequestID) async { try? await reservations.cancel(request) }

    func callEnded(_ request: RequestID) async { try? await reservations.callEnded(request) }
}

extension AgentPicture {
    /// What pacing needs of a gateway's queue picture. The gateway counts wall time; pacing
    /// counts call time, `timeScale` times faster on a scaled trunk.
    init(_ picture: Dialer_V1_QueuePictureUpdate, timeScale: Double = 1) {
        func callTime(_ entry: Dialer_V1_AgentTime) -> Duration {
            .milliseconds(Int64(callMilliseconds(entry, timeScale)))
        }
        self.init(
            available: picture.available.map(callTime),
            reserved: Int(picture.reservedForQueue),
            onCall: picture.onCall.map(callTime),
            wrapUp: picture.wrapUp.map(callTime),
            paused: Int(picture.notReady),
            availableAgents: picture.available.map { AgentID($0.agent) },
            demandAhead: Int(picture.pendingAhead))
    }
}

/// An agent's elapsed wall milliseconds in call milliseconds (bounded: a scale is at most
/// a million, an elapsed time at most 2³² ms).
private func callMilliseconds(_ entry: Dialer_V1_AgentTime, _ timeScale: Double) -> Double {
    (Double(entry.elapsedMs) * max(0, min(timeScale, 1_000_000))).rounded()
}
