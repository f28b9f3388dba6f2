import GRDB

/// The schema after the API tokens, one migration per area. Instants are `REAL` seconds since
/// the reference date (see ``SQLiteManagerStore``).
///
/// Written as SQL rather than GRDB's table builder because the rules that matter live in
/// partial indexes and `CHECK` constraints, which read best as the SQL SQLite runs.
enum StoreSchema {
    static func register(in migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v2: lists, campaigns, contacts") { db in
            try db.execute(sql: listsCampaignsContacts)
        }
        migrator.registerMigration("v3: attempts") { db in
            try db.execute(sql: attempts)
        }
        migrator.registerMigration("v4: import jobs") { db in
            try db.execute(sql: imports)
        }
        migrator.registerMigration("v5: do not call, dispositions") { db in
            try db.execute(sql: doNotCallAndDispositions)
        }
        migrator.registerMigration("v6: agents, teams") { db in
            try db.execute(sql: agentsAndTeams)
        }
        migrator.registerMigration("v7: contacts by number") { db in
            // An inbound call looks up its caller among every campaign's open contacts.
            try db.execute(sql: "CREATE INDEX contact_phone ON contact (phone)")
        }
        migrator.registerMigration("v8: attempt call details") { db in
            try db.execute(sql: attemptCallDetails)
        }
        migrator.registerMigration("v9: attempts by contact") { db in
            // A contact's history (GET /v1/contacts/{id}/attempts) without scanning every attempt.
            try db.execute(sql: "CREATE INDEX attempt_contact ON attempt (contact_id, started_at)")
        }
        migrator.registerMigration("v10: calls whose node was lost") { db in
            // An agent talked on the call although its node was lost: its outcome is `unknown`,
            // and the agent's disposition may arrive before the attempt is closed.
            try db.execute(
                sql: "ALTER TABLE attempt ADD COLUMN node_lost_on_call INTEGER NOT NULL DEFAULT 0 "
                    + "CHECK (node_lost_on_call IN (0, 1))")
        }
        migrator.registerMigration("v11: abandon causes") { db in
            // Why each abandoned call was abandoned, as its node reported (NULL: not said).
            try db.execute(sql: "ALTER TABLE attempt ADD COLUMN abandon_cause TEXT")
        }
        migrator.registerMigration("v12: import dry runs") { db in
            // A dry run reads and checks a file like an import and changes no list.
            try db.execute(sql: "ALTER TABLE import_job ADD COLUMN dry_run INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v13: attempts by start") { db in
            // Interval reports and the CSV export read attempts by their start across campaigns;
            // the export pages by (started_at, rowid), which this index holds in order.
            try db.execute(sql: "CREATE INDEX attempt_started ON attempt (started_at)")
        }
        migrator.registerMigration("v14: webhooks") { db in
            try db.execute(sql: webhooks)
        }
        migrator.registerMigration("v15: manager lease, queue-lease journal") { db in
            try db.execute(sql: managerLease)
        }
        // PostgreSQL's v16 gives the feeder's fresh contacts an index in its order, tie-break
        // included. SQLite's `contact_feed` has it already: an index's entries end with the
        // rowid (the contact's id), so nothing changes here; the migration keeps the two stores'
        // lists in step.
        migrator.registerMigration("v16: the feeder's order") { _ in }
    }

    /// The names of the migrations after v1, in order.
    static let migrationNames = [
        "v2: lists, campaigns, contacts", "v3: attempts", "v4: import jobs", "v5: do not call, dispositions",
        "v6: agents, teams", "v7: contacts by number", "v8: attempt call details",
        "v9: attempts by contact", "v10: calls whose node was lost", "v11: abandon causes",
        "v12: import dry runs", "v13: attempts by start", "v14: webhooks",
        "v15: manager lease, queue-lease journal", "v16: the feeder's order",
    ]

    /// The standby managers' lease (one row) and the last queue-lease grant of each queue (see
    /// ``SQLiteManagerLeaseStore``).
    private static let managerLease = """
        -- Which manager is active, until when (REAL seconds since the reference date, on the
        -- writer's clock), under which term: the term grows by one at each take-over, and a
        -- journal write under an older term is refused.
        CREATE TABLE manager_lease (
            id INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
            holder TEXT NOT NULL,
            term INTEGER NOT NULL CHECK (term > 0),
            expires_at REAL NOT NULL
        );

        -- The last grant issued for each queue, written before the grant is sent.
        CREATE TABLE queue_lease_journal (
            queue TEXT NOT NULL PRIMARY KEY,
            epoch INTEGER NOT NULL CHECK (epoch >= 0),
            owner TEXT NOT NULL,
            term INTEGER NOT NULL
        );

        -- Fencing of the feeder's writes: a connection whose manager was active under a term
        -- that is no longer the lease's (dialer_manager_term(), see ManagerTermFence) may not
        -- hand out or close attempts. NULL: a manager without standbys, or a tool.
        CREATE TRIGGER attempt_insert_fenced BEFORE INSERT ON attempt
        WHEN dialer_manager_term() IS NOT NULL
            AND dialer_manager_term() IS NOT (SELECT term FROM manager_lease WHERE id = 1)
        BEGIN SELECT RAISE(ABORT, 'stale manager term'); END;

        CREATE TRIGGER attempt_update_fenced BEFORE UPDATE ON attempt
        WHEN dialer_manager_term() IS NOT NULL
            AND dialer_manager_term() IS NOT (SELECT term FROM manager_lease WHERE id = 1)
        BEGIN SELECT RAISE(ABORT, 'stale manager term'); END;

        CREATE TRIGGER contact_update_fenced BEFORE UPDATE ON contact
        WHEN dialer_manager_term() IS NOT NULL
            AND dialer_manager_term() IS NOT (SELECT term FROM manager_lease WHERE id = 1)
        BEGIN SELECT RAISE(ABORT, 'stale manager term'); END;
        """

    private static let listsCampaignsContacts = """
        CREATE TABLE contact_list (
            id TEXT NOT NULL PRIMARY KEY,
            name TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );

        -- A campaign dials one list and feeds one queue, and neither is shared: a contact's
        -- state belongs to one campaign. The status column mirrors settings.status for queries.
        CREATE TABLE campaign (
            id TEXT NOT NULL PRIMARY KEY,
            name TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            list_id TEXT NOT NULL UNIQUE REFERENCES contact_list(id) ON DELETE RESTRICT,
            queue_id TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL CHECK (status IN ('enabled', 'disabled', 'automatic')),
            settings TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );

        -- AUTOINCREMENT: a deleted contact's id is never reused, since attempts outlive it.
        -- The state columns are Contact.state spread out so that the feeder can query them;
        -- waiting_since is Contact.waitingSince (next attempt, or creation), the feeder's order.
        CREATE TABLE contact (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            list_id TEXT NOT NULL REFERENCES contact_list(id) ON DELETE CASCADE,
            phone TEXT NOT NULL,
            time_zone TEXT,
            caller_id TEXT,
            priority INTEGER NOT NULL DEFAULT 0,
            fields TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL CHECK (state IN ('fresh', 'scheduled', 'inAttempt', 'final')),
            next_attempt_at REAL,
            open_attempt TEXT,
            final_reason TEXT CHECK (final_reason IN ('outcome', 'disposition', 'attemptsExhausted')),
            final_detail TEXT,
            waiting_since REAL NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            last_outcome TEXT,
            last_disposition TEXT,
            last_attempt TEXT,
            last_attempt_at REAL,
            callback_at REAL,
            callback_agent TEXT,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            UNIQUE (list_id, phone),
            CHECK ((state = 'scheduled') = (next_attempt_at IS NOT NULL)),
            CHECK ((state = 'inAttempt') = (open_attempt IS NOT NULL)),
            CHECK ((state = 'final') = (final_reason IS NOT NULL)),
            CHECK (callback_agent IS NULL OR callback_at IS NOT NULL)
        );
        -- The feeder walks a campaign's fresh and due contacts in priority order.
        CREATE INDEX contact_feed ON contact (list_id, state, priority, waiting_since);
        -- Due contacts by their next attempt (summaries, resets, the feeder's due retries).
        CREATE INDEX contact_due ON contact (list_id, state, next_attempt_at);
        -- The few contacts with a callback, which the feeder reads first.
        CREATE INDEX contact_callback ON contact (list_id, next_attempt_at) WHERE callback_at IS NOT NULL;
        """

    private static let attempts = """
        -- contact_id has no foreign key: the history of attempts (the abandon rate over 30 days
        -- among it) outlives a deleted contact or a replaced list.
        CREATE TABLE attempt (
            id TEXT NOT NULL PRIMARY KEY,
            campaign_id TEXT NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
            contact_id INTEGER NOT NULL,
            node TEXT,
            epoch INTEGER,
            started_at REAL NOT NULL,
            ended_at REAL,
            answered_at REAL,
            outcome TEXT,
            disposition TEXT,
            disposition_name TEXT,
            disposition_at REAL,
            agent TEXT,
            CHECK ((outcome IS NULL) = (ended_at IS NULL))
        );
        -- A contact is never in two open attempts.
        CREATE UNIQUE INDEX attempt_open_per_contact ON attempt (contact_id) WHERE outcome IS NULL;
        CREATE INDEX attempt_open_per_node ON attempt (node) WHERE outcome IS NULL;
        CREATE INDEX attempt_campaign ON attempt (campaign_id, started_at);
        """

    /// The call's own times and caller ID, as the node reported them (answered_at is v3's).
    /// Nullable: attempts closed before v8, closed as unknown, or reported without them have
    /// none. Times are instants like every other (seconds since the reference date): the node
    /// sends Unix milliseconds of its wall clock, so at a trunk time scale they are wall times,
    /// and a call's durations are wall durations (call time divided by the scale).
    private static let attemptCallDetails = """
        ALTER TABLE attempt ADD COLUMN dialed_at REAL;
        ALTER TABLE attempt ADD COLUMN bridged_at REAL;
        ALTER TABLE attempt ADD COLUMN call_ended_at REAL;
        ALTER TABLE attempt ADD COLUMN caller_id TEXT;
        """

    private static let imports = """
        CREATE TABLE import_job (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            list_id TEXT NOT NULL REFERENCES contact_list(id) ON DELETE CASCADE,
            requested_by TEXT NOT NULL,
            source_name TEXT,
            format TEXT NOT NULL CHECK (format IN ('csv', 'json')),
            mode TEXT NOT NULL CHECK (mode IN ('append', 'replace')),
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
            created_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL,
            rows_read INTEGER NOT NULL DEFAULT 0,
            accepted INTEGER NOT NULL DEFAULT 0,
            duplicates INTEGER NOT NULL DEFAULT 0,
            rejected INTEGER NOT NULL DEFAULT 0,
            error TEXT
        );
        CREATE INDEX import_job_per_list ON import_job (list_id, id);

        -- Details of the first rejected rows of each job (the job counts all of them).
        CREATE TABLE import_rejected_row (
            job_id INTEGER NOT NULL REFERENCES import_job(id) ON DELETE CASCADE,
            row INTEGER NOT NULL,
            reason TEXT NOT NULL,
            PRIMARY KEY (job_id, row)
        ) WITHOUT ROWID;

        -- A running import's accepted rows, until they go into the list in one transaction at
        -- the end: the list never sees a part of a file. Unique numbers per job skip the file's
        -- own duplicates.
        CREATE TABLE import_staging (
            job_id INTEGER NOT NULL REFERENCES import_job(id) ON DELETE CASCADE,
            row INTEGER NOT NULL,
            phone TEXT NOT NULL,
            time_zone TEXT,
            caller_id TEXT,
            priority INTEGER NOT NULL,
            fields TEXT NOT NULL,
            PRIMARY KEY (job_id, row),
            UNIQUE (job_id, phone)
        ) WITHOUT ROWID;
        """

    private static let doNotCallAndDispositions = """
        -- A number is listed once per scope: globally (campaign_id NULL) or for one campaign.
        CREATE TABLE dnc (
            id INTEGER PRIMARY KEY,
            phone TEXT NOT NULL,
            campaign_id TEXT REFERENCES campaign(id) ON DELETE CASCADE,
            note TEXT,
            added_at REAL NOT NULL
        );
        CREATE UNIQUE INDEX dnc_global ON dnc (phone) WHERE campaign_id IS NULL;
        CREATE UNIQUE INDEX dnc_per_campaign ON dnc (campaign_id, phone) WHERE campaign_id IS NOT NULL;

        CREATE TABLE disposition (
            campaign_id TEXT NOT NULL REFERENCES campaign(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('final', 'retry', 'callback')),
            private_allowed INTEGER NOT NULL DEFAULT 0,
            position INTEGER NOT NULL,
            PRIMARY KEY (campaign_id, name)
        );
        """

    private static let agentsAndTeams = """
        CREATE TABLE team (
            id TEXT NOT NULL PRIMARY KEY,
            name TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        -- The queue ranking a team's agents inherit.
        CREATE TABLE team_queue_rank (
            team_id TEXT NOT NULL REFERENCES team(id) ON DELETE CASCADE,
            queue_id TEXT NOT NULL,
            rank INTEGER NOT NULL,
            PRIMARY KEY (team_id, queue_id)
        ) WITHOUT ROWID;

        -- Passwords: PBKDF2-HMAC-SHA256 with a per-agent salt; the rounds are stored with each
        -- hash so that raising them later leaves older hashes verifiable.
        CREATE TABLE agent (
            id TEXT NOT NULL PRIMARY KEY,
            login TEXT NOT NULL UNIQUE COLLATE NOCASE,
            name TEXT NOT NULL,
            team_id TEXT REFERENCES team(id) ON DELETE SET NULL,
            password_algorithm TEXT NOT NULL,
            password_iterations INTEGER NOT NULL,
            password_salt BLOB NOT NULL,
            password_hash BLOB NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE INDEX agent_per_team ON agent (team_id);

        -- An agent's own skills: queues with ranks.
        CREATE TABLE agent_skill (
            agent_id TEXT NOT NULL REFERENCES agent(id) ON DELETE CASCADE,
            queue_id TEXT NOT NULL,
            rank INTEGER NOT NULL,
            PRIMARY KEY (agent_id, queue_id)
        ) WITHOUT ROWID;
        """

    /// Webhook subscriptions and their durable outbox. Events are written to the outbox by
    /// triggers, in the same transaction as the change they report: a disposition recorded is a
    /// delivery queued, whatever wrote it, and a crash cannot keep one without the other.
    /// Instants are the store's (seconds since the reference date; 978307200 is that date in
    /// Unix seconds, for `strftime`).
    private static let webhooks = """
        CREATE TABLE webhook_subscription (
            id TEXT NOT NULL PRIMARY KEY,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            on_disposition INTEGER NOT NULL CHECK (on_disposition IN (0, 1)),
            on_list_exhausted INTEGER NOT NULL CHECK (on_list_exhausted IN (0, 1)),
            description TEXT NOT NULL DEFAULT '',
            active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );

        -- One row per event and subscription. event_id is the idempotency id the receiver sees;
        -- it is derived from what happened (the attempt, the campaign and instant), so the
        -- same event is never queued twice for a subscription.
        CREATE TABLE webhook_delivery (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            subscription_id TEXT NOT NULL REFERENCES webhook_subscription(id) ON DELETE CASCADE,
            event_id TEXT NOT NULL,
            event TEXT NOT NULL CHECK (event IN ('disposition', 'campaign.list_exhausted')),
            payload TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            next_attempt_at REAL,
            last_attempt_at REAL,
            last_status INTEGER,
            last_error TEXT,
            created_at REAL NOT NULL,
            delivered_at REAL,
            UNIQUE (subscription_id, event_id),
            CHECK ((state = 'pending') = (next_attempt_at IS NOT NULL))
        );
        CREATE INDEX webhook_delivery_due ON webhook_delivery (next_attempt_at) WHERE state = 'pending';
        CREATE INDEX webhook_delivery_per_subscription ON webhook_delivery (subscription_id, id);

        -- Each try of a delivery: the delivery log.
        CREATE TABLE webhook_delivery_try (
            delivery_id INTEGER NOT NULL REFERENCES webhook_delivery(id) ON DELETE CASCADE,
            attempt INTEGER NOT NULL,
            at REAL NOT NULL,
            status INTEGER,
            error TEXT,
            duration_ms INTEGER NOT NULL,
            PRIMARY KEY (delivery_id, attempt)
        ) WITHOUT ROWID;

        -- An attempt's first disposition (the store records one per attempt).
        CREATE TRIGGER webhook_on_disposition AFTER UPDATE OF disposition_name ON attempt
        WHEN NEW.disposition_name IS NOT NULL AND OLD.disposition_name IS NULL
        BEGIN
            INSERT OR IGNORE INTO webhook_delivery
                (subscription_id, event_id, event, payload, state, next_attempt_at, created_at)
            SELECT s.id, 'disposition:' || NEW.id, 'disposition',
                json_object(
                    'id', 'disposition:' || NEW.id,
                    'event', 'disposition',
                    'occurred_at', strftime('%Y-%m-%dT%H:%M:%fZ', NEW.disposition_at + 978307200, 'unixepoch'),
                    'data', json_object(
                        'campaign', NEW.campaign_id,
                        'attempt', NEW.id,
                        'contact', printf('%012d', NEW.contact_id),
                        'agent', NEW.agent,
                        'outcome', NEW.outcome,
                        'disposition', NEW.disposition_name,
                        'action', json_extract(NEW.disposition, '$.action'),
                        'callback_at', CASE WHEN json_extract(NEW.disposition, '$.callbackAt') IS NULL THEN NULL
                            ELSE strftime('%Y-%m-%dT%H:%M:%fZ',
                                json_extract(NEW.disposition, '$.callbackAt') + 978307200, 'unixepoch') END,
                        'private_agent', json_extract(NEW.disposition, '$.privateAgent'))),
                'pending', NEW.disposition_at, NEW.disposition_at
            FROM webhook_subscription s WHERE s.on_disposition = 1 AND s.active = 1;
        END;

        -- The last contact of a campaign's list that could be dialed again became final.
        CREATE TRIGGER webhook_on_list_exhausted AFTER UPDATE OF state ON contact
        WHEN NEW.state = 'final' AND OLD.state != 'final'
            AND NOT EXISTS (
                SELECT 1 FROM contact c WHERE c.list_id = NEW.list_id
                AND c.state IN ('fresh', 'scheduled', 'inAttempt'))
        BEGIN
            INSERT OR IGNORE INTO webhook_delivery
                (subscription_id, event_id, event, payload, state, next_attempt_at, created_at)
            SELECT s.id, 'campaign.list_exhausted:' || c.id || ':' || printf('%.3f', NEW.updated_at),
                'campaign.list_exhausted',
                json_object(
                    'id', 'campaign.list_exhausted:' || c.id || ':' || printf('%.3f', NEW.updated_at),
                    'event', 'campaign.list_exhausted',
                    'occurred_at', strftime('%Y-%m-%dT%H:%M:%fZ', NEW.updated_at + 978307200, 'unixepoch'),
                    'data', json_object(
                        'campaign', c.id,
                        'list', c.list_id,
                        'contacts', (SELECT COUNT(*) FROM contact x WHERE x.list_id = NEW.list_id))),
                'pending', NEW.updated_at, NEW.updated_at
            FROM webhook_subscription s, campaign c
            WHERE s.on_list_exhausted = 1 AND s.active = 1 AND c.list_id = NEW.list_id;
        END;
        """
}
