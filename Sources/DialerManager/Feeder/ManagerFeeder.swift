import DialerCore
import DialerProtocol
import DialerRuntime
import DialerTransport
import FoundationEssentials
public import Logging
import Metrics
import Synchronization

/// The manager's side of the feeder: answers a node's campaign, contact and report requests
/// (PROTOCOL.md §5.4), and closes the open attempts of lost nodes.
///
/// Every request is fenced by the ``ClusterCoordinator``'s lease table first (a quick look
/// inside the actor); the store work happens here, outside it, so that leases and membership
/// never wait for the database.
public struct ManagerFeeder: Sendable {
    /// The most attempts one batch holds; a node asking for more gets at most this many.
    public static let maximumBatch = 500
    /// A count above this is a node's bug, not a wish: it is refused.
    public static let maximumCount = 10_000
    /// The most agents a request may name as present.
    public static let maximumPresentAgents = 10_000

    let store: any ManagerStore
    let coordinator: ClusterCoordinator
    let changes: ManagerChanges
    let wallTime: WallTime
    let logger: Logger
    private let handedOut = Counter(label: "dialer_manager_attempts_handed_out_total")
    private let reportsApplied = Counter(
        label: "dialer_manager_attempt_reports_total", dimensions: [("result", "applied")])
    private let reportsDuplicate = Counter(
        label: "dialer_manager_attempt_reports_total", dimensions: [("result", "duplicate")])
    private let reportsRefused = Counter(
        label: "dialer_manager_attempt_reports_total", dimensions: [("result", "refused")])
    private let detailsDropped = Counter(label: "dialer_manager_attempt_report_details_dropped_total")
    private let fencedRequests = Counter(label: "dialer_manager_feeder_fenced_total")
    private let attemptsReturned = Counter(label: "dialer_manager_attempts_returned_total")
    private let lostNodeSweeps = Counter(label: "dialer_manager_lost_node_sweeps_total")
    private let attemptsClosedUnknown = Counter(label: "dialer_manager_lost_node_attempts_closed_total")

    private let batchSize = Recorder(label: "dialer_manager_feeder_batch_operations")
    /// Applies reports and hand-outs in batches (``runBatches()`` runs its loop).
    let batcher: FeederBatcher

    /// - Parameter batching: how reports and hand-outs are batched; the clock of its linger is
    ///   `wallTime`'s.
    public init(
        store: any ManagerStore, coordinator: ClusterCoordinator, changes: ManagerChanges, wallTime: WallTime,
        logger: Logger, batching: FeederBatching.Limits = .standard
    ) {
        self.store = store
        self.coordinator = coordinator
        self.changes = changes
        self.wallTime = wallTime
        self.logger = logger
        let batchSize = self.batchSize
        self.batcher = FeederBatcher(
            store: store, limits: batching, clock: wallTime.clock, committed: { batchSize.record($0) })
    }

    /// Applies reports and hand-outs, batch by batch, until the task is cancelled. Nothing is
    /// answered while this does not run.
    public func runBatches() async {
        let wallTime = self.wallTime
        await batcher.run(wallTime: { wallTime.now() })
    }

    /// A refusal: the non-fatal error that answers the request.
    struct Refusal: Error {
        var code: ProtocolErrorCode
        var message: String

        init(_ code: ProtocolErrorCode, _ message: String) {
            self.code = code
            self.message = message
        }

        var reply: Envelope.OneOf_Message { .error(error) }

        /// The `Error` message saying it.
        var error: Dialer_V1_Error {
            var error = Dialer_V1_Error()
            error.code = code
            error.message = message
            return error
        }
    }

    /// The reply to a feeder request from `node` on its registered connection `connection`, or
    /// `nil` when the message is not a feeder request or gets no answer (the manager is stopping).
    func answer(_ message: Envelope.OneOf_Message, from node: MemberID, connection: UInt64) async
        -> Envelope.OneOf_Message?
    {
        let (replies, continuation) = AsyncStream.makeStream(
            of: Envelope.OneOf_Message?.self, bufferingPolicy: .bufferingNewest(1))
        let handled = await handle(message, from: node, connection: connection) { reply in
            continuation.yield(reply)
            continuation.finish()
        }
        guard handled else { return nil }
        for await reply in replies { return reply }
        return nil
    }

    /// Starts answering a feeder request from `node` on its registered connection `connection`;
    /// returns `false` when the message is not a feeder request.
    ///
    /// Reports and contact requests go to the batch loop: this returns once the request is
    /// queued, and `reply` is called after its batch commits, so that requests of one
    /// connection are applied in order without waiting for each other. Other requests first
    /// wait for everything queued before them, then are answered here. `reply` is called once;
    /// with `nil` when nothing is to be sent (the manager is stopping).
    func handle(
        _ message: Envelope.OneOf_Message, from node: MemberID, connection: UInt64,
        reply: @escaping @Sendable (Envelope.OneOf_Message?) -> Void
    ) async -> Bool {
        switch message {
        case .contactRequest(let request):
            await contactBatch(request, from: node, connection: connection) { reply(self.message($0, from: node)) }
        case .attemptReport(let report):
            attemptReport(report, from: node) { reply(self.message($0, from: node)) }
        case .attemptResultBatch(let batch):
            attemptResultBatch(batch, from: node) { reply(self.message($0, from: node)) }
        case .campaignRequest(let request):
            await batcher.barrier()
            reply(self.message(await campaignInfo(request, from: node, connection: connection), from: node))
        case .attemptReturn(let request):
            await batcher.barrier()
            reply(self.message(await attemptReturn(request, from: node), from: node))
        case .inboundRouteRequest(let request):
            await batcher.barrier()
            reply(self.message(await inboundRoute(request, from: node, connection: connection), from: node))
        default:
            return false
        }
        return true
    }

    /// Waits until every report and hand-out queued so far is applied.
    func waitForBatches() async {
        await batcher.barrier()
    }

    /// The message answering a request (`nil`: none); a refusal is logged.
    private func message(_ result: Result<Envelope.OneOf_Message, Refusal>?, from node: MemberID)
        -> Envelope.OneOf_Message?
    {
        switch result {
        case .none: return nil
        case .success(let reply): return reply
        case .failure(let refusal):
            logger.notice(
                "feeder request refused",
                metadata: [
                    "node": "\(node)", "code": "\(refusal.code.name)", "detail": "\(LogText.escaped(refusal.message))",
                ])
            return refusal.reply
        }
    }

    // MARK: Requests

    func campaignInfo(_ request: Dialer_V1_CampaignRequest, from node: MemberID, connection: UInt64) async
        -> Result<Envelope.OneOf_Message, Refusal>
    {
        do {
            let lease = try Self.lease(request.hasLease ? request.lease : nil)
            let (campaign, _) = try await fencedCampaign(lease, node: node, connection: connection)
            var info = Dialer_V1_CampaignInfo()
            info.campaign = campaign.id.rawValue
            info.queue = campaign.queue.rawValue
            info.status = campaign.settings.status.rawValue
            info.dialingAllowed = Self.dialingAllowed(campaign, at: wallTime.now())
            info.revision = await changes.revision(of: campaign.id)
            info.settingsJson = try APIJSON.encoder().encode(campaign.settings)
            return .success(.campaignInfo(info))
        } catch let refusal as Refusal {
            return .failure(refusal)
        } catch {
            return .failure(storeFailure(error))
        }
    }

    /// Answers a contact request through the batch loop: `reply` gets the batch after the
    /// hand-out commits (`nil`: the manager stopped first).
    func contactBatch(
        _ request: Dialer_V1_ContactRequest, from node: MemberID, connection: UInt64,
        reply: @escaping @Sendable (Result<Envelope.OneOf_Message, Refusal>?) -> Void
    ) async {
        var batch = Dialer_V1_ContactBatch()
        let lease: HeldLease
        let campaign: Campaign
        do {
            lease = try Self.lease(request.hasLease ? request.lease : nil)
            guard request.count > 0, request.count <= Self.maximumCount else {
                throw Refusal(.invalidArgument, "count must be 1 to \(Self.maximumCount), not \(request.count)")
            }
            guard request.presentAgents.count <= Self.maximumPresentAgents,
                request.presentAgents.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 128 })
            else {
                throw Refusal(
                    .invalidArgument,
                    "present_agents must name at most \(Self.maximumPresentAgents) agents, each 1 to 128 bytes")
            }
            let fence: FeederFence
            (campaign, fence) = try await fencedCampaign(lease, node: node, connection: connection)
            batch.campaignRevision = await changes.revision(of: campaign.id)
            batch.dialingAllowed = fence == .owner && Self.dialingAllowed(campaign, at: wallTime.now())
            // A queue being handed back gets nothing new: it would only leave attempts open.
            guard fence == .owner else { return reply(.success(.contactBatch(batch))) }
        } catch let refusal as Refusal {
            return reply(.failure(refusal))
        } catch {
            return reply(.failure(storeFailure(error)))
        }
        let operation = FeederOperation.checkOut(
            campaign: campaign.id, count: min(Int(request.count), Self.maximumBatch), node: node, epoch: lease.epoch,
            presentAgents: Set(request.presentAgents.map(AgentID.init)))
        let handedOut = self.handedOut
        batcher.submit(operation) { [batch] outcome in
            switch outcome {
            case .success(.checkOut(let handOuts)):
                var batch = batch
                batch.attempts = handOuts.map { Dialer_V1_AttemptHandOut(attempt: $0.attempt, contact: $0.contact) }
                handedOut.increment(by: handOuts.count)
                reply(.success(.contactBatch(batch)))
            case .success(.report):
                reply(.failure(storeFailure(StoreError.corruptRow("a hand-out answered as a report"))))
            case .failure(is FeederBatcher.Stopped):
                reply(nil)
            case .failure(StoreError.notFound(let what)):
                reply(.failure(Refusal(.notFound, "\(what) does not exist")))
            case .failure(let error):
                reply(.failure(storeFailure(error)))
            }
        }
    }

    /// Applies a node's report. Reports are facts about calls already made, so they are not
    /// fenced by the queue's current lease (refusing one would leave its attempt open until the
    /// node is lost): the attempt itself is the fence. It must have been handed to this node
    /// under the report's epoch.
    ///
    /// Call details that cannot be right (times out of order or implausible, a caller ID that is
    /// not E.164) are left out and logged; the result is recorded all the same, since refusing
    /// the report would leave the attempt open (a node does not send a refused report again).
    ///
    /// The report is applied through the batch loop: `reply` gets the acknowledgement after its
    /// batch commits (`nil`: the manager stopped first, and the node sends it again).
    func attemptReport(
        _ report: Dialer_V1_AttemptReport, from node: MemberID,
        reply: @escaping @Sendable (Result<Envelope.OneOf_Message, Refusal>?) -> Void
    ) {
        let lease: HeldLease
        var result: AttemptResult
        do throws(Refusal) {
            lease = try Self.lease(report.hasLease ? report.lease : nil)
            switch report.result() {
            case .success(let value): result = value
            case .failure(let invalid): throw Refusal(.invalidArgument, invalid.description)
            }
        } catch {
            reportsRefused.increment()
            return reply(.failure(error))
        }
        let problems = result.callDetailProblems
        if !problems.isEmpty {
            detailsDropped.increment()
            logger.notice(
                "attempt report: call details left out",
                metadata: [
                    "node": "\(node)", "attempt": "\(result.attempt)",
                    "problems": "\(problems.joined(separator: "; "))",
                ])
            result = result.withoutInvalidCallDetails()
        }
        let (attempt, contact, epoch) = (result.attempt, result.contact, lease.epoch)
        let (applied, duplicate, refused) = (reportsApplied, reportsDuplicate, reportsRefused)
        batcher.submit(.report(result, node: node, epoch: epoch)) { outcome in
            var ack = Dialer_V1_AttemptReportAck()
            ack.attempt = attempt.rawValue
            let refusal: Refusal
            switch outcome {
            case .success(.report(.applied)):
                applied.increment()
                return reply(.success(.attemptReportAck(ack)))
            case .success(.report(.duplicate)):
                // Closed meanwhile by an earlier copy of this report.
                duplicate.increment()
                ack.duplicate = true
                return reply(.success(.attemptReportAck(ack)))
            case .success(.report(.notHandedOut)):
                refusal = Refusal(.unknownRequest, "no attempt \(attempt) was handed out")
            case .success(.report(.heldElsewhere)):
                refusal = Refusal(
                    .unknownRequest, "attempt \(attempt) was not handed to this node under epoch \(epoch)")
            case .success(.report(.closedAsUnknown)):
                refusal = Refusal(
                    .unknownRequest,
                    "attempt \(attempt) was closed as unknown when its node was lost; the result is not recorded")
            case .success(.report(.contactMismatch)):
                refusal = Refusal(.unknownRequest, "attempt \(attempt) is not for contact \(contact)")
            case .success(.checkOut):
                refusal = storeFailure(StoreError.corruptRow("a report answered as a hand-out"))
            case .failure(is FeederBatcher.Stopped):
                return reply(nil)
            case .failure(let error):
                refusal = storeFailure(error)
            }
            refused.increment()
            reply(.failure(refusal))
        }
    }

    /// The most reports one `AttemptResultBatch` may carry: the node's delivery window, and the
    /// manager's largest batch.
    public static let maximumResultBatch = 256

    /// How many store operations a feeder request queues (a batch of results: one per report).
    static func operations(in message: Envelope.OneOf_Message) -> Int {
        if case .attemptResultBatch(let batch) = message { return max(1, batch.reports.count) }
        return 1
    }

    /// Applies a node's batch of results (protocol version 2): each report exactly as an
    /// ``attemptReport(_:from:reply:)`` alone, in the batch's order, and one answer for the
    /// batch once every report's own batch committed, with each report's own outcome (applied,
    /// duplicate, or refused with the code it would have got alone). A batch that cannot be
    /// taken at all (no report, too many) is refused whole with `INVALID_ARGUMENT`.
    func attemptResultBatch(
        _ batch: Dialer_V1_AttemptResultBatch, from node: MemberID,
        reply: @escaping @Sendable (Result<Envelope.OneOf_Message, Refusal>?) -> Void
    ) {
        let count = batch.reports.count
        guard count > 0, count <= Self.maximumResultBatch else {
            reportsRefused.increment()
            let limit = Self.maximumResultBatch
            return reply(.failure(Refusal(.invalidArgument, "reports must hold 1 to \(limit) results, not \(count)")))
        }
        let logger = self.logger
        let answers = BatchAnswers(count: count) { results in
            var ack = Dialer_V1_AttemptResultBatchAck()
            for (report, result) in zip(batch.reports, results) {
                guard let result else { return reply(nil) }  // the manager is stopping: no answer
                var answer = Dialer_V1_AttemptResultAnswer()
                answer.attempt = report.attempt
                switch result {
                case .success(.attemptReportAck(let single)):
                    answer.duplicate = single.duplicate
                case .success(let other):
                    answer.error = Refusal(.internal, "a report answered with \(Envelope(other).kindName)").error
                case .failure(let refusal):
                    logger.notice(
                        "feeder request refused",
                        metadata: [
                            "node": "\(node)", "attempt": "\(LogText.escaped(report.attempt, limit: 128))",
                            "code": "\(refusal.code.name)", "detail": "\(LogText.escaped(refusal.message))",
                        ])
                    answer.error = refusal.error
                }
                ack.answers.append(answer)
            }
            reply(.success(.attemptResultBatchAck(ack)))
        }
        for (index, report) in batch.reports.enumerated() {
            attemptReport(report, from: node) { answers.answer(index, with: $0) }
        }
    }

    /// Takes back an attempt that was never dialed. Fenced, as a report is, by the attempt: it
    /// must have been handed to this node under the lease's epoch.
    func attemptReturn(_ request: Dialer_V1_AttemptReturn, from node: MemberID) async
        -> Result<Envelope.OneOf_Message, Refusal>
    {
        do {
            let lease = try Self.lease(request.hasLease ? request.lease : nil)
            guard !request.attempt.isEmpty, request.attempt.utf8.count <= 128 else {
                throw Refusal(.invalidArgument, "attempt must be 1 to 128 bytes")
            }
            let attempt = AttemptID(request.attempt)
            var ack = Dialer_V1_AttemptReturnAck()
            ack.attempt = request.attempt
            switch try await store.returnAttempt(attempt, node: node, epoch: lease.epoch, now: wallTime.now()) {
            case .returned:
                attemptsReturned.increment()
                ack.returned = true
            case .notHeld, .alreadyClosed:
                ack.returned = false
            case .heldElsewhere:
                throw Refusal(
                    .unknownRequest, "attempt \(attempt) was not handed to this node under epoch \(lease.epoch)")
            }
            return .success(.attemptReturnAck(ack))
        } catch let refusal as Refusal {
            return .failure(refusal)
        } catch {
            return .failure(storeFailure(error))
        }
    }

    /// Routes an inbound call that arrived on a number of the leased queue: to the campaign the
    /// caller is an open contact of, else to the queue's campaign when the number is a hotline,
    /// else to the queue itself.
    func inboundRoute(_ request: Dialer_V1_InboundRouteRequest, from node: MemberID, connection: UInt64) async
        -> Result<Envelope.OneOf_Message, Refusal>
    {
        do {
            let lease = try Self.lease(request.hasLease ? request.lease : nil)
            guard PhoneNumbers.isE164(request.caller) else {
                throw Refusal(.invalidArgument, "caller must be an E.164 number (+ and up to 15 digits)")
            }
            var hotline: CampaignID?
            if request.hotline {
                hotline = try await fencedCampaign(lease, node: node, connection: connection).0.id
            } else {
                try await fence(lease, node: node, connection: connection)
            }
            let routing = try await store.routeInboundCall(
                from: request.caller, hotline: hotline, node: node, epoch: lease.epoch, now: wallTime.now())
            var route = Dialer_V1_InboundRoute()
            func toCampaign(_ kind: Dialer_V1_InboundRouteKind, _ campaign: Campaign, _ handOut: AttemptHandOut?) {
                route.kind = kind
                route.queue = campaign.queue.rawValue
                route.campaign = campaign.id.rawValue
                if let handOut {
                    route.attempt = Dialer_V1_AttemptHandOut(attempt: handOut.attempt, contact: handOut.contact)
                    handedOut.increment()
                }
            }
            switch routing {
            case .openContact(let campaign, let handOut, _): toCampaign(.inboundRouteCallback, campaign, handOut)
            case .hotline(let campaign, let handOut, _): toCampaign(.inboundRouteHotline, campaign, handOut)
            case .service:
                route.kind = .inboundRouteService
                route.queue = lease.queue.rawValue
            }
            return .success(.inboundRoute(route))
        } catch let refusal as Refusal {
            return .failure(refusal)
        } catch {
            return .failure(storeFailure(error))
        }
    }

    // MARK: Lost nodes

    /// A restarted manager: nodes with open attempts that do not come back within a lease period
    /// are swept. Returns whether the store could be read.
    @discardableResult
    public func accountForOpenAttempts() async -> Bool {
        do {
            let holders = try await store.nodesWithOpenAttempts()
            await coordinator.restarted(openHolders: holders)
            if !holders.isEmpty {
                logger.notice(
                    "open attempts from before the start: their nodes have one lease period to come back",
                    metadata: ["nodes": "\(holders.count)"])
            }
            return true
        } catch {
            logger.error("cannot read the nodes holding open attempts", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Closes the open attempts of every node the coordinator declares lost now, as `unknown`.
    public func sweepLostNodes() async {
        for sweep in await coordinator.lostNodesDue() {
            do {
                let closed = try await store.closeAttemptsOfLostNode(
                    sweep.node, handedOutThrough: wallTime.date(at: sweep.lostAt), now: wallTime.now())
                lostNodeSweeps.increment()
                attemptsClosedUnknown.increment(by: closed.count)
                logger.notice(
                    "node lost: its open attempts are closed as unknown",
                    metadata: ["node": "\(sweep.node)", "attempts": "\(closed.count)"])
                await coordinator.lostNodeSwept(sweep.node, succeeded: true)
            } catch {
                logger.error(
                    "cannot close a lost node's attempts; trying again",
                    metadata: ["node": "\(sweep.node)", "error": "\(error)"])
                await coordinator.lostNodeSwept(sweep.node, succeeded: false)
            }
        }
    }

    // MARK: Helpers

    private static func lease(_ wire: Dialer_V1_QueueLease?) throws(Refusal) -> HeldLease {
        guard let wire else { throw Refusal(.invalidArgument, "lease is required") }
        guard !wire.queue.isEmpty, wire.queue.utf8.count <= 128 else {
            throw Refusal(.invalidArgument, "lease.queue must be 1 to 128 bytes")
        }
        guard wire.epoch > 0 else { throw Refusal(.invalidArgument, "lease.epoch must be at least 1") }
        return wire.held
    }

    /// What the lease table says of `node`'s lease; a refusal is thrown.
    @discardableResult
    private func fence(_ lease: HeldLease, node: MemberID, connection: UInt64) async throws(Refusal) -> FeederFence {
        let fence = await coordinator.feederFence(node, connection: connection, lease: lease)
        if case .refused(let code, let message) = fence {
            fencedRequests.increment()
            throw Refusal(code, message)
        }
        return fence
    }

    /// The campaign dialing the leased queue, once the lease table says the node owns it.
    private func fencedCampaign(_ lease: HeldLease, node: MemberID, connection: UInt64) async throws
        -> (Campaign, FeederFence)
    {
        let fence = try await fence(lease, node: node, connection: connection)
        guard let campaign = try await store.campaign(dialing: lease.queue) else {
            throw Refusal(.notFound, "no campaign dials queue \(lease.queue)")
        }
        return (campaign, fence)
    }

    private func storeFailure(_ error: any Error) -> Refusal {
        logger.error("feeder request failed in the store", metadata: ["error": "\(error)"])
        return Refusal(.internal, "the manager could not complete the request; try again")
    }

    /// Whether the campaign's status and windows let it dial at `now` (contacts aside).
    static func dialingAllowed(_ campaign: Campaign, at now: Date) -> Bool {
        let probe = Contact(
            id: ContactID(""), campaign: campaign.id, list: campaign.list, phoneNumber: "", createdAt: now)
        let campaignWide: Set<HoldRule> = [.campaignDisabled, .campaignAutomaticOff, .campaignWindowClosed]
        return !Dialability.evaluate(
            contact: probe, campaign: campaign.settings, dnc: DoNotCallList(), now: now,
            privateAgentPresent: { _ in true }
        ).holds.contains { campaignWide.contains($0.rule) }
    }
}

/// The answers to the reports of one `AttemptResultBatch`, collected as their batches commit;
/// `done` runs once, with every answer in the batch's order, when the last one arrives.
private final class BatchAnswers: Sendable {
    typealias Answer = Result<Envelope.OneOf_Message, ManagerFeeder.Refusal>?

    private let slots: Mutex<(answers: [Answer], missing: Int)>
    private let done: @Sendable ([Answer]) -> Void

    init(count: Int, done: @escaping @Sendable ([Answer]) -> Void) {
        slots = Mutex((Array(repeating: nil, count: count), count))
        self.done = done
    }

    func answer(_ index: Int, with answer: Answer) {
        let complete: [Answer]? = slots.withLock { slots in
            slots.answers[index] = answer
            slots.missing -= 1
            return slots.missing == 0 ? slots.answers : nil
        }
        if let complete { done(complete) }
    }
}
