public import FoundationEssentials
import GRDB

/// The embedded store: one SQLite file in WAL mode (readers never wait for the writer),
/// with versioned migrations applied at open.
///
/// Every operation is one transaction; the feeder's batches apply many operations in one.
/// Instants are stored as `REAL` seconds since the reference date
/// (`Date.timeIntervalSinceReferenceDate`, exactly what a `Date` holds), so that they read back
/// equal and compare in SQL; the API-token table, older, keeps GRDB's text dates.
public final class SQLiteManagerStore: ManagerStore {
    let pool: DatabasePool
    /// Hashes agents' passwords.
    let passwords: PasswordHasher
    /// The clock for the instants the store stamps itself (import jobs).
    let clock: @Sendable () -> Date

    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    public convenience init(path: String) throws {
        try self.init(path: path, passwordIterations: PasswordHasher.defaultIterations)
    }

    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    ///
    /// Import jobs an earlier process left running are marked failed: their staged rows never
    /// reached the list.
    ///
    /// - Parameters:
    ///   - passwordIterations: PBKDF2 rounds for new password hashes (stored with each hash, so a
    ///     change applies to passwords set afterwards). Lower it only in tests.
    ///   - clock: the current instant, for import jobs.
    ///   - fence: with standby managers, the term this manager is active under: hand-outs and
    ///     results written under a term that is no longer the lease's are refused.
    ///   - abandoningInterruptedImports: `false` with standby managers (see
    ///     ``ManagerStore/abandonInterruptedImports()``).
    public init(
        path: String, passwordIterations: Int, clock: @escaping @Sendable () -> Date = { Date() },
        fence: ManagerTermFence? = nil, abandoningInterruptedImports: Bool = true
    ) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in StoreFunctions.register(in: db, fence: fence) }
        self.pool = try DatabasePool(path: path, configuration: configuration)
        self.passwords = PasswordHasher(iterations: passwordIterations)
        self.clock = clock
        try Self.migrator.migrate(pool)
        if abandoningInterruptedImports {
            try pool.write { db in try Self.abandonInterruptedImports(db, now: clock()) }
        }
    }

    public func abandonInterruptedImports() async throws {
        let clock = self.clock
        try await pool.write { db in try Self.abandonInterruptedImports(db, now: clock()) }
    }

    /// Every schema change, in order. A migration, once shipped, is never edited: add another.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: api tokens") { db in
            try db.create(table: "api_token") { table in
                table.autoIncrementedPrimaryKey("id")
                table.column("name", .text).notNull()
                table.column("role", .text).notNull()
                table.column("token_hash", .text).notNull().unique()
                table.column("created_at", .datetime).notNull()
                table.column("revoked_at", .datetime)
            }
        }
        StoreSchema.register(in: &migrator)
        return migrator
    }

    /// The names of the migrations applied, oldest first.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Self.migrator.appliedMigrations(db) }
    }

    /// The journal mode and the tables, for tests of the schema.
    func schemaFacts() throws -> (journalMode: String, tables: Set<String>) {
        try pool.read { db in
            (
                try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "",
                Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
            )
        }
    }

    public func createToken(name: String, role: APIRole, tokenHash: String, at: Date) async throws -> APITokenRecord {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO api_token (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)",
                arguments: [name, role.rawValue, tokenHash, at])
            return APITokenRecord(id: db.lastInsertedRowID, name: name, role: role, createdAt: at)
        }
    }

    public func token(withHash hash: String) async throws -> APITokenRecord? {
        try await pool.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM api_token WHERE token_hash = ? AND revoked_at IS NULL", arguments: [hash]
            ).flatMap(Self.tokenRecord)
        }
    }

    public func listTokens() async throws -> [APITokenRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_token WHERE revoked_at IS NULL ORDER BY id")
                .compactMap(Self.tokenRecord)
        }
    }

    public func revokeToken(id: Int64) async throws -> Bool {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE api_token SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", arguments: [Date(), id])
            return db.changesCount > 0
        }
    }

    public func tokenCount() async throws -> Int {
        try await pool.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM api_token WHERE revoked_at IS NULL") ?? 0
        }
    }

    private static func tokenRecord(_ row: Row) -> APITokenRecord? {
        guard let role = APIRole(rawValue: row["role"]) else { return nil }
        return APITokenRecord(id: row["id"], name: row["name"], role: role, createdAt: row["created_at"])
    }
}
