public import DialerCore
import DialerProtocol
import DialerTransport
public import Logging
import Metrics

/// The node's single owner of its leases and of the queues it works.
///
/// It holds the ``NodeLeaseBook`` (a pure state machine) and performs its actions: a started
/// queue gets a queue runner and is subscribed at the gateway under its epoch; a stopped queue
/// loses both at once; a release goes to the manager. Whether the node may act on a queue is
/// always computed from the clock at the moment of asking, so a process that was frozen
/// (SIGSTOP) never acts on a lease that passed while it slept.
public actor QueueOwnership {
    /// A queue this node works, as shown on the node's `/v1/leases`.
    public struct QueueView: Sendable, Equatable {
        public var queue: String
        public var epoch: UInt64
        public var validFor: Duration
        public var gatewaySubscribed: Bool
    }

    private struct Runner {
        var epoch: Epoch
        var subscribed = false
        /// The subscription request waiting for the gateway's answer, cancelled when the queue
        /// stops or the gateway connection changes.
        var subscription: Task<Void, Never>?
    }

    private var book: NodeLeaseBook
    private var runners: [QueueID: Runner] = [:]
    private var managerLink: ClusterLink?
    private var gatewayLink: ClusterLink?
    public private(set) var draining = false
    private let node: MemberID
    private let clock: any DialerClock
    private let logger: Logger
    private let activeQueues = Gauge(label: "dialer_node_active_queues")
    private let stops = Counter(label: "dialer_node_queue_stops_total")
    private let fencedOut = Counter(label: "dialer_node_fenced_out_total")
    /// Until when each lease is valid, for queue runners to check without waiting on this actor.
    public nonisolated let validity: LeaseValidity
    /// Queues starting and stopping, in order, for the node's dialing.
    public nonisolated let queueEvents: AsyncStream<QueueEvent>
    private let queueEventSink: AsyncStream<QueueEvent>.Continuation

    /// A queue the node starts or stops working.
    public enum QueueEvent: Hashable, Sendable {
        case started(QueueID, Epoch)
        case stopped(QueueID, Epoch)
    }

    public init(node: MemberID, leaseDuration: Duration, safetyMargin: Duration, clock: any DialerClock, logger: Logger)
    {
        self.node = node
        self.book = NodeLeaseBook(leaseDuration: leaseDuration, safetyMargin: safetyMargin)
        self.clock = clock
        self.logger = logger
        self.validity = LeaseValidity(clock: clock)
        (queueEvents, queueEventSink) = AsyncStream.makeStream(of: QueueEvent.self)
    }

    // MARK: Manager

    func managerConnected(_ link: ClusterLink?) {
        managerLink = link
    }

    /// The leases to report when registering (valid or lapsed since the last answer).
    func rejoinReport() -> (request: RenewalRequest, held: [HeldLease]) {
        book.reportOnRejoin(at: clock.now())
    }

    /// The next renewal, anchored now.
    func makeRenewal() -> (request: RenewalRequest, held: [HeldLease]) {
        book.makeRenewal(at: clock.now())
    }

    func renewalAnswered(request: RenewalRequest, answer: Dialer_V1_LeaseRenewed) {
        perform(
            book.renewalAnswered(
                request: request, renewed: answer.domainRenewed, rejected: answer.domainRejected, at: clock.now()))
    }

    func granted(_ grant: Dialer_V1_LeaseGrant) {
        let lease = grant.lease.held
        let now = clock.now()
        let actions =
            grant.anchorRenewalRequest == 0
            ? book.granted(queue: lease.queue, epoch: lease.epoch, at: now)
            : book.granted(
                queue: lease.queue, epoch: lease.epoch, anchoredBy: RenewalRequest(grant.anchorRenewalRequest), at: now)
        perform(actions)
    }

    func revoked(_ revoke: Dialer_V1_LeaseRevoke) {
        let lease = revoke.lease.held
        logger.info("lease revoked by the manager", metadata: ["queue": "\(lease.queue)", "epoch": "\(lease.epoch)"])
        perform(book.revoked(queue: lease.queue, epoch: lease.epoch, at: clock.now()))
    }

    func drain(resumed: Bool) {
        draining = !resumed
        logger.notice(resumed ? "drain lifted" : "draining: handing every queue back")
        if !resumed { perform(book.drain(at: clock.now())) }
    }

    /// Time passes: leases whose validity passed on this node's clock stop now.
    func tick() {
        perform(book.tick(at: clock.now()))
    }

    /// Graceful shutdown: stop every queue and hand every lease back, waiting until the
    /// releases are written so that the manager can move the queues at once.
    func shutdown() async {
        let actions = book.shutdown(at: clock.now())
        perform(actions, sendReleases: false)
        for runner in runners.values { runner.subscription?.cancel() }
        try? await managerLink?.send(Envelope(.leaving(.init())))
        for case .release(let queue, let epoch) in actions {
            var release = Dialer_V1_LeaseRelease()
            release.lease = Dialer_V1_QueueLease(HeldLease(queue: queue, epoch: epoch))
            try? await managerLink?.send(Envelope(.leaseRelease(release)))
        }
        logger.notice("shut down: leases released", metadata: ["count": "\(actions.count / 2)"])
    }

    // MARK: Gateway

    func gatewayConnected(_ link: ClusterLink?) {
        gatewayLink = link
        for queue in runners.keys {
            runners[queue]?.subscribed = false
            runners[queue]?.subscription?.cancel()
            runners[queue]?.subscription = nil
        }
        guard link != nil else { return }
        for (queue, runner) in runners { subscribe(queue, epoch: runner.epoch) }
    }

    private func subscribe(_ queue: QueueID, epoch: Epoch) {
        guard let link = gatewayLink else { return }
        var message = Dialer_V1_QueueSubscribe()
        message.lease = Dialer_V1_QueueLease(HeldLease(queue: queue, epoch: epoch))
        runners[queue]?.subscription?.cancel()
        runners[queue]?.subscription = Task {
            guard let reply = try? await link.request(.queueSubscribe(message)), !Task.isCancelled else { return }
            self.subscriptionAnswered(queue: queue, epoch: epoch, reply: reply)
        }
    }

    private func subscriptionAnswered(queue: QueueID, epoch: Epoch, reply: Envelope) {
        switch reply.message {
        case .queueSubscribed:
            if runners[queue]?.epoch == epoch { runners[queue]?.subscribed = true }
        case .error(let error) where error.code == .staleEpoch || error.code == .notOwner:
            // The gateway knows a newer owner: this node's lease is over, whatever its clock says.
            fencedOut.increment()
            logger.warning(
                "gateway refused the queue's epoch: stopping it",
                metadata: ["queue": "\(queue)", "epoch": "\(epoch)", "code": "\(error.code.name)"])
            perform(book.revoked(queue: queue, epoch: epoch, at: clock.now()))
        default:
            logger.notice(
                "unexpected answer to a queue subscription",
                metadata: ["queue": "\(queue)", "reply": "\(reply.kindName)"])
        }
    }

    // MARK: Views

    /// The queues this node may act on now, by its own clock.
    public func view() -> [QueueView] {
        book.validLeases(at: clock.now()).map { lease in
            QueueView(
                queue: lease.queue.rawValue, epoch: lease.epoch.rawValue, validFor: lease.validUntil - clock.now(),
                gatewaySubscribed: runners[lease.queue]?.subscribed ?? false)
        }
    }

    /// Whether the node may act on `queue` now, and under which epoch.
    public func mayAct(on queue: QueueID) -> Epoch? {
        book.isValid(queue, at: clock.now())
    }

    // MARK: Performing actions

    private func perform(_ actions: [NodeLeaseAction], sendReleases: Bool = true) {
        for action in actions {
            switch action {
            case .startQueue(let queue, let epoch):
                logger.info("queue started", metadata: ["queue": "\(queue)", "epoch": "\(epoch)"])
                runners[queue] = Runner(epoch: epoch)
                subscribe(queue, epoch: epoch)
                queueEventSink.yield(.started(queue, epoch))
            case .stopQueue(let queue, let epoch, let reason):
                stops.increment()
                logger.notice(
                    "queue stopped", metadata: ["queue": "\(queue)", "epoch": "\(epoch)", "reason": "\(reason)"])
                queueEventSink.yield(.stopped(queue, epoch))
                if runners[queue]?.epoch == epoch {
                    runners[queue]?.subscription?.cancel()
                    runners[queue] = nil
                    var message = Dialer_V1_QueueUnsubscribe()
                    message.lease = Dialer_V1_QueueLease(HeldLease(queue: queue, epoch: epoch))
                    gatewayLink?.sendNow(Envelope(.queueUnsubscribe(message)))
                }
            case .release(let queue, let epoch):
                guard sendReleases else { continue }
                var release = Dialer_V1_LeaseRelease()
                release.lease = Dialer_V1_QueueLease(HeldLease(queue: queue, epoch: epoch))
                managerLink?.sendNow(Envelope(.leaseRelease(release)))
            }
        }
        activeQueues.record(runners.count)
        validity.publish(book.validLeases(at: clock.now()))
    }
}
