public import DialerCore
public import FoundationEssentials
import GRDB

/// The manager lease and the queue-lease journal in the manager's SQLite file.
///
/// Several manager processes on one host may open the same file (WAL mode, a busy timeout):
/// each write is an immediate transaction, so the check of the term and the change it guards
/// are one step. Expiries are on the wall clock of the writing process, which managers on one
/// host share.
public final class SQLiteManagerLeaseStore: ManagerLeaseStore {
    let pool: DatabasePool
    let clock: @Sendable () -> Date

    /// Opens the database at `path` (creating and migrating it if needed).
    public init(path: String, clock: @escaping @Sendable () -> Date = { Date() }) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in StoreFunctions.register(in: db) }
        self.pool = try DatabasePool(path: path, configuration: configuration)
        self.clock = clock
        try SQLiteManagerStore.migrator.migrate(pool)
    }

    public func acquire(holder: String, duration: Duration) async throws -> ManagerLeaseAttempt {
        let clock = self.clock
        return try await pool.write { db in
            let now = clock()
            let expires = now.addingTimeInterval(duration.seconds).timeIntervalSinceReferenceDate
            guard let current = try Self.lease(db) else {
                try db.execute(
                    sql: "INSERT INTO manager_lease (id, holder, term, expires_at) VALUES (1, ?, 1, ?)",
                    arguments: [holder, expires])
                return .acquired(ManagerTerm(1))
            }
            guard current.expiresAt <= now else {
                return .heldBy(current.holder, term: current.term, expiresAt: current.expiresAt)
            }
            let term = ManagerTerm(current.term.rawValue + 1)
            try db.execute(
                sql: "UPDATE manager_lease SET holder = ?, term = ?, expires_at = ? WHERE id = 1",
                arguments: [holder, Int64(clamping: term.rawValue), expires])
            return .acquired(term)
        }
    }

    public func renew(holder: String, term: ManagerTerm, duration: Duration) async throws -> Bool {
        let clock = self.clock
        return try await pool.write { db in
            let expires = clock().addingTimeInterval(duration.seconds).timeIntervalSinceReferenceDate
            try db.execute(
                sql: "UPDATE manager_lease SET expires_at = ? WHERE id = 1 AND holder = ? AND term = ?",
                arguments: [expires, holder, Int64(clamping: term.rawValue)])
            return db.changesCount == 1
        }
    }

    public func release(holder: String, term: ManagerTerm) async throws {
        let clock = self.clock
        try await pool.write { db in
            try db.execute(
                sql:
                    "UPDATE manager_lease SET expires_at = MIN(expires_at, ?) WHERE id = 1 AND holder = ? AND term = ?",
                arguments: [clock().timeIntervalSinceReferenceDate, holder, Int64(clamping: term.rawValue)])
        }
    }

    public func currentLease() async throws -> ManagerLeaseRecord? {
        try await pool.read { db in try Self.lease(db) }
    }

    public func journaledGrants() async throws -> [QueueID: LeaseTable.LastGrant] {
        try await pool.read { db in
            var grants: [QueueID: LeaseTable.LastGrant] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT queue, epoch, owner FROM queue_lease_journal") {
                let epoch: Int64 = row["epoch"]
                grants[QueueID(row["queue"] as String)] = LeaseTable.LastGrant(
                    epoch: Epoch(UInt64(clamping: epoch)), owner: MemberID(row["owner"] as String))
            }
            return grants
        }
    }

    public func journal(_ grants: [QueueID: LeaseTable.LastGrant], holder: String, term: ManagerTerm) async throws {
        try await pool.write { db in
            let current = try Self.lease(db)
            guard let current, current.holder == holder, current.term == term else {
                throw StaleManagerTerm(holder: holder, term: term, current: current)
            }
            for (queue, grant) in grants {
                try db.execute(
                    sql: """
                        INSERT INTO queue_lease_journal (queue, epoch, owner, term) VALUES (?, ?, ?, ?)
                        ON CONFLICT (queue) DO UPDATE SET epoch = excluded.epoch, owner = excluded.owner,
                            term = excluded.term
                        WHERE excluded.epoch >= queue_lease_journal.epoch
                        """,
                    arguments: [
                        queue.rawValue, Int64(clamping: grant.epoch.rawValue), grant.owner.rawValue,
                        Int64(clamping: term.rawValue),
                    ])
            }
        }
    }

    private static func lease(_ db: Database) throws -> ManagerLeaseRecord? {
        guard let row = try Row.fetchOne(db, sql: "SELECT holder, term, expires_at FROM manager_lease WHERE id = 1")
        else { return nil }
        let term: Int64 = row["term"]
        return ManagerLeaseRecord(
            holder: row["holder"], term: ManagerTerm(UInt64(clamping: term)),
            expiresAt: Date(timeIntervalSinceReferenceDate: row["expires_at"]))
    }
}
