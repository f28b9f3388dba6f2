import DialerCore
import Testing

/// A moment `seconds` after the origin.
private func at(_ seconds: Double) -> Moment {
    Moment(nanosecondsSinceOrigin: Int64(seconds * 1_000_000_000))
}

private let nodeA = MemberID("node-a")
private let nodeB = MemberID("node-b")
private let nodeC = MemberID("node-c")
private let lease = Duration.seconds(10)

/// The first queue named `q-<n>` whose placement owner among `nodes` is `owner`.
private func queue(ownedBy owner: MemberID, among nodes: [MemberID], skipping: Int = 0) -> QueueID {
    var found = 0
    for index in 0... {
        let queue = QueueID("q-\(index)")
        if Rendezvous.owner(of: queue, among: nodes) == owner {
            if found == skipping { return queue }
            found += 1
        }
    }
    fatalError("unreachable")
}

/// The reply to a renewal that rejects exactly one lease.
private func rejection(_ node: MemberID, _ queue: QueueID, _ epoch: Epoch, _ reason: LeaseRejection) -> [LeaseAction] {
    [.renewReply(to: node, renewed: [], rejected: [RejectedLease(queue: queue, epoch: epoch, reason: reason)])]
}

private func grants(_ actions: [LeaseAction]) -> [LeaseAction] {
    actions.filter { if case .grant = $0 { return true } else { return false } }
}

@Suite("LeaseTable: the manager's queue map")
struct LeaseTableTests {
    @Test("a queue declared with no node waits; the first node to join gets it at once with epoch 1")
    func declareThenJoin() {
        var table = CheckedLeaseTable(leaseDuration: lease)
        let q = QueueID("campaign-1")
        #expect(table.declareQueue(q, at: at(0)) == [.queueMapChanged(version: 1)])
        #expect(table.table.lease(of: q) == nil)
        #expect(
            table.nodeJoined(nodeA, at: at(1)) == [
                .grant(nodeA, q, Epoch(1), expiresAt: at(11)), .queueMapChanged(version: 2),
            ]
        )
        #expect(table.table.lease(of: q) == LeaseTable.Lease(owner: nodeA, epoch: Epoch(1), expiresAt: at(11)))
        #expect(table.table.state(of: nodeA) == .live)
        // Declaring it again changes nothing.
        #expect(table.declareQueue(q, at: at(2)) == [])
        #expect(table.violations == [])
    }

    @Test("placement follows rendezvous hashing over the live nodes")
    func placementUsesRendezvous() {
        var table = CheckedLeaseTable(leaseDuration: lease)
        for node in [nodeA, nodeB, nodeC] { table.nodeJoined(node, at: at(0)) }
        let queues = (0..<30).map { QueueID("q-\($0)") }
        for q in queues { table.declareQueue(q, at: at(1)) }
        for q in queues {
            #expect(table.table.lease(of: q)?.owner == Rendezvous.owner(of: q, among: [nodeA, nodeB, nodeC]))
            #expect(table.table.lease(of: q)?.epoch == Epoch(1))
        }
        #expect(table.violations == [])
    }

    @Test("a renewal by the owner extends the lease from now, with one reply and no new version")
    func renewalExtends() {
        var table = CheckedLeaseTable(leaseDuration: lease)
        let q = QueueID("q")
        table.nodeJoined(nodeA, at: at(0))
        table.declareQueue(q, at: at(0))
        let version = table.table.version
        let reply = table.renew(from: nodeA, held: [HeldLease(queue: q, epoch: Epoch(1))], at: at(4))
        #expect(
            reply == [
                .renewReply(
                    to: nodeA, renewed: [RenewedLease(queue: q, epoch: Epoch(1), expiresAt: at(14))], rejected: [])
            ]
        )
        #expect(table.table.lease(of: q)?.expiresAt == at(14))
        #expect(table.table.version == version)
        #expect(table.table.snapshot.nodes.first?.lastSeen == at(4))
        // Still running at 13.9: nothing expires.
        #expect(table.tick(at: at(13.9)) == [])
        #expect(table.violations == [])
    }

    @Test("renewal rejections: unknown queue, stale epoch, another owner, own lease expired, not a member")
    func renewalRejections() {
        var table = CheckedLeaseTable(leaseDuration: lease)
        let q = QueueID("q")
        table.nodeJoined(nodeA, at: at(0))
        table.declareQueue(q, at: at(0))
        let held1 = HeldLease(queue: q, epoch: Epoch(1))

        // Unknown queue.
        #expect(
            table.renew(from: nodeA, held: [HeldLease(queue: QueueID("nope"), epoch: Epoch(1))], at: at(1))
                == rejection(nodeA, QueueID("nope"), Epoch(1), .unknownQueue)
        )
        // Another node claims A's lease.
        table.nodeJoined(nodeB, at: at(1))
        let reply = table.renew(from: nodeB, held: [held1], at: at(1))
        #expect(reply == rejection(nodeB, q, Epoch(1), .staleEpoch))

        // A's own lease lapsed before the tick swept it.
        table.nodeLost(nodeB, at: at(2))
        #expect(
            table.renew(from: nodeA, held: [held1], at: at(10)) == rejection(nodeA, q, Epoch(1), .expired)
        )
        // The tick regrants it to A (still the placement owner) with epoch 2; epoch 1 is now stale.
        #expect(grants(table.tick(at: at(10))) == [.grant(nodeA, q, Epoch(2), expiresAt: at(20))])
        #expect(
            table.renew(from: nodeA, held: [held1], at: at(11)) == rejection(nodeA, q, Epoch(1), .staleEpoch)
        )
        // A future epoch nobody issued is stale too.
        #expect(
            table.renew(from: nodeA, held: [HeldLease(queue: q, epoch: Epoch(9))], at: at(11))
                == rejection(nodeA, q, Epoch(9), .staleEpoch)
        )
        // A lost node cannot renew, even its own running lease.
        table.nodeLost(nodeA, at: at(12))
        #expect(
            table.renew(from: nodeA, held: [HeldLease(queue: q, epoch: Epoch(2))], at: at(13))
                == rejection(nodeA, q, Epoch(2), .notMember)
        )
        #expect(table.table.lease(of: q)?.expiresAt == at(20))
        #expect(table.violations == [])
    }

    @Test("an ended lease with nobody to take the queue: renewing its epoch says expired")
    func expiredWithoutSuccessor() {
        var table = CheckedLeaseTable(leaseDuration: lease)
        let q = QueueID("q")
        table.nodeJoined(nodeA, at: at(0))
        table.declareQueue(q, at: at(0))
        table.drain(nodeA, at: at(1))
        #expect(table.table.state(of: nodeA) == .draining)
        // A never releases; the lease runs out and no live node can take it.
        let actions = table.tick(at: at(10))
        #expect(actions == [.nodeDrained(nodeA), .queueMapChanged(version: 3)])
        #expect(table.table.lease(of: q) == nil)
        #expect(
            table.renew(from: nodeA, held: [HeldLease(queue: q, epoch: Epoch(1))], at: at(11))
                == rejection(nodeA, q, Epoch(1), .expired)
        )
        #expect(table.violations == [])
    }

    @Test("a node killed mid-lease: nothing moves until expiry, then epoch + 1 goes to another node")
    func lostNodeKeepsLeaseUntilExpiry() {
        var table = CheckedLeaseTable(leaseDuration: lease)
        let q = queue(ownedBy: nodeA, among: [nodeA, nodeB])
        table.nodeJoined(nodeA, at: at(0))
        table.nodeJoined(nodeB, at: at(0))
        table.declareQueue(q, at: at(0))
        #expect(table.table.lease(of: q)?.owner == nodeA)
        table.renew(from: nodeA, held: [HeldLease(queue: q, epoch: Epoch(1))], at: at(2))  // until 12

        #expect(table.nodeLost(nodeA, at: at(3)) == [])
        #expect(table.table.state(of: nodeA) == .lost)
        for second in [4.0, 8, 11.999] {
            #expect(table.tick(at: at(second)) == [], "moved at \(second)")
            #expect(table.table.lease(of: q)?.owner == nodeA)
        }
        #expect(
            table.tick(at: at(12)) == [.grant(nodeB, q, Epoch(2), expiresAt: at(22)), .queueMapChanged(version: 2)])
        #expect(table.violations == [])
    }

    @Test("a frozen node that wakes after expiry: the manager moved on, the node knows it is stale")
    func frozenNodeWakesAfterExpiry() {
        var table = CheckedLeaseTable(leaseDuration: lease)
        var bookA = NodeLeaseBook(leaseDuration: lease, safetyMargin: .seconds(2))
        var bookB = NodeLeaseBook(leaseDuration: lease, safetyMargin: .seconds(2))
        let q = queue(ownedBy: nodeA, among: [nodeA, nodeB])
        table.nodeJoined(nodeA, at: at(0))
        table.nodeJoined(nodeB, at: at(0))
        table.declareQueue(q, at: at(0))
        #expect(bookA.granted(queue: q, epoch: Epoch(1), at: at(0.1)) == [.startQueue(q, Epoch(1))])

        // A renews at 4 and is frozen from 5 to 30: it believes the lease until 4 + 8 = 12.
        let renewal = bookA.makeRenewal(at: at(4))
        guard case .renewReply(_, let renewed, _) = table.renew(from: nodeA, held: renewal.held, at: at(4.1)).first
        else {
            Issue.record("no reply")
            return
        }
        _ = bookA.renewalAnswered(request: renewal.request, renewed: renewed.map(\.held), rejected: [], at: at(4.2))
        table.nodeLost(nodeA, at: at(8))  // missed heartbeats

        // The manager's lease (until 14.1) outlives A's belief (12).
        table.checkNodes([nodeA: bookA, nodeB: bookB], at: at(12))
        #expect(bookA.isValid(q, at: at(12)) == nil)
        #expect(table.tick(at: at(14)) == [])
        let moved = table.tick(at: at(14.1))
        #expect(grants(moved) == [.grant(nodeB, q, Epoch(2), expiresAt: at(24.1))])
        #expect(bookB.granted(queue: q, epoch: Epoch(2), at: at(14.2)) == [.startQueue(q, Epoch(2))])
        table.checkNodes([nodeA: bookA, nodeB: bookB], at: at(14.2))

        // A wakes at 30: before any tick it already knows from the clock it holds nothing.
        #expect(bookA.isValid(q, at: at(30)) == nil)
        #expect(bookA.validLeases(at: at(30)) == [])
        #expect(bookA.tick(at: at(30)) == [.stopQueue(q, Epoch(1), .lapsed)])
        let report = bookA.reportOnRejoin(at: at(30))
        #expect(report.held == [HeldLease(queue: q, epoch: Epoch(1))])
        table.nodeJoined(nodeA, at: at(30.1))
        let reply = table.renew(from: nodeA, held: report.held, at: at(30.1))
        #expect(
            reply == rejection(nodeA, q, Epoch(1), .staleEpoch)
        )
        #expect(
            bookA.renewalAnswered(
                request: report.request, renewed: [],
                rejected: [RejectedLease(queue: q, epoch: Epoch(1), reason: .staleEpoch)], at: at(30.2)) == [])
        #expect(bookA.reportOnRejoin(at: at(31)).held == [])
        #expect(table.violations == [])
    }

    @Test("drain: every lease is revoked, released queues move at once, the node ends drained; resume brings it back")
    func drainAndResume() {
        var table = CheckedLeaseTable(leaseDuration: lease)
        let q1 = queue(ownedBy: nodeA, among: [nodeA, nodeB])
        let q2 = queue(ownedBy: nodeA, among: [nodeA, nodeB], skipping: 1)
        table.nodeJoined(nodeA, at: at(0))
        table.nodeJoined(nodeB, at: at(0))
        table.declareQueue(q1, at: at(0))
        table.declareQueue(q2, at: at(0))

        let drained = table.drain(nodeA, at: at(1))
        #expect(
            drained == [
                .revoke(nodeA, min(q1, q2), Epoch(1), .drain), .revoke(nodeA, max(q1, q2), Epoch(1), .drain),
                .queueMapChanged(version: 3),
            ]
        )
        #expect(table.table.state(of: nodeA) == .draining)
        #expect(table.table.lease(of: q1)?.handoff == .drain)
        // Draining twice asks nothing again.
        #expect(table.drain(nodeA, at: at(1.5)) == [])
        // Renewals of leases under handoff still succeed: A is finishing calls.
        guard
            case .renewReply(_, let renewed, _) = table.renew(
                from: nodeA, held: [HeldLease(queue: q1, epoch: Epoch(1))], at: at(2)
            ).first
        else {
            Issue.record("no reply")
            return
        }
        #expect(renewed.count == 1)

        let first = table.release(from: nodeA, queue: q1, epoch: Epoch(1), at: at(3))
        #expect(first == [.grant(nodeB, q1, Epoch(2), expiresAt: at(13)), .queueMapChanged(version: 4)])
        let second = table.release(from: nodeA, queue: q2, epoch: Epoch(1), at: at(4))
        #expect(
            second == [
                .grant(nodeB, q2, Epoch(2), expiresAt: at(14)), .nodeDrained(nodeA), .queueMapChanged(version: 5),
            ]
        )
        #expect(table.table.state(of: nodeA) == .drained)

        // Resume: A is a placement candidate again, and gets its queues back through handoff.
        let resumed = table.resume(nodeA, at: at(5))
        #expect(
            resumed == [
                .revoke(nodeB, min(q1, q2), Epoch(2), .rebalance), .revoke(nodeB, max(q1, q2), Epoch(2), .rebalance),
                .queueMapChanged(version: 6),
            ]
        )
        #expect(table.table.state(of: nodeA) == .live)
        table.release(from: nodeB, queue: q1, epoch: Epoch(2), at: at(6))
        #expect(table.table.lease(of: q1)?.owner == nodeA)
        #expect(table.table.lease(of: q1)?.epoch == Epoch(3))
        #expect(table.violations == [])
    }

    @Test("draining a node that holds nothing reports it drained at once")
    func drainEmptyNode() {
        var table = CheckedLeaseTable(leaseDuration: lease)
        table.nodeJoined(nodeA, at: at(0))
        #expect(table.drain(nodeA, at: at(1)) == [.nodeDrained(nodeA)])
        #expect(table.table.state(of: nodeA) == .drained)
        #expect(table.drain(MemberID("stranger"), at: at(1)) == [])
        #expect(table.violations == [])
    }

    @Test("a drain survives loss and return; a plain loss does not make a node drained")
    func drainSurvivesRejoin() {
        var table = CheckedLeaseTable(leaseDuration: lease)
        let q = queue(ownedBy: nodeA, among: [nodeA, nodeB])
        table.nodeJoined(nodeA, at: at(0))
        table.nodeJoined(nodeB, at: at(0))
        table.nodeJoined(nodeC, at: at(0))
        table.declareQueue(q, at: at(0))
        table.drain(nodeA, at: at(1))
        table.drain(nodeC, at: at(1))
        #expect(table.table.state(of: nodeC) == .drained)
        table.nodeLost(nodeA, at: at(2))
        table.nodeLost(nodeC, at: at(2))
        #expect(table.table.state(of: nodeA) == .lost)
        // A still holds its lease under drain: it comes back draining, and is asked again.
        #expect(table.nodeJoined(nodeA, at: at(3)) == [.revoke(nodeA, q, Epoch(1), .drain)])
        #expect(table.table.state(of: nodeA) == .draining)
        #expect(table.table.snapshot.nodes.first { $0.id == nodeA }?.drainRequested == true)
        // C held nothing: it comes back drained, and says so for whoever waits on it.
        #expect(table.nodeJoined(nodeC, at: at(3)) == [.nodeDrained(nodeC)])
        #expect(table.table.state(of: nodeC) == .drained)
        table.resume(nodeA, at: at(4))
        #expect(table.table.state(of: nodeA) == .live)
        #expect(table.resume(nodeA, at: at(4)) == [])

        table.nodeLost(nodeB, at: at(5))
        table.nodeJoined(nodeB, at: at(6))
        #expect(table.table.state(of: nodeB) == .live)
        #expect(table.violations == [])
    }

    @Test("a node that registers again is sent its pending revocations again")
    func revocationsRepeatedOnRejoin() {
        var table = CheckedLeaseTable(leaseDuration: lease)
        let q = QueueID("q")
        table.nodeJoined(nodeA, at: at(0))
        table.declareQueue(q, at: at(0))
        table.drain(nodeA, at: at(1))
        table.nodeLost(nodeA, at: at(2))  // the revocation may have died with the connection
        let rejoined = table.nodeJoined(nodeA, at: at(3))
        #expect(rejoined == [.revoke(nodeA, q, Epoch(1), .drain)])
        #expect(table.violations == [])
    }

    @Test("release hands the queue on at once with epoch + 1; a stale or repeated release is ignored")
    func releaseRegrantsAtOnce() {
        var table = CheckedLeaseTable(leaseDuration: lease)
        let q = QueueID("q")
        table.nodeJoined(nodeA, at: at(0))
        table.declareQueue(q, at: at(0))
        let version = table.table.version
        #expect(
            table.release(from: nodeA, queue: q, epoch: Epoch(1), at: at(2)) == [
                .grant(nodeA, q, Epoch(2), expiresAt: at(12)), .queueMapChanged(version: version + 1),
            ]
        )
        #expect(
            table.release(from: nodeA, queue: q, epoch: Epoch(1), at: at(3)) == [.releaseIgnored(nodeA, q, Epoch(1))])
        #expect(
            table.release(from: nodeB, queue: q, epoch: Epoch(2), at: at(3)) == [.releaseIgnored(nodeB, q, Epoch(2))])
        #expect(
            table.release(from: nodeA, queue: QueueID("other"), epoch: Epoch(1), at: at(3)) == [
                .releaseIgnored(nodeA, QueueID("other"), Epoch(1))
            ]
        )
        #expect(table.table.version == version + 1)
        #expect(table.violations == [])
    }

    @Test("a joining node takes its share through one revocation per queue, not one per tick")
    func rebalanceOnJoin() {
        var table = CheckedLeaseTable(leaseDuration: lease)
        let queues = (0..<20).map { QueueID("q-\($0)") }
        table.nodeJoined(nodeA, at: at(0))
        for q in queues { table.declareQueue(q, at: at(0)) }
        let moving = queues.filter { Rendezvous.owner(of: $0, among: [nodeA, nodeB]) == nodeB }
        #expect(!moving.isEmpty)

        let joined = table.nodeJoined(nodeB, at: at(1))
        let expected: [LeaseAction] = moving.sorted().map { .revoke(nodeA, $0, Epoch(1), .rebalance) }
        #expect(joined == expected + [.queueMapChanged(version: table.table.version)])
        #expect(table.tick(at: at(2)) == [])
        // Leases under rebalance are still renewed while A finishes.
        let held = queues.map { HeldLease(queue: $0, epoch: Epoch(1)) }
        guard case .renewReply(_, let renewed, let rejected) = table.renew(from: nodeA, held: held, at: at(3)).first
        else {
            Issue.record("no reply")
            return
        }
        #expect(renewed.count == queues.count && rejected.isEmpty)
        for q in moving {
            #expect(
                grants(table.release(from: nodeA, queue: q, epoch: Epoch(1), at: at(4))) == [
                    .grant(nodeB, q, Epoch(2), expiresAt: at(14))
                ])
        }
        for q in queues {
            #expect(table.table.lease(of: q)?.owner == Rendezvous.owner(of: q, among: [nodeA, nodeB]))
        }
        #expect(table.violations == [])
    }

    @Test("a lost node that comes back is rebalanced if someone else is now the placement owner")
    func rebalanceOnReturn() {
        var table = CheckedLeaseTable(leaseDuration: lease)
        let q = queue(ownedBy: nodeB, among: [nodeA, nodeB])
        table.nodeJoined(nodeA, at: at(0))
        table.declareQueue(q, at: at(0))
        table.nodeLost(nodeA, at: at(1))
        // B joins while A's lease still runs: no rebalance of a lost owner's lease.
        #expect(table.nodeJoined(nodeB, at: at(2)) == [])
        // A comes back before expiry: now it is asked to hand over.
        #expect(
            table.nodeJoined(nodeA, at: at(3)) == [
                .revoke(nodeA, q, Epoch(1), .rebalance), .queueMapChanged(version: 2),
            ])
        #expect(table.violations == [])
    }

    @Test("removing a queue: revoked, renewable meanwhile, gone on release; declared again it continues its epochs")
    func removeQueue() {
        var table = CheckedLeaseTable(leaseDuration: lease)
        let q = QueueID("q")
        table.nodeJoined(nodeA, at: at(0))
        table.declareQueue(q, at: at(0))
        #expect(
            table.removeQueue(q, at: at(1)) == [.revoke(nodeA, q, Epoch(1), .removed), .queueMapChanged(version: 2)])
        #expect(table.table.snapshot.queues.first?.removing == true)
        #expect(table.removeQueue(q, at: at(1.5)) == [])
        guard
            case .renewReply(_, let renewed, _) = table.renew(
                from: nodeA, held: [HeldLease(queue: q, epoch: Epoch(1))], at: at(2)
            ).first
        else {
            Issue.record("no reply")
            return
        }
        #expect(renewed.count == 1)
        #expect(table.release(from: nodeA, queue: q, epoch: Epoch(1), at: at(3)) == [.queueMapChanged(version: 3)])
        #expect(table.table.snapshot.queues.isEmpty)
        #expect(table.table.lease(of: q) == nil)
        #expect(
            table.renew(from: nodeA, held: [HeldLease(queue: q, epoch: Epoch(1))], at: at(3))
                == rejection(nodeA, q, Epoch(1), .unknownQueue)
        )
        #expect(table.removeQueue(q, at: at(3)) == [])
        #expect(grants(table.declareQueue(q, at: at(4))) == [.grant(nodeA, q, Epoch(2), expiresAt: at(14))])
        #expect(table.violations == [])
    }

    @Test("removing an unleased queue drops it at once; a lost owner's removed queue goes at expiry")
    func removeUnleasedAndLost() {
        var table = CheckedLeaseTable(leaseDuration: lease)
        let q = QueueID("q")
        table.declareQueue(q, at: at(0))
        #expect(table.removeQueue(q, at: at(1)) == [.queueMapChanged(version: 2)])
        #expect(table.table.snapshot.queues.isEmpty)

        table.nodeJoined(nodeA, at: at(2))
        table.declareQueue(q, at: at(2))
        table.nodeLost(nodeA, at: at(3))
        // No revocation can reach a lost node; the lease is the only way out.
        #expect(table.removeQueue(q, at: at(4)) == [.queueMapChanged(version: 4)])
        #expect(table.tick(at: at(11.9)) == [])
        #expect(table.tick(at: at(12)) == [.queueMapChanged(version: 5)])
        #expect(table.table.snapshot.queues.isEmpty)
        // Declaring it again while removal is pending cancels the removal.
        table.nodeJoined(nodeA, at: at(13))
        table.declareQueue(q, at: at(13))
        table.removeQueue(q, at: at(14))
        table.declareQueue(q, at: at(15))
        table.release(from: nodeA, queue: q, epoch: Epoch(2), at: at(16))
        #expect(table.table.lease(of: q)?.epoch == Epoch(3))
        #expect(table.violations == [])
    }

    @Test("a restarted manager grants nothing for one lease period and adopts leases reported by their grantees")
    func restartRecovery() {
        var table = CheckedLeaseTable(leaseDuration: lease)
        let q1 = queue(ownedBy: nodeA, among: [nodeA, nodeB])
        let q2 = queue(ownedBy: nodeB, among: [nodeA, nodeB])
        table.nodeJoined(nodeA, at: at(0))
        table.nodeJoined(nodeB, at: at(0))
        table.declareQueue(q1, at: at(0))
        table.declareQueue(q2, at: at(0))
        table.renew(from: nodeA, held: [HeldLease(queue: q1, epoch: Epoch(1))], at: at(2))  // until 12

        // The manager restarts at 3 knowing only the last grants; B's lease (until 10) and A's
        // (until 12) are still running out there.
        #expect(
            table.restartManager(declaring: [q1, q2], at: at(3)) == [
                .queueMapChanged(version: 1), .queueMapChanged(version: 2),
            ])
        #expect(table.table.isRecovering(at: at(3)))
        #expect(table.nodeJoined(nodeA, at: at(4)) == [])
        #expect(table.nodeJoined(nodeB, at: at(4)) == [])
        // A reports its lease: adopted, with a new expiry.
        #expect(
            table.renew(from: nodeA, held: [HeldLease(queue: q1, epoch: Epoch(1))], at: at(4)) == [
                .renewReply(
                    to: nodeA, renewed: [RenewedLease(queue: q1, epoch: Epoch(1), expiresAt: at(14))], rejected: []),
                .queueMapChanged(version: 3),
            ]
        )
        // Someone else reporting that lease, or the last epoch of a queue it was not granted, is
        // not adopted.
        #expect(
            table.renew(from: nodeB, held: [HeldLease(queue: q1, epoch: Epoch(1))], at: at(5))
                == rejection(nodeB, q1, Epoch(1), .staleEpoch))
        #expect(
            table.renew(from: nodeA, held: [HeldLease(queue: q2, epoch: Epoch(1))], at: at(5))
                == rejection(nodeA, q2, Epoch(1), .expired))
        // B does not report q2 (its process restarted): q2 waits out the whole window.
        #expect(table.tick(at: at(12.9)) == [])
        #expect(
            table.tick(at: at(13)) == [.grant(nodeB, q2, Epoch(2), expiresAt: at(23)), .queueMapChanged(version: 4)])
        #expect(!table.table.isRecovering(at: at(13)))
        // After the window, a report is a plain renewal again: nothing more is adopted.
        #expect(
            table.renew(from: nodeA, held: [HeldLease(queue: q2, epoch: Epoch(1))], at: at(14))
                == rejection(nodeA, q2, Epoch(1), .staleEpoch))
        #expect(table.violations == [])
    }

    @Test("a snapshot lists nodes and queues sorted by id with their leases")
    func snapshotIsSorted() {
        var table = CheckedLeaseTable(leaseDuration: lease)
        table.nodeJoined(nodeC, at: at(0))
        table.nodeJoined(nodeA, at: at(1))
        for name in ["z", "b", "m"] { table.declareQueue(QueueID(name), at: at(2)) }
        let snapshot = table.table.snapshot
        #expect(snapshot.nodes.map(\.id) == [nodeA, nodeC])
        #expect(snapshot.nodes.map(\.lastSeen) == [at(1), at(0)])
        #expect(snapshot.queues.map(\.id) == [QueueID("b"), QueueID("m"), QueueID("z")])
        #expect(snapshot.queues.allSatisfy { $0.owner != nil && $0.epoch == Epoch(1) && $0.expiresAt == at(12) })
        #expect(snapshot.version == table.table.version)
        #expect(table.violations == [])
    }
}
