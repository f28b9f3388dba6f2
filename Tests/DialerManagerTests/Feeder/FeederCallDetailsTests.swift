import DialerCore
import DialerProtocol
import DialerTransport
import Foundation
import Testing

@testable import DialerManager

@Suite("Feeder: a report's call details over the cluster protocol", .serialized)
struct FeederCallDetailsTests {
    /// Unix milliseconds of ``StoreTime/monday`` plus `seconds`.
    private func unixMs(_ seconds: Double) -> UInt64 {
        UInt64((StoreTime.monday.timeIntervalSince1970 + seconds) * 1000)
    }

    @Test func theTimesAndCallerIDOfAReportAreStoredAndBadOnesLeftOut() async throws {
        let fixture = try await FeederFixture()
        try await makeCampaign(fixture.store)
        try await addContacts(fixture.store, count: 2)
        let node = try await fixture.connect("node-1")
        let lease = try #require(node.lease(of: "q-c1"))
        let handed = try #require(batch(try await node.contacts(lease, count: 2))).attempts
        try #require(handed.count == 2)

        var report = Dialer_V1_AttemptReport()
        report.lease = Dialer_V1_QueueLease(lease)
        report.attempt = handed[0].attempt
        report.contact = handed[0].contact
        report.outcome = .connected
        report.agent = "a1"
        report.dialedAtMs = unixMs(10)
        report.answeredAtMs = unixMs(20.5)
        report.bridgedAtMs = unixMs(21.25)
        report.endedAtMs = unixMs(90)
        report.callerID = "+4570101010"
        let first = try #require(ack(try await node.request(.attemptReport(report))))
        #expect(!first.duplicate)
        let record = try #require(try await fixture.store.attempt(AttemptID(handed[0].attempt)))
        #expect(record.dialedAt == Date(timeIntervalSince1970: Double(unixMs(10)) / 1000))
        #expect(record.answeredAt == Date(timeIntervalSince1970: Double(unixMs(20.5)) / 1000))
        #expect(record.bridgedAt == Date(timeIntervalSince1970: Double(unixMs(21.25)) / 1000))
        #expect(record.callEndedAt == Date(timeIntervalSince1970: Double(unixMs(90)) / 1000))
        #expect(record.callerID == "+4570101010")

        // The same report again, even with other details, is a duplicate and changes nothing.
        report.endedAtMs = unixMs(120)
        report.callerID = "+4570202020"
        #expect(try #require(ack(try await node.request(.attemptReport(report)))).duplicate)
        #expect(try await fixture.store.attempt(AttemptID(handed[0].attempt)) == record)

        // Times out of order and a caller ID that is not E.164: acknowledged, the result
        // recorded, the details left out. A 0 is an absent time, not 1970.
        var bad = Dialer_V1_AttemptReport()
        bad.lease = Dialer_V1_QueueLease(lease)
        bad.attempt = handed[1].attempt
        bad.contact = handed[1].contact
        bad.outcome = .busy
        bad.dialedAtMs = unixMs(30)
        bad.answeredAtMs = 0
        bad.endedAtMs = unixMs(29)
        bad.callerID = "anonymous"
        let badAck = try #require(ack(try await node.request(.attemptReport(bad))))
        #expect(!badAck.duplicate)
        let badRecord = try #require(try await fixture.store.attempt(AttemptID(handed[1].attempt)))
        #expect(badRecord.outcome == .busy)
        #expect(badRecord.dialedAt == nil && badRecord.answeredAt == nil && badRecord.callEndedAt == nil)
        #expect(badRecord.callerID == nil)
        #expect(try await fixture.store.contact(ContactID(handed[1].contact))?.lastOutcome == .busy)
        await fixture.shutdown()
    }

    @Test func aResultCrossesTheWireWithItsDetails() throws {
        let result = AttemptResult(
            attempt: AttemptID("a"), contact: ContactID("1"), outcome: .connected, agent: AgentID("a1"),
            answeredAt: Date(timeIntervalSince1970: 1_736_164_820.5),
            dialedAt: Date(timeIntervalSince1970: 1_736_164_810),
            bridgedAt: Date(timeIntervalSince1970: 1_736_164_821.25),
            callEndedAt: Date(timeIntervalSince1970: 1_736_164_890), callerID: "+4570101010")
        let wire = Dialer_V1_AttemptReport(result, lease: HeldLease(queue: QueueID("q"), epoch: Epoch(1)))
        #expect(wire.dialedAtMs == 1_736_164_810_000 && wire.endedAtMs == 1_736_164_890_000)
        #expect(try wire.result().get() == result)
        // Nothing set: every detail absent.
        let bare = AttemptResult(attempt: AttemptID("a"), contact: ContactID("1"), outcome: .busy)
        #expect(
            try Dialer_V1_AttemptReport(bare, lease: HeldLease(queue: QueueID("q"), epoch: Epoch(1))).result().get()
                == bare)
    }
}
