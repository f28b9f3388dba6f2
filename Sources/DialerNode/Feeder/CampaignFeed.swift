public import DialerCore
import DialerProtocol
import DialerRuntime
import DialerTransport
import FoundationEssentials
public import Logging
import Metrics

/// A node's feeder client: what a queue runner asks the manager about its campaign, the
/// contacts it dials, and the results it reports (PROTOCOL.md §5.4).
///
/// It speaks over the node's manager connection (given by the node's manager session). Campaign
/// settings are cached per queue and fetched again when a batch shows a new revision. Results go
/// through an outbox: each is kept until the manager acknowledges it, and sent again after a
/// timeout or a reconnection (the manager applies a result once, by attempt id). One delivery
/// loop per connection, owned by the feed and cancelled when the connection goes, sends them,
/// with at most ``deliveryWindow`` awaiting their answers at a time. On a connection of protocol
/// version 2 or later the results waiting go out together in `AttemptResultBatch` frames (one
/// frame and one acknowledgement for many results, each result keeping its own answer); on a
/// version 1 connection each goes in its own `AttemptReport`.
public actor CampaignFeed {
    /// A campaign as the manager describes it to the node owning its queue.
    public struct CampaignDetails: Sendable, Equatable {
        public var campaign: CampaignID
        public var queue: QueueID
        public var status: CampaignStatus
        /// Status and windows let the campaign dial now (contacts aside), when the manager answered.
        public var dialingAllowed: Bool
        /// Grows with every change of the campaign (counted again from 1 when the manager restarts).
        public var revision: UInt64
        public var settings: CampaignSettings
    }

    /// One contact handed to the node, as an open attempt it must report on.
    public struct HandedOutAttempt: Sendable, Hashable {
        public var attempt: AttemptID
        public var contact: ContactID
        /// E.164.
        public var phone: String
        /// The contact's own caller ID, if it has one.
        public var callerID: String?
        /// The contact's IANA time zone, if it has one.
        public var timeZone: String?
        /// Custom fields shown to the agent.
        public var fields: [String: String]
        /// A private callback: only this agent may take it.
        public var privateAgent: AgentID?
        /// 1 for the first attempt.
        public var attemptNumber: Int
        public var priority: Int
        /// The lease the attempt was handed out under: its report carries it.
        public var lease: HeldLease
    }

    /// The answer to a contact request.
    public struct Batch: Sendable {
        /// Possibly fewer than asked, even none: ask again later.
        public var attempts: [HandedOutAttempt]
        public var dialingAllowed: Bool
        /// The campaign's settings changed since they were last fetched: ``campaign(for:)``
        /// fetches them again.
        public var settingsChanged: Bool
    }

    /// What the outbox delivers about an attempt: its result, or that it is given back undialed.
    private enum Delivery: Equatable {
        case report(Dialer_V1_AttemptReport)
        case giveBack(Dialer_V1_AttemptReturn)

        var message: Envelope.OneOf_Message {
            switch self {
            case .report(let report): .attemptReport(report)
            case .giveBack(let giveBack): .attemptReturn(giveBack)
            }
        }
    }

    private struct Outgoing {
        var delivery: Delivery
        /// The connection it was last sent on, while its answer is awaited.
        var inFlightOn: UInt64?
    }

    private var link: ClusterLink?
    private var connection: UInt64 = 0
    private var campaigns: [QueueID: (epoch: Epoch, details: CampaignDetails, stale: Bool)] = [:]
    private var outbox: [AttemptID: Outgoing] = [:]
    /// The delivery loop of the current connection.
    private var delivering: Task<Void, Never>?
    /// Wakes the delivery loop when the outbox has something new to send.
    private var wake: AsyncStream<Void>.Continuation?
    /// Results sent and not yet answered at most, per connection; also the most results one
    /// `AttemptResultBatch` carries (the manager takes up to 256).
    static let deliveryWindow = 256
    /// `AttemptResultBatch` frames awaiting their answers at most: one being applied while the
    /// next fills with the results that arrive meanwhile, so that results go out in few frames
    /// without waiting for a timer.
    static let batchFramesInFlight = 2
    private let leaseIsValid: @Sendable (HeldLease) async -> Bool
    private let requestTimeout: Duration
    /// How long a report the manager could not apply now (`INTERNAL`) waits before it is sent
    /// again.
    private let transientRetryDelay: Duration
    private let logger: Logger
    private let acknowledged = Counter(label: "dialer_node_reports_acknowledged_total")
    private let refusedReports = Counter(label: "dialer_node_reports_refused_total")
    /// Frames that carried results: one `AttemptReport` each (version 1), or an
    /// `AttemptResultBatch` (version 2): how far a rolling upgrade has come, seen from the node.
    private let reportFrames = Counter(label: "dialer_node_result_frames_total", dimensions: [("kind", "report")])
    private let batchFrames = Counter(label: "dialer_node_result_frames_total", dimensions: [("kind", "batch")])
    private let waitingReports = Gauge(label: "dialer_node_reports_waiting")
    private let refusedSettings = Counter(label: "dialer_node_campaign_settings_refused_total")
    /// The campaign revision whose settings were last refused, per queue: logged once each.
    private var refusedRevisions: [QueueID: UInt64] = [:]
    /// Why each queue's campaign settings were last refused, until settings are accepted again.
    private var refusals: [QueueID: [String]] = [:]
    /// Settings refused since the feed started.
    public private(set) var refusedSettingsCount = 0

    /// A feed that asks only under leases `ownership` holds valid at the moment of asking.
    public init(ownership: QueueOwnership, requestTimeout: Duration = .seconds(5), logger: Logger) {
        self.init(
            leaseIsValid: { lease in await ownership.mayAct(on: lease.queue) == lease.epoch },
            requestTimeout: requestTimeout, logger: logger)
    }

    /// A feed that asks only under leases `leaseIsValid` accepts at the moment of asking.
    public init(
        leaseIsValid: @escaping @Sendable (HeldLease) async -> Bool, requestTimeout: Duration = .seconds(5),
        transientRetryDelay: Duration = .seconds(1), logger: Logger
    ) {
        self.leaseIsValid = leaseIsValid
        self.requestTimeout = requestTimeout
        self.transientRetryDelay = transientRetryDelay
        self.logger = logger
    }

    // MARK: Connection

    /// The node's manager session registered on `link`, or lost its connection (`nil`). Every
    /// result not yet acknowledged is sent again on the new connection.
    func managerConnected(_ link: ClusterLink?) {
        self.link = link
        connection += 1
        for id in outbox.keys { outbox[id]?.inFlightOn = nil }
        delivering?.cancel()
        wake?.finish()
        delivering = nil
        wake = nil
        if let link {
            let (signals, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
            self.wake = wake
            let current = connection
            delivering = Task { await self.deliver(on: link, connection: current, signals: signals) }
        }
        waitingReports.record(outbox.count)
    }

    /// Stops delivering (the node is stopping); what is not acknowledged stays in the outbox.
    func stopDelivering() {
        delivering?.cancel()
        wake?.finish()
        delivering = nil
        wake = nil
    }

    // MARK: Campaign and contacts

    /// The campaign dialing `lease`'s queue: cached, fetched when unknown, when the lease's
    /// epoch changed, or when a batch showed a newer revision.
    public func campaign(for lease: HeldLease) async throws(CampaignFeedError) -> CampaignDetails {
        if let known = campaigns[lease.queue], known.epoch == lease.epoch, !known.stale { return known.details }
        var request = Dialer_V1_CampaignRequest()
        request.lease = Dialer_V1_QueueLease(lease)
        let reply = try await ask(.campaignRequest(request), under: lease)
        guard case .campaignInfo(let info) = reply else {
            throw .unreadable("campaign_request answered with a \(reply)")
        }
        guard let status = CampaignStatus(rawValue: info.status) else {
            throw .unreadable("unknown campaign status \(info.status)")
        }
        let settings: CampaignSettings
        do {
            settings = try APIJSON.decoder().decode(CampaignSettings.self, from: info.settingsJson)
        } catch {
            throw refuse(lease.queue, info, ["settings_json: \(error)"])
        }
        // Settings from the wire are checked here as the manager's API checks them: a value the
        // pacing or the runner could not take (agentless without IVR ports, a ring timeout of
        // 1e300 s) stops this queue, never the node.
        let problems = settings.validate()
        guard problems.isEmpty else { throw refuse(lease.queue, info, problems.map(\.description)) }
        refusedRevisions[lease.queue] = nil
        refusals[lease.queue] = nil
        let details = CampaignDetails(
            campaign: CampaignID(info.campaign), queue: QueueID(info.queue), status: status,
            dialingAllowed: info.dialingAllowed, revision: info.revision, settings: settings)
        campaigns[lease.queue] = (lease.epoch, details, false)
        return details
    }

    /// Logs (once per campaign revision) and counts settings the queue will not dial with.
    private func refuse(_ queue: QueueID, _ info: Dialer_V1_CampaignInfo, _ problems: [String])
        -> CampaignFeedError
    {
        refusedSettings.increment()
        refusedSettingsCount += 1
        refusals[queue] = problems
        if refusedRevisions[queue] != info.revision {
            refusedRevisions[queue] = info.revision
            logger.error(
                "campaign settings refused: the queue does not dial until the campaign is corrected",
                metadata: [
                    "queue": "\(LogText.escaped(queue.rawValue))", "campaign": "\(LogText.escaped(info.campaign))",
                    "revision": "\(info.revision)", "problems": "\(LogText.escaped(problems.joined(separator: "; ")))",
                ])
        }
        return .invalidSettings(problems)
    }

    /// The most contacts one request may ask for, as the manager accepts.
    static let maximumContactCount = 10_000
    /// The most present agents one request may name, as the manager accepts.
    static let maximumPresentAgents = 10_000

    /// Asks for up to `count` contacts to dial now under `lease`; `presentAgents` are the agents
    /// logged in to the queue (a private callback is handed out only while its agent is there).
    public func contacts(for lease: HeldLease, count: Int, presentAgents: Set<AgentID>) async throws(CampaignFeedError)
        -> Batch
    {
        var request = Dialer_V1_ContactRequest()
        request.lease = Dialer_V1_QueueLease(lease)
        // The manager refuses a count above 10,000 and more than 10,000 present agents as a
        // node's bug (PROTOCOL.md §5.4); a predictive queue of 10,000 agents asks for more
        // contacts than that, and it gets at most one batch of 500 anyway. Beyond 10,000 agents,
        // the others' private callbacks wait for a later request.
        request.count = UInt32(clamping: min(count, Self.maximumContactCount))
        request.presentAgents = Array(presentAgents.map(\.rawValue).sorted().prefix(Self.maximumPresentAgents))
        let reply = try await ask(.contactRequest(request), under: lease)
        guard case .contactBatch(let batch) = reply else {
            throw .unreadable("contact_request answered with a \(reply)")
        }
        var settingsChanged = false
        if let known = campaigns[lease.queue], known.details.revision != batch.campaignRevision {
            // Not only a newer one: a restarted manager counts revisions from 1 again.
            campaigns[lease.queue]?.stale = true
            settingsChanged = true
        }
        let attempts = batch.attempts.map { Self.handedOut($0, lease: lease) }
        return Batch(attempts: attempts, dialingAllowed: batch.dialingAllowed, settingsChanged: settingsChanged)
    }

    /// Why the queue's campaign settings were refused (each problem as "field: what is wrong"),
    /// `nil` when the last settings fetched were accepted.
    public func refusedSettings(of queue: QueueID) -> [String]? { refusals[queue] }

    /// Forgets the cached campaign of a queue the node stopped working.
    public func forget(_ queue: QueueID) {
        campaigns[queue] = nil
    }

    private func ask(_ message: Envelope.OneOf_Message, under lease: HeldLease) async throws(CampaignFeedError)
        -> Envelope.OneOf_Message
    {
        // Rule 1 of PROTOCOL.md §6: act only under a lease valid now, on this node's clock.
        guard await leaseIsValid(lease) else { throw .leaseNotValid(lease) }
        guard let link else { throw .notConnected }
        let reply: Envelope
        do {
            reply = try await link.request(message, timeout: requestTimeout)
        } catch {
            throw .noAnswer("\(error)")
        }
        if case .error(let error) = reply.message {
            switch error.code {
            case .staleEpoch, .notOwner: throw .fenced(code: error.code.name, message: error.message)
            default: throw .refused(code: error.code.name, message: error.message)
            }
        }
        guard let message = reply.message else { throw .unreadable("an empty reply") }
        return message
    }

    // MARK: Results

    /// Reports how an attempt ended. It is kept until the manager acknowledges it and sent again
    /// after a timeout or a reconnection; a report of an attempt already reported replaces it.
    public func report(_ result: AttemptResult, lease: HeldLease) {
        outbox[result.attempt] = Outgoing(delivery: .report(Dialer_V1_AttemptReport(result, lease: lease)))
        outboxChanged()
    }

    /// Gives back an attempt that was handed out and never dialed: the manager makes its contact
    /// as it was before. Delivered like a report (kept until acknowledged, sent again after a
    /// reconnection), and not fenced by the queue's current lease: the node may have just lost it.
    public func giveBack(_ attempt: AttemptID, lease: HeldLease) {
        var message = Dialer_V1_AttemptReturn()
        message.lease = Dialer_V1_QueueLease(lease)
        message.attempt = attempt.rawValue
        outbox[attempt] = Outgoing(delivery: .giveBack(message))
        outboxChanged()
    }

    /// Where an inbound call from `caller` to `did`, a number of `lease`'s queue, goes; opens an
    /// attempt when the call is a campaign's (the caller is an open contact, or `hotline`).
    public func inboundRoute(for lease: HeldLease, caller: String, did: String, hotline: Bool)
        async throws(CampaignFeedError) -> InboundRoute
    {
        var request = Dialer_V1_InboundRouteRequest()
        request.lease = Dialer_V1_QueueLease(lease)
        request.caller = caller
        request.did = did
        request.hotline = hotline
        let reply = try await ask(.inboundRouteRequest(request), under: lease)
        guard case .inboundRoute(let route) = reply else {
            throw .unreadable("inbound_route_request answered with a \(reply)")
        }
        let kind: InboundRoute.Kind
        switch route.kind {
        case .inboundRouteCallback: kind = .callback
        case .inboundRouteHotline: kind = .hotline
        case .inboundRouteService: kind = .service
        default: throw .unreadable("inbound_route has no kind")
        }
        let attempt = route.hasAttempt ? Self.handedOut(route.attempt, lease: lease) : nil
        return InboundRoute(
            kind: kind, queue: route.queue.isEmpty ? lease.queue : QueueID(route.queue),
            campaign: route.campaign.isEmpty ? nil : CampaignID(route.campaign), attempt: attempt)
    }

    /// Where the manager sends an inbound call.
    public struct InboundRoute: Sendable, Hashable {
        public enum Kind: Sendable, Hashable {
            /// The caller is an open contact of an outbound campaign.
            case callback
            /// The number called is a campaign's hotline.
            case hotline
            /// A plain service call.
            case service
        }
        public var kind: Kind
        /// The queue whose agents take the call.
        public var queue: QueueID
        public var campaign: CampaignID?
        /// The attempt opened for the call, to report when it ends.
        public var attempt: HandedOutAttempt?
    }

    static func handedOut(_ wire: Dialer_V1_AttemptHandOut, lease: HeldLease) -> HandedOutAttempt {
        HandedOutAttempt(
            attempt: AttemptID(wire.attempt), contact: ContactID(wire.contact), phone: wire.phone,
            callerID: wire.callerID.isEmpty ? nil : wire.callerID,
            timeZone: wire.timeZone.isEmpty ? nil : wire.timeZone, fields: wire.fields,
            privateAgent: wire.privateAgent.isEmpty ? nil : AgentID(wire.privateAgent),
            attemptNumber: Int(wire.attemptNumber), priority: Int(wire.priority), lease: lease)
    }

    /// Sends a queue's pacing to the manager for its live panel: one-way, and only while
    /// connected and the lease is valid (a report lost with a connection is replaced a few
    /// seconds later).
    public func publish(_ pacing: PacingSample, lease: HeldLease) async {
        guard let link, await leaseIsValid(lease) else { return }
        var report = Dialer_V1_PacingReport()
        report.lease = Dialer_V1_QueueLease(lease)
        report.reason = pacing.reason
        report.callsToStart = UInt32(clamping: pacing.callsToStart)
        report.reservationsToRequest = UInt32(clamping: pacing.reservationsToRequest)
        report.dialLevel = pacing.dialLevel
        report.callsInFlight = UInt32(clamping: pacing.callsInFlight)
        report.attemptsLastMinute = UInt32(clamping: pacing.attemptsLastMinute)
        try? await link.send(Envelope(.pacingReport(report)))
    }

    /// Results not yet acknowledged by the manager.
    public var unacknowledgedReports: Int { outbox.count }

    /// Waits until the manager acknowledged every result and return, or `limit` passed (the node
    /// is stopping and must not leave its reports behind); returns whether all were.
    @discardableResult
    public func waitUntilDelivered(within limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while !outbox.isEmpty, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return outbox.isEmpty
    }

    private func outboxChanged() {
        waitingReports.record(outbox.count)
        wake?.yield()
    }

    /// What a child of the delivery loop comes back with.
    private enum DeliveryEvent: Sendable {
        /// The outbox changed (`false`: the loop is to stop).
        case woken(Bool)
        case answered(AttemptID, Delivery, Envelope?, timedOut: Bool)
        /// The answer to an `AttemptResultBatch` of these reports (`nil`: none came).
        case batchAnswered([(AttemptID, Delivery)], Envelope?, timedOut: Bool)
        /// Reports the manager could not apply may be sent again.
        case retryDue([(AttemptID, Delivery)])
    }

    /// What the manager said of one result or return.
    private enum Answer {
        case acknowledged
        case refused(Dialer_V1_Error)
        /// No answer (in time, or at all), or one that does not answer it.
        case none(timedOut: Bool)

        /// The answer a reply to a single report or return gives.
        init(reply: Envelope?, timedOut: Bool) {
            switch reply?.message {
            case .attemptReportAck, .attemptReturnAck: self = .acknowledged
            case .error(let error): self = .refused(error)
            default: self = .none(timedOut: timedOut)
            }
        }
    }

    /// The delivery loop of connection `current`: sends what waits in the outbox, at most
    /// ``deliveryWindow`` at a time, and handles each answer as it comes.
    private func deliver(on link: ClusterLink, connection current: UInt64, signals: AsyncStream<Void>) async {
        let timeout = requestTimeout
        // Decided by the connection's negotiated version (PROTOCOL.md §8), never by the build.
        let batching = link.peer.protocolVersion >= ProtocolVersion.attemptResultBatches
        await withTaskGroup(of: DeliveryEvent.self) { group in
            func listen() {
                group.addTask {
                    var signal = signals.makeAsyncIterator()
                    return .woken(await signal.next() != nil)
                }
            }
            var inFlight = 0
            var batchesOut = 0
            func sendWaiting() {
                let mayBatch = batching && batchesOut < Self.batchFramesInFlight
                var gathered: [(AttemptID, Delivery)] = []
                for (id, outgoing) in outbox where outgoing.inFlightOn != current {
                    guard inFlight < Self.deliveryWindow else { break }
                    let delivery = outgoing.delivery
                    if batching, case .report = delivery {
                        // A result waits for a batch frame to go in when two are out already.
                        guard mayBatch else { continue }
                        gathered.append((id, delivery))
                    } else {
                        if case .report = delivery { reportFrames.increment() }
                        group.addTask {
                            do {
                                let reply = try await link.request(delivery.message, timeout: timeout)
                                return .answered(id, delivery, reply, timedOut: false)
                            } catch {
                                return .answered(id, delivery, nil, timedOut: error is RequestTimedOut)
                            }
                        }
                    }
                    outbox[id]?.inFlightOn = current
                    inFlight += 1
                }
                guard !gathered.isEmpty else { return }
                batchesOut += 1
                self.batchFrames.increment()
                var batch = Dialer_V1_AttemptResultBatch()
                batch.reports = gathered.compactMap { _, delivery in
                    if case .report(let report) = delivery { report } else { nil }
                }
                group.addTask { [gathered, batch] in
                    do {
                        let reply = try await link.request(.attemptResultBatch(batch), timeout: timeout)
                        return .batchAnswered(gathered, reply, timedOut: false)
                    } catch {
                        return .batchAnswered(gathered, nil, timedOut: error is RequestTimedOut)
                    }
                }
            }
            let pause = transientRetryDelay
            func retryLater(_ deliveries: [(AttemptID, Delivery)]) {
                guard !deliveries.isEmpty else { return }
                group.addTask {
                    try? await Task.sleep(for: pause)
                    return .retryDue(deliveries)
                }
            }
            listen()
            sendWaiting()
            while let event = await group.next() {
                switch event {
                case .woken(let more):
                    guard more, !Task.isCancelled else {
                        group.cancelAll()
                        return
                    }
                    listen()
                case .answered(let id, let delivery, let reply, let timedOut):
                    inFlight -= 1
                    if answered(id, delivery: delivery, on: current, Answer(reply: reply, timedOut: timedOut)) {
                        retryLater([(id, delivery)])
                    }
                case .batchAnswered(let deliveries, let reply, let timedOut):
                    inFlight -= deliveries.count
                    batchesOut -= 1
                    // Each result is kept or dropped on its own answer, as if it had gone alone.
                    var again: [(AttemptID, Delivery)] = []
                    for (entry, answer) in zip(deliveries, batchAnswers(deliveries, reply: reply, timedOut: timedOut))
                    where answered(entry.0, delivery: entry.1, on: current, answer) {
                        again.append(entry)
                    }
                    retryLater(again)
                case .retryDue(let deliveries):
                    for (id, delivery) in deliveries { retryDue(id, delivery: delivery) }
                }
                sendWaiting()
            }
        }
    }

    /// Handles the answer to one report; `true` when it is to be sent again after a pause (it
    /// stays marked as in flight on its connection until then).
    @discardableResult
    private func answered(_ id: AttemptID, delivery: Delivery, on sent: UInt64, _ answer: Answer) -> Bool {
        // A newer report of the same attempt replaced this one: its own answer counts.
        guard outbox[id]?.delivery == delivery else { return false }
        switch answer {
        case .acknowledged:
            acknowledged.increment()
            outbox[id] = nil
        case .refused(let error) where Self.isTransient(error.code):
            // The manager could not apply it now (its store failed the batch): the report
            // stays, and is sent again after a pause.
            logger.warning(
                "the manager could not apply a result now; it is sent again",
                metadata: [
                    "attempt": "\(id)", "code": "\(error.code.name)", "detail": "\(LogText.escaped(error.message))",
                ])
            waitingReports.record(outbox.count)
            return true
        case .refused(let error):
            // The manager will never accept it (not this node's attempt, closed as unknown after
            // this node was lost, unreadable): sending it again changes nothing.
            refusedReports.increment()
            logger.warning(
                "the manager refused a result",
                metadata: [
                    "attempt": "\(id)", "code": "\(error.code.name)", "detail": "\(LogText.escaped(error.message))",
                ])
            outbox[id] = nil
        case .none(let timedOut):
            // No answer in time: send it again on the same connection. A closed connection
            // waits for the next one, which sends everything again.
            guard timedOut, sent == connection else { return false }
            outbox[id]?.inFlightOn = nil
        }
        waitingReports.record(outbox.count)
        return false
    }

    /// Each result's answer in the reply to an `AttemptResultBatch` of `deliveries`: its own
    /// entry of the acknowledgement, or the batch's error for all of them (`INTERNAL`: each is
    /// sent again, as alone). An entry missing or naming another attempt is the manager's fault;
    /// its result is kept and sent again after the pause, as if refused for now.
    private func batchAnswers(_ deliveries: [(AttemptID, Delivery)], reply: Envelope?, timedOut: Bool) -> [Answer] {
        switch reply?.message {
        case .attemptResultBatchAck(let ack):
            return deliveries.enumerated().map { index, entry in
                guard index < ack.answers.count, ack.answers[index].attempt == entry.0.rawValue else {
                    var error = Dialer_V1_Error()
                    error.code = .internal
                    error.message = "the batch's answer has no entry for this attempt"
                    return .refused(error)
                }
                let answer = ack.answers[index]
                return answer.hasError ? .refused(answer.error) : .acknowledged
            }
        case .error(let error):
            return deliveries.map { _ in .refused(error) }
        default:
            return deliveries.map { _ in .none(timedOut: timedOut) }
        }
    }

    /// The pause is over: the report goes out again, unless it was answered or replaced since.
    private func retryDue(_ id: AttemptID, delivery: Delivery) {
        guard outbox[id]?.delivery == delivery else { return }
        outbox[id]?.inFlightOn = nil
    }

    /// Refusals that say "not now" rather than "never": the report is kept and sent again.
    /// (A fatal code such as `SHUTTING_DOWN` closes the connection instead, and the next
    /// connection sends every unacknowledged report again.)
    static func isTransient(_ code: Dialer_V1_ErrorCode) -> Bool {
        code == .internal
    }
}

/// Why the feed could not answer.
public enum CampaignFeedError: Error, Hashable, Sendable {
    /// The node has no manager connection now.
    case notConnected
    /// The lease is not valid on this node's clock: the queue must not act.
    case leaseNotValid(HeldLease)
    /// The manager says the node does not own the queue under this epoch (`STALE_EPOCH`,
    /// `NOT_OWNER`): stop the queue; the next renewal answer confirms it.
    case fenced(code: String, message: String)
    /// The manager refused the request for another reason (`NOT_FOUND`, `INVALID_ARGUMENT` ...).
    case refused(code: String, message: String)
    /// No answer in time, or the connection closed while waiting.
    case noAnswer(String)
    /// The answer could not be read.
    case unreadable(String)
    /// The campaign's settings arrived unreadable or invalid (each problem as "field: what is
    /// wrong"): the queue does not dial with them.
    case invalidSettings([String])
}
