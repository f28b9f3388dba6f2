public import DialerConfig
public import DialerCore
import DialerProtocol
import DialerTransport
import FoundationEssentials
public import Logging
import Metrics

/// The manager's single owner of cluster membership and the queue map.
///
/// It holds the ``LeaseTable`` (a pure state machine) and performs what it returns: grants,
/// revocations and renewal answers go to nodes over their connections, queue map snapshots go
/// to gateways, and every grant is journaled before it is sent.
///
/// The table's decisions are carried out in the order it made them. A step with grants waits
/// for the journal (written off the cooperative pool); while it waits, later steps queue behind
/// it and one effect loop, owned by the coordinator, performs them in turn. A grant whose
/// journal write failed is not sent: the node never holds it, the lease lapses on the
/// manager's clock and the queue is placed again, under a new epoch, with a new write.
public actor ClusterCoordinator {
    /// A connected or formerly connected member, as shown on `/v1/cluster`.
    public struct MemberView: Sendable, Equatable {
        public var id: String
        public var role: String
        public var state: String
        public var connected: Bool
        public var httpAddress: String
        public var clusterAddress: String
        public var lastHeardAgo: Duration?
        /// The protocol version of its current (or last) connection.
        public var protocolVersion: UInt32
    }

    /// One queue, as shown on `/v1/cluster`.
    public struct QueueView: Sendable, Equatable {
        public var id: String
        public var kind: String
        public var owner: String?
        public var epoch: UInt64
        public var leaseExpiresIn: Duration?
        public var handoff: String?
    }

    public struct ClusterView: Sendable, Equatable {
        public var mapVersion: UInt64
        public var members: [MemberView]
        public var queues: [QueueView]
        public var recovering: Bool
    }

    public enum DrainError: Error, Equatable {
        case unknownNode(String)
    }

    private struct Member {
        var role: Dialer_V1_Role
        var link: ClusterLink?
        var connection: UInt64
        var httpAddress = ""
        var clusterAddress = ""
        /// The version its connection negotiated (PROTOCOL.md §3), shown in the cluster table.
        var protocolVersion: UInt32
        var lastHeard: Moment
        var lastRenewalRequest: UInt64 = 0
    }

    private var table: LeaseTable
    private var members: [MemberID: Member] = [:]
    private var queueKinds: [QueueID: DialerConfig.QueueKind] = [:]
    private var lastGrants: [QueueID: LeaseTable.LastGrant]
    private var nextConnection: UInt64 = 0
    /// When lost nodes' open attempts are closed; the store work is done by the feeder.
    private var sweep: LostNodeSweep
    /// When this coordinator started (or took over): a restarted manager's nodes are away since then.
    private var startedAt: Moment
    private let clock: any DialerClock
    private var journal: LeaseJournal
    /// Whether this manager serves the cluster: always for a manager without standbys; for one
    /// of several, only while it holds the manager lease (``activate(term:journal:restoring:)``).
    public private(set) var isServing = true
    /// The declared queues, to declare again at a take-over.
    private let queues: [QueueSettings]
    private let logger: Logger
    /// Decisions waiting for an earlier step's journal write, in the order they were made.
    private var pendingSteps: [PendingStep] = []
    /// The effect loop performing ``pendingSteps``, while there are any.
    private var effects: Task<Void, Never>?
    private let journalFailures = Counter(label: "dialer_manager_lease_journal_failures_total")
    private let withheldGrants = Counter(label: "dialer_manager_lease_grants_withheld_total")
    private let grants = Counter(label: "dialer_manager_lease_grants_total")
    /// Leases their node handed back (a drain, a SIGTERM), as opposed to leases that lapsed.
    private let releases = Counter(label: "dialer_manager_lease_releases_total")
    private let revokes = Counter(label: "dialer_manager_lease_revokes_total")
    private let staleRejections = Counter(
        label: "dialer_manager_lease_rejections_total", dimensions: [("reason", "stale_epoch")])
    private let expiredRejections = Counter(
        label: "dialer_manager_lease_rejections_total", dimensions: [("reason", "expired")])
    private let otherRejections = Counter(
        label: "dialer_manager_lease_rejections_total", dimensions: [("reason", "other")])
    private let connectedNodes = Gauge(label: "dialer_manager_connected_nodes")
    private let connectedGateways = Gauge(label: "dialer_manager_connected_gateways")
    private let unassignedQueues = Gauge(label: "dialer_manager_unassigned_queues")

    /// - Parameters:
    ///   - queues: the queues declared in the cluster configuration.
    ///   - journal: where grants are recorded; when it holds grants from an earlier run the
    ///     coordinator starts in recovery (see ``LeaseTable/init(leaseDuration:restoring:at:)``).
    public init(
        leaseDuration: Duration,
        queues: [QueueSettings],
        journal: LeaseJournal,
        clock: any DialerClock,
        logger: Logger,
        serving: Bool = true
    ) throws {
        self.clock = clock
        self.journal = journal
        self.logger = logger
        self.queues = queues
        self.isServing = serving
        let restored = try journal.load()
        self.lastGrants = restored
        let now = clock.now()
        self.startedAt = now
        self.sweep = LostNodeSweep(grace: leaseDuration)
        var table =
            restored.isEmpty
            ? LeaseTable(leaseDuration: leaseDuration)
            : LeaseTable(leaseDuration: leaseDuration, restoring: restored, at: now)
        for queue in queues {
            queueKinds[QueueID(queue.id)] = queue.kind
            _ = table.declareQueue(QueueID(queue.id), at: now)
        }
        self.table = table
        if !restored.isEmpty {
            logger.notice(
                "restarted with journaled leases: no grants for one lease period",
                metadata: ["queues": "\(restored.count)"])
        }
    }

    // MARK: Active and standby

    /// A coordinator for a standby manager: it serves nobody until ``activate(term:journal:restoring:)``.
    public static func standby(
        leaseDuration: Duration, queues: [QueueSettings], clock: any DialerClock, logger: Logger
    ) throws -> ClusterCoordinator {
        try ClusterCoordinator(
            leaseDuration: leaseDuration, queues: queues, journal: LeaseJournal(storage: nil), clock: clock,
            logger: logger, serving: false)
    }

    /// This manager took the manager lease under `term`: it continues every queue's epochs from
    /// the journal's `grants`, as a restarted manager does (no grant for one lease period,
    /// leases their last grantees report are adopted), and journals under `term` from now on.
    public func activate(term: ManagerTerm, journal: LeaseJournal, restoring grants: [QueueID: LeaseTable.LastGrant]) {
        let now = clock.now()
        self.journal = journal
        lastGrants = grants
        startedAt = now
        sweep = LostNodeSweep(grace: table.leaseDuration)
        var table =
            grants.isEmpty
            ? LeaseTable(leaseDuration: self.table.leaseDuration)
            : LeaseTable(leaseDuration: self.table.leaseDuration, restoring: grants, at: now)
        for queue in queues { _ = table.declareQueue(QueueID(queue.id), at: now) }
        self.table = table
        members = [:]
        isServing = true
        logger.notice(
            "active manager: took the manager lease", metadata: ["term": "\(term)", "queues": "\(grants.count)"])
        updateGauges()
    }

    /// This manager lost the manager lease: it grants nothing more and closes every cluster
    /// connection at once; nodes and gateways find the manager that took over.
    public func deactivate() {
        guard isServing else { return }
        isServing = false
        for member in members.values {
            member.link?.close(with: .managerStandby, "this manager lost the manager lease")
        }
        members = [:]
        table = LeaseTable(leaseDuration: table.leaseDuration)
        logger.critical("lost the manager lease: standing by")
        updateGauges()
    }

    // MARK: Connections

    /// A node or gateway registered on a new connection. Returns the connection number (to
    /// match its later disconnect) and, for a node, the answer to the leases it reported.
    func registered(
        peer: PeerIdentity, link: ClusterLink, register: Dialer_V1_Register
    ) async -> (connection: UInt64, renewal: Dialer_V1_LeaseRenewed?) {
        defer { updateGauges() }
        let now = clock.now()
        let id = MemberID(peer.memberID)
        guard isServing else {
            link.close(with: .managerStandby, "this manager is a standby")
            return (0, nil)
        }
        nextConnection += 1
        if let old = members[id]?.link {
            // The newest authenticated connection wins: the old one is half-open or stale.
            old.close(with: .duplicateMember, "replaced by a newer connection of the same member")
        }
        members[id] = Member(
            role: peer.role, link: link, connection: nextConnection, httpAddress: register.httpAddress,
            clusterAddress: register.clusterAddress, protocolVersion: peer.protocolVersion, lastHeard: now,
            lastRenewalRequest: register.renewalRequest)
        logger.info(
            "member registered",
            metadata: [
                "member": "\(peer)", "http": "\(register.httpAddress)", "protocol_version": "\(peer.protocolVersion)",
            ])
        updateGauges()
        switch peer.role {
        case .node:
            sweep.connected(id)
            let connection = nextConnection
            var actions = table.nodeJoined(id, at: now)
            actions += table.renew(from: id, held: register.held.map(\.held), at: now)
            let reply = await perform(actions, replyTo: id)
            return (connection, reply)
        case .gateway:
            link.sendNow(Envelope(.queueMap(queueMap())))
            return (nextConnection, nil)
        default:
            return (nextConnection, nil)
        }
    }

    /// The connection `connection` of `member` closed (or missed its heartbeats).
    public func disconnected(_ member: MemberID, connection: UInt64) async {
        guard var record = members[member], record.connection == connection else { return }
        record.link = nil
        members[member] = record
        logger.notice("member connection lost", metadata: ["member": "\(member)", "role": "\(record.role.label)"])
        if record.role == .node {
            sweep.disconnected(member, at: clock.now())
            await perform(table.nodeLost(member, at: clock.now()), replyTo: nil)
        }
        updateGauges()
    }

    /// The node announced it shuts down: it leaves placement now, its releases follow.
    func leaving(_ node: MemberID, connection: UInt64) async {
        guard members[node]?.connection == connection, members[node]?.role == .node else { return }
        logger.notice("node is leaving", metadata: ["node": "\(node)"])
        sweep.leaving(node)
        await perform(table.nodeLost(node, at: clock.now()), replyTo: nil)
    }

    /// Any frame arrived from `member`.
    public func heard(_ member: MemberID, connection: UInt64) {
        guard members[member]?.connection == connection else { return }
        members[member]?.lastHeard = clock.now()
    }

    // MARK: Leases

    /// A node renews the leases it holds; returns the answer to send back.
    func renew(
        from node: MemberID, connection: UInt64, request: UInt64, held: [HeldLease]
    ) async -> Dialer_V1_LeaseRenewed {
        let now = clock.now()
        guard members[node]?.connection == connection else {
            return Dialer_V1_LeaseRenewed(
                renewed: [], rejected: held.map { RejectedLease(queue: $0.queue, epoch: $0.epoch, reason: .notMember) },
                leaseDuration: table.leaseDuration)
        }
        if var member = members[node] {
            member.lastHeard = now
            member.lastRenewalRequest = max(member.lastRenewalRequest, request)
            members[node] = member
        }
        return await perform(table.renew(from: node, held: held, at: now), replyTo: node)
            ?? Dialer_V1_LeaseRenewed(renewed: [], rejected: [], leaseDuration: table.leaseDuration)
    }

    /// A node hands a queue back.
    public func release(from node: MemberID, lease: HeldLease) async {
        let actions = table.release(from: node, queue: lease.queue, epoch: lease.epoch, at: clock.now())
        if !actions.contains(where: { if case .releaseIgnored = $0 { true } else { false } }) { releases.increment() }
        await perform(actions, replyTo: nil)
    }

    /// Time passes: expire lapsed leases and place unassigned queues.
    public func tick() async {
        guard isServing else { return }
        await perform(table.tick(at: clock.now()), replyTo: nil)
    }

    /// The operator drains `node`: its queues move elsewhere, it gets nothing new.
    public func drain(_ node: String) async throws(DrainError) {
        let id = MemberID(node)
        guard table.state(of: id) != nil else { throw .unknownNode(node) }
        logger.notice("draining node", metadata: ["node": "\(node)"])
        members[id]?.link?.sendNow(Envelope(.drain(.init())))
        await perform(table.drain(id, at: clock.now()), replyTo: nil)
    }

    /// The operator puts a drained node back into placement.
    public func resume(_ node: String) async throws(DrainError) {
        let id = MemberID(node)
        guard table.state(of: id) != nil else { throw .unknownNode(node) }
        var message = Dialer_V1_Drain()
        message.resumed = true
        members[id]?.link?.sendNow(Envelope(.drain(message)))
        await perform(table.resume(id, at: clock.now()), replyTo: nil)
    }

    // MARK: The feeder

    /// What the lease table says, right now on the manager's clock, of a node's request about
    /// `lease` on its registered connection `connection`.
    func feederFence(_ node: MemberID, connection: UInt64, lease: HeldLease) -> FeederFence {
        guard let member = members[node], member.connection == connection, member.link != nil else {
            return .refused(.notOwner, "this connection is not the node's current registration")
        }
        guard queueKinds[lease.queue] != nil else {
            return .refused(.notOwner, "queue \(lease.queue) is not declared in the cluster")
        }
        guard let current = table.lease(of: lease.queue) else {
            return .refused(.staleEpoch, "no lease on queue \(lease.queue) is running")
        }
        if lease.epoch < current.epoch {
            return .refused(.staleEpoch, "epoch \(lease.epoch) of queue \(lease.queue) is superseded")
        }
        guard lease.epoch == current.epoch, current.owner == node else {
            return .refused(.notOwner, "queue \(lease.queue) is not leased to this node under epoch \(lease.epoch)")
        }
        guard current.expiresAt > clock.now() else {
            return .refused(.staleEpoch, "the lease on queue \(lease.queue) expired on the manager's clock")
        }
        return current.handoff == nil ? .owner : .handingOff
    }

    /// The number of `member`'s registered connection while it is connected.
    func registration(of member: MemberID) -> UInt64? {
        members[member].flatMap { $0.link == nil ? nil : $0.connection }
    }

    /// A restarted manager's store has open attempts of `nodes`: those that do not come back
    /// within one lease period of the start are swept.
    func restarted(openHolders nodes: Set<MemberID>) {
        sweep.restarted(openHolders: nodes, at: startedAt)
    }

    /// The lost nodes whose open attempts must be closed now; each until ``lostNodeSwept(_:succeeded:)``.
    func lostNodesDue() -> [LostNodeSweep.Sweep] {
        let now = clock.now()
        var holders: Set<MemberID> = []
        for queue in table.snapshot.queues {
            if let owner = queue.owner, let expiry = queue.expiresAt, expiry > now { holders.insert(owner) }
        }
        return sweep.due(at: now, leaseHolders: holders)
    }

    /// The store closed (or failed to close) a lost node's attempts.
    func lostNodeSwept(_ node: MemberID, succeeded: Bool) {
        sweep.swept(node, succeeded: succeeded)
    }

    // MARK: Views

    public func view() -> ClusterView {
        let now = clock.now()
        let snapshot = table.snapshot
        var views: [MemberView] = []
        let nodeStates = Dictionary(uniqueKeysWithValues: snapshot.nodes.map { ($0.id, $0.state) })
        for (id, member) in members {
            let state: String
            if member.role == .node {
                state = nodeStates[id]?.rawValue ?? "unknown"
            } else {
                state = member.link == nil ? "lost" : "live"
            }
            views.append(
                MemberView(
                    id: id.rawValue, role: member.role.label, state: state, connected: member.link != nil,
                    httpAddress: member.httpAddress, clusterAddress: member.clusterAddress,
                    lastHeardAgo: now - member.lastHeard, protocolVersion: member.protocolVersion))
        }
        views.sort { ($0.role, $0.id) < ($1.role, $1.id) }
        let queues = snapshot.queues.map { queue in
            QueueView(
                id: queue.id.rawValue, kind: (queueKinds[queue.id] ?? .campaign).rawValue,
                owner: queue.owner?.rawValue, epoch: queue.epoch.rawValue,
                leaseExpiresIn: queue.expiresAt.map { $0 - now }, handoff: queue.handoff?.rawValue)
        }
        return ClusterView(
            mapVersion: snapshot.version, members: views, queues: queues, recovering: table.isRecovering(at: now))
    }

    // MARK: Performing actions

    /// One decision of the table, waiting its turn: its grants' journal snapshot, and whoever
    /// waits for it to be performed (with the renewal answer for `replyTo`).
    private struct PendingStep {
        var actions: [LeaseAction]
        var journal: [QueueID: LeaseTable.LastGrant]?
        var replyTo: MemberID?
        var done: CheckedContinuation<Dialer_V1_LeaseRenewed?, Never>
    }

    /// Carries out the table's `actions`, after every earlier step and after their grants are
    /// journaled; returns the renewal answer for `replyTo`, once it may be sent.
    @discardableResult
    private func perform(_ actions: [LeaseAction], replyTo: MemberID?) async -> Dialer_V1_LeaseRenewed? {
        var snapshot: [QueueID: LeaseTable.LastGrant]?
        for case .grant(let node, let queue, let epoch, _) in actions {
            lastGrants[queue] = LeaseTable.LastGrant(epoch: epoch, owner: node)
            snapshot = lastGrants
        }
        if snapshot == nil, pendingSteps.isEmpty, effects == nil {
            // Nothing to journal and nothing ahead: at once.
            return send(actions, grantsJournaled: true, replyTo: replyTo)
        }
        return await withCheckedContinuation { done in
            pendingSteps.append(PendingStep(actions: actions, journal: snapshot, replyTo: replyTo, done: done))
            if effects == nil {
                effects = Task { await self.performPendingSteps() }
            }
        }
    }

    /// The effect loop: performs the waiting steps in order, each after its journal write.
    private func performPendingSteps() async {
        while !pendingSteps.isEmpty {
            let step = pendingSteps.removeFirst()
            var journaled = true
            if let snapshot = step.journal {
                do {
                    try await journal.save(snapshot)
                } catch {
                    journaled = false
                    journalFailures.increment()
                    logger.critical(
                        "cannot write the lease journal: the step's grants are not sent",
                        metadata: ["error": "\(error)"])
                }
            }
            step.done.resume(returning: send(step.actions, grantsJournaled: journaled, replyTo: step.replyTo))
        }
        effects = nil
    }

    /// Sends what `actions` decided; grants only when `grantsJournaled`.
    private func send(
        _ actions: [LeaseAction], grantsJournaled: Bool, replyTo: MemberID?
    ) -> Dialer_V1_LeaseRenewed? {
        var reply: Dialer_V1_LeaseRenewed?
        for action in actions {
            switch action {
            case .grant(let node, let queue, let epoch, _):
                guard grantsJournaled else {
                    withheldGrants.increment()
                    logger.error(
                        "lease grant withheld: the journal was not written",
                        metadata: ["queue": "\(queue)", "epoch": "\(epoch)", "node": "\(node)"])
                    continue
                }
                grants.increment()
                var grant = Dialer_V1_LeaseGrant()
                grant.lease = Dialer_V1_QueueLease(HeldLease(queue: queue, epoch: epoch))
                grant.leaseDurationMs = UInt32(clamping: table.leaseDuration.totalMilliseconds)
                grant.queueKind = (queueKinds[queue] ?? .campaign).rawValue
                grant.anchorRenewalRequest = members[node]?.lastRenewalRequest ?? 0
                logger.info("lease granted", metadata: ["queue": "\(queue)", "epoch": "\(epoch)", "node": "\(node)"])
                members[node]?.link?.sendNow(Envelope(.leaseGrant(grant)))
            case .revoke(let node, let queue, let epoch, let reason):
                revokes.increment()
                var revoke = Dialer_V1_LeaseRevoke()
                revoke.lease = Dialer_V1_QueueLease(HeldLease(queue: queue, epoch: epoch))
                revoke.reason = Dialer_V1_RevokeReason(reason)
                logger.info(
                    "lease revoked",
                    metadata: ["queue": "\(queue)", "epoch": "\(epoch)", "node": "\(node)", "reason": "\(reason)"])
                members[node]?.link?.sendNow(Envelope(.leaseRevoke(revoke)))
            case .renewReply(let node, let renewed, let rejected):
                for rejection in rejected {
                    switch rejection.reason {
                    case .staleEpoch: staleRejections.increment()
                    case .expired: expiredRejections.increment()
                    default: otherRejections.increment()
                    }
                    logger.notice(
                        "lease renewal rejected",
                        metadata: [
                            "queue": "\(rejection.queue)", "epoch": "\(rejection.epoch)", "node": "\(node)",
                            "reason": "\(rejection.reason)",
                        ])
                }
                let answer = Dialer_V1_LeaseRenewed(
                    renewed: renewed.map(\.held), rejected: rejected, leaseDuration: table.leaseDuration)
                if node == replyTo {
                    reply = answer
                } else {
                    members[node]?.link?.sendNow(Envelope(.leaseRenewed(answer)))
                }
            case .releaseIgnored(let node, let queue, let epoch):
                logger.debug(
                    "stale release ignored", metadata: ["queue": "\(queue)", "epoch": "\(epoch)", "node": "\(node)"])
            case .nodeDrained(let node):
                logger.notice("node drained: it holds no queue", metadata: ["node": "\(node)"])
            case .queueMapChanged:
                let map = Envelope(.queueMap(queueMap()))
                for member in members.values where member.role == .gateway {
                    member.link?.sendNow(map)
                }
            }
        }
        updateGauges()
        return reply
    }

    private func queueMap() -> Dialer_V1_QueueMap {
        let snapshot = table.snapshot
        var map = Dialer_V1_QueueMap()
        map.version = snapshot.version
        map.entries = snapshot.queues.map { queue in
            var entry = Dialer_V1_QueueMapEntry()
            entry.queue = queue.id.rawValue
            entry.owner = queue.owner?.rawValue ?? ""
            entry.epoch = queue.epoch.rawValue
            entry.queueKind = (queueKinds[queue.id] ?? .campaign).rawValue
            return entry
        }
        return map
    }

    private func updateGauges() {
        connectedNodes.record(members.values.filter { $0.role == .node && $0.link != nil }.count)
        connectedGateways.record(members.values.filter { $0.role == .gateway && $0.link != nil }.count)
        unassignedQueues.record(table.snapshot.queues.filter { $0.owner == nil }.count)
    }
}

/// The answer of the lease table to a feeder request about a queue.
enum FeederFence: Hashable, Sendable {
    /// The node owns the queue under that epoch, and the lease runs on the manager's clock.
    case owner
    /// The node owns it, but the queue is being handed back: nothing new is handed out.
    case handingOff
    /// Not the owner: the request is answered with this non-fatal error.
    case refused(ProtocolErrorCode, String)
}
