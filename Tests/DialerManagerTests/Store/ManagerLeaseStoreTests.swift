import DialerCore
import Foundation
import Synchronization
import Testing

@testable import DialerManager

/// A wall clock the test moves by hand, shared by two stores as two managers on one host share
/// theirs.
final class ManualWallClock: Sendable {
    private let date = Mutex(StoreTime.monday)

    var now: Date { date.withLock { $0 } }

    func advance(seconds: Double) {
        date.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

@Suite("Store: the manager lease (SQLite)")
struct SQLiteManagerLeaseStoreTests {
    let directory: String
    let path: String
    let wall = ManualWallClock()
    /// Two managers' stores on one file.
    let first: SQLiteManagerLeaseStore
    let second: SQLiteManagerLeaseStore

    init() throws {
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("dialer-lease-\(UUID().uuidString)").path
        path = directory + "/manager.sqlite"
        let wall = self.wall
        first = try SQLiteManagerLeaseStore(path: path, clock: { wall.now })
        second = try SQLiteManagerLeaseStore(path: path, clock: { wall.now })
    }

    @Test func onlyOneManagerHoldsTheLease() async throws {
        #expect(try await first.currentLease() == nil)
        #expect(try await first.acquire(holder: "m1", duration: .seconds(5)) == .acquired(ManagerTerm(1)))
        let expiry = StoreTime.monday.addingTimeInterval(5)
        #expect(
            try await second.acquire(holder: "m2", duration: .seconds(5))
                == .heldBy("m1", term: ManagerTerm(1), expiresAt: expiry))
        // Renewals keep it from the standby.
        wall.advance(seconds: 3)
        #expect(try await first.renew(holder: "m1", term: ManagerTerm(1), duration: .seconds(5)))
        wall.advance(seconds: 3)
        guard case .heldBy("m1", _, _) = try await second.acquire(holder: "m2", duration: .seconds(5)) else {
            Issue.record("the standby took a renewed lease")
            return
        }
        #expect(try await second.currentLease()?.holder == "m1")
    }

    @Test func anExpiredLeaseGoesToTheStandbyUnderTheNextTerm() async throws {
        _ = try await first.acquire(holder: "m1", duration: .seconds(5))
        wall.advance(seconds: 4.999)
        guard case .heldBy = try await second.acquire(holder: "m2", duration: .seconds(5)) else {
            Issue.record("the lease went before its expiry")
            return
        }
        wall.advance(seconds: 0.001)
        #expect(try await second.acquire(holder: "m2", duration: .seconds(5)) == .acquired(ManagerTerm(2)))
        // The deposed manager can neither renew nor take it back while it runs.
        #expect(try await first.renew(holder: "m1", term: ManagerTerm(1), duration: .seconds(5)) == false)
        guard case .heldBy("m2", ManagerTerm(2), _) = try await first.acquire(holder: "m1", duration: .seconds(5))
        else {
            Issue.record("the deposed manager took the lease back")
            return
        }
    }

    @Test func aStaleTermsJournalWriteIsRefused() async throws {
        let queue = QueueID("q1")
        _ = try await first.acquire(holder: "m1", duration: .seconds(5))
        try await first.journal(
            [queue: LeaseTable.LastGrant(epoch: Epoch(4), owner: MemberID("n1"))], holder: "m1", term: ManagerTerm(1))
        wall.advance(seconds: 6)
        #expect(try await second.acquire(holder: "m2", duration: .seconds(5)) == .acquired(ManagerTerm(2)))
        // The new active manager reads the old one's grants...
        #expect(
            try await second.journaledGrants()[queue] == LeaseTable.LastGrant(epoch: Epoch(4), owner: MemberID("n1")))
        // ... and the old one can journal (so send) nothing more.
        await #expect(throws: StaleManagerTerm.self) {
            try await first.journal(
                [queue: LeaseTable.LastGrant(epoch: Epoch(5), owner: MemberID("n1"))], holder: "m1",
                term: ManagerTerm(1))
        }
        try await second.journal(
            [queue: LeaseTable.LastGrant(epoch: Epoch(5), owner: MemberID("n2"))], holder: "m2", term: ManagerTerm(2))
        #expect(
            try await first.journaledGrants()[queue] == LeaseTable.LastGrant(epoch: Epoch(5), owner: MemberID("n2")))
    }

    @Test func aReleasedLeaseIsTakenWithoutWaitingForItsExpiry() async throws {
        _ = try await first.acquire(holder: "m1", duration: .seconds(5))
        // A release under a stale term or by another holder changes nothing.
        try await first.release(holder: "m2", term: ManagerTerm(1))
        guard case .heldBy = try await second.acquire(holder: "m2", duration: .seconds(5)) else {
            Issue.record("another manager's release freed the lease")
            return
        }
        try await first.release(holder: "m1", term: ManagerTerm(1))
        #expect(try await second.acquire(holder: "m2", duration: .seconds(5)) == .acquired(ManagerTerm(2)))
    }

    @Test func aJournalNeverMovesAQueueBackToAnOlderEpoch() async throws {
        let queue = QueueID("q1")
        _ = try await first.acquire(holder: "m1", duration: .seconds(5))
        try await first.journal(
            [queue: LeaseTable.LastGrant(epoch: Epoch(7), owner: MemberID("n1"))], holder: "m1", term: ManagerTerm(1))
        try await first.journal(
            [queue: LeaseTable.LastGrant(epoch: Epoch(6), owner: MemberID("n2"))], holder: "m1", term: ManagerTerm(1))
        #expect(try await first.journaledGrants()[queue]?.epoch == Epoch(7))
    }
}

@Suite("Store: the feeder's writes are fenced by the manager lease's term")
struct ManagerTermFenceTests {
    @Test func aDeposedManagersHandOutsAreRefusedByTheStore() async throws {
        let directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("dialer-fence-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/manager.sqlite"
        let wall = ManualWallClock()
        let (firstFence, secondFence) = (ManagerTermFence(), ManagerTermFence())
        let first = try SQLiteManagerStore(
            path: path, passwordIterations: 1_000, clock: { StoreTime.monday }, fence: firstFence)
        let second = try SQLiteManagerStore(
            path: path, passwordIterations: 1_000, clock: { StoreTime.monday }, fence: secondFence)
        let lease = try SQLiteManagerLeaseStore(path: path, clock: { wall.now })
        _ = try await lease.acquire(holder: "m1", duration: .seconds(5))
        firstFence.activate(ManagerTerm(1))
        try await makeCampaign(first)
        try await addContacts(first, count: 4)
        func checkOut(_ store: SQLiteManagerStore) async throws -> [AttemptHandOut] {
            try await store.checkOutAttempts(
                campaign: CampaignID("c1"), count: 1, node: MemberID("n1"), epoch: Epoch(1), now: StoreTime.monday,
                presentAgents: [])
        }

        // A standby that has never been active may not hand out; the active one may.
        await #expect(throws: (any Error).self) { try await checkOut(second) }
        #expect(try await checkOut(first).count == 1)

        // m2 takes over; m1's next hand-out (a write still in flight, say) is refused.
        wall.advance(seconds: 6)
        #expect(try await lease.acquire(holder: "m2", duration: .seconds(5)) == .acquired(ManagerTerm(2)))
        secondFence.activate(ManagerTerm(2))
        await #expect(throws: (any Error).self) { try await checkOut(first) }
        #expect(try await checkOut(second).count == 1)
        #expect(try await second.openAttempts(campaign: CampaignID("c1")).count == 2)
    }

    @Test func withoutAFenceNothingIsChecked() async throws {
        let temporary = try TemporaryStore()
        try await makeCampaign(temporary.store)
        try await addContacts(temporary.store, count: 1)
        let handOuts = try await temporary.store.checkOutAttempts(
            campaign: CampaignID("c1"), count: 1, node: MemberID("n1"), epoch: Epoch(1), now: StoreTime.monday,
            presentAgents: [])
        #expect(handOuts.count == 1)
    }
}
