/// Identifies one renewal request (or rejoin report) of a node, so that its answer can be
/// matched with the moment it was sent.
public struct RenewalRequest: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { "#\(rawValue)" }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Why a node stops working a queue.
public enum LeaseStopReason: Hashable, Sendable {
    /// The lease's validity passed on the node's own clock before a renewal came back.
    case lapsed
    /// The manager asked for the queue back.
    case revoked
    /// The manager refused to renew the lease.
    case rejected(LeaseRejection)
    /// A newer epoch of the same queue arrived (the old lease is over at the manager).
    case superseded
    /// The node is draining.
    case drained
    /// The node is shutting down.
    case shutdown
}

/// What a node must do after a ``NodeLeaseBook`` event.
///
/// Stopping and releasing are separate on purpose: a queue runner may later finish the calls
/// in hand between the two, while the manager keeps renewing the lease under handoff.
public enum NodeLeaseAction: Hashable, Sendable {
    /// Start working `queue` under `epoch` (every message about it carries the epoch).
    case startQueue(QueueID, Epoch)
    /// Stop working `queue` under `epoch` now: no new call, no new reservation.
    case stopQueue(QueueID, Epoch, LeaseStopReason)
    /// Tell the manager the node hands `queue` back.
    case release(QueueID, Epoch)
}

/// A lease a node believes valid, and until when, on the node's own clock.
public struct ValidLease: Hashable, Sendable {
    public var queue: QueueID
    public var epoch: Epoch
    public var validUntil: Moment

    public init(queue: QueueID, epoch: Epoch, validUntil: Moment) {
        self.queue = queue
        self.epoch = epoch
        self.validUntil = validUntil
    }
}

/// A node's own view of the queues leased to it, and whether it may still act on them.
///
/// The node and the manager have different clocks, so the node never uses the manager's
/// expiry. It believes a lease valid until `anchor + leaseDuration − safetyMargin`, where the
/// anchor is a moment on the node's clock no later than the moment the manager started (or
/// extended) the lease:
/// - for a renewal, the moment the node *sent* the request: the manager can only have renewed
///   after that, so the manager's lease outlives the node's belief whatever the delays;
/// - for a grant anchored by a request (``granted(queue:epoch:anchoredBy:at:)``), the moment
///   the node sent that request, which the manager had received before it granted: equally
///   safe whatever the delays, including a grant read late by a process that was stopped;
/// - for a plain grant (``granted(queue:epoch:at:)``), the moment it was *received*. That is
///   later than the manager's start by the one-way delay, so it is safe only while the delay
///   (including any time the grant waited in the socket of a stalled process) stays below
///   `safetyMargin`. Prefer the anchored form where the protocol carries the anchor.
/// The margin also absorbs the difference between the two clocks' rates over one lease.
///
/// Validity is always computed from the moment passed in, never from the last ``tick(at:)``,
/// so that a process that was frozen and wakes up does not act on a lease that has passed
/// before its next tick.
public struct NodeLeaseBook: Sendable {
    private struct Entry: Sendable {
        var epoch: Epoch
        var validUntil: Moment
        /// The queue runner was told to stop when validity passed; the lease is kept only to be
        /// reported when the node registers again.
        var lapsed: Bool
    }

    /// The lease period the manager grants.
    public let leaseDuration: Duration
    /// How much earlier than the manager the node stops believing in a lease.
    public let safetyMargin: Duration

    private var entries: [QueueID: Entry] = [:]
    /// The highest epoch ever heard of per queue, so that a late or repeated grant of an older
    /// epoch is not mistaken for a new lease.
    private var knownEpochs: [QueueID: Epoch] = [:]
    /// The send moment of each recent request, kept while a lease anchored there could still
    /// be valid.
    private var anchors: [RenewalRequest: Moment] = [:]
    /// Requests sent and not yet answered.
    private var pending: Set<RenewalRequest> = []
    private var lastRequest: UInt64 = 0
    private var isShutDown = false

    /// A book with no lease. `safetyMargin` must be at least zero and below `leaseDuration`.
    public init(leaseDuration: Duration, safetyMargin: Duration) {
        precondition(safetyMargin >= .zero && safetyMargin < leaseDuration, "margin must fit in the lease")
        self.leaseDuration = leaseDuration
        self.safetyMargin = safetyMargin
    }

    private var validSpan: Duration { leaseDuration - safetyMargin }

    // MARK: Read-only views

    /// The epoch under which the node may act on `queue` at `now`, or `nil`.
    public func isValid(_ queue: QueueID, at now: Moment) -> Epoch? {
        guard let entry = entries[queue], !entry.lapsed, entry.validUntil > now else { return nil }
        return entry.epoch
    }

    /// Every lease valid at `now`, sorted by queue.
    public func validLeases(at now: Moment) -> [ValidLease] {
        entries.keys.sorted().compactMap { queue in
            guard let entry = entries[queue], !entry.lapsed, entry.validUntil > now else { return nil }
            return ValidLease(queue: queue, epoch: entry.epoch, validUntil: entry.validUntil)
        }
    }

    // MARK: Grants and revocations

    /// The manager granted `queue` under `epoch`; the grant was received at `now`, which is the
    /// anchor (see ``NodeLeaseBook`` for when that is safe).
    ///
    /// A grant of an epoch no newer than one already known is ignored (a duplicate or a late
    /// message).
    public mutating func granted(queue: QueueID, epoch: Epoch, at now: Moment) -> [NodeLeaseAction] {
        accept(queue: queue, epoch: epoch, anchor: now, at: now)
    }

    /// The manager granted `queue` under `epoch` after it had received `request` from this
    /// node; the anchor is the moment the node sent `request`.
    ///
    /// If that moment is too old for the lease to be valid now (the node was stalled, or the
    /// request is unknown), the queue is not started and is released at once, so that the
    /// manager can grant it again with a fresh anchor.
    public mutating func granted(
        queue: QueueID,
        epoch: Epoch,
        anchoredBy request: RenewalRequest,
        at now: Moment
    ) -> [NodeLeaseAction] {
        accept(queue: queue, epoch: epoch, anchor: anchors[request], at: now)
    }

    private mutating func accept(queue: QueueID, epoch: Epoch, anchor: Moment?, at now: Moment) -> [NodeLeaseAction] {
        if let known = knownEpochs[queue], epoch <= known { return [] }
        knownEpochs[queue] = epoch
        var actions: [NodeLeaseAction] = []
        if let old = entries.removeValue(forKey: queue), !old.lapsed {
            actions.append(.stopQueue(queue, old.epoch, .superseded))
        }
        guard !isShutDown, let anchor, anchor + validSpan > now else {
            actions.append(.release(queue, epoch))
            return actions
        }
        entries[queue] = Entry(epoch: epoch, validUntil: anchor + validSpan, lapsed: false)
        actions.append(.startQueue(queue, epoch))
        return actions
    }

    /// The manager asked for `queue` (under `epoch`) back: stop it and release it.
    ///
    /// A revocation of an older epoch than the one held is stale and ignored. A revocation of a
    /// lease already stopped or released is answered with a release again, because the manager
    /// repeats revocations when a node registers again and the first release may have been
    /// lost with the connection.
    public mutating func revoked(queue: QueueID, epoch: Epoch, at now: Moment) -> [NodeLeaseAction] {
        if let known = knownEpochs[queue], epoch < known { return [] }
        knownEpochs[queue] = epoch
        var actions: [NodeLeaseAction] = []
        if let entry = entries.removeValue(forKey: queue), !entry.lapsed {
            // An older epoch still held is over at the manager, which has issued `epoch` since.
            actions.append(.stopQueue(queue, entry.epoch, entry.epoch == epoch ? .revoked : .superseded))
        }
        actions.append(.release(queue, epoch))
        return actions
    }

    // MARK: Renewals

    /// Builds the next renewal: the leases valid at `now`, under a new request number whose
    /// anchor is `now` (call it just before sending).
    public mutating func makeRenewal(at now: Moment) -> (request: RenewalRequest, held: [HeldLease]) {
        let request = newRequest(at: now)
        let held = entries.keys.sorted().compactMap { queue -> HeldLease? in
            guard let entry = entries[queue], !entry.lapsed, entry.validUntil > now else { return nil }
            return HeldLease(queue: queue, epoch: entry.epoch)
        }
        return (request, held)
    }

    /// Builds the report a node sends when it registers again: every lease it holds, and every
    /// lease it stopped by lapse and has had no answer about since. The manager renews or
    /// rejects each one; the answer comes back through
    /// ``renewalAnswered(request:renewed:rejected:at:)`` like a renewal's.
    public mutating func reportOnRejoin(at now: Moment) -> (request: RenewalRequest, held: [HeldLease]) {
        let request = newRequest(at: now)
        let held = entries.keys.sorted().map { HeldLease(queue: $0, epoch: entries[$0]!.epoch) }
        return (request, held)
    }

    /// The manager answered `request`.
    ///
    /// Renewed leases are valid until the request's anchor plus the lease minus the margin; a
    /// lease that had lapsed and is renewed while that is still ahead starts again. Rejected
    /// leases stop. Answers to unknown, already answered or too old requests are ignored:
    /// such an answer can no longer extend a lease, and a rejection will be repeated by the
    /// next renewal.
    public mutating func renewalAnswered(
        request: RenewalRequest,
        renewed: [HeldLease],
        rejected: [RejectedLease],
        at now: Moment
    ) -> [NodeLeaseAction] {
        prune(at: now)
        guard pending.remove(request) != nil, let anchor = anchors[request] else { return [] }
        let validUntil = anchor + validSpan
        var actions: [NodeLeaseAction] = []
        for lease in renewed {
            guard var entry = entries[lease.queue], entry.epoch == lease.epoch else { continue }
            if entry.lapsed {
                guard validUntil > now, !isShutDown else { continue }
                entry.lapsed = false
                entry.validUntil = validUntil
                actions.append(.startQueue(lease.queue, lease.epoch))
            } else {
                entry.validUntil = max(entry.validUntil, validUntil)
            }
            entries[lease.queue] = entry
        }
        for lease in rejected {
            guard let entry = entries[lease.queue], entry.epoch == lease.epoch else { continue }
            entries[lease.queue] = nil
            if !entry.lapsed {
                actions.append(.stopQueue(lease.queue, lease.epoch, .rejected(lease.reason)))
            }
        }
        return actions
    }

    // MARK: Time and lifecycle

    /// Time passes: every lease whose validity has passed stops at once.
    public mutating func tick(at now: Moment) -> [NodeLeaseAction] {
        prune(at: now)
        var actions: [NodeLeaseAction] = []
        for queue in entries.keys.sorted() {
            guard var entry = entries[queue], !entry.lapsed, entry.validUntil <= now else { continue }
            entry.lapsed = true
            entries[queue] = entry
            actions.append(.stopQueue(queue, entry.epoch, .lapsed))
        }
        return actions
    }

    /// The node drains: stop and release everything. Later grants are accepted again (the
    /// manager grants nothing to a draining node; a resume makes it eligible again).
    public mutating func drain(at now: Moment) -> [NodeLeaseAction] {
        stopAndReleaseAll(reason: .drained)
    }

    /// The node shuts down: stop and release everything, and release any later grant at once.
    public mutating func shutdown(at now: Moment) -> [NodeLeaseAction] {
        isShutDown = true
        return stopAndReleaseAll(reason: .shutdown)
    }

    private mutating func stopAndReleaseAll(reason: LeaseStopReason) -> [NodeLeaseAction] {
        var actions: [NodeLeaseAction] = []
        for queue in entries.keys.sorted() {
            guard let entry = entries[queue] else { continue }
            if !entry.lapsed {
                actions.append(.stopQueue(queue, entry.epoch, reason))
            }
            // A lapsed lease may still be alive on the manager: handing it back frees the
            // queue sooner than its expiry would.
            actions.append(.release(queue, entry.epoch))
        }
        entries.removeAll()
        return actions
    }

    private mutating func newRequest(at now: Moment) -> RenewalRequest {
        prune(at: now)
        lastRequest += 1
        let request = RenewalRequest(lastRequest)
        anchors[request] = now
        pending.insert(request)
        return request
    }

    /// Forgets requests whose anchor is too old to make any lease valid now.
    private mutating func prune(at now: Moment) {
        for (request, anchor) in anchors where anchor + validSpan <= now {
            anchors[request] = nil
            pending.remove(request)
        }
    }
}
