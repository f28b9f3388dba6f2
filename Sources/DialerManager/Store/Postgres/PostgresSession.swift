import DialerCore
import Foundation
import Logging
import PostgresNIO

// The PostgreSQL store's access to the database: one leased connection in one transaction,
// statements written with `?` placeholders like the SQLite store's (numbered here), rows read by
// column name with errors instead of traps.

/// A value bound to a statement's `?`.
protocol PGArgument: Sendable {
    func bind(into bindings: inout PostgresBindings)
}

extension String: PGArgument {
    func bind(into bindings: inout PostgresBindings) { bindings.append(self) }
}

extension Int: PGArgument {
    func bind(into bindings: inout PostgresBindings) { bindings.append(Int64(self)) }
}

extension Int64: PGArgument {
    func bind(into bindings: inout PostgresBindings) { bindings.append(self) }
}

extension Double: PGArgument {
    func bind(into bindings: inout PostgresBindings) { bindings.append(self) }
}

extension Bool: PGArgument {
    /// Flags are `BIGINT` 0 or 1, as in the SQLite schema, so that the SQL of both stores agrees.
    func bind(into bindings: inout PostgresBindings) { bindings.append(Int64(self ? 1 : 0)) }
}

extension Data: PGArgument {
    func bind(into bindings: inout PostgresBindings) { bindings.append(ByteBuffer(bytes: self)) }
}

/// A `text[]` argument (`= ANY(?)`).
struct PGTextArray: PGArgument {
    var values: [String]
    func bind(into bindings: inout PostgresBindings) { bindings.append(values) }
}

/// A `text[]` argument of optional values, each nil sent as the empty string (read back with
/// `NULLIF(x, '')`): for columns where an empty string is never a value.
struct PGOptionalTextArray: PGArgument {
    var values: [String?]
    func bind(into bindings: inout PostgresBindings) { bindings.append(values.map { $0 ?? "" }) }
}

/// One row, its cells by column name. Every read throws ``StoreError/corruptRow(_:)`` for a
/// missing column or a value of another type: nothing read from the database can trap.
struct PGRow {
    private let row: PostgresRandomAccessRow

    init(_ row: PostgresRow) {
        self.row = row.makeRandomAccess()
    }

    func value<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard row.contains(column) else { throw StoreError.corruptRow("no column \(column)") }
        do {
            return try row[column].decode(T.self)
        } catch {
            throw StoreError.corruptRow("column \(column): not a \(T.self)")
        }
    }

    func string(_ column: String) throws -> String { try value(column) }
    func optionalString(_ column: String) throws -> String? { try value(column, as: String?.self) }
    func int64(_ column: String) throws -> Int64 { try value(column) }
    func optionalInt64(_ column: String) throws -> Int64? { try value(column, as: Int64?.self) }

    /// An integer column read as `Int` (every integer column is `BIGINT`, and Int is 64 bits here).
    func int(_ column: String) throws -> Int { Int(try int64(column)) }
    func optionalInt(_ column: String) throws -> Int? { try optionalInt64(column).map { Int($0) } }
    func double(_ column: String) throws -> Double { try value(column) }

    /// A 0/1 flag.
    func flag(_ column: String) throws -> Bool { (try optionalInt64(column) ?? 0) != 0 }

    /// The instant in `column` (seconds since the reference date), or nil for NULL.
    func date(_ column: String) throws -> Date? {
        try value(column, as: Double?.self).map(Date.init(storeValue:))
    }

    func bytes(_ column: String) throws -> [UInt8] {
        var buffer: ByteBuffer = try value(column)
        return buffer.readBytes(length: buffer.readableBytes) ?? []
    }
}

/// One leased connection, inside a transaction the store opened.
struct PGSession: Sendable {
    let connection: PostgresConnection
    let logger: Logger

    /// Runs a statement and returns its rows.
    @discardableResult
    func query(_ sql: String, _ arguments: [(any PGArgument)?] = []) async throws -> [PGRow] {
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            if let argument { argument.bind(into: &bindings) } else { bindings.appendNull() }
        }
        let rows = try await connection.query(
            PostgresQuery(unsafeSQL: arguments.isEmpty ? sql : PGPlaceholders.numbered(sql), binds: bindings),
            logger: logger)
        var result: [PGRow] = []
        for try await row in rows { result.append(PGRow(row)) }
        return result
    }

    func execute(_ sql: String, _ arguments: [(any PGArgument)?] = []) async throws {
        try await query(sql, arguments)
    }

    /// Runs an `INSERT`, `UPDATE` or `DELETE` and returns how many rows it changed.
    func changes(_ sql: String, _ arguments: [(any PGArgument)?] = []) async throws -> Int {
        try await query(sql + " RETURNING 1", arguments).count
    }

    func fetchOne(_ sql: String, _ arguments: [(any PGArgument)?] = []) async throws -> PGRow? {
        try await query(sql, arguments).first
    }

    func exists(_ sql: String, _ arguments: [(any PGArgument)?] = []) async throws -> Bool {
        try await fetchOne("SELECT 1 WHERE EXISTS (\(sql))", arguments) != nil
    }

    /// The first column of the first row as an integer (a count), or 0 when there is none.
    func count(_ sql: String, _ arguments: [(any PGArgument)?] = []) async throws -> Int {
        guard let row = try await fetchOne(sql, arguments) else { return 0 }
        return try row.optionalInt("count") ?? 0
    }

    /// Runs `body` in a savepoint: its failure undoes its own writes only, and the transaction
    /// goes on.
    func inSavepoint<T>(_ body: () async throws -> T) async throws -> T {
        try await execute("SAVEPOINT feeder_operation")
        do {
            let value = try await body()
            try await execute("RELEASE SAVEPOINT feeder_operation")
            return value
        } catch {
            try await execute("ROLLBACK TO SAVEPOINT feeder_operation")
            try await execute("RELEASE SAVEPOINT feeder_operation")
            throw error
        }
    }
}

/// `?` placeholders numbered for PostgreSQL (`$1`, `$2` ...), outside quoted text.
enum PGPlaceholders {
    static func numbered(_ sql: String) -> String {
        var result = ""
        result.reserveCapacity(sql.utf8.count + 16)
        var number = 0
        var quoted = false
        for character in sql {
            if character == "'" { quoted.toggle() }
            if character == "?", !quoted {
                number += 1
                result += "$\(number)"
            } else {
                result.append(character)
            }
        }
        return result
    }
}

/// PostgreSQL's errors as the store's.
enum PGErrors {
    /// SQLSTATEs of a transaction worth running again: serialization failure, deadlock.
    static func isRetryable(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state == "40001" || state == "40P01"
    }

    /// `error` as a ``StoreError``: the store's own errors pass through; constraint violations
    /// say which constraint; anything else from the database is ``StoreError/unavailable(_:)``.
    static func map(_ error: any Error) -> any Error {
        switch error {
        case is StoreError, is CancellationError: return error
        case let error as PSQLError:
            guard let info = error.serverInfo else {
                return StoreError.unavailable("\(error.code)")
            }
            let message = info[.message] ?? "\(error.code)"
            let constraint = info[.constraintName] ?? info[.tableName] ?? "a constraint"
            switch info[.sqlState] {
            case "23505": return StoreError.alreadyExists("a row under \(constraint)")
            case "23503": return StoreError.notFound("a row \(constraint) refers to")
            case "23514", "23502", "22P02", "22003": return StoreError.invalid("\(constraint): \(message)")
            default: return StoreError.unavailable(message)
            }
        default:
            // Errors of the domain and the import readers keep their own meaning.
            return error
        }
    }
}
