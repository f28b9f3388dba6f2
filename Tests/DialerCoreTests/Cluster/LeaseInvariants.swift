import DialerCore

/// A `LeaseTable` driven through a model that checks, after every event, the rules the cluster
/// relies on:
/// - a queue never gets a new grant while an older lease on it has neither expired nor been
///   released (so a lost node's leases are never handed on before they expire);
/// - the epochs of a queue strictly increase with each grant, across removals too;
/// - a grant only goes to a connected node that is not under drain;
/// - renewals extend only the sender's unexpired lease of the exact epoch;
/// - the table's leases are the model's.
///
/// The model is built from the actions alone, not from the table's internals.
struct CheckedLeaseTable {
    struct ModelLease: Equatable {
        var owner: MemberID
        var epoch: Epoch
        var expiresAt: Moment
    }

    private(set) var table: LeaseTable
    private(set) var violations: [String] = []
    private var leases: [QueueID: ModelLease] = [:]
    private var maxEpoch: [QueueID: Epoch] = [:]
    /// The test's own view of membership, kept apart from the table's.
    private var connected: Set<MemberID> = []
    private var drainIntent: Set<MemberID> = []
    private var lastVersion: UInt64 = 0
    /// Leases granted by the manager before its last restart, which the new table does not
    /// know: they still forbid a new grant until they expire.
    private var ghosts: [QueueID: ModelLease] = [:]
    /// The node each queue was last granted to.
    private var lastGrantee: [QueueID: MemberID] = [:]

    init(leaseDuration: Duration) {
        table = LeaseTable(leaseDuration: leaseDuration)
    }

    /// The manager restarts at `now`: it forgets every lease and connection, keeps the last
    /// epoch of each queue (stored before each grant went out), and declares `queues` again.
    mutating func restartManager(declaring queues: [QueueID], at now: Moment) -> [LeaseAction] {
        for (queue, lease) in leases where lease.expiresAt > now {
            ghosts[queue] = lease
        }
        leases = [:]
        connected = []
        drainIntent = []
        lastVersion = 0
        var lastGrants: [QueueID: LeaseTable.LastGrant] = [:]
        for (queue, epoch) in maxEpoch {
            lastGrants[queue] = LeaseTable.LastGrant(epoch: epoch, owner: lastGrantee[queue]!)
        }
        table = LeaseTable(leaseDuration: table.leaseDuration, restoring: lastGrants, at: now)
        var actions: [LeaseAction] = []
        for queue in queues {
            let step = table.declareQueue(queue, at: now)
            check(step, at: now, event: "declare \(queue) after restart")
            actions += step
        }
        return actions
    }

    var leaseDuration: Duration { table.leaseDuration }

    // MARK: Events

    @discardableResult
    mutating func declareQueue(_ queue: QueueID, at now: Moment) -> [LeaseAction] {
        let actions = table.declareQueue(queue, at: now)
        check(actions, at: now, event: "declare \(queue)")
        return actions
    }

    @discardableResult
    mutating func removeQueue(_ queue: QueueID, at now: Moment) -> [LeaseAction] {
        let actions = table.removeQueue(queue, at: now)
        check(actions, at: now, event: "remove \(queue)")
        return actions
    }

    @discardableResult
    mutating func nodeJoined(_ node: MemberID, at now: Moment) -> [LeaseAction] {
        connected.insert(node)
        let actions = table.nodeJoined(node, at: now)
        check(actions, at: now, event: "join \(node)")
        return actions
    }

    @discardableResult
    mutating func nodeLost(_ node: MemberID, at now: Moment) -> [LeaseAction] {
        connected.remove(node)
        let actions = table.nodeLost(node, at: now)
        check(actions, at: now, event: "lost \(node)")
        return actions
    }

    @discardableResult
    mutating func drain(_ node: MemberID, at now: Moment) -> [LeaseAction] {
        if table.state(of: node) != nil { drainIntent.insert(node) }
        let actions = table.drain(node, at: now)
        check(actions, at: now, event: "drain \(node)")
        return actions
    }

    @discardableResult
    mutating func resume(_ node: MemberID, at now: Moment) -> [LeaseAction] {
        drainIntent.remove(node)
        let actions = table.resume(node, at: now)
        check(actions, at: now, event: "resume \(node)")
        return actions
    }

    @discardableResult
    mutating func renew(from node: MemberID, held: [HeldLease], at now: Moment) -> [LeaseAction] {
        let actions = table.renew(from: node, held: held, at: now)
        let replies = actions.filter { if case .renewReply = $0 { return true } else { return false } }
        let recovering = table.isRecovering(at: now)
        if replies.count != 1 || (actions.count != 1 && !recovering) {
            violation("renew must answer with exactly one reply, got \(actions)", now)
        }
        if table.snapshot.version != lastVersion && !actions.contains(.queueMapChanged(version: lastVersion + 1)) {
            violation("a renewal changed the map version", now)
        }
        check(actions, at: now, event: "renew from \(node) \(held)")
        return actions
    }

    @discardableResult
    mutating func release(from node: MemberID, queue: QueueID, epoch: Epoch, at now: Moment) -> [LeaseAction] {
        let current = leases[queue]
        let actions = table.release(from: node, queue: queue, epoch: epoch, at: now)
        let ignored = actions.contains(.releaseIgnored(node, queue, epoch))
        let matches = current?.owner == node && current?.epoch == epoch
        if ignored == matches {
            violation(
                "release of \(queue)@\(epoch) by \(node): ignored=\(ignored) but current=\(String(describing: current))",
                now)
        }
        if !ignored {
            leases[queue] = nil
        }
        check(actions, at: now, event: "release \(queue)@\(epoch) from \(node)")
        return actions
    }

    @discardableResult
    mutating func tick(at now: Moment) -> [LeaseAction] {
        let actions = table.tick(at: now)
        check(actions, at: now, event: "tick")
        return actions
    }

    // MARK: Checks

    private mutating func violation(_ text: String, _ now: Moment) {
        if violations.count < 20 {
            violations.append("[\(now)] \(text)")
        }
    }

    private mutating func check(_ actions: [LeaseAction], at now: Moment, event: String) {
        var mapNotices = 0
        for action in actions {
            switch action {
            case .grant(let node, let queue, let epoch, let expiresAt):
                for old in [leases[queue], ghosts[queue]].compactMap(\.self) where old.expiresAt > now {
                    violation("\(event): grant of \(queue)@\(epoch) to \(node) while \(old) is still running", now)
                }
                if let previous = maxEpoch[queue], epoch <= previous {
                    violation("\(event): grant of \(queue)@\(epoch) not above \(previous)", now)
                }
                if !connected.contains(node) || drainIntent.contains(node) || table.state(of: node) != .live {
                    violation("\(event): grant of \(queue) to \(node), which is not live", now)
                }
                if expiresAt != now + leaseDuration {
                    violation("\(event): grant of \(queue) expires at \(expiresAt)", now)
                }
                leases[queue] = ModelLease(owner: node, epoch: epoch, expiresAt: expiresAt)
                maxEpoch[queue] = epoch
                lastGrantee[queue] = node
            case .revoke(let node, let queue, let epoch, _):
                if leases[queue]?.owner != node || leases[queue]?.epoch != epoch {
                    violation("\(event): revoke of \(queue)@\(epoch) from \(node), not its lease", now)
                }
            case .renewReply(let node, let renewed, let rejected):
                for lease in renewed {
                    if leases[lease.queue] == nil && table.isRecovering(at: now) {
                        // Adoption after a restart: only of the last epoch issued, and only by
                        // the node that was granted it.
                        if lease.epoch != maxEpoch[lease.queue] || lastGrantee[lease.queue] != node
                            || !connected.contains(node)
                        {
                            violation("\(event): adopted \(lease) for \(node)", now)
                        }
                        leases[lease.queue] = ModelLease(owner: node, epoch: lease.epoch, expiresAt: lease.expiresAt)
                        ghosts[lease.queue] = nil
                        continue
                    }
                    guard let model = leases[lease.queue], model.owner == node, model.epoch == lease.epoch,
                        model.expiresAt > now, connected.contains(node)
                    else {
                        violation("\(event): renewed \(lease) without a running lease", now)
                        continue
                    }
                    leases[lease.queue]?.expiresAt = lease.expiresAt
                    if lease.expiresAt != now + leaseDuration {
                        violation("\(event): renewal to \(lease.expiresAt)", now)
                    }
                }
                for lease in rejected {
                    if let model = leases[lease.queue], model.owner == node, model.epoch == lease.epoch,
                        model.expiresAt > now, connected.contains(node)
                    {
                        violation("\(event): rejected \(lease) although it runs", now)
                    }
                    if (lease.reason == .notMember) == connected.contains(node) {
                        violation("\(event): \(lease.reason) for a node connected=\(connected.contains(node))", now)
                    }
                }
            case .releaseIgnored:
                break
            case .nodeDrained(let node):
                if table.state(of: node) != .drained {
                    violation(
                        "\(event): \(node) reported drained but is \(String(describing: table.state(of: node)))", now)
                }
            case .queueMapChanged(let version):
                mapNotices += 1
                if version != lastVersion + 1 {
                    violation("\(event): version jumped from \(lastVersion) to \(version)", now)
                }
                lastVersion = version
            }
        }
        if mapNotices > 1 {
            violation("\(event): \(mapNotices) map notices in one event", now)
        }
        if table.version != lastVersion {
            violation("\(event): version \(table.version) changed without a notice", now)
        }
        compareWithTable(at: now, event: event)
    }

    private mutating func compareWithTable(at now: Moment, event: String) {
        let snapshot = table.snapshot
        if snapshot.queues.map(\.id) != snapshot.queues.map(\.id).sorted()
            || snapshot.nodes.map(\.id) != snapshot.nodes.map(\.id).sorted()
        {
            violation("\(event): snapshot not sorted", now)
        }
        for row in snapshot.queues {
            if row.epoch != maxEpoch[row.id, default: .zero] {
                violation("\(event): \(row.id) at epoch \(row.epoch), model \(maxEpoch[row.id, default: .zero])", now)
            }
            if let owner = row.owner {
                let model = leases[row.id]
                if model?.owner != owner || model?.epoch != row.epoch || model?.expiresAt != row.expiresAt {
                    violation(
                        "\(event): \(row.id) leased to \(owner)@\(row.epoch) but model \(String(describing: model))",
                        now)
                }
            }
        }
        for (queue, model) in leases {
            let lease = table.lease(of: queue)
            if let lease {
                if lease.owner != model.owner || lease.epoch != model.epoch {
                    violation("\(event): \(queue) model \(model) but table \(lease)", now)
                }
            } else if model.expiresAt > now {
                violation("\(event): \(queue) lost its running lease \(model)", now)
            } else {
                // Expired and swept: the model forgets it too.
                leases[queue] = nil
            }
        }
        for row in snapshot.nodes {
            let expectedConnected = connected.contains(row.id)
            if (row.state != .lost) != expectedConnected {
                violation("\(event): \(row.id) is \(row.state), connected=\(expectedConnected)", now)
            }
            if expectedConnected && (row.state == .live) == drainIntent.contains(row.id) {
                violation("\(event): \(row.id) is \(row.state), drain=\(drainIntent.contains(row.id))", now)
            }
        }
    }

    /// Checks the nodes' side: a lease a node believes valid at `now` is that node's lease on
    /// the manager, of the same epoch, running at least as long; so no two nodes can believe
    /// they own one queue at the same moment.
    mutating func checkNodes(_ books: [MemberID: NodeLeaseBook], at now: Moment) {
        var believers: [QueueID: MemberID] = [:]
        for node in books.keys.sorted() {
            for valid in books[node]!.validLeases(at: now) {
                if let other = believers[valid.queue] {
                    violation("\(other) and \(node) both believe they own \(valid.queue)", now)
                }
                believers[valid.queue] = node
                // A lease the manager forgot in a restart counts until it expires.
                let known = table.lease(of: valid.queue).map {
                    ModelLease(owner: $0.owner, epoch: $0.epoch, expiresAt: $0.expiresAt)
                }
                let lease = known ?? ghosts[valid.queue]
                guard let lease, lease.owner == node, lease.epoch == valid.epoch, lease.expiresAt >= valid.validUntil
                else {
                    violation("\(node) believes \(valid) but the manager has \(String(describing: lease))", now)
                    continue
                }
            }
        }
    }
}
