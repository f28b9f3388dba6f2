import DialerCore
import DialerProtocol
import DialerRuntime
import DialerTransport
import Foundation
import Testing

@testable import DialerManager

@Suite("Feeder: the manager's answers over the cluster protocol", .serialized)
struct FeederProtocolTests {
    @Test func campaignInfoCarriesTheAPISettingsAndTheRevision() async throws {
        let fixture = try await FeederFixture()
        var settings = CampaignSettings.dialing
        settings.maximumAttempts = 4
        let campaign = try await makeCampaign(fixture.store, settings: settings)
        let node = try await fixture.connect("node-1")
        let lease = try #require(node.lease(of: "q-c1"))
        var request = Dialer_V1_CampaignRequest()
        request.lease = Dialer_V1_QueueLease(lease)

        guard case .campaignInfo(let info) = try await node.request(.campaignRequest(request)) else {
            Issue.record("no campaign info")
            return
        }
        #expect(info.campaign == "c1" && info.queue == "q-c1" && info.status == "enabled" && info.dialingAllowed)
        #expect(info.revision == 1)
        #expect(try APIJSON.decoder().decode(CampaignSettings.self, from: info.settingsJson) == campaign.settings)
        // The API's form: snake_case keys.
        #expect(String(decoding: info.settingsJson, as: UTF8.self).contains("\"maximum_attempts\":4"))

        await fixture.changes.changed(.campaign(CampaignID("c1")))
        let contacts = try #require(batch(try await node.contacts(lease, count: 1)))
        #expect(contacts.campaignRevision == 2)
        await fixture.shutdown()
    }

    @Test func onlyTheOwnerUnderTheCurrentEpochIsServed() async throws {
        let fixture = try await FeederFixture(queues: ["q-c1", "q-other"])
        try await makeCampaign(fixture.store)
        try await addContacts(fixture.store, count: 3)
        let owner = try await fixture.connect("node-1")
        let stranger = try await fixture.connect("node-2")
        let first = try #require(owner.lease(of: "q-c1"))

        // Another node, even naming the owner's epoch.
        #expect(errorCode(try await stranger.contacts(first, count: 1)) == .notOwner)
        // A queue the cluster does not declare.
        #expect(
            errorCode(try await owner.contacts(HeldLease(queue: QueueID("q-nowhere"), epoch: Epoch(1)), count: 1))
                == .notOwner)
        // An epoch never issued.
        #expect(
            errorCode(try await owner.contacts(HeldLease(queue: first.queue, epoch: first.epoch.next), count: 1))
                == .notOwner)

        // Released and granted again: the old epoch is stale.
        var release = Dialer_V1_LeaseRelease()
        release.lease = Dialer_V1_QueueLease(first)
        try await owner.link.send(Envelope(.leaseRelease(release)))
        var second: HeldLease?
        for _ in 0..<200 where second == nil {
            second = [owner, stranger].compactMap { $0.lease(of: "q-c1") }.first { $0.epoch > first.epoch }
            try await Task.sleep(for: .milliseconds(10))
        }
        let current = try #require(second)
        let holder = owner.lease(of: "q-c1") == current ? owner : stranger
        #expect(errorCode(try await holder.contacts(first, count: 1)) == .staleEpoch)
        #expect(batch(try await holder.contacts(current, count: 1))?.attempts.count == 1)

        // A lease that ran out on the manager's clock, not yet swept by a tick.
        fixture.clock.advance(by: FeederFixture.leaseDuration + .seconds(1))
        #expect(errorCode(try await holder.contacts(current, count: 1)) == .staleEpoch)
        #expect(try await fixture.store.openAttempts(campaign: nil).count == 1)
        await fixture.shutdown()
    }

    @Test func badRequestsGetClearErrorsAndTheConnectionGoesOn() async throws {
        let fixture = try await FeederFixture(queues: ["q-c1", "q-inbound"])
        try await makeCampaign(fixture.store)
        try await addContacts(fixture.store, count: 2)
        let node = try await fixture.connect("node-1")
        let lease = try #require(node.lease(of: "q-c1"))

        #expect(errorCode(try await node.contacts(lease, count: 0)) == .invalidArgument)
        #expect(errorCode(try await node.contacts(lease, count: 1_000_000)) == .invalidArgument)
        #expect(errorCode(try await node.contacts(lease, count: 1, agents: [""])) == .invalidArgument)
        #expect(errorCode(try await node.request(.contactRequest(Dialer_V1_ContactRequest()))) == .invalidArgument)
        #expect(
            errorCode(try await node.contacts(HeldLease(queue: lease.queue, epoch: Epoch(0)), count: 1))
                == .invalidArgument)
        // A queue the node owns that no campaign dials.
        let inbound = try #require(node.lease(of: "q-inbound"))
        #expect(errorCode(try await node.contacts(inbound, count: 1)) == .notFound)
        var campaignRequest = Dialer_V1_CampaignRequest()
        campaignRequest.lease = Dialer_V1_QueueLease(inbound)
        #expect(errorCode(try await node.request(.campaignRequest(campaignRequest))) == .notFound)
        // Reports without an outcome, without an attempt.
        var report = Dialer_V1_AttemptReport()
        report.lease = Dialer_V1_QueueLease(lease)
        report.attempt = "a"
        report.contact = "1"
        #expect(errorCode(try await node.request(.attemptReport(report))) == .invalidArgument)
        report.outcome = .busy
        report.attempt = ""
        #expect(errorCode(try await node.request(.attemptReport(report))) == .invalidArgument)

        // Still connected, still served; nothing was handed out by the bad requests.
        #expect(batch(try await node.contacts(lease, count: 5))?.attempts.count == 2)
        await fixture.shutdown()
    }

    @Test func doNotCallNumbersAreNeverHandedOut() async throws {
        let fixture = try await FeederFixture()
        try await makeCampaign(fixture.store)
        let contacts = try await addContacts(fixture.store, count: 4)
        _ = try await fixture.store.addDoNotCall(
            danishNumber(1), scope: .global, defaultRegion: "DK", note: nil, now: StoreTime.monday)
        _ = try await fixture.store.addDoNotCall(
            danishNumber(3), scope: .campaign(CampaignID("c1")), defaultRegion: "DK", note: nil, now: StoreTime.monday)
        let node = try await fixture.connect("node-1")
        let lease = try #require(node.lease(of: "q-c1"))

        let handed = try #require(batch(try await node.contacts(lease, count: 10)))
        #expect(Set(handed.attempts.map(\.contact)) == [contacts[0].id.rawValue, contacts[2].id.rawValue])
        #expect(Set(handed.attempts.map(\.phone)) == [danishNumber(0), danishNumber(2)])
        #expect(batch(try await node.contacts(lease, count: 10))?.attempts.isEmpty == true)
        await fixture.shutdown()
    }

    @Test func reportsAreIdempotentAndOnlyTheHoldersCount() async throws {
        let fixture = try await FeederFixture()
        try await makeCampaign(fixture.store)
        try await addContacts(fixture.store, count: 2)
        let holder = try await fixture.connect("node-1")
        let lease = try #require(holder.lease(of: "q-c1"))
        let handed = try #require(batch(try await holder.contacts(lease, count: 2))).attempts
        try #require(handed.count == 2)
        let stranger = try await fixture.connect("node-2")

        // Another node's attempt, an unknown attempt, the wrong epoch, the wrong contact.
        #expect(errorCode(try await stranger.report(handed[0], .busy, lease: lease)) == .unknownRequest)
        var unknown = handed[0]
        unknown.attempt = "no-such-attempt"
        #expect(errorCode(try await holder.report(unknown, .busy, lease: lease)) == .unknownRequest)
        #expect(
            errorCode(
                try await holder.report(handed[0], .busy, lease: HeldLease(queue: lease.queue, epoch: lease.epoch.next))
            )
                == .unknownRequest)
        var otherContact = handed[0]
        otherContact.contact = handed[1].contact
        #expect(errorCode(try await holder.report(otherContact, .busy, lease: lease)) == .unknownRequest)
        #expect(try await fixture.store.openAttempts(campaign: nil).count == 2)

        let first = try #require(ack(try await holder.report(handed[0], .busy, lease: lease)))
        #expect(first.attempt == handed[0].attempt && !first.duplicate)
        let contact = try #require(try await fixture.store.contact(ContactID(handed[0].contact)))
        let again = try #require(ack(try await holder.report(handed[0], .busy, lease: lease)))
        #expect(again.duplicate)
        // A different outcome for the same attempt changes nothing either.
        #expect(try #require(ack(try await holder.report(handed[0], .connected, lease: lease))).duplicate)
        #expect(try await fixture.store.contact(ContactID(handed[0].contact)) == contact)
        #expect(try await fixture.store.attempt(AttemptID(handed[0].attempt))?.outcome == .busy)
        await fixture.shutdown()
    }

    @Test func concurrentRequestsNeverShareAContact() async throws {
        let fixture = try await FeederFixture()
        try await makeCampaign(fixture.store)
        try await addContacts(fixture.store, count: 30)
        let node = try await fixture.connect("node-1")
        let lease = try #require(node.lease(of: "q-c1"))
        let connection = try #require(await fixture.coordinator.registration(of: MemberID("node-1")))
        var request = Dialer_V1_ContactRequest()
        request.lease = Dialer_V1_QueueLease(lease)
        request.count = 4
        // Straight into the feeder, past the connection's one-at-a-time queue, and on the wire.
        let (feeder, message) = (fixture.feeder, Envelope.OneOf_Message.contactRequest(request))
        let handed = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<6 {
                group.addTask {
                    let reply = await feeder.answer(message, from: MemberID("node-1"), connection: connection)
                    return batch(reply)?.attempts.map(\.contact) ?? []
                }
                group.addTask { batch(try await node.contacts(lease, count: 4))?.attempts.map(\.contact) ?? [] }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(handed.count == 30)
        #expect(Set(handed).count == 30)
        #expect(try await fixture.store.openAttempts(campaign: nil).count == 30)
        await fixture.shutdown()
    }

    @Test func manyReportsInFlightOnOneConnectionAreEachAcknowledgedOnceApplied() async throws {
        let fixture = try await FeederFixture()
        try await makeCampaign(fixture.store)
        try await addContacts(fixture.store, count: 40)
        let node = try await fixture.connect("node-1")
        let lease = try #require(node.lease(of: "q-c1"))
        let handed = try #require(batch(try await node.contacts(lease, count: 40))).attempts
        try #require(handed.count == 40)
        // Every report and a second copy of each, all sent before any answer, on one connection.
        let store = fixture.store
        let answers = try await withThrowingTaskGroup(of: (String, Bool, Bool).self) { group in
            for handOut in handed + handed {
                group.addTask {
                    let reply = try #require(ack(try await node.report(handOut, .busy, lease: lease)))
                    // Acknowledged: the result is in the store already.
                    let closed = try await store.attempt(AttemptID(handOut.attempt))?.outcome == .busy
                    return (reply.attempt, reply.duplicate, closed)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.count == 80)
        #expect(answers.allSatisfy { $0.2 })
        #expect(Set(answers.filter { !$0.1 }.map(\.0)) == Set(handed.map(\.attempt)))
        #expect(answers.filter { !$0.1 }.count == 40)
        #expect(try await fixture.store.openAttempts(campaign: nil).isEmpty)
        await fixture.shutdown()
    }

    @Test func aQueueBeingHandedBackGetsNothingNew() async throws {
        let fixture = try await FeederFixture()
        try await makeCampaign(fixture.store)
        try await addContacts(fixture.store, count: 2)
        let node = try await fixture.connect("node-1")
        let lease = try #require(node.lease(of: "q-c1"))
        try await fixture.coordinator.drain("node-1")
        let reply = try #require(batch(try await node.contacts(lease, count: 2)))
        #expect(reply.attempts.isEmpty && !reply.dialingAllowed)
        #expect(try await fixture.store.openAttempts(campaign: nil).isEmpty)
        await fixture.shutdown()
    }
}
