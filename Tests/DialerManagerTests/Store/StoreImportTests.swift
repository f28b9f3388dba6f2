import DialerCore
import DialerImport
import Foundation
import Synchronization
import Testing

@testable import DialerManager

private let options = ImportOptions(defaultRegion: "DK")

/// Imports `text` into list l1.
private func importText(
    _ store: any TestStore, _ text: String, format: ImportFormat = .csv, mode: ImportMode = .append,
    options: ImportOptions = options, progress: ProgressLog = ProgressLog()
) async throws -> ImportReport {
    try await store.importContacts(
        into: ContactListID("l1"), format: format, mode: mode, options: options, requestedBy: "ops",
        sourceName: "file", from: chunks(text, size: 5), progress: { progress.record($0) })
}

/// The list's contacts, by id.
private func contents(_ store: any TestStore) async throws -> [Contact] {
    try await store.searchContacts(ContactFilter(list: ContactListID("l1")), after: nil, limit: 1_000_000).contacts
}

/// A byte stream that yields its chunks, then fails.
private struct FailingSource: AsyncSequence, Sendable {
    struct Broken: Error {}
    let chunks: [[UInt8]]

    struct AsyncIterator: AsyncIteratorProtocol {
        var remaining: [[UInt8]]

        mutating func next() async throws -> [UInt8]? {
            guard !remaining.isEmpty else { throw Broken() }
            return remaining.removeFirst()
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(remaining: chunks) }
}

@Suite("Store: contact imports")
struct StoreImportTests {
    let context = StoreContext()
    var store: any TestStore { context.store }
    var temporary: TemporaryStore { context.sqlite }

    @Test(arguments: StoreKind.allCases) func anAppendImportNormalisesSkipsDuplicatesAndRejectsRowsByNumber(
        _ kind: StoreKind
    ) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        let csv = """
            phone,name,tz,prio
            20000001,Ann,,2
            +45 2000 0002,Bo,America/Chicago,
            20000001,Ann again,,
            12,Short,,
            20000003,Zed,Mars/Olympus,
            20000004,Eve,,high
            "20000005",Fay,,1

            """
        let log = ProgressLog()
        let mapped = ImportOptions(
            mapping: ColumnMapping(phone: "phone", timeZone: "tz", priority: "prio"), defaultRegion: "DK")
        let report = try await importText(store, csv, options: mapped, progress: log)
        let job = report.job
        #expect(job.status == .succeeded && job.mode == .append && job.format == .csv)
        #expect(job.rowsRead == 7 && job.accepted == 3 && job.duplicates == 1 && job.rejected == 3)
        #expect(job.requestedBy == "ops" && job.sourceName == "file" && job.finishedAt == StoreTime.monday)
        // Rows are the file's lines: the header is line 1.
        #expect(report.rejectedRows.map(\.row) == [5, 6, 7])
        #expect(report.rejectedRows[0].reason.hasPrefix("phone:"))
        #expect(report.rejectedRows[1].reason == "unknown time zone")
        #expect(!report.rejectedRows.contains { $0.reason.contains("2000") })

        let contacts = try await contents(store)
        #expect(contacts.map(\.phoneNumber) == ["+4520000001", "+4520000002", "+4520000005"])
        #expect(contacts[0].fields == ["name": "Ann"] && contacts[0].priority == 2)
        #expect(contacts[0].timeZone == "Europe/Copenhagen" && contacts[1].timeZone == "America/Chicago")
        #expect(contacts.allSatisfy { $0.state == .fresh && $0.campaign == CampaignID("c1") })
        #expect(log.all.last?.phase == .finished && log.all.last?.accepted == 3)
        #expect(try await store.importJobs(list: ContactListID("l1"), limit: 10).map(\.id) == [job.id])
    }

    @Test(arguments: StoreKind.allCases) func appendKeepsTheListsContactsAndReplaceStartsAfresh(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        _ = try await importText(store, "phone\n20000001\n20000002\n")
        let handOut = try #require(
            try await store.checkOutAttempts(
                campaign: CampaignID("c1"), count: 1, node: MemberID("n1"), epoch: Epoch(1), now: StoreTime.monday,
                presentAgents: []
            ).first)
        _ = try await store.recordResult(
            AttemptResult(attempt: handOut.attempt, contact: handOut.contact.id, outcome: .busy), now: StoreTime.monday)

        let appended = try await importText(store, "phone\n20000002\n20000003\n20000001\n")
        #expect(appended.job.accepted == 1 && appended.job.duplicates == 2)
        let afterAppend = try await contents(store)
        #expect(afterAppend.map(\.phoneNumber) == ["+4520000001", "+4520000002", "+4520000003"])
        // The contact already in the list keeps its state.
        #expect(afterAppend[0].attempts == 1 && afterAppend[0].lastOutcome == .busy)

        let replaced = try await importText(store, "phone\n20000003\n20000009\n", mode: .replace)
        #expect(replaced.job.accepted == 2 && replaced.job.duplicates == 0 && replaced.job.mode == .replace)
        let afterReplace = try await contents(store)
        #expect(afterReplace.map(\.phoneNumber) == ["+4520000003", "+4520000009"])
        #expect(afterReplace.allSatisfy { $0.state == .fresh && $0.attempts == 0 })
        // The history of attempts outlives the replaced contacts.
        #expect(try await store.campaignReport(CampaignID("c1"), now: StoreTime.monday)?.attempts == 1)
        #expect(
            try await store.importJobs(list: ContactListID("l1"), limit: 10).map(\.mode) == [
                .replace, .append, .append,
            ])
    }

    @Test(arguments: StoreKind.allCases) func aHeaderErrorLeavesTheListAsItWas(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        _ = try await importText(store, "phone,name\n20000001,Ann\n20000002,Bo\n")
        let before = try await contents(store)
        for mode in ImportMode.allCases {
            await #expect {
                _ = try await importText(store, "telephone,name\n20000003,Cy\n", mode: mode)
            } throws: { error in
                guard case StoreError.importFailed(_, let reason) = error else { return false }
                return reason.contains("no phone column")
            }
            #expect(try await contents(store) == before)
        }
        let jobs = try await store.importJobs(list: ContactListID("l1"), limit: 10)
        #expect(jobs.map(\.status) == [.failed, .failed, .succeeded])
        #expect(jobs[0].error?.contains("no phone column") == true)
    }

    @Test(arguments: StoreKind.allCases) func aMalformedJSONFileLeavesTheListAsItWasAndAGoodOneImports(
        _ kind: StoreKind
    ) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        _ = try await importText(store, "phone\n20000001\n")
        let before = try await contents(store)
        // Rows are read, then the array breaks: nothing of it reaches the list, replace included.
        let broken = #"[{"phone": "20000002"}, {"phone": "20000003"} {"phone": "20000004"}]"#
        let small = ImportOptions(mapping: ColumnMapping(), defaultRegion: "DK", progressInterval: 1)
        for mode in ImportMode.allCases {
            await #expect(throws: StoreError.self) {
                _ = try await importText(store, broken, format: .json, mode: mode, options: small)
            }
            #expect(try await contents(store) == before)
        }
        let report = try await importText(
            store, #"[{"phone": "20000002", "name": "Bo", "vip": true}, {"phone": 5}, 7]"#, format: .json,
            options: ImportOptions(mapping: ColumnMapping(), defaultRegion: "DK"))
        #expect(report.job.accepted == 1 && report.job.rejected == 2)
        #expect(report.rejectedRows.map(\.row) == [2, 3])
        let contacts = try await contents(store)
        #expect(contacts.last?.fields == ["name": "Bo", "vip": "true"])
    }

    @Test(arguments: StoreKind.allCases) func anIOErrorMidFileLeavesTheListAsItWasAndRecordsTheFailure(
        _ kind: StoreKind
    ) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        _ = try await importText(store, "phone\n20000001\n")
        let before = try await contents(store)
        let text = "phone\n" + (2..<50).map { danishNumber($0) + "\n" }.joined()
        let source = FailingSource(chunks: [Array(text.utf8)])
        for mode in ImportMode.allCases {
            let job = try await store.createImportJob(
                list: ContactListID("l1"), format: .csv, mode: mode, requestedBy: "ops", sourceName: nil)
            let small = ImportOptions(defaultRegion: "DK", progressInterval: 10)
            await #expect(throws: FailingSource.Broken.self) {
                _ = try await store.importContacts(job: job.id, options: small, from: source, progress: { _ in })
            }
            #expect(try await contents(store) == before)
            let failed = try #require(try await store.importJob(job.id))
            #expect(failed.status == .failed && failed.rowsRead >= 40)
            #expect(try await store.stagedRowCount() == 0)
        }
    }

    @Test(arguments: StoreKind.allCases) func aCancelledImportLeavesTheListAsItWas(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        _ = try await importText(store, "phone\n20000001\n")
        let before = try await contents(store)
        let job = try await store.createImportJob(
            list: ContactListID("l1"), format: .csv, mode: .replace, requestedBy: "ops", sourceName: nil)
        let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
        continuation.yield(Array(("phone\n" + (2..<30).map { danishNumber($0) + "\n" }.joined()).utf8))
        let log = ProgressLog()
        let task = Task {
            try await store.importContacts(
                job: job.id, options: ImportOptions(defaultRegion: "DK", progressInterval: 5), from: stream,
                progress: { log.record($0) })
        }
        // Wait until rows are staged, then cancel while the import waits for more of the file.
        while log.all.count < 5 { try await Task.sleep(for: .milliseconds(10)) }
        task.cancel()
        continuation.finish()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        #expect(try await contents(store) == before)
        let failed = try #require(try await store.importJob(job.id))
        #expect(failed.status == .failed && failed.error == "cancelled")
        #expect(try await store.stagedRowCount() == 0)
    }

    @Test(arguments: StoreKind.allCases) func aListInUseCannotBeReplaced(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        _ = try await importText(store, "phone\n20000001\n")
        _ = try await store.checkOutAttempts(
            campaign: CampaignID("c1"), count: 1, node: MemberID("n1"), epoch: Epoch(1), now: StoreTime.monday,
            presentAgents: [])
        let before = try await contents(store)
        await #expect(throws: StoreError.self) { _ = try await importText(store, "phone\n20000002\n", mode: .replace) }
        #expect(try await contents(store) == before)
        // Appending is fine.
        #expect(try await importText(store, "phone\n20000002\n").job.accepted == 1)
    }

    @Test(arguments: StoreKind.allCases) func rejectedRowDetailsAreCappedButCounted(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        let capped = ImportOptions(defaultRegion: "DK", progressInterval: 2, storedRejectedRows: 3)
        let report = try await importText(store, "phone\n1\n2\n3\n20000001\n4\n5\n", options: capped)
        #expect(report.job.rejected == 5 && report.job.accepted == 1)
        #expect(report.rejectedRows.map(\.row) == [2, 3, 4])
        #expect(try await store.rejectedRows(of: report.job.id, afterRow: 2, limit: 10).map(\.row) == [3, 4])
    }

    @Test(arguments: StoreKind.allCases) func aHundredThousandRowFileStreamsWithProgress(_ kind: StoreKind) async throws
    {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        let log = ProgressLog()
        let file = GeneratedCSV(rows: 100_000, rowsPerChunk: 500)
        // At each report, how far ahead of the rows read the file has been pulled: streaming pulls
        // a chunk only when the reader needs one.
        let ahead = Mutex<[Int]>([])
        let report = try await store.importContacts(
            into: ContactListID("l1"), format: .csv, mode: .append,
            options: ImportOptions(defaultRegion: "DK", progressInterval: 10_000), requestedBy: "ops",
            from: file,
            progress: { progress in
                log.record(progress)
                if progress.phase == .reading {
                    ahead.withLock { $0.append(file.generated.count - progress.rowsRead) }
                }
            })
        #expect(ahead.withLock { $0 }.allSatisfy { $0 <= 500 })
        #expect(report.job.status == .succeeded)
        #expect(report.job.rowsRead == 100_000 && report.job.accepted == 100_000)
        #expect(try await store.countContacts(ContactFilter(list: ContactListID("l1"))) == 100_000)
        let reading = log.all.filter { $0.phase == .reading }
        #expect(reading.map(\.rowsRead) == Array(stride(from: 10_000, through: 100_000, by: 10_000)))
        #expect(log.all.suffix(2).map(\.phase) == [.applying, .finished])
        let sample = try await store.searchContacts(
            ContactFilter(phone: danishNumber(99_999)), after: nil, limit: 1
        ).contacts
        #expect(sample.first?.fields == ["name": "Name 99999", "account": "A99999"])
    }
}
