import DialerConfig
import DialerCore
import DialerTestSupport
import Foundation
import Testing

@testable import DialerManager

private func open(_ url: String, connections: Int = 4) async throws -> PostgresManagerStore {
    try await PostgresManagerStore.open(
        PostgresStoreConfiguration(url: url, connections: connections), passwordIterations: 1_000,
        clock: { StoreTime.monday })
}

@Suite("Store: PostgreSQL, several managers on one database")
struct StorePostgresTests {
    @Test func migrationsApplyOnceAndAgainChangeNothing() async throws {
        guard let url = try await freshPostgresURL() else { return }
        let store = try await open(url)
        let all = ["v1: api tokens"] + StoreSchema.migrationNames
        #expect(try await store.appliedMigrations() == all)
        _ = try await makeCampaign(store)
        _ = try await addContacts(store, count: 3)
        let job = try await store.createImportJob(
            list: ContactListID("l1"), format: .csv, mode: .append, requestedBy: "ops", sourceName: nil)
        await store.shutdown()

        // A second manager (or a restart) finds the schema current and the data kept; the import
        // the first left queued is marked failed.
        let reopened = try await open(url)
        #expect(try await reopened.appliedMigrations() == all)
        #expect(try await reopened.countContacts(ContactFilter(list: ContactListID("l1"))) == 3)
        #expect(try await reopened.campaign(CampaignID("c1"))?.settings == CampaignSettings.dialing)
        let after = try #require(try await reopened.importJob(job.id))
        #expect(after.status == .failed && after.error?.contains("interrupted") == true)
        await reopened.shutdown()
    }

    @Test func twoManagersStartingAtOnceMigrateOnce() async throws {
        guard let url = try await freshPostgresURL() else { return }
        async let first = open(url)
        async let second = open(url)
        let stores = try await [first, second]
        for store in stores {
            #expect(try await store.appliedMigrations() == ["v1: api tokens"] + StoreSchema.migrationNames)
            await store.shutdown()
        }
    }

    /// Two managers hand out from one campaign at once, each from several tasks, by single
    /// hand-outs and by batches, and report each hand-out at once: every contact goes out
    /// exactly once.
    @Test func twoManagersCheckingOutConcurrentlyNeverGetTheSameContact() async throws {
        guard let url = try await freshPostgresURL() else { return }
        let managers = [try await open(url, connections: 6), try await open(url, connections: 6)]
        let contacts = 240
        try await makeCampaign(managers[0])
        var drafts = "phone\n"
        for index in 0..<contacts { drafts += danishNumber(index) + "\n" }
        _ = try await managers[0].importContacts(
            into: ContactListID("l1"), format: .csv, mode: .append, options: ImportOptions(defaultRegion: "DK"),
            requestedBy: "test", from: chunks(drafts))

        let handed = try await withThrowingTaskGroup(of: [ContactID].self) { group in
            for (index, manager) in managers.enumerated() {
                for worker in 0..<4 {
                    group.addTask {
                        var mine: [ContactID] = []
                        let node = MemberID("n\(index)-\(worker)")
                        while true {
                            let handOuts: [AttemptHandOut]
                            if worker.isMultiple(of: 2) {
                                handOuts = try await manager.checkOutAttempts(
                                    campaign: CampaignID("c1"), count: 7, node: node, epoch: Epoch(1),
                                    now: StoreTime.monday, presentAgents: [])
                            } else {
                                let results = try await manager.applyFeederBatch(
                                    [
                                        .checkOut(
                                            campaign: CampaignID("c1"), count: 5, node: node, epoch: Epoch(1),
                                            presentAgents: []),
                                        .checkOut(
                                            campaign: CampaignID("c1"), count: 3, node: node, epoch: Epoch(1),
                                            presentAgents: []),
                                    ], now: StoreTime.monday)
                                handOuts = try results.flatMap { result -> [AttemptHandOut] in
                                    guard case .checkOut(let handOuts) = try result.get() else { return [] }
                                    return handOuts
                                }
                            }
                            mine += handOuts.map(\.contact.id)
                            // Reported at once, so that the other manager's pages read
                            // contacts that change under them (no answer: retried later).
                            for handOut in handOuts {
                                _ = try await manager.recordResult(
                                    AttemptResult(
                                        attempt: handOut.attempt, contact: handOut.contact.id, outcome: .noAnswer),
                                    now: StoreTime.monday)
                            }
                            // Nothing left that no other manager holds: done when a second look
                            // agrees (the other may have rolled back).
                            if handOuts.isEmpty {
                                let open = try await manager.countContacts(
                                    ContactFilter(list: ContactListID("l1"), states: [.fresh]))
                                if open == 0 { return mine }
                            }
                        }
                    }
                }
            }
            var all: [ContactID] = []
            for try await part in group { all += part }
            return all
        }
        #expect(handed.count == contacts)
        #expect(Set(handed).count == handed.count, "a contact was handed out twice")
        #expect(try await managers[1].countContacts(ContactFilter(list: ContactListID("l1"), minimumAttempts: 2)) == 0)
        for manager in managers { await manager.shutdown() }
    }

    @Test func aResultReportedToBothManagersAppliesOnce() async throws {
        guard let url = try await freshPostgresURL() else { return }
        let managers = [try await open(url), try await open(url)]
        try await makeCampaign(managers[0])
        try await addContacts(managers[0], count: 1)
        let handOut = try #require(
            try await managers[0].checkOutAttempts(
                campaign: CampaignID("c1"), count: 1, node: MemberID("n1"), epoch: Epoch(1), now: StoreTime.monday,
                presentAgents: []
            ).first)
        let result = AttemptResult(attempt: handOut.attempt, contact: handOut.contact.id, outcome: .noAnswer)
        async let first = managers[0].recordResult(result, now: StoreTime.minutes(1))
        async let second = managers[1].recordResult(result, now: StoreTime.minutes(1))
        let updates = try await [first, second]
        #expect(updates.filter { if case .applied = $0 { true } else { false } }.count == 1)
        #expect(updates.filter { $0 == .duplicate }.count == 1)
        #expect(try await managers[1].contact(handOut.contact.id)?.attempts == 1)
        for manager in managers { await manager.shutdown() }
    }

    /// The same reports in a batch on each of two managers at once: the batches lock the
    /// attempts in one order, so each report is applied by one of them and a duplicate to the other.
    @Test func theSameBatchOnBothManagersAppliesEachReportOnce() async throws {
        guard let url = try await freshPostgresURL() else { return }
        let managers = [try await open(url), try await open(url)]
        try await makeCampaign(managers[0])
        try await addContacts(managers[0], count: 20)
        let node = MemberID("n1")
        let handed = try await managers[0].checkOutAttempts(
            campaign: CampaignID("c1"), count: 20, node: node, epoch: Epoch(1), now: StoreTime.monday,
            presentAgents: [])
        let reports = handed.map {
            FeederOperation.report(
                AttemptResult(attempt: $0.attempt, contact: $0.contact.id, outcome: .noAnswer), node: node,
                epoch: Epoch(1))
        }
        async let first = managers[0].applyFeederBatch(reports, now: StoreTime.minutes(1))
        async let second = managers[1].applyFeederBatch(reports.reversed(), now: StoreTime.minutes(1))
        let (one, other) = try await (first, Array(second.reversed()))
        for (a, b) in zip(one, other) {
            let answers = [a, b].map { result -> String in
                switch result {
                case .success(.report(.applied)): "applied"
                case .success(.report(let outcome)): "\(outcome)"
                default: "\(result)"
                }
            }
            #expect(answers.sorted() == ["applied", "duplicate"])
        }
        for handOut in handed { #expect(try await managers[1].contact(handOut.contact.id)?.attempts == 1) }
        #expect(try await managers[1].openAttempts(campaign: nil).isEmpty)
        for manager in managers { await manager.shutdown() }
    }

    @Test func anUnreachableDatabaseIsAStoreError() async throws {
        // Nothing listens on port 1: the connection is refused.
        await #expect(throws: StoreError.self) {
            _ = try await PostgresManagerStore.open(
                PostgresStoreConfiguration(url: "postgres://dialer@127.0.0.1:1/none"), passwordIterations: 1_000,
                connectTimeout: .seconds(2))
        }
    }
}

@Suite("Store: the PostgreSQL URL of manager.database")
struct PostgresURLTests {
    @Test func aFullURLIsRead() throws {
        let url = try PostgresDatabaseURL(url: "postgres://dialer:s%40cret@db.example:6543/calls", environment: [:])
        #expect(
            url
                == PostgresDatabaseURL(
                    host: "db.example", port: 6543, user: "dialer", password: "s@cret", database: "calls"))
        let v6 = try PostgresDatabaseURL(url: "postgresql://u@[::1]/d", environment: [:])
        #expect(v6.host == "::1" && v6.port == 5432 && v6.password == nil)
    }

    @Test func thePasswordMayComeFromTheEnvironmentOrAFile() throws {
        let fromVariable = try PostgresDatabaseURL(
            url: "postgres://u@h/d", environment: [PostgresDatabaseURL.passwordVariable: "secret"])
        #expect(fromVariable.password == "secret")
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("dialer-pw-\(UUID())").path
        try "from file\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let fromFile = try PostgresDatabaseURL(
            url: "postgres://u@h/d", environment: [PostgresDatabaseURL.passwordFileVariable: file])
        #expect(fromFile.password == "from file")
        // The URL's own password wins.
        let own = try PostgresDatabaseURL(
            url: "postgres://u:mine@h/d", environment: [PostgresDatabaseURL.passwordVariable: "secret"])
        #expect(own.password == "mine")
    }

    @Test(arguments: [
        "postgres://h/d", "postgres://u@h", "postgres://u@h:0/d", "postgres://u@h:65536/d", "postgres://u@h:x/d",
        "postgres://u@:5432/d", "postgres://u@h/", "postgres://u@h/d?sslmode=require", "mysql://u@h/d",
        "postgres://u@h/d/e",
    ])
    func aBadURLIsRefusedNamingTheKey(_ text: String) {
        #expect {
            _ = try PostgresDatabaseURL(url: text, environment: [:])
        } throws: { error in
            (error as? PostgresURLError)?.message.hasPrefix("manager.database: ") == true
        }
    }

    @Test func thePoolSizeIsRangeChecked() throws {
        let url = try PostgresDatabaseURL(url: "postgres://u@h/d", environment: [:])
        #expect(throws: StoreError.self) { try PostgresStoreConfiguration(url: url, connections: 0) }
        #expect(throws: StoreError.self) { try PostgresStoreConfiguration(url: url, connections: 1_001) }
        #expect(try PostgresStoreConfiguration(url: url, connections: 1_000).connections == 1_000)
    }
}
