import DialerCore
public import FoundationEssentials
public import Logging
import NIOCore
import PostgresNIO

/// The multi-host store: the ``ManagerStore`` on PostgreSQL, so that several managers can share
/// one database. The same schema and rules as ``SQLiteManagerStore``, method by method; the
/// differences are PostgreSQL's:
///
/// - every operation is one transaction on a connection leased from a pool
///   (``PostgresStoreConfiguration/connections``); a transaction that loses a deadlock or a
///   serialization check is run again, up to three times;
/// - the feeder locks the contacts it chooses with `FOR UPDATE SKIP LOCKED`, so that two managers
///   choosing at once never take the same contact (each skips what the other holds);
/// - migrations are versioned like the SQLite store's and applied at start in one transaction,
///   under an advisory lock, so that two managers starting at once migrate once;
/// - instants are `DOUBLE PRECISION` seconds since the reference date, as in SQLite, so the SQL
///   compares them the same way.
///
/// Call ``shutdown()`` when done: it closes the pool.
public final class PostgresManagerStore: ManagerStore {
    let client: PostgresClient
    /// Runs the pool; cancelled by ``shutdown()``.
    private let runner: Task<Void, Never>
    let logger: Logger
    /// Hashes agents' passwords.
    let passwords: PasswordHasher
    /// The clock for the instants the store stamps itself (import jobs).
    let clock: @Sendable () -> Date
    /// The term each write transaction declares (`dialer.manager_term`), with standby managers.
    let fence: ManagerTermFence?

    /// Connects, migrates the schema, and marks import jobs an earlier process left running as
    /// failed.
    ///
    /// - Parameters:
    ///   - connectTimeout: how long to wait for the database at start (the pool itself retries
    ///     without end).
    ///   - fence: with standby managers, the term this manager is active under: hand-outs and
    ///     results written under a term that is no longer the lease's are refused.
    ///   - abandoningInterruptedImports: `false` with standby managers (see
    ///     ``ManagerStore/abandonInterruptedImports()``).
    /// - Throws: ``StoreError/unavailable(_:)`` when the database cannot be reached in time.
    public static func open(
        _ configuration: PostgresStoreConfiguration, passwordIterations: Int,
        clock: @escaping @Sendable () -> Date = { Date() }, connectTimeout: Duration = .seconds(30),
        fence: ManagerTermFence? = nil, abandoningInterruptedImports: Bool = true,
        logger: Logger = Logger(label: "dialer.store.postgres")
    ) async throws -> PostgresManagerStore {
        let store = PostgresManagerStore(
            configuration, passwordIterations: passwordIterations, clock: clock, fence: fence, logger: logger)
        let url = configuration.url
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await store.migrate()
                    if abandoningInterruptedImports { try await store.abandonInterruptedImports() }
                }
                group.addTask {
                    try await Task.sleep(for: connectTimeout)
                    throw StoreError.unavailable(
                        "no answer from PostgreSQL at \(url.host):\(url.port) within \(connectTimeout)")
                }
                try await group.next()
                group.cancelAll()
            }
        } catch {
            await store.shutdown()
            throw error
        }
        return store
    }

    private init(
        _ configuration: PostgresStoreConfiguration, passwordIterations: Int, clock: @escaping @Sendable () -> Date,
        fence: ManagerTermFence?, logger: Logger
    ) {
        self.fence = fence
        let client = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: logger)
        self.client = client
        self.runner = Task { await client.run() }
        self.logger = logger
        self.passwords = PasswordHasher(iterations: passwordIterations)
        self.clock = clock
    }

    deinit {
        runner.cancel()
    }

    /// Closes the pool's connections.
    public func shutdown() async {
        runner.cancel()
        await runner.value
    }

    public func abandonInterruptedImports() async throws {
        let now = clock()
        try await unfencedWrite { db in try await Self.abandonInterruptedImports(db, now: now) }
    }

    // MARK: Transactions

    /// Runs `body` in a read-write transaction; a deadlock or serialization failure runs it again.
    func write<T: Sendable>(_ body: (PGSession) async throws -> T) async throws -> T {
        guard let term = fence?.fencedTerm else { return try await transaction(begin: "BEGIN", body) }
        // The fence's triggers (migration v15) compare this with the lease's term; local to
        // the transaction, so a pooled connection carries nothing to the next user.
        return try await transaction(begin: "BEGIN") { db in
            try await db.execute("SELECT set_config('dialer.manager_term', ?, true)", [String(term)])
            return try await body(db)
        }
    }

    /// Runs `body` in a read-write transaction that declares no term: the lease store's own
    /// writes (the lease is what the fence reads).
    func unfencedWrite<T: Sendable>(_ body: (PGSession) async throws -> T) async throws -> T {
        try await transaction(begin: "BEGIN", body)
    }

    /// Runs `body` in a read-only transaction on one snapshot.
    func read<T: Sendable>(_ body: (PGSession) async throws -> T) async throws -> T {
        try await transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)
    }

    private func transaction<T: Sendable>(begin: String, _ body: (PGSession) async throws -> T) async throws -> T {
        var tries = 0
        while true {
            tries += 1
            do {
                return try await client.withConnection { connection in
                    let session = PGSession(connection: connection, logger: logger)
                    try await session.execute(begin)
                    do {
                        let value = try await body(session)
                        try await session.execute("COMMIT")
                        return value
                    } catch {
                        try? await session.execute("ROLLBACK")
                        throw error
                    }
                }
            } catch {
                if tries < 3, PGErrors.isRetryable(error) { continue }
                throw PGErrors.map(error)
            }
        }
    }

    // MARK: Migrations

    /// The names of the migrations applied, oldest first.
    public func appliedMigrations() async throws -> [String] {
        try await read { db in
            try await db.query("SELECT name FROM dialer_migration ORDER BY position").map { try $0.string("name") }
        }
    }

    private func migrate() async throws {
        try await write { db in
            // Two managers starting at once: the second waits here, then finds the work done.
            try await db.execute("SELECT pg_advisory_xact_lock(72616)")
            try await db.execute(
                """
                CREATE TABLE IF NOT EXISTS dialer_migration (
                    position BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL UNIQUE, applied_at DOUBLE PRECISION NOT NULL)
                """)
            let applied = Set(try await db.query("SELECT name FROM dialer_migration").map { try $0.string("name") })
            for (position, migration) in PostgresSchema.migrations.enumerated() where !applied.contains(migration.name)
            {
                for statement in migration.statements { try await db.execute(statement) }
                try await db.execute(
                    "INSERT INTO dialer_migration (position, name, applied_at) VALUES (?, ?, ?)",
                    [position + 1, migration.name, Date().storeValue])
            }
        }
    }

    // MARK: API tokens

    public func createToken(name: String, role: APIRole, tokenHash: String, at: Date) async throws -> APITokenRecord {
        try await write { db in
            guard
                let row = try await db.fetchOne(
                    "INSERT INTO api_token (name, role, token_hash, created_at) VALUES (?, ?, ?, ?) RETURNING id",
                    [name, role.rawValue, tokenHash, at.storeValue])
            else { throw StoreError.unavailable("no id for the new token") }
            return APITokenRecord(id: try row.int64("id"), name: name, role: role, createdAt: at)
        }
    }

    public func token(withHash hash: String) async throws -> APITokenRecord? {
        try await read { db in
            try await db.fetchOne("SELECT * FROM api_token WHERE token_hash = ? AND revoked_at IS NULL", [hash])
                .flatMap(Self.tokenRecord)
        }
    }

    public func listTokens() async throws -> [APITokenRecord] {
        try await read { db in
            try await db.query("SELECT * FROM api_token WHERE revoked_at IS NULL ORDER BY id").compactMap(
                Self.tokenRecord)
        }
    }

    public func revokeToken(id: Int64) async throws -> Bool {
        try await write { db in
            try await db.changes(
                "UPDATE api_token SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [Date().storeValue, id]) > 0
        }
    }

    public func tokenCount() async throws -> Int {
        try await read { db in
            try await db.count("SELECT COUNT(*) AS count FROM api_token WHERE revoked_at IS NULL")
        }
    }

    private static func tokenRecord(_ row: PGRow) throws -> APITokenRecord? {
        guard let role = APIRole(rawValue: try row.string("role")) else { return nil }
        return APITokenRecord(
            id: try row.int64("id"), name: try row.string("name"), role: role,
            createdAt: try row.date("created_at") ?? Date(storeValue: 0))
    }

    // MARK: Helpers

    static func hasOpenAttempts(_ db: PGSession, _ campaign: CampaignID) async throws -> Bool {
        try await db.exists("SELECT 1 FROM attempt WHERE campaign_id = ? AND outcome IS NULL", [campaign.rawValue])
    }
}
