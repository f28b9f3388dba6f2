public import DialerCore
public import FoundationEssentials
import GRDB

// Inbound calls routed to campaigns, and attempts handed back undialed.

extension SQLiteManagerStore {
    public func routeInboundCall(
        from caller: String, hotline: CampaignID?, node: MemberID, epoch: Epoch, now: Date
    ) async throws -> InboundRouting {
        try await pool.write { db in
            // First: the caller is an open contact of an outbound campaign (a callback). A contact
            // not in an attempt is preferred, so that the call can be recorded on it.
            if let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT contact.id AS contact_row, campaign.id AS campaign_id FROM contact \
                    JOIN campaign ON campaign.list_id = contact.list_id \
                    WHERE contact.phone = ? AND contact.state != 'final' \
                    ORDER BY contact.state = 'inAttempt', contact.id LIMIT 1
                    """,
                arguments: [caller])
            {
                guard let campaign = try CampaignColumns.fetch(db, CampaignID(row["campaign_id"])),
                    let contact = try ContactColumns.fetch(db, rowID: row["contact_row"])
                else { throw StoreError.conflict("contact of caller \(caller) changed during the lookup") }
                let handOut = try Self.beginInboundAttempt(
                    db, contact, campaign: campaign, node: node, epoch: epoch, now: now)
                return .openContact(campaign: campaign, handOut: handOut, contact: contact)
            }
            // Second: a hotline makes the caller a new contact of its campaign.
            guard let hotline, let campaign = try CampaignColumns.fetch(db, hotline) else { return .service }
            let contact: Contact
            if let existing = try Row.fetchOne(
                db, sql: "SELECT id FROM contact WHERE list_id = ? AND phone = ?",
                arguments: [campaign.list.rawValue, caller])
            {
                // Already in the list but closed: the call still goes to the campaign's agents.
                guard let closed = try ContactColumns.fetch(db, rowID: existing["id"]) else {
                    throw StoreError.conflict("contact of caller \(caller) changed during the lookup")
                }
                return .hotline(campaign: campaign, handOut: nil, contact: closed)
            } else {
                try db.execute(
                    sql: """
                        INSERT INTO contact (list_id, phone, fields, state, waiting_since, created_at, updated_at) \
                        VALUES (?, ?, '{"source":"hotline"}', 'fresh', ?, ?, ?)
                        """,
                    arguments: [campaign.list.rawValue, caller, now.storeValue, now.storeValue, now.storeValue])
                guard let created = try ContactColumns.fetch(db, rowID: db.lastInsertedRowID) else {
                    throw StoreError.conflict("the hotline contact of \(caller) vanished")
                }
                contact = created
            }
            let handOut = try Self.beginInboundAttempt(
                db, contact, campaign: campaign, node: node, epoch: epoch, now: now)
            return .hotline(campaign: campaign, handOut: handOut, contact: contact)
        }
    }

    /// Opens an attempt for an inbound call on a contact that is not in one; `nil` when it is.
    private static func beginInboundAttempt(
        _ db: Database, _ contact: Contact, campaign: Campaign, node: MemberID, epoch: Epoch, now: Date
    ) throws -> AttemptHandOut? {
        var contact = contact
        let attempt = AttemptID(UUID().uuidString.lowercased())
        do {
            try contact.beginAttempt(attempt, now: now)
        } catch {
            return nil
        }
        try ContactColumns.saveState(db, contact)
        try db.execute(
            sql: "INSERT INTO attempt (id, campaign_id, contact_id, node, epoch, started_at) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [
                attempt.rawValue, campaign.id.rawValue, ContactKey.rowID(contact.id), node.rawValue,
                Int64(clamping: epoch.rawValue), now.storeValue,
            ])
        return AttemptHandOut(attempt: attempt, contact: contact)
    }

    public func returnAttempt(_ attempt: AttemptID, node: MemberID, epoch: Epoch, now: Date) async throws
        -> AttemptReturnResult
    {
        try await pool.write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT contact_id, node, epoch, outcome, started_at FROM attempt WHERE id = ?",
                    arguments: [attempt.rawValue])
            else { return .notHeld }
            guard row["node"] as String? == node.rawValue, row["epoch"] as Int64? == Int64(clamping: epoch.rawValue)
            else { return .heldElsewhere }
            guard row["outcome"] as String? == nil else { return .alreadyClosed }
            let contactRow: Int64 = row["contact_id"]
            guard var contact = try ContactColumns.fetch(db, rowID: contactRow) else { return .notHeld }
            let previous = try Row.fetchOne(
                db,
                sql: """
                    SELECT id, started_at, disposition_name FROM attempt WHERE contact_id = ? AND id != ? \
                    ORDER BY started_at DESC, id DESC LIMIT 1
                    """,
                arguments: [contactRow, attempt.rawValue]
            ).map {
                (
                    attempt: AttemptID($0["id"]), at: $0.date("started_at") ?? now,
                    disposition: $0["disposition_name"] as String?
                )
            }
            let handedOutAt = row.date("started_at") ?? now
            guard contact.returnAttempt(attempt, handedOutAt: handedOutAt, previous: previous) else {
                return .alreadyClosed
            }
            contact.updatedAt = now
            try ContactColumns.saveState(db, contact)
            // Never dialed, so it was never an attempt: no statistic may count it.
            try db.execute(sql: "DELETE FROM attempt WHERE id = ?", arguments: [attempt.rawValue])
            return .returned
        }
    }
}
