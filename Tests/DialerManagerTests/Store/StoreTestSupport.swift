import DialerCore
import DialerImport
import DialerTestSupport
import Foundation
import Synchronization
import Testing

@testable import DialerManager

/// The two stores the store tests run against.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// A store with the hooks the tests use beyond ``ManagerStore``.
protocol TestStore: ManagerStore {
    func insertOpenAttemptForTesting(id: String, campaign: CampaignID, contact: ContactID) async throws
    func stagedRowCount() async throws -> Int
    func attemptCount(_ filter: AttemptFilter) async throws -> Int
}

extension SQLiteManagerStore: TestStore {}
extension PostgresManagerStore: TestStore {}

extension PostgresManagerStore {
    /// How many attempts match `filter`, for tests that reports add up.
    func attemptCount(_ filter: AttemptFilter) async throws -> Int {
        var total = 0
        var cursor: AttemptCursor?
        while true {
            let page = try await attemptPage(filter, after: cursor, limit: 10_000)
            total += page.count
            guard page.count == 10_000, let last = page.last else { return total }
            cursor = AttemptCursor(after: last)
        }
    }
}

/// A fresh database of the test PostgreSQL server (``TestPostgres``), or nil when PostgreSQL is
/// not installed: the test is then skipped with a message, or fails under
/// `DIALER_REQUIRE_TOOLS=1`.
func freshPostgresURL() async throws -> String? {
    switch await TestPostgres.shared() {
    case .failure(let why):
        if toolsRequired {
            Issue.record("PostgreSQL is required (DIALER_REQUIRE_TOOLS=1): \(why)")
        } else {
            print("skipped on PostgreSQL: \(why)")
        }
        return nil
    case .success(let server):
        return server.url(database: try await server.createDatabase())
    }
}

/// The store of one test, of either kind: SQLite in a fresh directory, or PostgreSQL in a fresh
/// database of the process's throwaway server (``TestPostgres``).
final class StoreContext: Sendable {
    private let state = Mutex<(store: (any TestStore)?, sqlite: TemporaryStore?)>((nil, nil))

    /// Opens a store of `kind`; `false` when PostgreSQL is not installed and tools are not
    /// required (the test then returns: skipped, with a message). Under `DIALER_REQUIRE_TOOLS=1`
    /// a missing PostgreSQL is a failure.
    func open(_ kind: StoreKind, passwordIterations: Int = 1_000, now: Date = StoreTime.monday) async throws -> Bool {
        switch kind {
        case .sqlite:
            let temporary = try TemporaryStore(passwordIterations: passwordIterations, now: now)
            state.withLock { $0 = (temporary.store, temporary) }
        case .postgres:
            guard let store = try await Self.postgresStore(passwordIterations: passwordIterations, now: now) else {
                return false
            }
            state.withLock { $0 = (store, nil) }
        }
        return true
    }

    /// A PostgreSQL store on a fresh database, or nil (skipped) when PostgreSQL is not installed.
    static func postgresStore(passwordIterations: Int = 1_000, now: Date = StoreTime.monday) async throws
        -> PostgresManagerStore?
    {
        guard let url = try await freshPostgresURL() else { return nil }
        return try await PostgresManagerStore.open(
            PostgresStoreConfiguration(url: url, connections: 4), passwordIterations: passwordIterations,
            clock: { now })
    }

    /// The store opened last (a test opens it first).
    var store: any TestStore { state.withLock { $0.store }! }

    /// The SQLite store's directory, for the tests of SQLite itself.
    var sqlite: TemporaryStore { state.withLock { $0.sqlite }! }
}

/// A store in a fresh directory of its own, removed when the value goes.
final class TemporaryStore: Sendable {
    let directory: String
    let path: String
    let store: SQLiteManagerStore

    /// A store whose passwords take few PBKDF2 rounds (the default is for production), and whose
    /// import jobs are stamped with `now`.
    init(passwordIterations: Int = 1_000, now: Date = StoreTime.monday) throws {
        directory =
            FileManager.default.temporaryDirectory.appendingPathComponent("dialer-store-\(UUID().uuidString)").path
        path = directory + "/manager.sqlite"
        store = try SQLiteManagerStore(path: path, passwordIterations: passwordIterations, clock: { now })
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Fixed instants, so that no test depends on when it runs.
enum StoreTime {
    /// Monday 6 January 2025, 12:00 UTC: inside calling hours in Europe, before them in the
    /// Americas.
    static let monday = Date(timeIntervalSince1970: 1_736_164_800)

    static func minutes(_ count: Double, after date: Date = monday) -> Date {
        date.addingTimeInterval(count * 60)
    }
}

/// Danish numbers, `+4520000000` and up: valid, and all in Europe/Copenhagen.
func danishNumber(_ index: Int) -> String {
    "+45" + String(20_000_000 + index)
}

/// A list with a campaign dialing it.
@discardableResult
func makeCampaign(
    _ store: any ManagerStore, id: String = "c1", list: String = "l1", settings: CampaignSettings = .dialing
) async throws -> Campaign {
    _ = try await store.createList(
        id: ContactListID(list), name: "List \(list)", description: "", now: StoreTime.monday)
    return try await store.createCampaign(
        Campaign(
            id: CampaignID(id), name: "Campaign \(id)", list: ContactListID(list), queue: QueueID("q-\(id)"),
            settings: settings),
        now: StoreTime.monday)
}

/// Adds `count` contacts with Danish numbers, one minute apart, the first at `start`.
@discardableResult
func addContacts(
    _ store: any ManagerStore, list: String = "l1", count: Int, from first: Int = 0,
    start: Date = StoreTime.minutes(-600), priority: (Int) -> Int = { _ in 0 }
) async throws -> [Contact] {
    var contacts: [Contact] = []
    for index in first..<(first + count) {
        contacts.append(
            try await store.addContact(
                to: ContactListID(list), ContactDraft(phone: danishNumber(index), priority: priority(index)),
                defaultRegion: "DK", now: start.addingTimeInterval(Double(index - first) * 60)))
    }
    return contacts
}

extension CampaignSettings {
    /// An enabled campaign with default rules.
    static var dialing: CampaignSettings {
        CampaignSettings(status: .enabled)
    }
}

/// Byte chunks of `text`, `size` bytes each, as an async sequence.
func chunks(_ text: String, size: Int = 4_096) -> AsyncStream<[UInt8]> {
    let bytes = Array(text.utf8)
    return AsyncStream { continuation in
        var offset = 0
        while offset < bytes.count {
            continuation.yield(Array(bytes[offset..<min(offset + size, bytes.count)]))
            offset += size
        }
        continuation.finish()
    }
}

/// A CSV of `rows` contacts generated on the fly, chunk by chunk, never whole in memory.
struct GeneratedCSV: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    let rows: Int
    let rowsPerChunk: Int
    /// How many rows the importer has pulled so far.
    let generated = Counter()

    init(rows: Int, rowsPerChunk: Int = 500) {
        self.rows = rows
        self.rowsPerChunk = rowsPerChunk
    }

    final class Counter: Sendable {
        private let value = Mutex(0)
        func set(_ count: Int) { value.withLock { $0 = count } }
        var count: Int { value.withLock { $0 } }
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let rows: Int
        let rowsPerChunk: Int
        let generated: Counter
        var row = -1

        mutating func next() async throws -> [UInt8]? {
            guard row < rows else { return nil }
            var text = ""
            if row == -1 {
                text = "phone,name,account\n"
                row = 0
            }
            let end = Swift.min(row + rowsPerChunk, rows)
            while row < end {
                text += "\(danishNumber(row)),Name \(row),A\(row)\n"
                row += 1
            }
            generated.set(row)
            return Array(text.utf8)
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(rows: rows, rowsPerChunk: rowsPerChunk, generated: generated)
    }
}

/// Collects progress reports from another thread.
final class ProgressLog: Sendable {
    private let reports = Mutex<[ImportProgress]>([])

    func record(_ progress: ImportProgress) {
        reports.withLock { $0.append(progress) }
    }

    var all: [ImportProgress] { reports.withLock { $0 } }
}
