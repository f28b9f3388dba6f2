public import DialerCore
import DialerImport
import Foundation
import GRDB

// Streaming contact-list imports.
//
// The file is read chunk by chunk; every `progressInterval` rows the accepted rows go into the
// job's staging table and the rejected rows' details into the job's history, each batch in its
// own short transaction, so that the feeder and results keep writing while a large file is read.
// Only at the end do the staged rows go into the list, in one transaction (for `replace`, with
// the removal of the old contacts): the list never holds part of a file, and a failed import
// leaves it exactly as it was. Memory holds one chunk, the reader's buffer and one batch.

extension SQLiteManagerStore {
    public func createImportJob(
        list: ContactListID, format: ImportFormat, mode: ImportMode, requestedBy: String, sourceName: String?,
        dryRun: Bool
    ) async throws -> ImportJob {
        let now = clock()
        return try await pool.write { db in
            guard try Self.exists(db, "SELECT 1 FROM contact_list WHERE id = ?", [list.rawValue]) else {
                throw StoreError.notFound("list \(list)")
            }
            try db.execute(
                sql: """
                    INSERT INTO import_job (list_id, requested_by, source_name, format, mode, status, created_at, \
                    dry_run) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?)
                    """,
                arguments: [
                    list.rawValue, requestedBy, sourceName, format.rawValue, mode.rawValue, now.storeValue, dryRun,
                ])
            return try Self.fetchJob(db, ImportJobID(db.lastInsertedRowID))!
        }
    }

    public func importContacts<Source: AsyncSequence>(
        job id: ImportJobID, options: ImportOptions, from source: Source,
        progress: @escaping @Sendable (ImportProgress) -> Void
    ) async throws -> ImportReport where Source.Element: Collection, Source.Element.Element == UInt8 {
        let startedAt = clock()
        let job = try await pool.write { db in
            guard let job = try Self.fetchJob(db, id) else { throw StoreError.notFound("import job \(id)") }
            guard job.status == .queued else { throw StoreError.conflict("import job \(id) is \(job.status.rawValue)") }
            try db.execute(
                sql: "UPDATE import_job SET status = 'running', started_at = ? WHERE id = ?",
                arguments: [startedAt.storeValue, id.rawValue])
            return job
        }
        var importer = ContactImporter(job: id, options: options)
        do {
            // Fail before reading a large file when the list cannot be replaced now anyway; the
            // final transaction checks again.
            if job.mode == .replace {
                try await pool.read { db in try Self.checkReplaceable(db, job.list) }
            }
            switch job.format {
            case .csv:
                let configuration = CSVReader.Configuration(delimiter: options.csvDelimiter)
                for try await item in source.csvContacts(mapping: options.mapping, configuration: configuration) {
                    importer.take(item)
                    try Self.checkRejectedCount(importer.counts, options: options)
                    if importer.isBatchFull { try await flush(&importer, progress: progress) }
                }
            case .json:
                for try await item in source.jsonContacts(mapping: options.mapping) {
                    importer.take(item)
                    try Self.checkRejectedCount(importer.counts, options: options)
                    if importer.isBatchFull { try await flush(&importer, progress: progress) }
                }
            }
            try await flush(&importer, progress: progress)
            // The percentage is known only once the whole file is read.
            if let limit = options.maximumRejected,
                limit.isExceeded(rejected: importer.counts.rejected, rowsRead: importer.counts.rowsRead)
            {
                throw ImportLimitExceeded(limit: limit, counts: importer.counts)
            }
            progress(importer.progress(.applying))
            try Task.checkCancellation()
            let counts = importer.counts
            let finishedAt = clock()
            let finished = try await pool.write { db in
                job.dryRun
                    ? try Self.closeDryRun(db, job: job, counts: counts, now: finishedAt)
                    : try Self.applyStaged(db, job: job, counts: counts, now: finishedAt)
            }
            progress(
                ImportProgress(
                    job: id, phase: .finished, rowsRead: finished.rowsRead, accepted: finished.accepted,
                    duplicates: finished.duplicates, rejected: finished.rejected))
            let rejectedRows = try await rejectedRows(of: id, afterRow: 0, limit: options.reportedRejectedRows)
            return ImportReport(job: finished, rejectedRows: rejectedRows)
        } catch {
            let reason: String
            let thrown: any Error
            switch error {
            case let error as ColumnMappingError:
                reason = error.description
                thrown = StoreError.importFailed(job: id, reason: reason)
            case let error as JSONContactsError:
                reason = error.description
                thrown = StoreError.importFailed(job: id, reason: reason)
            case let error as ImportLimitExceeded:
                reason = error.description
                thrown = StoreError.importFailed(job: id, reason: reason)
            case is CancellationError:
                reason = "cancelled"
                thrown = error
            default:
                reason = "\(error)"
                thrown = error
            }
            // The original error matters more; a job left running is marked failed at the next start.
            try? await markFailed(id, counts: importer.counts, reason: reason)
            throw thrown
        }
    }

    public func importJob(_ id: ImportJobID) async throws -> ImportJob? {
        try await pool.read { db in try Self.fetchJob(db, id) }
    }

    public func importJobs(list: ContactListID, limit: Int) async throws -> [ImportJob] {
        try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM import_job WHERE list_id = ? ORDER BY id DESC LIMIT ?",
                arguments: [list.rawValue, max(0, limit)]
            ).map(Self.jobRecord)
        }
    }

    public func rejectedRows(of job: ImportJobID, afterRow: Int, limit: Int) async throws -> [RejectedRow] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT row, reason FROM import_rejected_row WHERE job_id = ? AND row > ? ORDER BY row LIMIT ?",
                arguments: [job.rawValue, afterRow, max(0, limit)]
            ).map { RejectedRow(row: $0["row"], reason: $0["reason"]) }
        }
    }

    /// Marks jobs an earlier process left queued or running as failed, and drops their staging.
    static func abandonInterruptedImports(_ db: Database, now: Date) throws {
        try db.execute(
            sql: """
                DELETE FROM import_staging WHERE job_id IN (SELECT id FROM import_job WHERE status IN ('queued', 'running'))
                """)
        try db.execute(
            sql: """
                UPDATE import_job SET status = 'failed', finished_at = ?, error = 'interrupted: the manager stopped' \
                WHERE status IN ('queued', 'running')
                """,
            arguments: [now.storeValue])
    }

    // MARK: Steps

    /// Writes the batch to the staging table and the job's history, and reports progress.
    private func flush(_ importer: inout ContactImporter, progress: @Sendable (ImportProgress) -> Void) async throws {
        // A cancelled import stops here, before it writes more.
        try Task.checkCancellation()
        guard importer.hasRowsInBatch else { return }
        let batch = importer.takeBatch()
        let counts = importer.counts
        let id = importer.job
        let duplicates = try await pool.write { db in
            let stage = try db.cachedStatement(
                sql: """
                    INSERT OR IGNORE INTO import_staging (job_id, row, phone, time_zone, caller_id, priority, fields) \
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """)
            var duplicates = 0
            for row in batch.staged {
                try stage.execute(
                    arguments: [id.rawValue, row.row, row.phone, row.timeZone, row.callerID, row.priority, row.fields])
                // The number is in the file already: the first row keeps it.
                if db.changesCount == 0 { duplicates += 1 }
            }
            let reject = try db.cachedStatement(
                sql: "INSERT OR IGNORE INTO import_rejected_row (job_id, row, reason) VALUES (?, ?, ?)")
            for row in batch.rejected {
                try reject.execute(arguments: [id.rawValue, row.row, row.reason])
            }
            try db.execute(
                sql: "UPDATE import_job SET rows_read = ?, accepted = ?, duplicates = ?, rejected = ? WHERE id = ?",
                arguments: [
                    counts.rowsRead, counts.accepted - duplicates, counts.duplicates + duplicates, counts.rejected,
                    id.rawValue,
                ])
            return duplicates
        }
        importer.countDuplicates(duplicates)
        progress(importer.progress(.reading))
    }

    /// Moves the staged rows into the list (after removing the old contacts for `replace`) and
    /// closes the job, in the caller's one transaction.
    private static func applyStaged(_ db: Database, job: ImportJob, counts: ImportCounts, now: Date) throws
        -> ImportJob
    {
        if job.mode == .replace {
            try checkReplaceable(db, job.list)
            try db.execute(sql: "DELETE FROM contact WHERE list_id = ?", arguments: [job.list.rawValue])
        }
        // File order becomes id order, the feeder's last tie-break. A number already in the list
        // is a duplicate: the contact there keeps its state.
        try db.execute(
            sql: """
                INSERT OR IGNORE INTO contact (list_id, phone, time_zone, caller_id, priority, fields, state, \
                waiting_since, created_at, updated_at)
                SELECT ?, phone, time_zone, caller_id, priority, fields, 'fresh', ?, ?, ?
                FROM import_staging WHERE job_id = ? ORDER BY row
                """,
            arguments: [job.list.rawValue, now.storeValue, now.storeValue, now.storeValue, job.id.rawValue])
        let inserted = db.changesCount
        let alreadyInList = counts.accepted - inserted
        try db.execute(sql: "DELETE FROM import_staging WHERE job_id = ?", arguments: [job.id.rawValue])
        try db.execute(
            sql: """
                UPDATE import_job SET status = 'succeeded', finished_at = ?, rows_read = ?, accepted = ?, \
                duplicates = ?, rejected = ? WHERE id = ?
                """,
            arguments: [
                now.storeValue, counts.rowsRead, inserted, counts.duplicates + alreadyInList, counts.rejected,
                job.id.rawValue,
            ])
        try db.execute(
            sql: "UPDATE contact_list SET updated_at = ? WHERE id = ?", arguments: [now.storeValue, job.list.rawValue])
        return try fetchJob(db, job.id)!
    }

    /// A count limit is known to be passed as soon as it is: the rest of a large file is not read.
    private static func checkRejectedCount(_ counts: ImportCounts, options: ImportOptions) throws {
        if case .count = options.maximumRejected, let limit = options.maximumRejected,
            limit.isExceeded(rejected: counts.rejected, rowsRead: counts.rowsRead)
        {
            throw ImportLimitExceeded(limit: limit, counts: counts)
        }
    }

    /// Closes a dry run: what the import would have added is counted against the list as it is
    /// now, the staged rows are dropped, and the list does not change.
    private static func closeDryRun(_ db: Database, job: ImportJob, counts: ImportCounts, now: Date) throws
        -> ImportJob
    {
        if job.mode == .replace { try checkReplaceable(db, job.list) }
        let wouldAdd: Int
        if job.mode == .replace {
            wouldAdd =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM import_staging WHERE job_id = ?", arguments: [job.id.rawValue]) ?? 0
        } else {
            wouldAdd =
                try Int.fetchOne(
                    db,
                    sql: """
                        SELECT COUNT(*) FROM import_staging s WHERE s.job_id = ? \
                        AND NOT EXISTS (SELECT 1 FROM contact c WHERE c.list_id = ? AND c.phone = s.phone)
                        """,
                    arguments: [job.id.rawValue, job.list.rawValue]) ?? 0
        }
        try db.execute(sql: "DELETE FROM import_staging WHERE job_id = ?", arguments: [job.id.rawValue])
        try db.execute(
            sql: """
                UPDATE import_job SET status = 'succeeded', finished_at = ?, rows_read = ?, accepted = ?, \
                duplicates = ?, rejected = ? WHERE id = ?
                """,
            arguments: [
                now.storeValue, counts.rowsRead, wouldAdd, counts.duplicates + counts.accepted - wouldAdd,
                counts.rejected, job.id.rawValue,
            ])
        return try fetchJob(db, job.id)!
    }

    /// A list a node is dialing cannot be replaced: the results of its open attempts must find
    /// their contacts.
    private static func checkReplaceable(_ db: Database, _ list: ContactListID) throws {
        if try exists(db, "SELECT 1 FROM contact WHERE list_id = ? AND state = 'inAttempt'", [list.rawValue]) {
            throw StoreError.conflict(
                "list \(list) has contacts in open attempts: stop its campaign and wait for their results to replace it"
            )
        }
    }

    /// Records the failure and drops the staged rows. It runs in a task of its own, because the
    /// import's task may be cancelled, and a cancelled task's database accesses are refused.
    private func markFailed(_ id: ImportJobID, counts: ImportCounts, reason: String) async throws {
        let now = clock()
        try await Task {
            try await pool.write { db in
                try db.execute(sql: "DELETE FROM import_staging WHERE job_id = ?", arguments: [id.rawValue])
                try db.execute(
                    sql: """
                        UPDATE import_job SET status = 'failed', finished_at = ?, error = ?, rows_read = ?, \
                        rejected = ? WHERE id = ?
                        """,
                    arguments: [now.storeValue, reason, counts.rowsRead, counts.rejected, id.rawValue])
            }
        }.value
    }

    /// Rows in the staging table, for tests that failed imports leave none.
    func stagedRowCount() async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM import_staging") ?? 0 }
    }

    static func fetchJob(_ db: Database, _ id: ImportJobID) throws -> ImportJob? {
        try Row.fetchOne(db, sql: "SELECT * FROM import_job WHERE id = ?", arguments: [id.rawValue]).map(jobRecord)
    }

    private static func jobRecord(_ row: Row) throws -> ImportJob {
        let id: Int64 = row["id"]
        guard let format = ImportFormat(rawValue: row["format"]), let mode = ImportMode(rawValue: row["mode"]),
            let status = ImportStatus(rawValue: row["status"])
        else { throw StoreError.corruptRow("import job \(id)") }
        return ImportJob(
            id: ImportJobID(id), list: ContactListID(row["list_id"]), requestedBy: row["requested_by"],
            sourceName: row["source_name"], format: format, mode: mode, status: status,
            createdAt: row.date("created_at") ?? Date(storeValue: 0), startedAt: row.date("started_at"),
            finishedAt: row.date("finished_at"), rowsRead: row["rows_read"], accepted: row["accepted"],
            duplicates: row["duplicates"], rejected: row["rejected"], error: row["error"], dryRun: row["dry_run"])
    }
}

/// An import's running counts.
struct ImportCounts: Sendable {
    var rowsRead = 0
    /// Rows that passed every check; duplicates are subtracted as they are found.
    var accepted = 0
    var duplicates = 0
    var rejected = 0
}

/// One accepted row, as staged.
struct StagedRow: Sendable {
    var row: Int
    var phone: String
    var timeZone: String?
    var callerID: String?
    var priority: Int
    var fields: String
}

/// Turns the reader's rows into staged and rejected rows, in batches: the checks of one import,
/// apart from the database.
struct ContactImporter {
    struct Batch: Sendable {
        var staged: [StagedRow] = []
        var rejected: [RejectedRow] = []
    }

    let job: ImportJobID
    let options: ImportOptions
    private(set) var counts = ImportCounts()
    private var batch = Batch()
    private var batchBytes = 0
    private var rowsInBatch = 0
    /// Rejected rows whose details were kept so far.
    private var keptRejections = 0
    /// Time zones checked so far (a file repeats a few).
    private var zones: [String: Bool] = [:]

    /// Records may hold up to the CSV reader's 1 MiB each: a batch of large rows goes sooner.
    private static let batchByteLimit = 8 << 20

    init(job: ImportJobID, options: ImportOptions) {
        self.job = job
        self.options = options
    }

    /// Whether the batch should go to the database now: every `progressInterval` rows, or sooner
    /// when its rows are large.
    var hasRowsInBatch: Bool { rowsInBatch > 0 }

    var isBatchFull: Bool {
        rowsInBatch >= options.progressInterval || batchBytes >= Self.batchByteLimit
    }

    func progress(_ phase: ImportProgress.Phase) -> ImportProgress {
        ImportProgress(
            job: job, phase: phase, rowsRead: counts.rowsRead, accepted: counts.accepted,
            duplicates: counts.duplicates, rejected: counts.rejected)
    }

    mutating func takeBatch() -> Batch {
        defer {
            batch = Batch()
            batchBytes = 0
            rowsInBatch = 0
        }
        return batch
    }

    mutating func countDuplicates(_ count: Int) {
        counts.accepted -= count
        counts.duplicates += count
    }

    /// Checks one row from the reader.
    mutating func take(_ item: Result<ContactRow, ImportRowError>) {
        counts.rowsRead += 1
        rowsInBatch += 1
        switch item {
        case .failure(let error):
            reject(error.row, error.reason.description)
        case .success(let row):
            switch stage(row) {
            case .success(let staged):
                counts.accepted += 1
                batchBytes += staged.phone.utf8.count + staged.fields.utf8.count + 64
                batch.staged.append(staged)
            case .failure(let rejection):
                reject(row.row, rejection.reason)
            }
        }
    }

    private mutating func reject(_ row: Int, _ reason: String) {
        counts.rejected += 1
        guard keptRejections < options.storedRejectedRows else { return }
        keptRejections += 1
        batch.rejected.append(RejectedRow(row: row, reason: reason))
    }

    private struct Rejection: Error {
        var reason: String
    }

    private mutating func stage(_ row: ContactRow) -> Result<StagedRow, Rejection> {
        let number: E164
        switch PhoneNumber.normalize(row.phone, defaultRegion: options.defaultRegion) {
        case .success(let value): number = value
        case .failure(let error): return .failure(Rejection(reason: "phone: \(error)"))
        }
        var callerID: String?
        if let raw = row.callerID {
            switch PhoneNumber.normalize(raw, defaultRegion: options.defaultRegion) {
            case .success(let value): callerID = value.description
            case .failure(let error): return .failure(Rejection(reason: "caller ID: \(error)"))
            }
        }
        var timeZone = row.timeZone
        if let zone = timeZone {
            guard isKnownZone(zone) else { return .failure(Rejection(reason: "unknown time zone")) }
        } else {
            // The calling hours are the contact's local time: the number is the only clue left.
            timeZone = TimeZoneGuess.zone(for: number)
        }
        return .success(
            StagedRow(
                row: row.row, phone: number.description, timeZone: timeZone, callerID: callerID,
                priority: row.priority ?? 0,
                fields: FieldsJSON.encode(row.fields.lazy.map { (key: $0.name, value: $0.value) })))
    }

    private mutating func isKnownZone(_ zone: String) -> Bool {
        if let known = zones[zone] { return known }
        let known = TimeZone(identifier: zone) != nil
        // A file of endless distinct zones must not grow the cache without bound.
        if zones.count < 1_000 { zones[zone] = known }
        return known
    }
}

/// An import stopped by its ``ImportOptions/maximumRejected``.
struct ImportLimitExceeded: Error, CustomStringConvertible {
    let limit: RejectionLimit
    let counts: ImportCounts

    var description: String {
        "\(counts.rejected) of \(counts.rowsRead) rows rejected, over max_rejected=\(limit): the list is as it was"
    }
}
