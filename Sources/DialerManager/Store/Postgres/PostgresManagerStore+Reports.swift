public import DialerCore
public import FoundationEssentials
import PostgresNIO

// Statistics, "why not dialable", the attempt export and webhooks, as SQLiteManagerStore+Statistics,
// +Reports and +Webhooks.
//
// The aggregates read one snapshot (a REPEATABLE READ transaction). Unlike SQLite's cursors,
// a campaign's contacts are read into memory at once: about 300 bytes a contact without fields.

extension PostgresManagerStore {
    public func campaignReport(_ id: CampaignID, now: Date) async throws -> CampaignReport? {
        try await read { db in
            guard let campaign = try await PGCampaigns.fetch(db, id) else { return nil }
            // The contacts are counted by PostgreSQL, in groups, as on SQLite.
            var tally = ContactTally()
            for group in try await db.query(ContactColumns.tallyByList, [campaign.list.rawValue]) {
                try ContactColumns.tally(
                    &tally, state: try group.string("state"), finalReason: try group.optionalString("final_reason"),
                    lastOutcome: try group.optionalString("last_outcome"),
                    lastDisposition: try group.optionalString("last_disposition"), count: try group.int("contacts"))
            }
            let attempts = try await db.query("SELECT * FROM attempt WHERE campaign_id = ?", [id.rawValue]).map(
                PGAttempts.record)
            return CampaignReport(contacts: tally, attempts: attempts, now: now)
        }
    }

    public func campaignSummary(_ id: CampaignID, now: Date, presentAgents: Set<AgentID>) async throws
        -> CampaignSummary?
    {
        try await read { db in
            guard let campaign = try await PGCampaigns.fetch(db, id) else { return nil }
            let contacts = try await Self.contacts(db, of: campaign)
            let dnc = try await Self.listedNumbers(db, campaign: campaign)
            return CampaignSummary(
                contacts: contacts, campaign: campaign.settings, dnc: dnc, now: now,
                privateAgentPresent: { presentAgents.contains($0) })
        }
    }

    public func dialability(of id: ContactID, now: Date, presentAgents: Set<AgentID>) async throws
        -> ContactDialability?
    {
        try await read { db in
            guard let contact = try await PGContacts.fetch(db, id: id),
                let campaign = try await PGCampaigns.fetch(db, contact.campaign)
            else { return nil }
            let dnc = try await PGDoNotCall.load(db, campaign: campaign.id, numbers: [contact.phoneNumber])
            let present = { (agent: AgentID) in presentAgents.contains(agent) }
            let verdict = Dialability.evaluate(
                contact: contact, campaign: campaign.settings, dnc: dnc, now: now, privateAgentPresent: present)
            let earliest = Dialability.earliestDialable(
                contact: contact, campaign: campaign.settings, dnc: dnc, now: now, privateAgentPresent: present)
            return ContactDialability(contact: contact, verdict: verdict, earliestDialable: earliest)
        }
    }

    private static func contacts(_ db: PGSession, of campaign: Campaign) async throws -> [Contact] {
        try await db.query(
            "SELECT \(ContactColumns.select) FROM contact WHERE contact.list_id = ?", [campaign.list.rawValue]
        ).map { try PGContacts.contact($0, withFields: false) }
    }

    /// The numbers of the campaign's list that may not be called by it.
    private static func listedNumbers(_ db: PGSession, campaign: Campaign) async throws -> PGDoNotCall {
        let rows = try await db.query(
            """
            SELECT DISTINCT dnc.phone FROM dnc JOIN contact ON contact.phone = dnc.phone AND contact.list_id = ? \
            WHERE dnc.campaign_id IS NULL OR dnc.campaign_id = ?
            """,
            [campaign.list.rawValue, campaign.id.rawValue])
        return PGDoNotCall(listed: Set(try rows.map { try $0.string("phone") }))
    }

    // MARK: The attempt export

    public func attemptPage(_ filter: AttemptFilter, after cursor: AttemptCursor?, limit: Int) async throws
        -> [AttemptRow]
    {
        var conditions: [String] = []
        var arguments: [(any PGArgument)?] = []
        if let campaign = filter.campaign {
            conditions.append("campaign_id = ?")
            arguments.append(campaign.rawValue)
        }
        if let from = filter.from {
            conditions.append("started_at >= ?")
            arguments.append(from.storeValue)
        }
        if let to = filter.to {
            conditions.append("started_at < ?")
            arguments.append(to.storeValue)
        }
        if let cursor {
            conditions.append("(started_at, seq) > (?, ?)")
            arguments += [cursor.storedStartedAt, cursor.rowID]
        }
        if let agent = filter.agent {
            conditions.append("agent = ?")
            arguments.append(agent.rawValue)
        }
        if filter.openOnly {
            conditions.append("outcome IS NULL")
        } else if let outcome = filter.outcome {
            conditions.append("outcome = ?")
            arguments.append(outcome.rawValue)
        }
        if let disposition = filter.disposition {
            conditions.append("disposition_name = ?")
            arguments.append(disposition)
        }
        arguments.append(max(0, limit))
        let sql = """
            SELECT seq, id, campaign_id, contact_id, node, agent, started_at, ended_at, answered_at, dialed_at, \
            bridged_at, call_ended_at, outcome, abandon_cause, disposition_name, disposition_at, caller_id \
            FROM attempt \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")) \
            ORDER BY started_at, seq LIMIT ?
            """
        let statementArguments = arguments
        return try await read { db in
            let unix = SQLiteManagerStore.referenceDateUnix
            func instant(_ row: PGRow, _ column: String) throws -> Double? {
                try row.value(column, as: Double?.self).map { $0 + unix }
            }
            return try await db.query(sql, statementArguments).map { row in
                let startedAt = try row.double("started_at")
                return AttemptRow(
                    rowID: try row.int64("seq"), id: try row.string("id"), campaign: try row.string("campaign_id"),
                    contactRowID: try row.int64("contact_id"), node: try row.optionalString("node"),
                    agent: try row.optionalString("agent"), startedAt: startedAt + unix,
                    endedAt: try instant(row, "ended_at"), answeredAt: try instant(row, "answered_at"),
                    dialedAt: try instant(row, "dialed_at"), bridgedAt: try instant(row, "bridged_at"),
                    callEndedAt: try instant(row, "call_ended_at"), outcome: try row.optionalString("outcome"),
                    abandonCause: try row.optionalString("abandon_cause"),
                    disposition: try row.optionalString("disposition_name"),
                    dispositionAt: try instant(row, "disposition_at"), callerID: try row.optionalString("caller_id"),
                    storedStartedAt: startedAt)
            }
        }
    }

    // MARK: Webhooks

    public func createWebhook(_ subscription: WebhookSubscription) async throws {
        try await write { db in
            guard try await !db.exists("SELECT 1 FROM webhook_subscription WHERE id = ?", [subscription.id]) else {
                throw StoreError.alreadyExists("webhook \(subscription.id)")
            }
            try await db.execute(
                """
                INSERT INTO webhook_subscription (id, url, secret, on_disposition, on_list_exhausted, description, \
                active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                Self.webhookArguments(subscription) + [
                    subscription.createdAt.storeValue, subscription.updatedAt.storeValue,
                ])
        }
    }

    public func updateWebhook(_ subscription: WebhookSubscription) async throws {
        try await write { db in
            let changed = try await db.changes(
                """
                UPDATE webhook_subscription SET id = ?, url = ?, secret = ?, on_disposition = ?, \
                on_list_exhausted = ?, description = ?, active = ?, updated_at = ? WHERE id = ?
                """,
                Self.webhookArguments(subscription) + [subscription.updatedAt.storeValue, subscription.id])
            guard changed > 0 else { throw StoreError.notFound("webhook \(subscription.id)") }
        }
    }

    public func deleteWebhook(id: String) async throws -> Bool {
        try await write { db in try await db.changes("DELETE FROM webhook_subscription WHERE id = ?", [id]) > 0 }
    }

    public func webhook(id: String) async throws -> WebhookSubscription? {
        try await read { db in
            try await db.fetchOne("SELECT * FROM webhook_subscription WHERE id = ?", [id]).map(Self.webhook)
        }
    }

    public func webhooks() async throws -> [WebhookSubscription] {
        try await read { db in
            try await db.query("SELECT * FROM webhook_subscription ORDER BY id").map(Self.webhook)
        }
    }

    public func dueWebhookDeliveries(now: Date, excluding: Set<Int64>, limit: Int) async throws
        -> (due: [WebhookDueDelivery], nextDueAt: Date?)
    {
        let excluded = PGInt64Array(values: excluding.sorted())
        return try await read { db in
            let due = try await db.query(
                """
                SELECT d.id, d.subscription_id, s.url, s.secret, d.event_id, d.payload, d.attempts, d.created_at \
                FROM webhook_delivery d JOIN webhook_subscription s ON s.id = d.subscription_id \
                WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND NOT (d.id = ANY(?)) \
                ORDER BY d.next_attempt_at, d.id LIMIT ?
                """,
                [now.storeValue, excluded, max(0, limit)]
            ).map { row in
                WebhookDueDelivery(
                    id: try row.int64("id"), subscription: try row.string("subscription_id"),
                    url: try row.string("url"), secret: try row.string("secret"), eventID: try row.string("event_id"),
                    payload: try row.string("payload"), attempts: try row.int("attempts"),
                    createdAt: try row.date("created_at") ?? now)
            }
            let next = try await db.fetchOne(
                """
                SELECT MIN(next_attempt_at) AS next FROM webhook_delivery d \
                WHERE d.state = 'pending' AND d.next_attempt_at > ? AND NOT (d.id = ANY(?))
                """,
                [now.storeValue, excluded])
            return (due, try next?.date("next"))
        }
    }

    public func recordWebhookTry(_ record: WebhookTryRecord) async throws {
        try await write { db in
            guard
                let row = try await db.fetchOne(
                    "SELECT attempts FROM webhook_delivery WHERE id = ? FOR UPDATE", [record.delivery])
            else { return }  // Deleted with its subscription meanwhile.
            let attempt = try row.int("attempts") + 1
            try await db.execute(
                """
                INSERT INTO webhook_delivery_try (delivery_id, attempt, at, status, error, duration_ms) \
                VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (delivery_id, attempt) DO UPDATE SET at = EXCLUDED.at, \
                status = EXCLUDED.status, error = EXCLUDED.error, duration_ms = EXCLUDED.duration_ms
                """,
                [
                    record.delivery, attempt, record.at.storeValue, record.status, record.error,
                    record.durationMilliseconds,
                ])
            let state: WebhookDeliveryState =
                record.delivered ? .delivered : (record.nextAttemptAt == nil ? .failed : .pending)
            try await db.execute(
                """
                UPDATE webhook_delivery SET attempts = ?, state = ?, next_attempt_at = ?, last_attempt_at = ?, \
                last_status = ?, last_error = ?, delivered_at = ? WHERE id = ?
                """,
                [
                    attempt, state.rawValue, state == .pending ? record.nextAttemptAt?.storeValue : nil,
                    record.at.storeValue, record.status, record.error,
                    record.delivered ? record.at.storeValue : nil, record.delivery,
                ])
        }
    }

    public func webhookDeliveries(subscription: String, state: WebhookDeliveryState?, before: Int64?, limit: Int)
        async throws -> [WebhookDeliveryRecord]
    {
        try await read { db in
            let rows = try await db.query(
                """
                SELECT * FROM webhook_delivery WHERE subscription_id = ? AND (?::TEXT IS NULL OR state = ?::TEXT) \
                AND (?::BIGINT IS NULL OR id < ?::BIGINT) ORDER BY id DESC LIMIT ?
                """,
                [subscription, state?.rawValue, state?.rawValue, before, before, max(0, limit)])
            var records: [WebhookDeliveryRecord] = []
            for row in rows {
                let id = try row.int64("id")
                let tries = try await db.query(
                    "SELECT * FROM webhook_delivery_try WHERE delivery_id = ? ORDER BY attempt", [id]
                ).map { row in
                    WebhookTry(
                        attempt: try row.int("attempt"), at: try row.date("at") ?? Date(storeValue: 0),
                        status: try row.optionalInt("status"), error: try row.optionalString("error"),
                        durationMilliseconds: try row.int("duration_ms"))
                }
                guard let event = WebhookEvent(rawValue: try row.string("event")),
                    let state = WebhookDeliveryState(rawValue: try row.string("state"))
                else { throw StoreError.corruptRow("webhook delivery \(id): unknown event or state") }
                records.append(
                    WebhookDeliveryRecord(
                        id: id, subscription: try row.string("subscription_id"), eventID: try row.string("event_id"),
                        event: event, payload: try row.string("payload"), state: state,
                        attempts: try row.int("attempts"), createdAt: try row.date("created_at") ?? Date(storeValue: 0),
                        nextAttemptAt: try row.date("next_attempt_at"), lastAttemptAt: try row.date("last_attempt_at"),
                        lastStatus: try row.optionalInt("last_status"), lastError: try row.optionalString("last_error"),
                        deliveredAt: try row.date("delivered_at"), tries: tries))
            }
            return records
        }
    }

    private static func webhookArguments(_ subscription: WebhookSubscription) -> [(any PGArgument)?] {
        [
            subscription.id, subscription.url, subscription.secret, subscription.events.contains(.disposition),
            subscription.events.contains(.campaignListExhausted), subscription.description, subscription.active,
        ]
    }

    private static func webhook(_ row: PGRow) throws -> WebhookSubscription {
        var events: Set<WebhookEvent> = []
        if try row.flag("on_disposition") { events.insert(.disposition) }
        if try row.flag("on_list_exhausted") { events.insert(.campaignListExhausted) }
        return WebhookSubscription(
            id: try row.string("id"), url: try row.string("url"), events: events, secret: try row.string("secret"),
            description: try row.string("description"), active: try row.flag("active"),
            createdAt: try row.date("created_at") ?? Date(storeValue: 0),
            updatedAt: try row.date("updated_at") ?? Date(storeValue: 0))
    }
}

/// A `bigint[]` argument (`= ANY(?)`).
struct PGInt64Array: PGArgument {
    var values: [Int64]
    func bind(into bindings: inout PostgresBindings) { bindings.append(values) }
}
