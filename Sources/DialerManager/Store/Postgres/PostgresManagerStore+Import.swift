public import DialerCore
import DialerImport
import FoundationEssentials

// Streaming contact-list imports, as SQLiteManagerStore+Import: the rows are staged batch by
// batch in short transactions, and go into the list in one transaction at the end.

extension PostgresManagerStore {
    public func createImportJob(
        list: ContactListID, format: ImportFormat, mode: ImportMode, requestedBy: String, sourceName: String?,
        dryRun: Bool
    ) async throws -> ImportJob {
        let now = clock()
        return try await write { db in
            guard try await db.exists("SELECT 1 FROM contact_list WHERE id = ?", [list.rawValue]) else {
                throw StoreError.notFound("list \(list)")
            }
            guard
                let row = try await db.fetchOne(
                    """
                    INSERT INTO import_job (list_id, requested_by, source_name, format, mode, status, created_at, \
                    dry_run) VALUES (?, ?, ?, ?, ?, 'queued', ?, ?) RETURNING id
                    """,
                    [list.rawValue, requestedBy, sourceName, format.rawValue, mode.rawValue, now.storeValue, dryRun]),
                let job = try await Self.fetchJob(db, ImportJobID(try row.int64("id")))
            else { throw StoreError.notFound("the new import job of list \(list)") }
            return job
        }
    }

    public func importContacts<Source: AsyncSequence>(
        job id: ImportJobID, options: ImportOptions, from source: Source,
        progress: @escaping @Sendable (ImportProgress) -> Void
    ) async throws -> ImportReport where Source.Element: Collection, Source.Element.Element == UInt8 {
        let startedAt = clock()
        let job = try await write { db in
            guard let job = try await Self.fetchJob(db, id, lock: true) else {
                throw StoreError.notFound("import job \(id)")
            }
            guard job.status == .queued else { throw StoreError.conflict("import job \(id) is \(job.status.rawValue)") }
            try await db.execute(
                "UPDATE import_job SET status = 'running', started_at = ? WHERE id = ?",
                [startedAt.storeValue, id.rawValue])
            return job
        }
        var importer = ContactImporter(job: id, options: options)
        do {
            if job.mode == .replace {
                try await read { db in try await Self.checkReplaceable(db, job.list) }
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
            if let limit = options.maximumRejected,
                limit.isExceeded(rejected: importer.counts.rejected, rowsRead: importer.counts.rowsRead)
            {
                throw ImportLimitExceeded(limit: limit, counts: importer.counts)
            }
            progress(importer.progress(.applying))
            try Task.checkCancellation()
            let counts = importer.counts
            let finishedAt = clock()
            let finished = try await write { db in
                job.dryRun
                    ? try await Self.closeDryRun(db, job: job, counts: counts, now: finishedAt)
                    : try await Self.applyStaged(db, job: job, counts: counts, now: finishedAt)
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
            try? await markFailed(id, counts: importer.counts, reason: reason)
            throw thrown
        }
    }

    public func importJob(_ id: ImportJobID) async throws -> ImportJob? {
        try await read { db in try await Self.fetchJob(db, id) }
    }

    public func importJobs(list: ContactListID, limit: Int) async throws -> [ImportJob] {
        try await read { db in
            try await db.query(
                "SELECT * FROM import_job WHERE list_id = ? ORDER BY id DESC LIMIT ?", [list.rawValue, max(0, limit)]
            ).map(Self.jobRecord)
        }
    }

    public func rejectedRows(of job: ImportJobID, afterRow: Int, limit: Int) async throws -> [RejectedRow] {
        try await read { db in
            try await db.query(
                "SELECT row, reason FROM import_rejected_row WHERE job_id = ? AND row > ? ORDER BY row LIMIT ?",
                [job.rawValue, afterRow, max(0, limit)]
            ).map { RejectedRow(row: try $0.int("row"), reason: try $0.string("reason")) }
        }
    }

    /// Marks the jobs a stopped manager left queued or running as failed. With several managers
    /// on one database only the active one may call this (a standby would fail the active one's
    /// running imports).
    static func abandonInterruptedImports(_ db: PGSession, now: Date) async throws {
        try await db.execute(
            "DELETE FROM import_staging WHERE job_id IN (SELECT id FROM import_job WHERE status IN ('queued', 'running'))"
        )
        try await db.execute(
            """
            UPDATE import_job SET status = 'failed', finished_at = ?, error = 'interrupted: the manager stopped' \
            WHERE status IN ('queued', 'running')
            """,
            [now.storeValue])
    }

    // MARK: Steps

    private func flush(_ importer: inout ContactImporter, progress: @Sendable (ImportProgress) -> Void) async throws {
        try Task.checkCancellation()
        guard importer.hasRowsInBatch else { return }
        let batch = importer.takeBatch()
        let counts = importer.counts
        let id = importer.job
        let duplicates = try await write { db in
            var duplicates = 0
            if !batch.staged.isEmpty {
                // One statement per batch; a number already staged (the file's own duplicate)
                // is skipped, the first row keeping it.
                let staged = batch.staged
                let inserted = try await db.changes(
                    """
                    INSERT INTO import_staging (job_id, row, phone, time_zone, caller_id, priority, fields) \
                    SELECT DISTINCT ON (phone) ?::BIGINT, row, phone, NULLIF(time_zone, ''), NULLIF(caller_id, ''), priority, \
                    fields \
                    FROM unnest(?::BIGINT[], ?::TEXT[], ?::TEXT[], ?::TEXT[], ?::BIGINT[], ?::TEXT[]) \
                    AS s(row, phone, time_zone, caller_id, priority, fields) ORDER BY phone, row \
                    ON CONFLICT DO NOTHING
                    """,
                    [
                        id.rawValue, PGInt64Array(values: staged.map { Int64($0.row) }),
                        PGTextArray(values: staged.map(\.phone)), PGOptionalTextArray(values: staged.map(\.timeZone)),
                        PGOptionalTextArray(values: staged.map(\.callerID)),
                        PGInt64Array(values: staged.map { Int64($0.priority) }),
                        PGTextArray(values: staged.map(\.fields)),
                    ])
                duplicates = staged.count - inserted
            }
            for row in batch.rejected {
                try await db.execute(
                    "INSERT INTO import_rejected_row (job_id, row, reason) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    [id.rawValue, row.row, row.reason])
            }
            try await db.execute(
                "UPDATE import_job SET rows_read = ?, accepted = ?, duplicates = ?, rejected = ? WHERE id = ?",
                [
                    counts.rowsRead, counts.accepted - duplicates, counts.duplicates + duplicates, counts.rejected,
                    id.rawValue,
                ])
            return duplicates
        }
        importer.countDuplicates(duplicates)
        progress(importer.progress(.reading))
    }

    private static func applyStaged(_ db: PGSession, job: ImportJob, counts: ImportCounts, now: Date) async throws
        -> ImportJob
    {
        if job.mode == .replace {
            try await checkReplaceable(db, job.list)
            try await db.execute("DELETE FROM contact WHERE list_id = ?", [job.list.rawValue])
        }
        // File order becomes id order, the feeder's last tie-break.
        let inserted = try await db.changes(
            """
            INSERT INTO contact (list_id, phone, time_zone, caller_id, priority, fields, state, \
            waiting_since, created_at, updated_at)
            SELECT ?, phone, time_zone, caller_id, priority, fields, 'fresh', ?, ?, ?
            FROM import_staging WHERE job_id = ? ORDER BY row
            ON CONFLICT DO NOTHING
            """,
            [job.list.rawValue, now.storeValue, now.storeValue, now.storeValue, job.id.rawValue])
        let alreadyInList = counts.accepted - inserted
        try await db.execute("DELETE FROM import_staging WHERE job_id = ?", [job.id.rawValue])
        try await db.execute(
            """
            UPDATE import_job SET status = 'succeeded', finished_at = ?, rows_read = ?, accepted = ?, \
            duplicates = ?, rejected = ? WHERE id = ?
            """,
            [
                now.storeValue, counts.rowsRead, inserted, counts.duplicates + alreadyInList, counts.rejected,
                job.id.rawValue,
            ])
        try await db.execute(
            "UPDATE contact_list SET updated_at = ? WHERE id = ?", [now.storeValue, job.list.rawValue])
        guard let finished = try await fetchJob(db, job.id) else { throw StoreError.notFound("import job \(job.id)") }
        return finished
    }

    private static func checkRejectedCount(_ counts: ImportCounts, options: ImportOptions) throws {
        if case .count = options.maximumRejected, let limit = options.maximumRejected,
            limit.isExceeded(rejected: counts.rejected, rowsRead: counts.rowsRead)
        {
            throw ImportLimitExceeded(limit: limit, counts: counts)
        }
    }

    private static func closeDryRun(_ db: PGSession, job: ImportJob, counts: ImportCounts, now: Date) async throws
        -> ImportJob
    {
        if job.mode == .replace { try await checkReplaceable(db, job.list) }
        let wouldAdd: Int
        if job.mode == .replace {
            wouldAdd = try await db.count(
                "SELECT COUNT(*) AS count FROM import_staging WHERE job_id = ?", [job.id.rawValue])
        } else {
            wouldAdd = try await db.count(
                """
                SELECT COUNT(*) AS count FROM import_staging s WHERE s.job_id = ? \
                AND NOT EXISTS (SELECT 1 FROM contact c WHERE c.list_id = ? AND c.phone = s.phone)
                """,
                [job.id.rawValue, job.list.rawValue])
        }
        try await db.execute("DELETE FROM import_staging WHERE job_id = ?", [job.id.rawValue])
        try await db.execute(
            """
            UPDATE import_job SET status = 'succeeded', finished_at = ?, rows_read = ?, accepted = ?, \
            duplicates = ?, rejected = ? WHERE id = ?
            """,
            [
                now.storeValue, counts.rowsRead, wouldAdd, counts.duplicates + counts.accepted - wouldAdd,
                counts.rejected, job.id.rawValue,
            ])
        guard let finished = try await fetchJob(db, job.id) else { throw StoreError.notFound("import job \(job.id)") }
        return finished
    }

    private static func checkReplaceable(_ db: PGSession, _ list: ContactListID) async throws {
        if try await db.exists("SELECT 1 FROM contact WHERE list_id = ? AND state = 'inAttempt'", [list.rawValue]) {
            throw StoreError.conflict(
                "list \(list) has contacts in open attempts: stop its campaign and wait for their results to replace it"
            )
        }
    }

    private func markFailed(_ id: ImportJobID, counts: ImportCounts, reason: String) async throws {
        let now = clock()
        // Not cancelled with the import: the job must still be marked.
        try await Task {
            try await write { db in
                try await db.execute("DELETE FROM import_staging WHERE job_id = ?", [id.rawValue])
                try await db.execute(
                    """
                    UPDATE import_job SET status = 'failed', finished_at = ?, error = ?, rows_read = ?, \
                    rejected = ? WHERE id = ?
                    """,
                    [now.storeValue, reason, counts.rowsRead, counts.rejected, id.rawValue])
            }
        }.value
    }

    /// How many rows wait in staging, for tests that a failed import leaves none.
    func stagedRowCount() async throws -> Int {
        try await read { db in try await db.count("SELECT COUNT(*) AS count FROM import_staging") }
    }

    static func fetchJob(_ db: PGSession, _ id: ImportJobID, lock: Bool = false) async throws -> ImportJob? {
        try await db.fetchOne("SELECT * FROM import_job WHERE id = ?\(lock ? " FOR UPDATE" : "")", [id.rawValue])
            .map(jobRecord)
    }

    private static func jobRecord(_ row: PGRow) throws -> ImportJob {
        let id = try row.int64("id")
        guard let format = ImportFormat(rawValue: try row.string("format")),
            let mode = ImportMode(rawValue: try row.string("mode")),
            let status = ImportStatus(rawValue: try row.string("status"))
        else { throw StoreError.corruptRow("import job \(id)") }
        return ImportJob(
            id: ImportJobID(id), list: ContactListID(try row.string("list_id")),
            requestedBy: try row.string("requested_by"), sourceName: try row.optionalString("source_name"),
            format: format, mode: mode, status: status, createdAt: try row.date("created_at") ?? Date(storeValue: 0),
            startedAt: try row.date("started_at"), finishedAt: try row.date("finished_at"),
            rowsRead: try row.int("rows_read"), accepted: try row.int("accepted"),
            duplicates: try row.int("duplicates"), rejected: try row.int("rejected"),
            error: try row.optionalString("error"), dryRun: try row.flag("dry_run"))
    }
}
