import DialerCore
import DialerProtocol
import DialerRuntime
import DialerTransport
import Logging

/// Serves nodes on the gateway's cluster port: queue subscriptions, fenced by epoch, and the
/// reservation protocol (requests for agents, confirm, release, cancel, call ended).
struct GatewayNodeListener: Sendable {
    let queueMap: GatewayQueueMap
    let reservations: ReservationService
    let clock: any DialerClock
    let logger: Logger
    /// The gateway's part of the reservation round trip
    /// (`dialer_gateway_reservation_answer_seconds`): from a request taken off its node's
    /// connection to its answer queued for the node, for requests answered at once. It
    /// includes the wait for the reservation service, not the frames' way through the loops.
    let recordAnswer: @Sendable (Duration) -> Void

    init(
        queueMap: GatewayQueueMap, reservations: ReservationService, clock: any DialerClock, logger: Logger,
        recordAnswer: (@Sendable (Duration) -> Void)? = nil
    ) {
        self.queueMap = queueMap
        self.reservations = reservations
        self.clock = clock
        self.logger = logger
        self.recordAnswer = recordAnswer ?? durationRecorder(label: "dialer_gateway_reservation_answer_seconds")
    }

    func handle(_ connection: ClusterConnection) async {
        let node = MemberID(connection.peer.memberID)
        let queueMap = self.queueMap
        let logger = self.logger
        var number: UInt64?
        _ = try? await connection.run { link, inbound in
            let connectionNumber = await reservations.nodeConnected(node, sink: LinkSink(link))
            number = connectionNumber
            do {
                try await inbound.forEach { envelope in
                    switch envelope.message {
                    case .queueSubscribe(let subscribe):
                        let lease = subscribe.lease.held
                        guard !lease.queue.rawValue.isEmpty else {
                            try await link.send(
                                .error(.invalidArgument, "queue is required", correlationID: envelope.correlationID))
                            return
                        }
                        switch await queueMap.subscribe(lease, from: node) {
                        case .accepted:
                            var reply = Dialer_V1_QueueSubscribed()
                            reply.lease = subscribe.lease
                            try await link.reply(to: envelope, with: .queueSubscribed(reply))
                        case .staleEpoch(let current):
                            try await link.send(
                                .error(
                                    .staleEpoch,
                                    "epoch \(lease.epoch) of \(lease.queue) is stale; current is \(current)",
                                    correlationID: envelope.correlationID))
                        case .notOwner:
                            try await link.send(
                                .error(
                                    .notOwner, "\(lease.queue) under epoch \(lease.epoch) belongs to another node",
                                    correlationID: envelope.correlationID))
                        }
                    case .queueUnsubscribe(let unsubscribe):
                        await queueMap.unsubscribe(unsubscribe.lease.held, from: node)
                    case .agentRequest(let request):
                        await self.request(request, envelope: envelope, node: node, connection: connectionNumber, link)
                    case .reservationConfirm, .reservationRelease, .reservationCancel, .callEnded:
                        await reservation(envelope, node: node, link)
                    case .heartbeat:
                        break
                    case .error(let error):
                        logger.notice(
                            "node reported an error", metadata: ["node": "\(node)", "code": "\(error.code.name)"])
                    default:
                        link.close(with: .unexpectedMessage, "\(envelope.kindName) is not accepted by the gateway")
                    }
                }
            } catch {
                logger.debug("node connection ended", metadata: ["node": "\(node)", "error": "\(error)"])
            }
        }
        await queueMap.nodeDisconnected(node)
        if let number { await reservations.nodeDisconnected(node, connection: number) }
    }

    /// An `AgentRequest`: answered later, exactly once, by an `AgentRequestAnswer`. A request the
    /// gateway cannot take at all (a field missing, an id still held) is answered with an error.
    private func request(
        _ message: Dialer_V1_AgentRequest,
        envelope: Envelope,
        node: MemberID,
        connection: UInt64,
        _ link: ClusterLink
    ) async {
        func refuse(_ text: String) {
            link.sendNow(.error(.invalidArgument, text, correlationID: envelope.correlationID))
        }
        guard !message.request.isEmpty else { return refuse("request is required") }
        guard !message.lease.queue.isEmpty else { return refuse("lease.queue is required") }
        guard let kind = message.kind.domain else { return refuse("kind is required") }
        guard message.servingQueue.isEmpty || kind == .inboundCall else {
            return refuse("serving_queue is for inbound calls only")
        }
        guard message.servingQueue.utf8.count <= 128 else { return refuse("serving_queue must be at most 128 bytes") }
        let taken = clock.now()
        let request = ReservationRequest(
            id: RequestID(message.request),
            queue: QueueID(message.lease.queue),
            epoch: Epoch(message.lease.epoch),
            node: node,
            kind: kind,
            namedAgent: message.namedAgent.isEmpty ? nil : AgentID(message.namedAgent),
            deadline: clock.now() + .wireMilliseconds(message.deadlineMs),
            servingQueue: message.servingQueue.isEmpty ? nil : QueueID(message.servingQueue))
        do {
            let answeredAtOnce = try await reservations.request(
                request, contact: message.hasContact ? message.contact : nil, connection: connection)
            if answeredAtOnce { recordAnswer(clock.now() - taken) }
        } catch {
            link.sendNow(error.envelope(correlationID: envelope.correlationID))
        }
    }

    /// Confirm, release, cancel and call ended: each answered `ReservationAck` or an error.
    private func reservation(_ envelope: Envelope, node: MemberID, _ link: ClusterLink) async {
        let id: String
        do {
            switch envelope.message {
            case .reservationConfirm(let confirm):
                id = confirm.request
                try await reservations.confirm(
                    RequestID(id), epoch: Epoch(confirm.lease.epoch), from: node,
                    contact: confirm.hasContact ? confirm.contact : nil)
            case .reservationRelease(let release):
                id = release.request
                try await reservations.release(RequestID(id), from: node)
            case .reservationCancel(let cancel):
                id = cancel.request
                try await reservations.cancel(RequestID(id), from: node)
            case .callEnded(let ended):
                id = ended.request
                try await reservations.callEnded(RequestID(id), from: node)
            default:
                return
            }
        } catch {
            link.sendNow(error.envelope(correlationID: envelope.correlationID))
            return
        }
        var ack = Dialer_V1_ReservationAck()
        ack.request = id
        link.sendNow(Envelope(.reservationAck(ack), correlationID: envelope.correlationID))
    }
}
