/// What the manager must do after a ``LeaseTable`` event.
///
/// The actor that holds the table performs these in order: it sends grants, revocations and
/// renewal replies to nodes over their connections (dropping those for a node that is not
/// connected), reports drained nodes to the operator, and pushes a queue-map snapshot tagged
/// with the version to the gateways.
public enum LeaseAction: Hashable, Sendable {
    /// Tell `node` it owns `queue` under `epoch`; the manager's lease ends at `expiresAt`
    /// unless renewed. Send it with the id of the last renewal (or rejoin report) received from
    /// the node, so that the node can anchor the lease at the moment it sent that request,
    /// which is safe whatever the delivery delay (see
    /// ``NodeLeaseBook/granted(queue:epoch:anchoredBy:at:)``).
    case grant(MemberID, QueueID, Epoch, expiresAt: Moment)
    /// Ask `node` to hand `queue` (held under `epoch`) back by releasing it.
    case revoke(MemberID, QueueID, Epoch, HandoffReason)
    /// The answer to one renewal (or rejoin report) from `to`.
    case renewReply(to: MemberID, renewed: [RenewedLease], rejected: [RejectedLease])
    /// A release that did not match the sender's current lease (a duplicate, or a lease that
    /// had already moved on); nothing changed.
    case releaseIgnored(MemberID, QueueID, Epoch)
    /// A node under drain holds no lease any more: the operator may stop it.
    case nodeDrained(MemberID)
    /// The queue map changed; gateways should get the snapshot of this version.
    case queueMapChanged(version: UInt64)
}

/// The manager's membership and queue map: which node owns which queue, under which epoch,
/// until when.
///
/// A pure state machine: it never reads a clock, every event takes the current moment and
/// returns the actions to perform. It enforces the rule the whole cluster relies on: a queue
/// gets a new lease (with a higher epoch) only after the previous lease was released by its
/// holder or has expired on the manager's clock. A node that disappears keeps its leases until
/// they expire, because it may still be dialing; it is the node's job to stop in time, which
/// it can do on its own clock (see ``NodeLeaseBook``).
///
/// Decisions worth knowing:
/// - A drain is an operator's intent and survives loss of the node: a draining or drained node
///   that is lost and registers again comes back drained (or draining while it still holds
///   leases), and only ``resume(_:at:)`` puts it back into placement. A node that was merely
///   lost comes back live.
/// - Removed queues remember their last epoch, so that a queue declared again continues its
///   epochs instead of starting at 1 again (gateways reject epochs lower than one they saw).
/// - A manager that restarts must not hand out queues whose leases it forgot: it starts with
///   ``init(leaseDuration:restoring:at:)``, grants nothing for one lease period, and adopts the
///   leases that their last grantees report in that window. This requires every grant (queue,
///   epoch, node) to be stored before it is sent.
/// - ``version`` changes when the set of queues, an owner, an epoch, a handoff or a pending
///   removal changes, not when a renewal moves an expiry: gateways fence on epochs, and a
///   version per heartbeat would flood them with snapshots.
public struct LeaseTable: Sendable {
    /// Where a node stands in the membership.
    public enum NodeState: String, Hashable, Sendable, CaseIterable {
        /// Connected and eligible for placement.
        case live
        /// Connected, under drain, still holding leases.
        case draining
        /// Connected, under drain, holding nothing.
        case drained
        /// Not connected (closed, or missed heartbeats). Its leases run out on their own.
        case lost
    }

    /// A queue's current lease on the manager.
    public struct Lease: Hashable, Sendable {
        /// The node that holds the lease.
        public var owner: MemberID
        /// The fencing token of this lease.
        public var epoch: Epoch
        /// The moment, on the manager's clock, at which the lease ends unless renewed.
        public var expiresAt: Moment
        /// Set once the owner has been asked to hand the queue back.
        public var handoff: HandoffReason?

        public init(owner: MemberID, epoch: Epoch, expiresAt: Moment, handoff: HandoffReason? = nil) {
            self.owner = owner
            self.epoch = epoch
            self.expiresAt = expiresAt
            self.handoff = handoff
        }
    }

    /// The last grant of a queue, as the manager stores it before sending it, so that a
    /// restarted manager can continue the epochs and recognise the holder.
    public struct LastGrant: Hashable, Sendable {
        public var epoch: Epoch
        public var owner: MemberID

        public init(epoch: Epoch, owner: MemberID) {
            self.epoch = epoch
            self.owner = owner
        }
    }

    /// One node in a ``Snapshot``.
    public struct NodeSnapshot: Hashable, Sendable {
        public var id: MemberID
        public var state: NodeState
        /// When the node last registered, renewed or released.
        public var lastSeen: Moment
        /// Whether a drain is in force (it survives a loss; see ``LeaseTable``).
        public var drainRequested: Bool
    }

    /// One queue in a ``Snapshot``.
    public struct QueueSnapshot: Hashable, Sendable {
        public var id: QueueID
        /// The lease holder, or `nil` while the queue waits for a node.
        public var owner: MemberID?
        /// The last epoch issued for the queue (the current lease's, if there is one).
        public var epoch: Epoch
        /// The end of the current lease on the manager's clock.
        public var expiresAt: Moment?
        /// Set once the owner has been asked to hand the queue back.
        public var handoff: HandoffReason?
        /// The queue was removed and disappears once its lease is released or expires.
        public var removing: Bool
    }

    /// A consistent copy of the table, sorted by id.
    public struct Snapshot: Hashable, Sendable {
        /// The ``LeaseTable/version`` this snapshot shows.
        public var version: UInt64
        public var nodes: [NodeSnapshot]
        public var queues: [QueueSnapshot]
    }

    private struct NodeRecord: Sendable {
        var connected: Bool
        var drainRequested: Bool
        var state: NodeState
        var lastSeen: Moment
    }

    private struct QueueRecord: Sendable {
        /// The last epoch issued; the next grant uses `epoch.next`.
        var epoch: Epoch
        var lease: Lease?
        var removing = false
    }

    /// What one event call has produced so far.
    private struct Step {
        var actions: [LeaseAction] = []
        var mapChanged = false
    }

    /// How long a grant or a renewal lasts on the manager's clock.
    public let leaseDuration: Duration
    /// Incremented once per event that changes the queue map.
    public private(set) var version: UInt64 = 0

    private var nodes: [MemberID: NodeRecord] = [:]
    private var queues: [QueueID: QueueRecord] = [:]
    private var retiredEpochs: [QueueID: Epoch] = [:]
    /// Connected nodes not under drain, sorted: the candidates of placement.
    private var placementNodes: [MemberID] = []
    /// While set, the manager has restarted and may not know every running lease: nothing is
    /// placed before this moment (see ``init(leaseDuration:restoring:at:)``).
    private var recoveryEnds: Moment?
    /// The last grantee of each queue before the restart: the only node whose report of the
    /// last epoch may be adopted during recovery.
    private var recoveredOwners: [QueueID: MemberID] = [:]
    /// Placement owners computed for the current `placementNodes`, so that a tick does not
    /// hash every queue against every node again.
    private var placementCache: [QueueID: MemberID] = [:]

    /// A table with no node and no queue.
    public init(leaseDuration: Duration) {
        precondition(leaseDuration > .zero, "a lease must last some time")
        self.leaseDuration = leaseDuration
    }

    /// A table for a manager that restarts, knowing the last grant it issued for each queue
    /// (stored before each grant was sent) but not which leases are still running.
    ///
    /// Leases granted before the restart end, on their holders' clocks, within one lease
    /// period; so for one lease period from `now` nothing is granted, and a renewal or rejoin
    /// report of a queue's last grant by its grantee is adopted as a running lease (nothing
    /// newer was issued, so nobody else can hold the queue). Declare the queues before nodes
    /// register. Queues declared later continue their epochs from `lastGrants`.
    public init(leaseDuration: Duration, restoring lastGrants: [QueueID: LastGrant], at now: Moment) {
        self.init(leaseDuration: leaseDuration)
        self.retiredEpochs = lastGrants.mapValues(\.epoch)
        self.recoveredOwners = lastGrants.mapValues(\.owner)
        self.recoveryEnds = now + leaseDuration
    }

    // MARK: Read-only views

    /// The current lease of `queue`, if the queue is declared and leased.
    public func lease(of queue: QueueID) -> Lease? {
        queues[queue]?.lease
    }

    /// The state of `node`, or `nil` if it never registered.
    public func state(of node: MemberID) -> NodeState? {
        nodes[node]?.state
    }

    /// Whether the table is still in the recovery window after a restart at `now`: it grants
    /// nothing and adopts reported leases.
    public func isRecovering(at now: Moment) -> Bool {
        guard let recoveryEnds else { return false }
        return now < recoveryEnds
    }

    /// The whole table, sorted by id.
    public var snapshot: Snapshot {
        let nodeRows = nodes.keys.sorted().map { id in
            let record = nodes[id]!
            return NodeSnapshot(
                id: id,
                state: record.state,
                lastSeen: record.lastSeen,
                drainRequested: record.drainRequested
            )
        }
        let queueRows = queues.keys.sorted().map { id in
            let record = queues[id]!
            return QueueSnapshot(
                id: id,
                owner: record.lease?.owner,
                epoch: record.epoch,
                expiresAt: record.lease?.expiresAt,
                handoff: record.lease?.handoff,
                removing: record.removing
            )
        }
        return Snapshot(version: version, nodes: nodeRows, queues: queueRows)
    }

    // MARK: Queues

    /// Declares `queue` as active: it is placed on a node at once if one is live.
    ///
    /// Declaring a queue whose removal is pending cancels the removal (the revocation already
    /// sent still stands: the queue is placed again when it comes back).
    public mutating func declareQueue(_ queue: QueueID, at now: Moment) -> [LeaseAction] {
        var step = Step()
        if var record = queues[queue] {
            if record.removing {
                record.removing = false
                queues[queue] = record
                step.mapChanged = true
            }
        } else {
            queues[queue] = QueueRecord(epoch: retiredEpochs.removeValue(forKey: queue) ?? .zero)
            step.mapChanged = true
        }
        place(at: now, into: &step)
        return finish(step)
    }

    /// Removes `queue`: an unleased queue disappears at once; a leased one is revoked and
    /// disappears when its owner releases it or the lease expires.
    public mutating func removeQueue(_ queue: QueueID, at now: Moment) -> [LeaseAction] {
        guard var record = queues[queue] else { return [] }
        var step = Step()
        if var lease = record.lease {
            if !record.removing {
                record.removing = true
                step.mapChanged = true
            }
            // A lease already under handoff has been revoked; asking twice adds nothing.
            if lease.handoff == nil {
                lease.handoff = .removed
                record.lease = lease
                step.mapChanged = true
                if nodes[lease.owner]?.connected == true {
                    step.actions.append(.revoke(lease.owner, queue, lease.epoch, .removed))
                }
            }
            queues[queue] = record
        } else {
            retire(queue)
            step.mapChanged = true
        }
        return finish(step)
    }

    // MARK: Membership

    /// A node registered: a new one, or one coming back after it was lost.
    ///
    /// It becomes live (or stays under drain, see ``LeaseTable``) and queues are placed at
    /// once. Revocations of its leases under handoff are sent again, because the ones sent
    /// before may have died with its previous connection.
    public mutating func nodeJoined(_ node: MemberID, at now: Moment) -> [LeaseAction] {
        var record =
            nodes[node] ?? NodeRecord(connected: false, drainRequested: false, state: .lost, lastSeen: now)
        record.connected = true
        record.lastSeen = now
        nodes[node] = record
        membershipChanged()
        var step = Step()
        for queue in queues.keys.sorted() {
            if let lease = queues[queue]?.lease, lease.owner == node, let reason = lease.handoff {
                step.actions.append(.revoke(node, queue, lease.epoch, reason))
            }
        }
        place(at: now, into: &step)
        return finish(step)
    }

    /// A node's connection closed or it missed its heartbeats.
    ///
    /// It leaves placement, but its leases stay until they expire: it may still be dialing,
    /// and the lease is the fence that stops it before anyone else starts.
    public mutating func nodeLost(_ node: MemberID, at now: Moment) -> [LeaseAction] {
        guard var record = nodes[node], record.connected else { return [] }
        record.connected = false
        nodes[node] = record
        membershipChanged()
        var step = Step()
        place(at: now, into: &step)
        return finish(step)
    }

    /// Starts draining `node`: it leaves placement and is asked to hand back every queue it
    /// holds; it becomes ``NodeState/drained`` (with ``LeaseAction/nodeDrained(_:)``) once it
    /// holds nothing. Draining a lost node records the intent; its leases expire as usual.
    public mutating func drain(_ node: MemberID, at now: Moment) -> [LeaseAction] {
        guard var record = nodes[node] else { return [] }
        if !record.drainRequested {
            record.drainRequested = true
            nodes[node] = record
            membershipChanged()
        }
        var step = Step()
        for queue in queues.keys.sorted() {
            guard var lease = queues[queue]?.lease, lease.owner == node, lease.handoff == nil else { continue }
            lease.handoff = .drain
            queues[queue]?.lease = lease
            step.mapChanged = true
            if record.connected {
                step.actions.append(.revoke(node, queue, lease.epoch, .drain))
            }
        }
        place(at: now, into: &step)
        return finish(step)
    }

    /// Ends a drain: the node takes part in placement again (once connected).
    ///
    /// Revocations already sent stand; queues that belong to the node by placement come back
    /// to it with new epochs once they are released.
    public mutating func resume(_ node: MemberID, at now: Moment) -> [LeaseAction] {
        guard var record = nodes[node], record.drainRequested else { return [] }
        record.drainRequested = false
        nodes[node] = record
        membershipChanged()
        var step = Step()
        place(at: now, into: &step)
        return finish(step)
    }

    // MARK: Leases

    /// A renewal (or the report a node makes when it registers again) from `node`.
    ///
    /// Returns exactly one ``LeaseAction/renewReply(to:renewed:rejected:)``. A lease is renewed
    /// only if `node` holds that exact epoch and it has not expired (`expiresAt > now`); it
    /// then lasts until `now + leaseDuration`. A lease under handoff is renewed too: the node
    /// is finishing the calls in hand. Renewals do not change ``version``, except in the
    /// recovery window after a restart, where a queue's last grant reported by its grantee is
    /// adopted (then a ``LeaseAction/queueMapChanged(version:)`` follows the reply).
    public mutating func renew(from node: MemberID, held: [HeldLease], at now: Moment) -> [LeaseAction] {
        guard var record = nodes[node], record.connected else {
            // Only a registered connection may extend a lease; a late message from a lost
            // node must not keep a lease alive behind the membership's back.
            let rejected = held.map { RejectedLease(queue: $0.queue, epoch: $0.epoch, reason: .notMember) }
            return [.renewReply(to: node, renewed: [], rejected: rejected)]
        }
        record.lastSeen = now
        nodes[node] = record
        var renewed: [RenewedLease] = []
        var rejected: [RejectedLease] = []
        var step = Step()
        for item in held {
            guard var queueRecord = queues[item.queue] else {
                rejected.append(RejectedLease(queue: item.queue, epoch: item.epoch, reason: .unknownQueue))
                continue
            }
            if var lease = queueRecord.lease, lease.owner == node, lease.epoch == item.epoch {
                if lease.expiresAt > now {
                    lease.expiresAt = now + leaseDuration
                    queueRecord.lease = lease
                    queues[item.queue] = queueRecord
                    renewed.append(RenewedLease(queue: item.queue, epoch: item.epoch, expiresAt: lease.expiresAt))
                } else {
                    // Lapsed but not yet swept by a tick: the node's clock told it to stop.
                    rejected.append(RejectedLease(queue: item.queue, epoch: item.epoch, reason: .expired))
                }
            } else if queueRecord.lease == nil && queueRecord.epoch == item.epoch {
                if isRecovering(at: now) && item.epoch > .zero && recoveredOwners[item.queue] == node {
                    // A lease from before the restart, reported by its grantee; nothing newer
                    // was issued, so nobody else can hold the queue.
                    var lease = Lease(owner: node, epoch: item.epoch, expiresAt: now + leaseDuration)
                    if record.drainRequested {
                        lease.handoff = .drain
                        step.actions.append(.revoke(node, item.queue, item.epoch, .drain))
                    }
                    queueRecord.lease = lease
                    queues[item.queue] = queueRecord
                    step.mapChanged = true
                    renewed.append(RenewedLease(queue: item.queue, epoch: item.epoch, expiresAt: lease.expiresAt))
                } else {
                    // The lease ended and nobody has a newer one yet.
                    rejected.append(RejectedLease(queue: item.queue, epoch: item.epoch, reason: .expired))
                }
            } else {
                rejected.append(RejectedLease(queue: item.queue, epoch: item.epoch, reason: .staleEpoch))
            }
        }
        step.actions.insert(.renewReply(to: node, renewed: renewed, rejected: rejected), at: 0)
        return step.mapChanged ? finish(step) : step.actions
    }

    /// `node` hands `queue` back: if that is its current lease, the queue is placed again at
    /// once (with `epoch + 1`), or disappears if its removal was pending. Anything else is a
    /// stale or duplicate release and changes nothing.
    public mutating func release(from node: MemberID, queue: QueueID, epoch: Epoch, at now: Moment) -> [LeaseAction] {
        guard var record = queues[queue], let lease = record.lease, lease.owner == node, lease.epoch == epoch
        else {
            return [.releaseIgnored(node, queue, epoch)]
        }
        if nodes[node]?.connected == true {
            nodes[node]?.lastSeen = now
        }
        var step = Step()
        record.lease = nil
        step.mapChanged = true
        if record.removing {
            retire(queue)
        } else {
            queues[queue] = record
        }
        place(at: now, into: &step)
        return finish(step)
    }

    /// Time passes: leases with `expiresAt <= now` end, then every unleased queue is placed.
    public mutating func tick(at now: Moment) -> [LeaseAction] {
        var step = Step()
        for queue in queues.keys.sorted() {
            guard let record = queues[queue], let lease = record.lease, lease.expiresAt <= now else { continue }
            step.mapChanged = true
            if record.removing {
                retire(queue)
            } else {
                queues[queue]?.lease = nil
            }
        }
        place(at: now, into: &step)
        return finish(step)
    }

    // MARK: Internals

    /// Grants every unleased queue to its placement owner, and asks the owner of a queue that
    /// now belongs elsewhere (a node joined) to hand it back, once.
    private mutating func place(at now: Moment, into step: inout Step) {
        if let recoveryEnds {
            guard now >= recoveryEnds else { return }
            self.recoveryEnds = nil
            recoveredOwners = [:]
        }
        guard !placementNodes.isEmpty else { return }
        for queue in queues.keys.sorted() {
            guard var record = queues[queue], let target = placementOwner(of: queue) else { continue }
            if var lease = record.lease {
                // Only a live owner is asked: a lost owner cannot answer and a draining one has
                // been asked already. Its lease runs out, or is released, before the move.
                guard lease.handoff == nil, lease.owner != target, isPlacementCandidate(lease.owner) else { continue }
                lease.handoff = .rebalance
                record.lease = lease
                step.actions.append(.revoke(lease.owner, queue, lease.epoch, .rebalance))
            } else {
                record.epoch = record.epoch.next
                let lease = Lease(owner: target, epoch: record.epoch, expiresAt: now + leaseDuration)
                record.lease = lease
                step.actions.append(.grant(target, queue, lease.epoch, expiresAt: lease.expiresAt))
            }
            queues[queue] = record
            step.mapChanged = true
        }
    }

    private mutating func placementOwner(of queue: QueueID) -> MemberID? {
        if let cached = placementCache[queue] { return cached }
        guard let owner = Rendezvous.owner(of: queue, among: placementNodes) else { return nil }
        placementCache[queue] = owner
        return owner
    }

    private func isPlacementCandidate(_ node: MemberID) -> Bool {
        guard let record = nodes[node] else { return false }
        return record.connected && !record.drainRequested
    }

    private mutating func membershipChanged() {
        let candidates = nodes.filter { $0.value.connected && !$0.value.drainRequested }.keys.sorted()
        if candidates != placementNodes {
            placementNodes = candidates
            placementCache.removeAll(keepingCapacity: true)
        }
    }

    private mutating func retire(_ queue: QueueID) {
        if let record = queues.removeValue(forKey: queue) {
            retiredEpochs[queue] = record.epoch
        }
        placementCache[queue] = nil
    }

    /// Brings node states up to date, then closes the step with the drain and map-change
    /// notices.
    private mutating func finish(_ step: Step) -> [LeaseAction] {
        var actions = step.actions
        let anyDrain = nodes.values.contains { $0.drainRequested && $0.connected }
        let owners: Set<MemberID> = anyDrain ? Set(queues.values.compactMap { $0.lease?.owner }) : []
        for id in nodes.keys.sorted() {
            guard var record = nodes[id] else { continue }
            let state: NodeState
            if !record.connected {
                state = .lost
            } else if !record.drainRequested {
                state = .live
            } else {
                state = owners.contains(id) ? .draining : .drained
            }
            if state != record.state {
                if state == .drained {
                    actions.append(.nodeDrained(id))
                }
                record.state = state
                nodes[id] = record
            }
        }
        if step.mapChanged {
            version += 1
            actions.append(.queueMapChanged(version: version))
        }
        return actions
    }
}
