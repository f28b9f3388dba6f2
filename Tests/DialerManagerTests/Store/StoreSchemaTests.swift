import DialerCore
import Foundation
import Testing

@testable import DialerManager

@Suite("Store: migrations")
struct StoreMigrationTests {
    let context = StoreContext()
    var store: any TestStore { context.store }
    var temporary: TemporaryStore { context.sqlite }

    @Test func migrationsApplyOnAnEmptyDatabaseAndAgainChangeNothing() async throws {
        _ = try await context.open(.sqlite)
        let store = temporary.store
        let all = ["v1: api tokens"] + StoreSchema.migrationNames
        #expect(try store.appliedMigrations() == all)
        _ = try await makeCampaign(store)
        _ = try await addContacts(store, count: 3)

        // Opening again applies nothing new and keeps the data.
        let reopened = try SQLiteManagerStore(path: temporary.path, passwordIterations: 1_000)
        #expect(try reopened.appliedMigrations() == all)
        #expect(try await reopened.countContacts(ContactFilter(list: ContactListID("l1"))) == 3)
        #expect(try await reopened.campaign(CampaignID("c1"))?.settings == CampaignSettings.dialing)
    }

    @Test func theDatabaseIsInWALModeWithEveryTable() async throws {
        _ = try await context.open(.sqlite)
        let store = temporary.store
        let (mode, tables) = try store.schemaFacts()
        #expect(mode == "wal")
        let expected: Set<String> = [
            "api_token", "contact_list", "campaign", "contact", "attempt", "import_job", "import_rejected_row",
            "import_staging", "dnc", "disposition", "team", "team_queue_rank", "agent", "agent_skill",
        ]
        #expect(expected.isSubset(of: tables))
    }

    @Test func importsLeftRunningByAStoppedManagerAreMarkedFailed() async throws {
        _ = try await context.open(.sqlite)
        let store = temporary.store
        _ = try await store.createList(
            id: ContactListID("l1"), name: "l", description: "", now: StoreTime.monday)
        let job = try await store.createImportJob(
            list: ContactListID("l1"), format: .csv, mode: .append, requestedBy: "ops", sourceName: nil)
        let reopened = try SQLiteManagerStore(path: temporary.path, passwordIterations: 1_000)
        let after = try #require(try await reopened.importJob(job.id))
        #expect(after.status == .failed)
        #expect(after.error?.contains("interrupted") == true)
    }
}

@Suite("Store: lists and campaigns")
struct StoreCampaignTests {
    let context = StoreContext()
    var store: any TestStore { context.store }
    var temporary: TemporaryStore { context.sqlite }

    @Test(arguments: StoreKind.allCases) func listsAreCreatedReadRenamedAndDeleted(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        let created = try await store.createList(
            id: ContactListID("l1"), name: "Leads", description: "spring", now: StoreTime.monday)
        #expect(created.name == "Leads")
        await #expect(throws: StoreError.alreadyExists("list l1")) {
            try await store.createList(id: ContactListID("l1"), name: "x", description: "", now: StoreTime.monday)
        }
        let renamed = try await store.updateList(
            id: ContactListID("l1"), name: "Leads 2", description: "autumn", now: StoreTime.minutes(1))
        #expect(renamed.name == "Leads 2" && renamed.description == "autumn")
        #expect(renamed.updatedAt == StoreTime.minutes(1))
        _ = try await addContacts(store, count: 2)
        #expect(try await store.list(ContactListID("l1"))?.contactCount == 2)
        #expect(try await store.lists().map(\.id) == [ContactListID("l1")])
        #expect(try await store.deleteList(ContactListID("l1")))
        #expect(try await store.list(ContactListID("l1")) == nil)
        #expect(try await store.countContacts(ContactFilter(list: ContactListID("l1"))) == 0)
        #expect(try await store.deleteList(ContactListID("l1")) == false)
    }

    @Test(arguments: StoreKind.allCases) func campaignsAreCreatedReadUpdatedAndDeleted(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        var campaign = try await makeCampaign(store)
        #expect(try await store.campaign(campaign.id) == campaign)
        #expect(try await store.list(ContactListID("l1"))?.campaign == campaign.id)

        campaign.name = "Renamed"
        campaign.settings.maximumAttempts = 3
        campaign.settings.priorityOrder = [SortKey(.field("score"), .descending)]
        #expect(try await store.updateCampaign(campaign, now: StoreTime.minutes(1)) == campaign)
        #expect(try await store.campaign(campaign.id) == campaign)

        let stopped = try await store.setCampaignStatus(campaign.id, to: .disabled, now: StoreTime.minutes(2))
        #expect(stopped?.settings.status == .disabled)
        #expect(try await store.campaign(campaign.id)?.settings.status == .disabled)
        #expect(try await store.setCampaignStatus(CampaignID("none"), to: .enabled, now: StoreTime.monday) == nil)

        #expect(try await store.campaigns().map(\.id) == [campaign.id])
        #expect(try await store.deleteCampaign(campaign.id))
        #expect(try await store.campaign(campaign.id) == nil)
        #expect(try await store.list(ContactListID("l1")) != nil)
        #expect(try await store.deleteCampaign(campaign.id) == false)
    }

    @Test(arguments: StoreKind.allCases) func campaignsAreValidatedAndOwnTheirListAndQueue(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        let campaign = try await makeCampaign(store)
        var bad = campaign
        bad.id = CampaignID("c2")
        bad.settings.ringTimeout = .seconds(5)
        await #expect {
            try await store.createCampaign(bad, now: StoreTime.monday)
        } throws: { error in
            guard case StoreError.invalidSettings(let errors) = error else { return false }
            return errors.map(\.field) == ["ringTimeout"]
        }
        // The list is taken by c1.
        var second = campaign
        second.id = CampaignID("c2")
        second.queue = QueueID("q-c2")
        await #expect(throws: StoreError.alreadyExists("list l1 of campaign c1")) {
            try await store.createCampaign(second, now: StoreTime.monday)
        }
        _ = try await store.createList(id: ContactListID("l2"), name: "l2", description: "", now: StoreTime.monday)
        second.list = ContactListID("l2")
        second.queue = campaign.queue
        await #expect(throws: StoreError.alreadyExists("queue q-c1 of campaign c1")) {
            try await store.createCampaign(second, now: StoreTime.monday)
        }
        second.list = ContactListID("missing")
        second.queue = QueueID("q-c2")
        await #expect(throws: StoreError.notFound("list missing")) {
            try await store.createCampaign(second, now: StoreTime.monday)
        }
        // A list a campaign dials cannot go.
        await #expect(throws: StoreError.self) { try await store.deleteList(ContactListID("l1")) }
        #expect(try await store.list(ContactListID("l1")) != nil)
    }

    @Test(arguments: StoreKind.allCases) func aCampaignWithOpenAttemptsKeepsItsListAndCannotBeDeleted(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        var campaign = try await makeCampaign(store)
        _ = try await addContacts(store, count: 1)
        let handOut = try await store.checkOutAttempts(
            campaign: campaign.id, count: 1, node: MemberID("n1"), epoch: Epoch(1), now: StoreTime.monday,
            presentAgents: [])
        #expect(handOut.count == 1)
        await #expect(throws: StoreError.self) { try await store.deleteCampaign(campaign.id) }
        _ = try await store.createList(id: ContactListID("l2"), name: "l2", description: "", now: StoreTime.monday)
        campaign.list = ContactListID("l2")
        await #expect(throws: StoreError.self) { try await store.updateCampaign(campaign, now: StoreTime.monday) }
    }
}
