import DialerCore
import DialerProtocol
import Foundation
import Testing

@testable import DialerManager
@testable import DialerTransport

/// The wire form of `handOut`'s result.
private func report(
    _ handOut: Dialer_V1_AttemptHandOut, _ outcome: AttemptOutcome, lease: HeldLease
) -> Dialer_V1_AttemptReport {
    Dialer_V1_AttemptReport(
        AttemptResult(attempt: AttemptID(handOut.attempt), contact: ContactID(handOut.contact), outcome: outcome),
        lease: lease)
}

@Suite("Feeder: attempt results in batches (protocol version 2)", .serialized)
struct AttemptResultBatchTests {
    /// One frame, one answer, and each result its own outcome in it: applied, duplicate, or
    /// refused with the code it would have got alone.
    @Test func eachResultOfABatchKeepsItsOwnAnswer() async throws {
        let fixture = try await FeederFixture()
        try await makeCampaign(fixture.store)
        try await addContacts(fixture.store, count: 3)
        let node = try await fixture.connect("node-1")
        #expect(node.link.peer.protocolVersion == 2)
        let lease = try #require(node.lease(of: "q-c1"))
        let handed = try #require(batch(try await node.contacts(lease, count: 3))).attempts
        try #require(handed.count == 3)
        // The first is reported alone beforehand: in the batch it is a duplicate.
        #expect(ack(try await node.report(handed[0], .busy, lease: lease))?.duplicate == false)
        var unknown = report(handed[1], .busy, lease: lease)
        unknown.attempt = "no-such-attempt"
        var results = Dialer_V1_AttemptResultBatch()
        results.reports = [
            report(handed[0], .busy, lease: lease), report(handed[1], .noAnswer, lease: lease), unknown,
            report(handed[2], .connected, lease: lease),
        ]

        guard case .attemptResultBatchAck(let answer) = try await node.request(.attemptResultBatch(results)) else {
            Issue.record("no batch acknowledgement")
            return
        }
        #expect(
            answer.answers.map(\.attempt) == [
                handed[0].attempt, handed[1].attempt, "no-such-attempt", handed[2].attempt,
            ])
        #expect(answer.answers.map(\.duplicate) == [true, false, false, false])
        #expect(answer.answers.map { $0.hasError ? $0.error.code : nil } == [nil, nil, .unknownRequest, nil])
        #expect(try await fixture.store.attempt(AttemptID(handed[1].attempt))?.outcome == .noAnswer)
        #expect(try await fixture.store.attempt(AttemptID(handed[2].attempt))?.outcome == .connected)
        #expect(try await fixture.store.openAttempts(campaign: nil).isEmpty)
        await fixture.shutdown()
    }

    /// A batch that cannot be taken at all is refused whole, and the connection goes on.
    @Test func anEmptyOrOversizedBatchIsRefusedWhole() async throws {
        let fixture = try await FeederFixture()
        try await makeCampaign(fixture.store)
        try await addContacts(fixture.store, count: 1)
        let node = try await fixture.connect("node-1")
        let lease = try #require(node.lease(of: "q-c1"))
        let handed = try #require(batch(try await node.contacts(lease, count: 1))).attempts
        #expect(errorCode(try await node.request(.attemptResultBatch(.init()))) == .invalidArgument)
        var tooMany = Dialer_V1_AttemptResultBatch()
        tooMany.reports = Array(
            repeating: report(handed[0], .busy, lease: lease), count: ManagerFeeder.maximumResultBatch + 1)
        #expect(errorCode(try await node.request(.attemptResultBatch(tooMany))) == .invalidArgument)
        #expect(try await fixture.store.openAttempts(campaign: nil).count == 1, "nothing of them was applied")
        #expect(ack(try await node.report(handed[0], .busy, lease: lease))?.duplicate == false)
        await fixture.shutdown()
    }

    /// On a version 1 connection (a pinned or older node) the manager answers a batch as a
    /// version 1 manager would: `UNKNOWN_MESSAGE`, and the connection is closed. The node's own
    /// side refuses to send it in the first place.
    @Test func aBatchOnAVersionOneConnectionIsRefused() async throws {
        let fixture = try await FeederFixture()
        let node = try await fixture.connect("node-1", versions: 1...1)
        #expect(node.link.peer.protocolVersion == 1)
        await #expect(throws: NotInProtocolVersion.self) {
            _ = try await node.request(.attemptResultBatch(.init()))
        }
        // Past the local check, as a wrong client would send it: the manager closes.
        try node.link.gate.sendNow(Envelope(.attemptResultBatch(.init()), correlationID: 99))
        #expect(await fixture.waitUntilGone("node-1"))
        let view = await fixture.coordinator.view()
        #expect(view.members.first { $0.id == "node-1" }?.protocolVersion == 1)
        await fixture.shutdown()
    }

    /// The cluster table shows the version each member's connection speaks.
    @Test func theClusterTableShowsEachMembersVersion() async throws {
        let fixture = try await FeederFixture()
        _ = try await fixture.connect("node-old", versions: 1...1)
        _ = try await fixture.connect("node-new")
        let members = await fixture.coordinator.view().members
        #expect(members.first { $0.id == "node-old" }?.protocolVersion == 1)
        #expect(members.first { $0.id == "node-new" }?.protocolVersion == 2)
        await fixture.shutdown()
    }
}
