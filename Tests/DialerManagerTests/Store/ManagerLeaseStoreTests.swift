import DialerCore
import DialerTestSupport
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

/// Two managers' lease stores on one database of `kind`, on one wall clock the test moves.
struct LeasePair {
    let wall: ManualWallClock
    let first: any ManagerLeaseStore
    let second: any ManagerLeaseStore
    private let closers: [@Sendable () async -> Void]

    /// `nil` when PostgreSQL is not installed (the test is skipped).
    static func make(_ kind: StoreKind) async throws -> LeasePair? {
        let wall = ManualWallClock()
        switch kind {
        case .sqlite:
            let path =
                FileManager.default.temporaryDirectory.appendingPathComponent("dialer-lease-\(UUID().uuidString)").path
                + "/manager.sqlite"
            return LeasePair(
                wall: wall, first: try SQLiteManagerLeaseStore(path: path, clock: { wall.now }),
                second: try SQLiteManagerLeaseStore(path: path, clock: { wall.now }), closers: [])
        case .postgres:
            guard let url = try await freshPostgresURL() else { return nil }
            func open() async throws -> PostgresManagerStore {
                try await PostgresManagerStore.open(
                    PostgresStoreConfiguration(url: url, connections: 2), passwordIterations: 1_000)
            }
            let (one, two) = (try await open(), try await open())
            return LeasePair(
                wall: wall, first: PostgresManagerLeaseStore(store: one, clock: { wall.now }),
                second: PostgresManagerLeaseStore(store: two, clock: { wall.now }),
                closers: [{ await one.shutdown() }, { await two.shutdown() }])
        }
    }

    private init(
        wall: ManualWallClock, first: any ManagerLeaseStore, second: any ManagerLeaseStore,
        closers: [@Sendable () async -> Void]
    ) {
        self.wall = wall
        self.first = first
        self.second = second
        self.closers = closers
    }

    func close() async {
        for close in closers { await close() }
    }
}

@Suite("Store: the manager lease, on SQLite and PostgreSQL")
struct ManagerLeaseStoreTests {
    @Test(arguments: StoreKind.allCases)
    func onlyOneManagerHoldsTheLease(_ kind: StoreKind) async throws {
        guard let pair = try await LeasePair.make(kind) else { return }
        defer { Task { await pair.close() } }
        let (first, second, wall) = (pair.first, pair.second, pair.wall)
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

    @Test(arguments: StoreKind.allCases)
    func anExpiredLeaseGoesToTheStandbyUnderTheNextTerm(_ kind: StoreKind) async throws {
        guard let pair = try await LeasePair.make(kind) else { return }
        defer { Task { await pair.close() } }
        let (first, second, wall) = (pair.first, pair.second, pair.wall)
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

    @Test(arguments: StoreKind.allCases)
    func aStaleTermsJournalWriteIsRefused(_ kind: StoreKind) async throws {
        guard let pair = try await LeasePair.make(kind) else { return }
        defer { Task { await pair.close() } }
        let (first, second, wall) = (pair.first, pair.second, pair.wall)
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

    @Test(arguments: StoreKind.allCases)
    func aReleasedLeaseIsTakenWithoutWaitingForItsExpiry(_ kind: StoreKind) async throws {
        guard let pair = try await LeasePair.make(kind) else { return }
        defer { Task { await pair.close() } }
        let (first, second) = (pair.first, pair.second)
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

    @Test(arguments: StoreKind.allCases)
    func aJournalNeverMovesAQueueBackToAnOlderEpoch(_ kind: StoreKind) async throws {
        guard let pair = try await LeasePair.make(kind) else { return }
        defer { Task { await pair.close() } }
        let first = pair.first
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
    /// Two managers' stores on one database, each with its fence, and the lease store; nil when
    /// PostgreSQL is not installed (skipped).
    struct Pair {
        var wall = ManualWallClock()
        var fences = (ManagerTermFence(), ManagerTermFence())
        var first: any ManagerStore
        var second: any ManagerStore
        var lease: any ManagerLeaseStore
        var cleanUp: @Sendable () async -> Void
    }

    static func pair(_ kind: StoreKind) async throws -> Pair? {
        let wall = ManualWallClock()
        let (firstFence, secondFence) = (ManagerTermFence(), ManagerTermFence())
        switch kind {
        case .sqlite:
            let directory =
                FileManager.default.temporaryDirectory.appendingPathComponent("dialer-fence-\(UUID().uuidString)").path
            let path = directory + "/manager.sqlite"
            return Pair(
                wall: wall, fences: (firstFence, secondFence),
                first: try SQLiteManagerStore(
                    path: path, passwordIterations: 1_000, clock: { StoreTime.monday }, fence: firstFence),
                second: try SQLiteManagerStore(
                    path: path, passwordIterations: 1_000, clock: { StoreTime.monday }, fence: secondFence),
                lease: try SQLiteManagerLeaseStore(path: path, clock: { wall.now }),
                cleanUp: { try? FileManager.default.removeItem(atPath: directory) })
        case .postgres:
            guard let url = try await freshPostgresURL() else { return nil }
            func open(_ fence: ManagerTermFence?) async throws -> PostgresManagerStore {
                try await PostgresManagerStore.open(
                    PostgresStoreConfiguration(url: url, connections: 2), passwordIterations: 1_000,
                    clock: { StoreTime.monday }, fence: fence)
            }
            let (one, two, leases) = (try await open(firstFence), try await open(secondFence), try await open(nil))
            return Pair(
                wall: wall, fences: (firstFence, secondFence), first: one, second: two,
                lease: PostgresManagerLeaseStore(store: leases, clock: { wall.now }),
                cleanUp: {
                    await one.shutdown()
                    await two.shutdown()
                    await leases.shutdown()
                })
        }
    }

    @Test(arguments: StoreKind.allCases)
    func aDeposedManagersHandOutsAreRefusedByTheStore(_ kind: StoreKind) async throws {
        guard let pair = try await Self.pair(kind) else { return }
        defer { Task { [cleanUp = pair.cleanUp] in await cleanUp() } }
        let (wall, first, second, lease) = (pair.wall, pair.first, pair.second, pair.lease)
        let (firstFence, secondFence) = pair.fences
        _ = try await lease.acquire(holder: "m1", duration: .seconds(5))
        firstFence.activate(ManagerTerm(1))
        try await makeCampaign(first)
        try await addContacts(first, count: 4)
        func checkOut(_ store: any ManagerStore) async throws -> [AttemptHandOut] {
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

    /// A deposed manager's batch (reports and a hand-out, applied together on PostgreSQL) is
    /// refused: nothing of it is written, and the active manager applies the same reports.
    @Test(arguments: StoreKind.allCases)
    func aDeposedManagersBatchIsRefused(_ kind: StoreKind) async throws {
        guard let pair = try await Self.pair(kind) else { return }
        defer { Task { [cleanUp = pair.cleanUp] in await cleanUp() } }
        let (first, second, lease) = (pair.first, pair.second, pair.lease)
        _ = try await lease.acquire(holder: "m1", duration: .seconds(5))
        pair.fences.0.activate(ManagerTerm(1))
        try await makeCampaign(first)
        try await addContacts(first, count: 6)
        let node = MemberID("n1")
        let handed = try await first.checkOutAttempts(
            campaign: CampaignID("c1"), count: 4, node: node, epoch: Epoch(1), now: StoreTime.monday,
            presentAgents: [])
        let batch: [FeederOperation] =
            handed.map {
                .report(
                    AttemptResult(attempt: $0.attempt, contact: $0.contact.id, outcome: .noAnswer), node: node,
                    epoch: Epoch(1))
            } + [.checkOut(campaign: CampaignID("c1"), count: 2, node: node, epoch: Epoch(1), presentAgents: [])]

        pair.wall.advance(seconds: 6)
        #expect(try await lease.acquire(holder: "m2", duration: .seconds(5)) == .acquired(ManagerTerm(2)))
        pair.fences.1.activate(ManagerTerm(2))
        // PostgreSQL's trigger fails the transaction (the batch throws); SQLite's refuses each
        // operation in its savepoint. Either way nothing is applied.
        if let refused = try? await first.applyFeederBatch(batch, now: StoreTime.monday) {
            #expect(refused.count == batch.count)
            #expect(refused.allSatisfy { if case .failure = $0 { true } else { false } })
        }
        for handOut in handed { #expect(try await second.attempt(handOut.attempt)?.isOpen == true) }
        #expect(try await second.openAttempts(campaign: CampaignID("c1")).count == 4)

        let results = try await second.applyFeederBatch(batch, now: StoreTime.monday)
        #expect(results.prefix(4).allSatisfy { if case .success(.report(.applied)) = $0 { true } else { false } })
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

@Suite("Store: a standby manager opening the shared database")
struct StandbyStoreOpeningTests {
    /// The active manager runs an import; a standby starting on the same database leaves it
    /// alone; when the standby becomes active (the other died), it marks the job failed.
    @Test(arguments: StoreKind.allCases)
    func aStandbyLeavesTheActiveManagersImportsAlone(_ kind: StoreKind) async throws {
        let active: any ManagerStore
        let reopen: @Sendable (_ abandoning: Bool) async throws -> any ManagerStore
        switch kind {
        case .sqlite:
            let path =
                FileManager.default.temporaryDirectory.appendingPathComponent("dialer-standby-\(UUID().uuidString)")
                .path
                + "/manager.sqlite"
            active = try SQLiteManagerStore(path: path, passwordIterations: 1_000)
            reopen = { abandoning in
                try SQLiteManagerStore(path: path, passwordIterations: 1_000, abandoningInterruptedImports: abandoning)
            }
        case .postgres:
            guard let url = try await freshPostgresURL() else { return }
            @Sendable func open(_ abandoning: Bool) async throws -> PostgresManagerStore {
                try await PostgresManagerStore.open(
                    PostgresStoreConfiguration(url: url, connections: 2), passwordIterations: 1_000,
                    abandoningInterruptedImports: abandoning)
            }
            active = try await open(true)
            reopen = { try await open($0) }
        }
        _ = try await active.createList(id: ContactListID("l1"), name: "l", description: "", now: StoreTime.monday)
        let job = try await active.createImportJob(
            list: ContactListID("l1"), format: .csv, mode: .append, requestedBy: "ops", sourceName: nil)

        let standby = try await reopen(false)
        #expect(try await standby.importJob(job.id)?.status == job.status, "the standby left the job as it was")
        try await standby.abandonInterruptedImports()
        let after = try #require(try await standby.importJob(job.id))
        #expect(after.status == .failed && after.error?.contains("interrupted") == true)
    }
}
