public import DialerCore
public import FoundationEssentials

// Contact lists, campaigns and single contacts, as SQLiteManagerStore+Campaigns and +Contacts.

extension PostgresManagerStore {
    public func createList(id: ContactListID, name: String, description: String, now: Date) async throws
        -> ContactList
    {
        try await write { db in
            guard try await !db.exists("SELECT 1 FROM contact_list WHERE id = ?", [id.rawValue]) else {
                throw StoreError.alreadyExists("list \(id)")
            }
            try await db.execute(
                "INSERT INTO contact_list (id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                [id.rawValue, name, description, now.storeValue, now.storeValue])
            return ContactList(id: id, name: name, description: description, createdAt: now)
        }
    }

    public func updateList(id: ContactListID, name: String, description: String, now: Date) async throws
        -> ContactList
    {
        try await write { db in
            let changed = try await db.changes(
                "UPDATE contact_list SET name = ?, description = ?, updated_at = ? WHERE id = ?",
                [name, description, now.storeValue, id.rawValue])
            guard changed > 0, let list = try await Self.fetchList(db, id) else {
                throw StoreError.notFound("list \(id)")
            }
            return list
        }
    }

    public func deleteList(_ id: ContactListID) async throws -> Bool {
        try await write { db in
            if let row = try await db.fetchOne("SELECT id FROM campaign WHERE list_id = ?", [id.rawValue]) {
                throw StoreError.conflict(
                    "campaign \(try row.string("id")) dials list \(id): delete the campaign or change its list first")
            }
            return try await db.changes("DELETE FROM contact_list WHERE id = ?", [id.rawValue]) > 0
        }
    }

    public func list(_ id: ContactListID) async throws -> ContactList? {
        try await read { db in try await Self.fetchList(db, id) }
    }

    public func lists() async throws -> [ContactList] {
        try await read { db in
            try await db.query("\(Self.listSelect) ORDER BY l.id").map(Self.listRecord)
        }
    }

    // MARK: Campaigns

    public func createCampaign(_ campaign: Campaign, now: Date) async throws -> Campaign {
        let errors = campaign.settings.validate()
        guard errors.isEmpty else { throw StoreError.invalidSettings(errors) }
        let settings = try CampaignColumns.settingsJSON(campaign.settings)
        return try await write { db in
            guard try await !db.exists("SELECT 1 FROM campaign WHERE id = ?", [campaign.id.rawValue]) else {
                throw StoreError.alreadyExists("campaign \(campaign.id)")
            }
            try await Self.checkListAndQueue(db, campaign)
            try await db.execute(
                """
                INSERT INTO campaign (id, name, description, list_id, queue_id, status, settings, created_at, \
                updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    campaign.id.rawValue, campaign.name, campaign.description, campaign.list.rawValue,
                    campaign.queue.rawValue, campaign.settings.status.rawValue, settings, now.storeValue,
                    now.storeValue,
                ])
            guard let stored = try await PGCampaigns.fetch(db, campaign.id) else {
                throw StoreError.notFound("campaign \(campaign.id)")
            }
            return stored
        }
    }

    public func updateCampaign(_ campaign: Campaign, now: Date) async throws -> Campaign {
        let errors = campaign.settings.validate()
        guard errors.isEmpty else { throw StoreError.invalidSettings(errors) }
        let settings = try CampaignColumns.settingsJSON(campaign.settings)
        return try await write { db in
            guard let old = try await PGCampaigns.fetch(db, campaign.id) else {
                throw StoreError.notFound("campaign \(campaign.id)")
            }
            try await Self.checkListAndQueue(db, campaign)
            // The open attempts' contacts are in the old list: their results must still find them.
            if old.list != campaign.list, try await Self.hasOpenAttempts(db, campaign.id) {
                throw StoreError.conflict("campaign \(campaign.id) has open attempts: its list cannot change now")
            }
            try await db.execute(
                """
                UPDATE campaign SET name = ?, description = ?, list_id = ?, queue_id = ?, status = ?, \
                settings = ?, updated_at = ? WHERE id = ?
                """,
                [
                    campaign.name, campaign.description, campaign.list.rawValue, campaign.queue.rawValue,
                    campaign.settings.status.rawValue, settings, now.storeValue, campaign.id.rawValue,
                ])
            guard let stored = try await PGCampaigns.fetch(db, campaign.id) else {
                throw StoreError.notFound("campaign \(campaign.id)")
            }
            return stored
        }
    }

    public func setCampaignStatus(_ id: CampaignID, to status: CampaignStatus, now: Date) async throws -> Campaign? {
        try await write { db in
            guard var campaign = try await PGCampaigns.fetch(db, id) else { return nil }
            campaign.settings.status = status
            let errors = campaign.settings.validate()
            guard errors.isEmpty else { throw StoreError.invalidSettings(errors) }
            try await db.execute(
                "UPDATE campaign SET status = ?, settings = ?, updated_at = ? WHERE id = ?",
                [status.rawValue, try CampaignColumns.settingsJSON(campaign.settings), now.storeValue, id.rawValue])
            return campaign
        }
    }

    public func deleteCampaign(_ id: CampaignID) async throws -> Bool {
        try await write { db in
            if try await Self.hasOpenAttempts(db, id) {
                throw StoreError.conflict("campaign \(id) has open attempts: stop it and wait for their results")
            }
            return try await db.changes("DELETE FROM campaign WHERE id = ?", [id.rawValue]) > 0
        }
    }

    public func campaign(_ id: CampaignID) async throws -> Campaign? {
        try await read { db in try await PGCampaigns.fetch(db, id) }
    }

    public func campaigns() async throws -> [Campaign] {
        try await read { db in
            try await db.query("SELECT * FROM campaign ORDER BY id").map(PGCampaigns.campaign)
        }
    }

    /// The list must exist, and neither it nor the queue may belong to another campaign.
    private static func checkListAndQueue(_ db: PGSession, _ campaign: Campaign) async throws {
        guard try await db.exists("SELECT 1 FROM contact_list WHERE id = ?", [campaign.list.rawValue]) else {
            throw StoreError.notFound("list \(campaign.list)")
        }
        if let other = try await db.fetchOne(
            "SELECT id FROM campaign WHERE list_id = ? AND id <> ?", [campaign.list.rawValue, campaign.id.rawValue])
        {
            throw StoreError.alreadyExists("list \(campaign.list) of campaign \(try other.string("id"))")
        }
        if let other = try await db.fetchOne(
            "SELECT id FROM campaign WHERE queue_id = ? AND id <> ?", [campaign.queue.rawValue, campaign.id.rawValue])
        {
            throw StoreError.alreadyExists("queue \(campaign.queue) of campaign \(try other.string("id"))")
        }
    }

    private static let listSelect = """
        SELECT l.*, (SELECT c.id FROM campaign c WHERE c.list_id = l.id) AS campaign_id, \
        (SELECT COUNT(*) FROM contact WHERE contact.list_id = l.id) AS contact_count FROM contact_list l
        """

    static func fetchList(_ db: PGSession, _ id: ContactListID) async throws -> ContactList? {
        try await db.fetchOne("\(listSelect) WHERE l.id = ?", [id.rawValue]).map(listRecord)
    }

    private static func listRecord(_ row: PGRow) throws -> ContactList {
        ContactList(
            id: ContactListID(try row.string("id")), name: try row.string("name"),
            description: try row.string("description"),
            campaign: try row.optionalString("campaign_id").map(CampaignID.init),
            contactCount: try row.int("contact_count"), createdAt: try row.date("created_at") ?? Date(storeValue: 0),
            updatedAt: try row.date("updated_at"))
    }

    // MARK: Contacts

    public func addContact(to list: ContactListID, _ draft: ContactDraft, defaultRegion: String, now: Date)
        async throws -> Contact
    {
        let values = try ContactValues(draft, defaultRegion: defaultRegion)
        return try await write { db in
            guard try await db.exists("SELECT 1 FROM contact_list WHERE id = ?", [list.rawValue]) else {
                throw StoreError.notFound("list \(list)")
            }
            guard
                try await !db.exists(
                    "SELECT 1 FROM contact WHERE list_id = ? AND phone = ?", [list.rawValue, values.phone])
            else { throw StoreError.alreadyExists("the number in list \(list)") }
            guard
                let row = try await db.fetchOne(
                    """
                    INSERT INTO contact (list_id, phone, time_zone, caller_id, priority, fields, state, waiting_since, \
                    created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'fresh', ?, ?, ?) RETURNING id
                    """,
                    [
                        list.rawValue, values.phone, values.timeZone, values.callerID, draft.priority, values.fields,
                        now.storeValue, now.storeValue, now.storeValue,
                    ]),
                let contact = try await PGContacts.fetch(db, rowID: try row.int64("id"))
            else { throw StoreError.notFound("the new contact of list \(list)") }
            return contact
        }
    }

    public func contact(_ id: ContactID) async throws -> Contact? {
        try await read { db in try await PGContacts.fetch(db, id: id) }
    }

    public func updateContact(_ id: ContactID, _ draft: ContactDraft, defaultRegion: String, now: Date)
        async throws -> Contact
    {
        let values = try ContactValues(draft, defaultRegion: defaultRegion)
        return try await write { db in
            guard let rowID = ContactKey.rowID(id), let contact = try await PGContacts.fetch(db, rowID: rowID) else {
                throw StoreError.notFound("contact \(id)")
            }
            if contact.state.openAttempt != nil {
                throw StoreError.conflict("contact \(id) is in an open attempt")
            }
            guard
                try await !db.exists(
                    "SELECT 1 FROM contact WHERE list_id = ? AND phone = ? AND id <> ?",
                    [contact.list.rawValue, values.phone, rowID])
            else { throw StoreError.alreadyExists("the number in list \(contact.list)") }
            try await db.execute(
                """
                UPDATE contact SET phone = ?, time_zone = ?, caller_id = ?, priority = ?, fields = ?, \
                updated_at = ? WHERE id = ?
                """,
                [
                    values.phone, values.timeZone, values.callerID, draft.priority, values.fields, now.storeValue,
                    rowID,
                ])
            guard let updated = try await PGContacts.fetch(db, rowID: rowID) else {
                throw StoreError.notFound("contact \(id)")
            }
            return updated
        }
    }

    public func deleteContact(_ id: ContactID) async throws -> Bool {
        guard let rowID = ContactKey.rowID(id) else { return false }
        return try await write { db in
            if try await db.exists("SELECT 1 FROM contact WHERE id = ? AND state = 'inAttempt'", [rowID]) {
                throw StoreError.conflict("contact \(id) is in an open attempt")
            }
            return try await db.changes("DELETE FROM contact WHERE id = ?", [rowID]) > 0
        }
    }

    public func searchContacts(_ filter: ContactFilter, after: ContactID?, limit: Int) async throws -> ContactPage {
        let condition = try PGContactCondition(filter)
        let limit = max(0, limit)
        let afterRowID = after.map { ContactKey.rowID($0) ?? 0 } ?? 0
        return try await read { db in
            let contacts = try await db.query(
                """
                SELECT \(ContactColumns.select) FROM contact WHERE \(condition.sql) AND contact.id > ? \
                ORDER BY contact.id LIMIT ?
                """,
                condition.arguments + [afterRowID, limit]
            ).map { try PGContacts.contact($0) }
            return ContactPage(contacts: contacts, nextAfter: contacts.count == limit ? contacts.last?.id : nil)
        }
    }

    public func countContacts(_ filter: ContactFilter) async throws -> Int {
        let condition = try PGContactCondition(filter)
        return try await read { db in
            try await db.count("SELECT COUNT(*) AS count FROM contact WHERE \(condition.sql)", condition.arguments)
        }
    }

    public func resetAttempts(of id: ContactID, now: Date) async throws -> Bool? {
        try await write { db in
            guard var contact = try await PGContacts.fetch(db, id: id) else { return nil }
            guard contact.state.openAttempt == nil else { return false }
            contact.resetAttempts(now: now)
            try await PGContacts.saveState(db, contact)
            return true
        }
    }

    public func resetAttempts(matching filter: ContactFilter, now: Date) async throws -> AttemptReset {
        let condition = try PGContactCondition(filter)
        return try await write { db in
            let exhausted = "contact.state = 'final' AND contact.final_reason = 'attemptsExhausted'"
            let reopened = try await db.count(
                "SELECT COUNT(*) AS count FROM contact WHERE \(condition.sql) AND \(exhausted)", condition.arguments)
            let reset = try await db.changes(
                """
                UPDATE contact SET attempts = 0, updated_at = ?,
                    state = CASE WHEN \(exhausted) THEN 'fresh' ELSE state END,
                    final_reason = CASE WHEN \(exhausted) THEN NULL ELSE final_reason END
                WHERE \(condition.sql) AND contact.state <> 'inAttempt'
                """,
                [now.storeValue] + condition.arguments)
            return AttemptReset(reset: reset, reopened: reopened)
        }
    }
}

/// A ``ContactFilter`` as an SQL condition on the `contact` table (``ContactCondition`` in
/// PostgreSQL's words: custom fields are read with `->>`).
struct PGContactCondition: Sendable {
    var sql: String
    var arguments: [(any PGArgument)?]

    init(_ filter: ContactFilter) throws {
        var terms = ["TRUE"]
        var arguments: [(any PGArgument)?] = []
        if let list = filter.list {
            terms.append("contact.list_id = ?")
            arguments.append(list.rawValue)
        }
        if let campaign = filter.campaign {
            terms.append("contact.list_id = (SELECT list_id FROM campaign WHERE id = ?)")
            arguments.append(campaign.rawValue)
        }
        if let phone = filter.phone {
            terms.append("contact.phone = ?")
            arguments.append(phone)
        }
        if let states = filter.states {
            let kinds = states.map(\.rawValue).sorted()
            terms.append("contact.state = ANY(?)")
            arguments.append(PGTextArray(values: kinds))
        }
        if let outcome = filter.lastOutcome {
            terms.append("contact.last_outcome = ?")
            arguments.append(outcome.rawValue)
        }
        if let minimum = filter.minimumAttempts {
            terms.append("contact.attempts >= ?")
            arguments.append(minimum)
        }
        for (name, value) in filter.fields.sorted(by: { $0.key < $1.key }) {
            // The same rule as SQLite's, whose JSON paths cannot quote these.
            guard FieldsJSON.path(name) != nil else {
                throw StoreError.invalid("a field name to filter by cannot hold quotes or backslashes")
            }
            terms.append("(contact.fields::JSONB ->> ?) = ?")
            arguments.append(name)
            arguments.append(value)
        }
        self.sql = "(" + terms.joined(separator: " AND ") + ")"
        self.arguments = arguments
    }
}
