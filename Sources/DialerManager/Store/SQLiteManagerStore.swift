public import FoundationEssentials
import GRDB

/// The embedded store: one SQLite file in WAL mode (readers never wait for the writer),
/// with versioned migrations applied at open.
public final class SQLiteManagerStore: ManagerStore {
    private let pool: DatabasePool

    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    public init(path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        self.pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
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
        return migrator
    }

    /// The names of the migrations applied, oldest first.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Self.migrator.appliedMigrations(db) }
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
