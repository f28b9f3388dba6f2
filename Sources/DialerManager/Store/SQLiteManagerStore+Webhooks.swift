public import FoundationEssentials
import GRDB

// Webhook subscriptions and the outbox. Deliveries are queued by the triggers of migration v14
// (in the transaction of the change they report) and read and updated here by the worker.

extension SQLiteManagerStore {
    public func createWebhook(_ subscription: WebhookSubscription) async throws {
        try await pool.write { db in
            guard
                try Row.fetchOne(
                    db, sql: "SELECT 1 FROM webhook_subscription WHERE id = ?", arguments: [subscription.id]) == nil
            else { throw StoreError.alreadyExists("webhook \(subscription.id)") }
            try db.execute(
                sql: """
                    INSERT INTO webhook_subscription (id, url, secret, on_disposition, on_list_exhausted, description, \
                    active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: Self.webhookArguments(subscription) + [
                    subscription.createdAt.storeValue, subscription.updatedAt.storeValue,
                ])
        }
    }

    public func updateWebhook(_ subscription: WebhookSubscription) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    UPDATE webhook_subscription SET id = ?, url = ?, secret = ?, on_disposition = ?, \
                    on_list_exhausted = ?, description = ?, active = ?, updated_at = ? WHERE id = ?
                    """,
                arguments: Self.webhookArguments(subscription) + [subscription.updatedAt.storeValue, subscription.id])
            guard db.changesCount > 0 else { throw StoreError.notFound("webhook \(subscription.id)") }
        }
    }

    public func deleteWebhook(id: String) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM webhook_subscription WHERE id = ?", arguments: [id])
            return db.changesCount > 0
        }
    }

    public func webhook(id: String) async throws -> WebhookSubscription? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM webhook_subscription WHERE id = ?", arguments: [id])
                .map(Self.webhook)
        }
    }

    public func webhooks() async throws -> [WebhookSubscription] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM webhook_subscription ORDER BY id").map(Self.webhook)
        }
    }

    public func dueWebhookDeliveries(now: Date, excluding: Set<Int64>, limit: Int) async throws
        -> (due: [WebhookDueDelivery], nextDueAt: Date?)
    {
        // The worker sends a handful at a time, so the exclusion list stays short.
        let excluded =
            excluding.isEmpty ? "" : " AND d.id NOT IN (\(excluding.map(String.init).joined(separator: ",")))"
        return try await pool.read { db in
            let due = try Row.fetchAll(
                db,
                sql: """
                    SELECT d.id, d.subscription_id, s.url, s.secret, d.event_id, d.payload, d.attempts, d.created_at \
                    FROM webhook_delivery d JOIN webhook_subscription s ON s.id = d.subscription_id \
                    WHERE d.state = 'pending' AND d.next_attempt_at <= ?\(excluded) \
                    ORDER BY d.next_attempt_at, d.id LIMIT ?
                    """,
                arguments: [now.storeValue, limit]
            ).map { row in
                WebhookDueDelivery(
                    id: row["id"], subscription: row["subscription_id"], url: row["url"], secret: row["secret"],
                    eventID: row["event_id"], payload: row["payload"], attempts: row["attempts"],
                    createdAt: row.date("created_at") ?? now)
            }
            let next = try Double.fetchOne(
                db,
                sql: """
                    SELECT MIN(next_attempt_at) FROM webhook_delivery d \
                    WHERE d.state = 'pending' AND d.next_attempt_at > ?\(excluded)
                    """,
                arguments: [now.storeValue])
            return (due, next.map(Date.init(storeValue:)))
        }
    }

    public func recordWebhookTry(_ record: WebhookTryRecord) async throws {
        try await pool.write { db in
            guard
                let attempts = try Int.fetchOne(
                    db, sql: "SELECT attempts FROM webhook_delivery WHERE id = ?", arguments: [record.delivery])
            else { return }  // Deleted with its subscription meanwhile.
            let attempt = attempts + 1
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO webhook_delivery_try (delivery_id, attempt, at, status, error, duration_ms) \
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    record.delivery, attempt, record.at.storeValue, record.status, record.error,
                    record.durationMilliseconds,
                ])
            let state: WebhookDeliveryState =
                record.delivered ? .delivered : (record.nextAttemptAt == nil ? .failed : .pending)
            try db.execute(
                sql: """
                    UPDATE webhook_delivery SET attempts = ?, state = ?, next_attempt_at = ?, last_attempt_at = ?, \
                    last_status = ?, last_error = ?, delivered_at = ? WHERE id = ?
                    """,
                arguments: [
                    attempt, state.rawValue, state == .pending ? record.nextAttemptAt?.storeValue : nil,
                    record.at.storeValue, record.status, record.error,
                    record.delivered ? record.at.storeValue : nil, record.delivery,
                ])
        }
    }

    public func webhookDeliveries(subscription: String, state: WebhookDeliveryState?, before: Int64?, limit: Int)
        async throws -> [WebhookDeliveryRecord]
    {
        try await pool.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM webhook_delivery WHERE subscription_id = ? AND (? IS NULL OR state = ?) \
                    AND (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?
                    """,
                arguments: [subscription, state?.rawValue, state?.rawValue, before, before, limit])
            return try rows.map { row in
                let id: Int64 = row["id"]
                let tries = try Row.fetchAll(
                    db, sql: "SELECT * FROM webhook_delivery_try WHERE delivery_id = ? ORDER BY attempt",
                    arguments: [id]
                ).map { row in
                    WebhookTry(
                        attempt: row["attempt"], at: row.date("at") ?? Date(storeValue: 0), status: row["status"],
                        error: row["error"], durationMilliseconds: row["duration_ms"])
                }
                guard let event = WebhookEvent(rawValue: row["event"]),
                    let state = WebhookDeliveryState(rawValue: row["state"])
                else { throw StoreError.corruptRow("webhook delivery \(id): unknown event or state") }
                return WebhookDeliveryRecord(
                    id: id, subscription: row["subscription_id"], eventID: row["event_id"], event: event,
                    payload: row["payload"], state: state, attempts: row["attempts"],
                    createdAt: row.date("created_at") ?? Date(storeValue: 0),
                    nextAttemptAt: row.date("next_attempt_at"),
                    lastAttemptAt: row.date("last_attempt_at"), lastStatus: row["last_status"],
                    lastError: row["last_error"], deliveredAt: row.date("delivered_at"), tries: tries)
            }
        }
    }

    private static func webhookArguments(_ subscription: WebhookSubscription) -> StatementArguments {
        [
            subscription.id, subscription.url, subscription.secret,
            subscription.events.contains(.disposition) ? 1 : 0,
            subscription.events.contains(.campaignListExhausted) ? 1 : 0, subscription.description,
            subscription.active ? 1 : 0,
        ]
    }

    private static func webhook(_ row: Row) -> WebhookSubscription {
        var events: Set<WebhookEvent> = []
        if (row["on_disposition"] as Int64? ?? 0) != 0 { events.insert(.disposition) }
        if (row["on_list_exhausted"] as Int64? ?? 0) != 0 { events.insert(.campaignListExhausted) }
        return WebhookSubscription(
            id: row["id"], url: row["url"], events: events, secret: row["secret"], description: row["description"],
            active: (row["active"] as Int64? ?? 0) != 0, createdAt: row.date("created_at") ?? Date(storeValue: 0),
            updatedAt: row.date("updated_at") ?? Date(storeValue: 0))
    }
}
