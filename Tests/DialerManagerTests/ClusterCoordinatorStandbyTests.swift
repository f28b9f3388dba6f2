import DialerConfig
import DialerCore
import DialerTestSupport
import Foundation
import Logging
import Testing

@testable import DialerManager

@Suite("Coordinator: standby and take-over")
struct ClusterCoordinatorStandbyTests {
    @Test func aStandbyServesNothingAndATakeOverContinuesTheJournalsEpochs() async throws {
        let directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("dialer-standby-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let wall = ManualWallClock()
        let store = try SQLiteManagerLeaseStore(path: directory + "/manager.sqlite", clock: { wall.now })
        let clock = ManualClock()
        let coordinator = try ClusterCoordinator.standby(
            leaseDuration: .seconds(2), queues: [QueueSettings(id: "q1")], clock: clock,
            logger: Logger(label: "standby-test"))
        #expect(await coordinator.isServing == false)
        await coordinator.tick()
        #expect(await coordinator.view().queues.allSatisfy { $0.owner == nil && $0.epoch == 0 })

        // The manager that was active journaled epoch 7 of q1 under term 1, then died.
        _ = try await store.acquire(holder: "m1", duration: .seconds(2))
        try await LeaseJournal(store: store, holder: "m1", term: ManagerTerm(1))
            .save([QueueID("q1"): LeaseTable.LastGrant(epoch: Epoch(7), owner: MemberID("n1"))])
        wall.advance(seconds: 3)
        #expect(try await store.acquire(holder: "m2", duration: .seconds(2)) == .acquired(ManagerTerm(2)))
        await coordinator.activate(
            term: ManagerTerm(2), journal: LeaseJournal(store: store, holder: "m2", term: ManagerTerm(2)),
            restoring: try await store.journaledGrants())
        #expect(await coordinator.isServing)
        let view = await coordinator.view()
        #expect(view.recovering, "no grant for one lease period after a take-over")
        #expect(view.queues.first?.epoch == 7)

        // The dead manager's journal (so its grants) is refused from now on.
        await #expect(throws: StaleManagerTerm.self) {
            try await LeaseJournal(store: store, holder: "m1", term: ManagerTerm(1))
                .save([QueueID("q1"): LeaseTable.LastGrant(epoch: Epoch(8), owner: MemberID("n1"))])
        }

        await coordinator.deactivate()
        #expect(await coordinator.isServing == false)
        #expect(await coordinator.view().members.isEmpty)
    }
}
