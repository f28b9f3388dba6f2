import DialerCore
import DialerProtocol
import DialerTestSupport
import Foundation
import Testing

@testable import DialerManager

/// Nodes' pacing reports (PacingReport, 150) as the manager keeps them for the live panel.
@Suite("Pacing reports at the manager", .serialized)
struct PacingReportTests {
    static func report(_ lease: HeldLease, reason: String = "dialing", rate: UInt32 = 12) -> Dialer_V1_PacingReport {
        var report = Dialer_V1_PacingReport()
        report.lease = Dialer_V1_QueueLease(lease)
        report.reason = reason
        report.callsToStart = 2
        report.dialLevel = 1.5
        report.callsInFlight = 3
        report.attemptsLastMinute = rate
        return report
    }

    static func owners(_ fixture: FeederFixture) async -> [String: (owner: String?, epoch: UInt64)] {
        Dictionary(uniqueKeysWithValues: await fixture.coordinator.view().queues.map { ($0.id, ($0.owner, $0.epoch)) })
    }

    @Test func theOwnersReportIsShownWhileFreshAndUnderItsEpoch() async throws {
        let fixture = try await FeederFixture()
        let node = try await fixture.connect("node-1")
        let lease = try #require(node.lease(of: "q-c1"))
        try await node.link.send(Envelope(.pacingReport(Self.report(lease))))
        let arrived = await waitForCondition(timeout: .seconds(10)) {
            await fixture.pacing.current(owners: await Self.owners(fixture))["q-c1"] != nil
        }
        #expect(arrived, "the report was not kept")
        let entry = try #require(await fixture.pacing.current(owners: await Self.owners(fixture))["q-c1"])
        #expect(entry.node == "node-1" && entry.epoch == lease.epoch.rawValue)
        #expect(entry.report.reason == "dialing" && entry.report.attemptsLastMinute == 12)

        // Under an older epoch (the queue was granted again since): not shown.
        var stale = Self.report(lease, reason: "no-agents")
        stale.lease.epoch = lease.epoch.rawValue + 1
        await fixture.pacing.received(stale, from: "node-1")
        #expect(await fixture.pacing.current(owners: await Self.owners(fixture))["q-c1"] == nil)

        // Fresh again, then too old.
        await fixture.pacing.received(Self.report(lease), from: "node-1")
        #expect(await fixture.pacing.current(owners: await Self.owners(fixture))["q-c1"] != nil)
        fixture.clock.advance(by: PacingBoard.freshFor)
        #expect(await fixture.pacing.current(owners: await Self.owners(fixture))["q-c1"] == nil)
        await fixture.shutdown()
    }

    @Test func aReportFromAnotherMemberOrUnreadableIsNotShown() async throws {
        let board = PacingBoard(clock: ManualClock())
        let lease = HeldLease(queue: QueueID("q-c1"), epoch: Epoch(3))
        await board.received(Self.report(lease), from: "node-2")
        #expect(await board.current(owners: ["q-c1": ("node-1", 3)]).isEmpty)
        var unreadable = Self.report(lease)
        unreadable.dialLevel = .nan
        await board.received(unreadable, from: "node-1")
        var nameless = Self.report(lease)
        nameless.lease.queue = ""
        await board.received(nameless, from: "node-1")
        #expect(await board.current(owners: ["q-c1": ("node-1", 3)]).isEmpty)
        await board.received(Self.report(lease), from: "node-1")
        #expect(await board.current(owners: ["q-c1": ("node-1", 3)]).count == 1)
    }
}
