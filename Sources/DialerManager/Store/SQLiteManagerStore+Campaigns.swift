public import DialerCore
public import FoundationEssentials
import GRDB

// Contact lists and campaigns.

extension SQLiteManagerStore {
    public func createList(id: ContactListID, name: String, description: String, now: Date) async throws
        -> ContactList
    {
        try await pool.write { db in
            guard try !Self.exists(db, "SELECT 1 FROM contact_list WHERE id = ?", [id.rawValue]) else {
                throw StoreError.alreadyExists("list \(id)")
            }
            try db.execute(
                sql: "INSERT INTO contact_list (id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                arguments: [id.rawValue, name, description, now.storeValue, now.storeValue])
            return ContactList(id: id, name: name, description: description, createdAt: now)
        }
    }

    public func updateList(id: ContactListID, name: String, description: String, now: Date) async throws
        -> ContactList
    {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE contact_list SET name = ?, description = ?, updated_at = ? WHERE id = ?",
                arguments: [name, description, now.storeValue, id.rawValue])
            guard db.changesCount > 0, let list = try Self.fetchList(db, id) else {
                throw StoreError.notFound("list \(id)")
            }
            return list
        }
    }

    public func deleteList(_ id: ContactListID) async throws -> Bool {
        try await pool.write { db in
            if let campaign = try String.fetchOne(
                db, sql: "SELECT id FROM campaign WHERE list_id = ?", arguments: [id.rawValue])
            {
                throw StoreError.conflict(
                    "campaign \(campaign) dials list \(id): delete the campaign or change its list first")
            }
            try db.execute(sql: "DELETE FROM contact_list WHERE id = ?", arguments: [id.rawValue])
            return db.changesCount > 0
        }
    }

    public func list(_ id: ContactListID) async throws -> ContactList? {
        try await pool.read { db in try Self.fetchList(db, id) }
    }

    public func lists() async throws -> [ContactList] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "\(Self.listSelect) ORDER BY l.id").map(Self.listRecord)
        }
    }

    // MARK: Campaigns

    public func createCampaign(_ campaign: Campaign, now: Date) async throws -> Campaign {
        let errors = campaign.settings.validate()
        guard errors.isEmpty else { throw StoreError.invalidSettings(errors) }
        let settings = try CampaignColumns.settingsJSON(campaign.settings)
        return try await pool.write { db in
            guard try !Self.exists(db, "SELECT 1 FROM campaign WHERE id = ?", [campaign.id.rawValue]) else {
                throw StoreError.alreadyExists("campaign \(campaign.id)")
            }
            try Self.checkListAndQueue(db, campaign)
            try db.execute(
                sql: """
                    INSERT INTO campaign (id, name, description, list_id, queue_id, status, settings, created_at, \
                    updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    campaign.id.rawValue, campaign.name, campaign.description, campaign.list.rawValue,
                    campaign.queue.rawValue, campaign.settings.status.rawValue, settings, now.storeValue,
                    now.storeValue,
                ])
            return try CampaignColumns.fetch(db, campaign.id)!
        }
    }

    public func updateCampaign(_ campaign: Campaign, now: Date) async throws -> Campaign {
        let errors = campaign.settings.validate()
        guard errors.isEmpty else { throw StoreError.invalidSettings(errors) }
        let settings = try CampaignColumns.settingsJSON(campaign.settings)
        return try await pool.write { db in
            guard let old = try CampaignColumns.fetch(db, campaign.id) else {
                throw StoreError.notFound("campaign \(campaign.id)")
            }
            try Self.checkListAndQueue(db, campaign)
            // The open attempts' contacts are in the old list: their results must still find them.
            if old.list != campaign.list, try Self.hasOpenAttempts(db, campaign.id) {
                throw StoreError.conflict("campaign \(campaign.id) has open attempts: its list cannot change now")
            }
            try db.execute(
                sql: """
                    UPDATE campaign SET name = ?, description = ?, list_id = ?, queue_id = ?, status = ?, \
                    settings = ?, updated_at = ? WHERE id = ?
                    """,
                arguments: [
                    campaign.name, campaign.description, campaign.list.rawValue, campaign.queue.rawValue,
                    campaign.settings.status.rawValue, settings, now.storeValue, campaign.id.rawValue,
                ])
            return try CampaignColumns.fetch(db, campaign.id)!
        }
    }

    public func setCampaignStatus(_ id: CampaignID, to status: CampaignStatus, now: Date) async throws -> Campaign? {
        try await pool.write { db in
            guard var campaign = try CampaignColumns.fetch(db, id) else { return nil }
            campaign.settings.status = status
            // An automatic campaign without windows is invalid: the same rule as on update.
            let errors = campaign.settings.validate()
            guard errors.isEmpty else { throw StoreError.invalidSettings(errors) }
            try db.execute(
                sql: "UPDATE campaign SET status = ?, settings = ?, updated_at = ? WHERE id = ?",
                arguments: [
                    status.rawValue, try CampaignColumns.settingsJSON(campaign.settings), now.storeValue, id.rawValue,
                ])
            return campaign
        }
    }

    public func deleteCampaign(_ id: CampaignID) async throws -> Bool {
        try await pool.write { db in
            if try Self.hasOpenAttempts(db, id) {
                throw StoreError.conflict("campaign \(id) has open attempts: stop it and wait for their results")
            }
            try db.execute(sql: "DELETE FROM campaign WHERE id = ?", arguments: [id.rawValue])
            return db.changesCount > 0
        }
    }

    public func campaign(_ id: CampaignID) async throws -> Campaign? {
        try await pool.read { db in try CampaignColumns.fetch(db, id) }
    }

    public func campaigns() async throws -> [Campaign] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM campaign ORDER BY id").map(CampaignColumns.campaign)
        }
    }

    // MARK: Helpers

    static func exists(_ db: Database, _ sql: String, _ arguments: StatementArguments) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (\(sql))", arguments: arguments) ?? false
    }

    static func hasOpenAttempts(_ db: Database, _ campaign: CampaignID) throws -> Bool {
        try exists(db, "SELECT 1 FROM attempt WHERE campaign_id = ? AND outcome IS NULL", [campaign.rawValue])
    }

    /// The list must exist, and neither it nor the queue may belong to another campaign.
    private static func checkListAndQueue(_ db: Database, _ campaign: Campaign) throws {
        guard try exists(db, "SELECT 1 FROM contact_list WHERE id = ?", [campaign.list.rawValue]) else {
            throw StoreError.notFound("list \(campaign.list)")
        }
        if let other = try String.fetchOne(
            db, sql: "SELECT id FROM campaign WHERE list_id = ? AND id <> ?",
            arguments: [campaign.list.rawValue, campaign.id.rawValue])
        {
            throw StoreError.alreadyExists("list \(campaign.list) of campaign \(other)")
        }
        if let other = try String.fetchOne(
            db, sql: "SELECT id FROM campaign WHERE queue_id = ? AND id <> ?",
            arguments: [campaign.queue.rawValue, campaign.id.rawValue])
        {
            throw StoreError.alreadyExists("queue \(campaign.queue) of campaign \(other)")
        }
    }

    private static let listSelect = """
        SELECT l.*, (SELECT c.id FROM campaign c WHERE c.list_id = l.id) AS campaign_id, \
        (SELECT COUNT(*) FROM contact WHERE contact.list_id = l.id) AS contact_count FROM contact_list l
        """

    static func fetchList(_ db: Database, _ id: ContactListID) throws -> ContactList? {
        try Row.fetchOne(db, sql: "\(listSelect) WHERE l.id = ?", arguments: [id.rawValue]).map(listRecord)
    }

    private static func listRecord(_ row: Row) -> ContactList {
        ContactList(
            id: ContactListID(row["id"]), name: row["name"], description: row["description"],
            campaign: (row["campaign_id"] as String?).map(CampaignID.init), contactCount: row["contact_count"],
            createdAt: row.date("created_at") ?? Date(storeValue: 0), updatedAt: row.date("updated_at"))
    }
}
