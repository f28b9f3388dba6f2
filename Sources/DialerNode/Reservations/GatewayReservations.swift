public import DialerCore
public import DialerProtocol
public import DialerTransport
import Metrics
import NIOPosix

/// The node's side of the reservation protocol: asks the gateway for agents and tells it what
/// became of them. A queue runner uses it; the node's gateway session feeds it the connection
/// and the inbound messages.
///
/// Every ``request(_:)`` returns exactly one answer, even when the connection drops before the
/// gateway answered (then ``Answer/connectionLost``: the gateway has declared the node lost and
/// returned the agent, if it had granted one).
public actor GatewayReservations {
    /// What the gateway answered to a request.
    public enum Answer: Hashable, Sendable {
        /// The agent is the node's until the lease ends: confirm (bridge the call) or release.
        case granted(agent: AgentID, lease: Duration)
        /// Refused; `reason` names why (stale-epoch, not-owner, owner-changed, node-lost,
        /// cancelled, or the gateway's error text for a request it could not take).
        case rejected(reason: String, currentEpoch: Epoch?)
        /// No agent became available before the deadline.
        case timedOut
        /// The connection to the gateway dropped (or there was none) before the answer.
        case connectionLost
    }

    /// A request for an agent, as a queue runner makes it.
    public struct Request: Hashable, Sendable {
        public var queue: QueueID
        public var epoch: Epoch
        public var kind: RequestKind
        /// How long the node waits for an agent.
        public var deadline: Duration
        /// Only this agent may take it (a private callback).
        public var namedAgent: AgentID?
        /// What the agent's desktop shows.
        public var contact: Dialer_V1_ContactCard?
        /// An inbound call routed to another queue: that queue's agents take it.
        public var servingQueue: QueueID?

        public init(
            queue: QueueID,
            epoch: Epoch,
            kind: RequestKind,
            deadline: Duration,
            namedAgent: AgentID? = nil,
            contact: Dialer_V1_ContactCard? = nil,
            servingQueue: QueueID? = nil
        ) {
            self.servingQueue = servingQueue
            self.queue = queue
            self.epoch = epoch
            self.kind = kind
            self.deadline = deadline
            self.namedAgent = namedAgent
            self.contact = contact
        }
    }

    /// Something the gateway says about a granted or connected agent after the answer.
    public enum Notice: Hashable, Sendable {
        /// The unconfirmed grant was taken back: do not bridge to the agent.
        case revoked(RequestID, agent: AgentID, reason: String)
        /// The agent hung up: end the call, then send ``callEnded(_:)``.
        case hangup(RequestID)
    }

    /// How long one request took, from the node's send to the node's receipt of its answer.
    public struct Timing: Hashable, Sendable {
        /// The time from the request to its answer.
        public var roundTrip: Duration
        /// The gateway held the request (no agent was free, or an offer waited for the agent)
        /// before answering: the time includes that wait, so it is not the gateway's latency.
        public var held: Bool

        public init(roundTrip: Duration, held: Bool) {
            self.roundTrip = roundTrip
            self.held = held
        }
    }

    /// Records each request's ``Timing``: answers given on receipt to
    /// `dialer_node_reservation_round_trip_seconds` (the reservation round trip: the request's
    /// way to the gateway, the book's decision, the answer's way back, and this node's own
    /// scheduling), held ones to `dialer_node_reservation_held_seconds` (that plus the wait
    /// for an agent).
    public static func metricsRecorder() -> @Sendable (Timing) -> Void {
        let onReceipt = Timer(label: "dialer_node_reservation_round_trip_seconds")
        let held = Timer(label: "dialer_node_reservation_held_seconds")
        return { timing in
            (timing.held ? held : onReceipt).recordNanoseconds(timing.roundTrip.totalNanoseconds)
        }
    }

    /// A failure of confirm, release, cancel or call ended.
    public struct Refused: Error, Hashable, Sendable, CustomStringConvertible {
        public var code: ProtocolErrorCode
        public var message: String
        public var description: String { "\(code.name): \(message)" }
    }

    private let prefix: String
    /// Agents' phones from their grants (SIP URIs), for the trunk's bridges.
    private var agentPhones: [AgentID: String] = [:]
    private var counter: UInt64 = 0
    private var link: ClusterLink?
    private var waiting: [RequestID: Waiting] = [:]
    /// The waiting requests by the correlation id their send carried: the gateway refuses a
    /// request it cannot take (a field missing, an id still held) with an error under that id.
    private var byCorrelation: [UInt64: RequestID] = [:]
    private let clock: any DialerClock
    private let recordTiming: @Sendable (Timing) -> Void
    /// The last picture of each queue, for listeners that come later.
    private var latestPictures: [QueueID: Dialer_V1_QueuePictureUpdate] = [:]
    private var pictureListeners: [QueueID: [Int: AsyncStream<Dialer_V1_QueuePictureUpdate>.Continuation]] = [:]
    private var noticeListeners: [Int: AsyncStream<Notice>.Continuation] = [:]
    private var nextListener = 0
    private let timeout: Duration
    private let executor: any SerialExecutor
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    /// - Parameters:
    ///   - prefix: makes request ids unique across the node's processes and the gateway's
    ///     other nodes: the node id and an incarnation, say.
    ///   - timeout: how long a confirm, release, cancel or call ended waits for the gateway's
    ///     acknowledgement (a request for an agent waits for its answer, which always comes).
    ///   - clock: times each request to its answer.
    ///   - recordTiming: gets each answered request's ``Timing`` (by default the node's
    ///     histograms, ``metricsRecorder()``).
    ///   - executor: where the actor runs. The node gives the event loop its gateway connection
    ///     is opened on (whose reader runs there too), so that an answer is taken and timed on
    ///     the thread that read it rather than after a wait for a thread of the cooperative pool;
    ///     by default a loop of the shared group.
    public init(
        prefix: String, timeout: Duration = .seconds(5), clock: any DialerClock = SystemClock(),
        executor: (any SerialExecutor)? = nil,
        recordTiming: @escaping @Sendable (Timing) -> Void = GatewayReservations.metricsRecorder()
    ) {
        self.prefix = prefix
        self.timeout = timeout
        self.clock = clock
        self.executor = executor ?? MultiThreadedEventLoopGroup.singleton.next().executor
        self.recordTiming = recordTiming
    }

    // MARK: The connection

    /// A connection to the gateway is up (or, with `nil`, down). Requests waiting on the old
    /// connection are answered ``Answer/connectionLost``.
    public func connected(_ link: ClusterLink?) {
        self.link = link
        let lost = waiting
        waiting = [:]
        byCorrelation = [:]
        for request in lost.values { request.continuation.resume(returning: .connectionLost) }
    }

    /// The phone an agent gave at login, as their latest grant carried it (`nil`: none).
    public func agentPhone(_ agent: AgentID) -> String? { agentPhones[agent] }

    /// An inbound message from the gateway; returns whether it was one of the reservation
    /// protocol's.
    @discardableResult
    public func receive(_ envelope: Envelope) -> Bool {
        switch envelope.message {
        case .agentRequestAnswer(let answer):
            guard let continuation = answered(RequestID(answer.request), held: answer.held) else { return true }
            switch answer.answer {
            case .granted:
                // Known before the grant reaches its runner, so that the bridge finds it.
                agentPhones[AgentID(answer.agent)] = answer.agentPhone.isEmpty ? nil : answer.agentPhone
                continuation.resume(
                    returning: .granted(agent: AgentID(answer.agent), lease: .wireMilliseconds(answer.leaseMs)))
            case .timedOut:
                continuation.resume(returning: .timedOut)
            default:
                continuation.resume(
                    returning: .rejected(
                        reason: answer.reason, currentEpoch: answer.currentEpoch == 0 ? nil : Epoch(answer.currentEpoch)
                    ))
            }
        case .grantRevoked(let revoked):
            notify(.revoked(RequestID(revoked.request), agent: AgentID(revoked.agent), reason: revoked.reason))
        case .hangupRequest(let hangup):
            notify(.hangup(RequestID(hangup.request)))
        case .error(let error):
            // A refusal of a request outright, under its send's correlation id; other errors
            // are not the reservation protocol's.
            guard let id = byCorrelation[envelope.correlationID],
                let continuation = answered(id, held: false)
            else { return false }
            continuation.resume(returning: .rejected(reason: error.message, currentEpoch: nil))
        case .queuePicture(let picture):
            latestPictures[QueueID(picture.lease.queue)] = picture
            for listener in pictureListeners[QueueID(picture.lease.queue)]?.values ?? [:].values {
                listener.yield(picture)
            }
        default:
            return false
        }
        return true
    }

    // MARK: Requests

    /// A fresh request id.
    public func makeRequestID() -> RequestID {
        counter += 1
        return RequestID("\(prefix)-\(counter)")
    }

    /// Asks the gateway for an agent and waits for its one answer (possibly until the deadline).
    public func request(_ request: Request, id: RequestID? = nil) async -> Answer {
        let id = id ?? makeRequestID()
        guard let link else { return .connectionLost }
        var message = Dialer_V1_AgentRequest()
        message.lease = Dialer_V1_QueueLease(HeldLease(queue: request.queue, epoch: request.epoch))
        message.request = id.rawValue
        message.kind = Dialer_V1_RequestKind(request.kind)
        message.namedAgent = request.namedAgent?.rawValue ?? ""
        message.deadlineMs = UInt32(clamping: request.deadline.totalMilliseconds)
        if let contact = request.contact { message.contact = contact }
        if let serving = request.servingQueue { message.servingQueue = serving.rawValue }
        guard waiting[id] == nil else {
            return .rejected(reason: "request \(id) is already waiting for its answer", currentEpoch: nil)
        }
        return await withCheckedContinuation { continuation in
            let sent = clock.now()
            // The answer is matched by request id; an error the gateway sends instead (a request
            // it cannot take) by the correlation id of this send. Sent from here, not from a task
            // of its own: that task's wait for a thread would be part of every round trip.
            let correlation: UInt64
            do {
                correlation = try link.sendRequestNow(.agentRequest(message))
            } catch is ConnectionClosed {
                return continuation.resume(returning: .connectionLost)
            } catch {
                return continuation.resume(returning: .rejected(reason: "\(error)", currentEpoch: nil))
            }
            waiting[id] = Waiting(continuation: continuation, sentAt: sent, correlation: correlation)
            byCorrelation[correlation] = id
        }
    }

    /// A request waiting for its answer.
    private struct Waiting {
        var continuation: CheckedContinuation<Answer, Never>
        /// When it was sent, on ``clock``.
        var sentAt: Moment
        /// The correlation id its send carried.
        var correlation: UInt64
    }

    /// Takes the request's answer: its continuation, once its timing is recorded (`nil`: not
    /// waiting, answered already or sent on a connection since lost).
    private func answered(_ id: RequestID, held: Bool) -> CheckedContinuation<Answer, Never>? {
        guard let request = waiting.removeValue(forKey: id) else { return nil }
        byCorrelation[request.correlation] = nil
        recordTiming(Timing(roundTrip: clock.now() - request.sentAt, held: held))
        return request.continuation
    }

    /// The call is bridged to the granted agent; `contact` is what the agent's desktop shows, when
    /// the request did not carry it.
    public func confirm(
        _ id: RequestID, epoch: Epoch, queue: QueueID, contact: Dialer_V1_ContactCard? = nil
    ) async throws {
        var message = Dialer_V1_ReservationConfirm()
        message.request = id.rawValue
        message.lease = Dialer_V1_QueueLease(HeldLease(queue: queue, epoch: epoch))
        if let contact { message.contact = contact }
        try await acknowledged(.reservationConfirm(message))
    }

    /// Gives the granted agent back without a call.
    public func release(_ id: RequestID) async throws {
        var message = Dialer_V1_ReservationRelease()
        message.request = id.rawValue
        try await acknowledged(.reservationRelease(message))
    }

    /// Withdraws a request (pending, offered or granted).
    public func cancel(_ id: RequestID) async throws {
        var message = Dialer_V1_ReservationCancel()
        message.request = id.rawValue
        try await acknowledged(.reservationCancel(message))
    }

    /// The confirmed call ended; the agent goes to wrap-up.
    public func callEnded(_ id: RequestID) async throws {
        var message = Dialer_V1_CallEnded()
        message.request = id.rawValue
        try await acknowledged(.callEnded(message))
    }

    private func acknowledged(_ message: Envelope.OneOf_Message) async throws {
        guard let link else { throw ConnectionClosed() }
        let reply = try await link.request(message, timeout: timeout)
        switch reply.message {
        case .reservationAck: return
        case .error(let error): throw Refused(code: error.code, message: error.message)
        default: throw Refused(code: .unexpectedMessage, message: "the gateway answered \(reply.kindName)")
        }
    }

    // MARK: Streams

    /// The queue's pictures from now on, as the gateway sends them (on change, at most every
    /// picture interval), while the node owns the queue.
    public func pictures(of queue: QueueID) -> AsyncStream<Dialer_V1_QueuePictureUpdate> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: Dialer_V1_QueuePictureUpdate.self, bufferingPolicy: .bufferingNewest(1))
        let id = nextListener
        nextListener += 1
        pictureListeners[queue, default: [:]][id] = continuation
        // A runner that starts after the last change still needs the picture as it is now.
        if let latest = latestPictures[queue] { continuation.yield(latest) }
        continuation.onTermination = { _ in Task { await self.removePictureListener(queue, id) } }
        return stream
    }

    /// Revocations and hang-ups from now on.
    public func notices() -> AsyncStream<Notice> {
        let (stream, continuation) = AsyncStream.makeStream(of: Notice.self)
        let id = nextListener
        nextListener += 1
        noticeListeners[id] = continuation
        continuation.onTermination = { _ in Task { await self.removeNoticeListener(id) } }
        return stream
    }

    private func removePictureListener(_ queue: QueueID, _ id: Int) {
        pictureListeners[queue]?[id] = nil
    }

    private func removeNoticeListener(_ id: Int) {
        noticeListeners[id] = nil
    }

    private func notify(_ notice: Notice) {
        for listener in noticeListeners.values { listener.yield(notice) }
    }
}
