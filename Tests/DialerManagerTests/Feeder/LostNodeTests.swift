import DialerCore
import DialerProtocol
import DialerTransport
import Foundation
import Testing

@testable import DialerManager

@Suite("Feeder: a lost node's attempts", .serialized)
struct LostNodeTests {
    /// A campaign whose unknown outcomes are retried after two minutes.
    static var settings: CampaignSettings {
        var settings = CampaignSettings.dialing
        settings.retryIntervals.unknown = .seconds(120)
        return settings
    }

    @Test func aKilledNodesOpenAttemptsCloseAsUnknownOnlyAfterItsLeaseAndRetryLater() async throws {
        let fixture = try await FeederFixture()
        try await makeCampaign(fixture.store, settings: Self.settings)
        try await addContacts(fixture.store, count: 3)
        let node = try await fixture.connect("node-1")
        let lease = try #require(node.lease(of: "q-c1"))
        let handed = try #require(batch(try await node.contacts(lease, count: 3))).attempts
        try #require(handed.count == 3)
        #expect(ack(try await node.report(handed[0], .noAnswer, lease: lease)) != nil)

        await node.close()
        #expect(await fixture.waitUntilGone("node-1"))
        // Its lease still runs on the manager's clock: it may be dialing, nothing closes.
        await fixture.feeder.sweepLostNodes()
        #expect(try await fixture.store.openAttempts(campaign: nil).count == 2)

        fixture.clock.advance(by: FeederFixture.leaseDuration)
        await fixture.coordinator.tick()
        await fixture.feeder.sweepLostNodes()
        let lostAt = fixture.now
        #expect(try await fixture.store.openAttempts(campaign: nil).isEmpty)
        for attempt in handed.dropFirst() {
            #expect(try await fixture.store.attempt(AttemptID(attempt.attempt))?.outcome == .unknown)
            let contact = try #require(try await fixture.store.contact(ContactID(attempt.contact)))
            #expect(contact.state == .scheduled(at: lostAt.addingTimeInterval(120)))
        }
        #expect(try await fixture.store.attempt(AttemptID(handed[0].attempt))?.outcome == .noAnswer)
        // A second sweep finds nothing more to do.
        await fixture.feeder.sweepLostNodes()

        // Another node takes the queue: the two contacts wait for their retry interval.
        let next = try await fixture.connect("node-2")
        let nextLease = try #require(next.lease(of: "q-c1"))
        #expect(nextLease.epoch > lease.epoch)
        #expect(batch(try await next.contacts(nextLease, count: 5))?.attempts.isEmpty == true)

        await fixture.advance(by: .seconds(120), renewing: next)
        let retried = try #require(batch(try await next.contacts(nextLease, count: 5))).attempts
        #expect(Set(retried.map(\.contact)) == Set(handed.dropFirst().map(\.contact)))
        #expect(retried.allSatisfy { $0.attemptNumber == 2 })

        // The lost node comes back and reports late: nothing reopens, nothing counts twice.
        let back = try await fixture.connect("node-1")
        let before = try await fixture.store.contact(ContactID(handed[1].contact))
        #expect(errorCode(try await back.report(handed[1], .connected, lease: lease)) == .unknownRequest)
        #expect(try await fixture.store.contact(ContactID(handed[1].contact)) == before)
        #expect(try await fixture.store.attempt(AttemptID(handed[1].attempt))?.outcome == .unknown)
        await fixture.shutdown()
    }

    @Test func aNodeThatComesBackWithinTheGraceKeepsItsAttempts() async throws {
        let fixture = try await FeederFixture()
        try await makeCampaign(fixture.store, settings: Self.settings)
        try await addContacts(fixture.store, count: 1)
        let node = try await fixture.connect("node-1")
        let lease = try #require(node.lease(of: "q-c1"))
        let handed = try #require(batch(try await node.contacts(lease, count: 1))).attempts
        await node.close()
        #expect(await fixture.waitUntilGone("node-1"))
        fixture.clock.advance(by: .seconds(3))
        let back = try await fixture.connect("node-1")
        fixture.clock.advance(by: FeederFixture.leaseDuration * 2)
        await fixture.coordinator.tick()
        await fixture.feeder.sweepLostNodes()
        #expect(try await fixture.store.openAttempts(campaign: nil).count == 1)
        #expect(try #require(ack(try await back.report(handed[0], .busy, lease: lease))).duplicate == false)
        await fixture.shutdown()
    }

    @Test func aLeavingNodeIsSweptAsSoonAsItsLeasesAreBack() async throws {
        let fixture = try await FeederFixture()
        try await makeCampaign(fixture.store, settings: Self.settings)
        try await addContacts(fixture.store, count: 2)
        let node = try await fixture.connect("node-1")
        let lease = try #require(node.lease(of: "q-c1"))
        #expect(batch(try await node.contacts(lease, count: 2))?.attempts.count == 2)
        try await node.link.send(Envelope(.leaving(.init())))
        var release = Dialer_V1_LeaseRelease()
        release.lease = Dialer_V1_QueueLease(lease)
        try await node.link.send(Envelope(.leaseRelease(release)))
        await node.close()
        #expect(await fixture.waitUntilGone("node-1"))
        // No clock movement: it said it was leaving and holds no lease.
        await fixture.feeder.sweepLostNodes()
        #expect(try await fixture.store.openAttempts(campaign: nil).isEmpty)
        await fixture.shutdown()
    }

    @Test func aRestartedManagerClosesTheAttemptsOfNodesThatDoNotComeBack() async throws {
        let first = try await FeederFixture()
        try await makeCampaign(first.store, settings: Self.settings)
        try await addContacts(first.store, count: 2)
        let node = try await first.connect("node-1")
        let lease = try #require(node.lease(of: "q-c1"))
        #expect(batch(try await node.contacts(lease, count: 2))?.attempts.count == 2)
        await first.shutdown()

        // The same database under a new manager that never hears from node-1.
        let second = try await FeederFixture(store: first.temporary)
        #expect(await second.feeder.accountForOpenAttempts())
        await second.feeder.sweepLostNodes()
        #expect(try await second.store.openAttempts(campaign: nil).count == 2)
        second.clock.advance(by: FeederFixture.leaseDuration)
        await second.feeder.sweepLostNodes()
        let open = try await second.store.openAttempts(campaign: nil)
        #expect(open.isEmpty)
        await second.shutdown()
    }
}

@Suite("Feeder: when lost nodes are swept")
struct LostNodeSweepTests {
    let grace = Duration.seconds(10)
    let start = Moment.origin
    let node = MemberID("n1")

    @Test func awayForTheGraceWithoutALease() {
        var sweep = LostNodeSweep(grace: grace)
        sweep.connected(node)
        #expect(sweep.due(at: start + .seconds(60), leaseHolders: []).isEmpty)
        sweep.disconnected(node, at: start + .seconds(1))
        #expect(sweep.due(at: start + .seconds(10), leaseHolders: []).isEmpty)
        #expect(sweep.due(at: start + .seconds(11), leaseHolders: [node]).isEmpty)
        let due = sweep.due(at: start + .seconds(12), leaseHolders: [])
        #expect(due == [LostNodeSweep.Sweep(node: node, lostAt: start + .seconds(1))])
        // Once, until reported.
        #expect(sweep.due(at: start + .seconds(13), leaseHolders: []).isEmpty)
        sweep.swept(node, succeeded: false)
        #expect(sweep.due(at: start + .seconds(14), leaseHolders: []).map(\.node) == [node])
        sweep.swept(node, succeeded: true)
        #expect(sweep.due(at: start + .seconds(100), leaseHolders: []).isEmpty)
        #expect(sweep.awayNodes.isEmpty)
    }

    @Test func leavingSkipsTheGraceButNotTheLease() {
        var sweep = LostNodeSweep(grace: grace)
        sweep.connected(node)
        sweep.leaving(node)
        sweep.disconnected(node, at: start)
        #expect(sweep.due(at: start, leaseHolders: [node]).isEmpty)
        #expect(sweep.due(at: start, leaseHolders: []).map(\.node) == [node])
    }

    @Test func comingBackCancelsAndANewLossStartsAgain() {
        var sweep = LostNodeSweep(grace: grace)
        sweep.connected(node)
        sweep.leaving(node)
        sweep.connected(node)
        sweep.disconnected(node, at: start)
        sweep.connected(node)
        #expect(sweep.due(at: start + .seconds(60), leaseHolders: []).isEmpty)
        sweep.disconnected(node, at: start + .seconds(60))
        let due = sweep.due(at: start + .seconds(70), leaseHolders: [])
        #expect(due == [LostNodeSweep.Sweep(node: node, lostAt: start + .seconds(60))])
        // Back while its sweep runs: the sweep's end does not forget that it is connected.
        sweep.connected(node)
        sweep.swept(node, succeeded: true)
        #expect(sweep.awayNodes.isEmpty)
        sweep.disconnected(node, at: start + .seconds(80))
        #expect(sweep.awayNodes == [node])
    }

    @Test func aRestartCountsOpenHoldersAwaySinceTheStart() {
        var sweep = LostNodeSweep(grace: grace)
        let other = MemberID("n2")
        sweep.connected(other)
        sweep.restarted(openHolders: [node, other], at: start)
        #expect(sweep.due(at: start + .seconds(9), leaseHolders: []).isEmpty)
        #expect(sweep.due(at: start + .seconds(10), leaseHolders: []).map(\.node) == [node])
    }
}
