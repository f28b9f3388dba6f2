public import DialerCore
import DialerImport
public import FoundationEssentials
import GRDB

// Do-not-call numbers and dispositions.

extension SQLiteManagerStore {
    public func addDoNotCall(_ phone: String, scope: DoNotCallScope, defaultRegion: String, note: String?, now: Date)
        async throws -> Bool
    {
        let number = try PhoneInput.normalize(phone, region: defaultRegion, what: "the number").description
        return try await pool.write { db in
            try Self.checkScope(db, scope)
            try db.execute(
                sql: "INSERT OR IGNORE INTO dnc (phone, campaign_id, note, added_at) VALUES (?, ?, ?, ?)",
                arguments: [number, scope.campaign?.rawValue, note, now.storeValue])
            return db.changesCount > 0
        }
    }

    public func removeDoNotCall(_ phone: String, scope: DoNotCallScope, defaultRegion: String) async throws -> Bool {
        let number = try PhoneInput.normalize(phone, region: defaultRegion, what: "the number").description
        return try await pool.write { db in
            switch scope {
            case .global:
                try db.execute(sql: "DELETE FROM dnc WHERE campaign_id IS NULL AND phone = ?", arguments: [number])
            case .campaign(let campaign):
                try db.execute(
                    sql: "DELETE FROM dnc WHERE campaign_id = ? AND phone = ?", arguments: [campaign.rawValue, number])
            }
            return db.changesCount > 0
        }
    }

    public func isDoNotCall(_ phone: String, campaign: CampaignID?, defaultRegion: String) async throws -> Bool {
        let number = try PhoneInput.normalize(phone, region: defaultRegion, what: "the number").description
        return try await pool.read { db in
            let check = try StoredDoNotCall(db, campaign: campaign)
            let listed = check.isDoNotCall(number)
            try check.check()
            return listed
        }
    }

    public func doNotCallEntries(scope: DoNotCallScope, after: String?, limit: Int) async throws -> [DoNotCallEntry] {
        try await pool.read { db in
            let rows: [Row]
            switch scope {
            case .global:
                rows = try Row.fetchAll(
                    db,
                    sql: "SELECT * FROM dnc WHERE campaign_id IS NULL AND phone > ? ORDER BY phone LIMIT ?",
                    arguments: [after ?? "", max(0, limit)])
            case .campaign(let campaign):
                rows = try Row.fetchAll(
                    db,
                    sql: "SELECT * FROM dnc WHERE campaign_id = ? AND phone > ? ORDER BY phone LIMIT ?",
                    arguments: [campaign.rawValue, after ?? "", max(0, limit)])
            }
            return rows.map { row in
                DoNotCallEntry(
                    phone: row["phone"], scope: scope, note: row["note"],
                    addedAt: row.date("added_at") ?? Date(storeValue: 0))
            }
        }
    }

    public func importDoNotCall<Source: AsyncSequence>(
        scope: DoNotCallScope, format: ImportFormat, options: ImportOptions, from source: Source, now: Date
    ) async throws -> DoNotCallImportReport where Source.Element: Collection, Source.Element.Element == UInt8 {
        try await pool.read { db in try Self.checkScope(db, scope) }
        let campaign = scope.campaign?.rawValue
        return try await DoNotCallImport.run(format: format, options: options, from: source) { numbers in
            try await pool.write { db in
                let statement = try db.cachedStatement(
                    sql: "INSERT OR IGNORE INTO dnc (phone, campaign_id, added_at) VALUES (?, ?, ?)")
                var added = 0
                for number in numbers {
                    try statement.execute(arguments: [number, campaign, now.storeValue])
                    added += db.changesCount
                }
                return added
            }
        }
    }

    private static func checkScope(_ db: Database, _ scope: DoNotCallScope) throws {
        guard let campaign = scope.campaign else { return }
        guard try exists(db, "SELECT 1 FROM campaign WHERE id = ?", [campaign.rawValue]) else {
            throw StoreError.notFound("campaign \(campaign)")
        }
    }

    // MARK: Dispositions

    public func createDisposition(_ definition: DispositionDefinition, campaign: CampaignID) async throws {
        try await pool.write { db in
            guard try Self.exists(db, "SELECT 1 FROM campaign WHERE id = ?", [campaign.rawValue]) else {
                throw StoreError.notFound("campaign \(campaign)")
            }
            guard
                try !Self.exists(
                    db, "SELECT 1 FROM disposition WHERE campaign_id = ? AND name = ?",
                    [campaign.rawValue, definition.name])
            else { throw StoreError.alreadyExists("disposition \"\(definition.name)\" of campaign \(campaign)") }
            try db.execute(
                sql: """
                    INSERT INTO disposition (campaign_id, name, kind, private_allowed, position) VALUES (?, ?, ?, ?, \
                    (SELECT COALESCE(MAX(position), 0) + 1 FROM disposition WHERE campaign_id = ?))
                    """,
                arguments: [
                    campaign.rawValue, definition.name, definition.kind.rawValue, definition.privateAllowed,
                    campaign.rawValue,
                ])
        }
    }

    public func updateDisposition(named name: String, campaign: CampaignID, to definition: DispositionDefinition)
        async throws -> Bool
    {
        try await pool.write { db in
            guard
                try Self.exists(
                    db, "SELECT 1 FROM disposition WHERE campaign_id = ? AND name = ?", [campaign.rawValue, name])
            else { return false }
            if definition.name != name,
                try Self.exists(
                    db, "SELECT 1 FROM disposition WHERE campaign_id = ? AND name = ?",
                    [campaign.rawValue, definition.name])
            {
                throw StoreError.alreadyExists("disposition \"\(definition.name)\" of campaign \(campaign)")
            }
            try db.execute(
                sql:
                    "UPDATE disposition SET name = ?, kind = ?, private_allowed = ? WHERE campaign_id = ? AND name = ?",
                arguments: [
                    definition.name, definition.kind.rawValue, definition.privateAllowed, campaign.rawValue, name,
                ])
            return db.changesCount > 0
        }
    }

    public func deleteDisposition(named name: String, campaign: CampaignID) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "DELETE FROM disposition WHERE campaign_id = ? AND name = ?", arguments: [campaign.rawValue, name])
            return db.changesCount > 0
        }
    }

    public func dispositions(of campaign: CampaignID) async throws -> [DispositionDefinition] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM disposition WHERE campaign_id = ? ORDER BY position",
                arguments: [campaign.rawValue]
            ).map { row in
                guard let kind = DispositionKind(rawValue: row["kind"]) else {
                    throw StoreError.corruptRow("disposition of campaign \(campaign): unknown kind")
                }
                return DispositionDefinition(name: row["name"], kind: kind, privateAllowed: row["private_allowed"])
            }
        }
    }
}
