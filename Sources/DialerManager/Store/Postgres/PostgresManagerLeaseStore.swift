public import DialerCore
public import FoundationEssentials

/// The manager lease and the queue-lease journal in the managers' shared PostgreSQL database.
///
/// Each call is one transaction that locks the lease's row (`FOR UPDATE`), so the check of
/// the term and the change it guards are one step whichever manager runs it. Expiries are on
/// the database server's clock, the one clock every manager sees, unless a clock is given
/// (tests).
public final class PostgresManagerLeaseStore: ManagerLeaseStore {
    let store: PostgresManagerStore
    let clock: (@Sendable () -> Date)?

    /// A lease store on `store`'s pool (its migrations create the tables).
    ///
    /// - Parameter clock: `nil` (the default) reads the time from the server; tests pass a
    ///   clock they move by hand.
    public init(store: PostgresManagerStore, clock: (@Sendable () -> Date)? = nil) {
        self.store = store
        self.clock = clock
    }

    public func acquire(holder: String, duration: Duration) async throws -> ManagerLeaseAttempt {
        try await store.unfencedWrite { db in
            let now = try await self.now(db)
            let expires = now + duration.seconds
            // The row exists from the first take-over on; a first manager creates it.
            let inserted = try await db.changes(
                "INSERT INTO manager_lease (id, holder, term, expires_at) VALUES (1, ?, 1, ?) ON CONFLICT (id) DO NOTHING",
                [holder, expires])
            if inserted == 1 { return .acquired(ManagerTerm(1)) }
            guard let current = try await Self.lease(db, lock: true) else {
                throw StoreError.corruptRow("manager_lease: the row vanished inside its transaction")
            }
            guard current.expiresAt.timeIntervalSinceReferenceDate <= now else {
                return .heldBy(current.holder, term: current.term, expiresAt: current.expiresAt)
            }
            let term = ManagerTerm(current.term.rawValue + 1)
            try await db.execute(
                "UPDATE manager_lease SET holder = ?, term = ?, expires_at = ? WHERE id = 1",
                [holder, Int64(clamping: term.rawValue), expires])
            return .acquired(term)
        }
    }

    public func renew(holder: String, term: ManagerTerm, duration: Duration) async throws -> Bool {
        try await store.unfencedWrite { db in
            let expires = try await self.now(db) + duration.seconds
            return try await db.changes(
                "UPDATE manager_lease SET expires_at = ? WHERE id = 1 AND holder = ? AND term = ?",
                [expires, holder, Int64(clamping: term.rawValue)]) == 1
        }
    }

    public func release(holder: String, term: ManagerTerm) async throws {
        try await store.unfencedWrite { db in
            let now = try await self.now(db)
            try await db.execute(
                "UPDATE manager_lease SET expires_at = LEAST(expires_at, ?) WHERE id = 1 AND holder = ? AND term = ?",
                [now, holder, Int64(clamping: term.rawValue)])
        }
    }

    public func currentLease() async throws -> ManagerLeaseRecord? {
        try await store.read { db in try await Self.lease(db, lock: false) }
    }

    public func journaledGrants() async throws -> [QueueID: LeaseTable.LastGrant] {
        try await store.read { db in
            var grants: [QueueID: LeaseTable.LastGrant] = [:]
            for row in try await db.query("SELECT queue, epoch, owner FROM queue_lease_journal") {
                let epoch = try row.int64("epoch")
                grants[QueueID(try row.string("queue"))] = LeaseTable.LastGrant(
                    epoch: Epoch(UInt64(clamping: epoch)), owner: MemberID(try row.string("owner")))
            }
            return grants
        }
    }

    public func journal(_ grants: [QueueID: LeaseTable.LastGrant], holder: String, term: ManagerTerm) async throws {
        try await store.unfencedWrite { db in
            // The row lock keeps a take-over from slipping between the check and the writes.
            let current = try await Self.lease(db, lock: true)
            guard let current, current.holder == holder, current.term == term else {
                throw StaleManagerTerm(holder: holder, term: term, current: current)
            }
            for (queue, grant) in grants {
                try await db.execute(
                    """
                    INSERT INTO queue_lease_journal (queue, epoch, owner, term) VALUES (?, ?, ?, ?)
                    ON CONFLICT (queue) DO UPDATE SET epoch = excluded.epoch, owner = excluded.owner,
                        term = excluded.term
                    WHERE excluded.epoch >= queue_lease_journal.epoch
                    """,
                    [
                        queue.rawValue, Int64(clamping: grant.epoch.rawValue), grant.owner.rawValue,
                        Int64(clamping: term.rawValue),
                    ])
            }
        }
    }

    /// Seconds since the reference date: the given clock's, or the server's.
    private func now(_ db: PGSession) async throws -> Double {
        if let clock { return clock().timeIntervalSinceReferenceDate }
        guard let row = try await db.fetchOne("SELECT EXTRACT(EPOCH FROM clock_timestamp())::DOUBLE PRECISION AS now")
        else { throw StoreError.unavailable("the server did not say the time") }
        return try row.double("now") - Date.timeIntervalBetween1970AndReferenceDate
    }

    private static func lease(_ db: PGSession, lock: Bool) async throws -> ManagerLeaseRecord? {
        let sql = "SELECT holder, term, expires_at FROM manager_lease WHERE id = 1" + (lock ? " FOR UPDATE" : "")
        guard let row = try await db.fetchOne(sql) else { return nil }
        return ManagerLeaseRecord(
            holder: try row.string("holder"), term: ManagerTerm(UInt64(clamping: try row.int64("term"))),
            expiresAt: Date(timeIntervalSinceReferenceDate: try row.double("expires_at")))
    }
}
