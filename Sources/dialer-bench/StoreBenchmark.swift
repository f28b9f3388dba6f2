import DialerCore
import DialerLoad
import DialerManager
import Foundation
import Synchronization

/// The manager's store under the feeder's writes: attempt results applied per second with
/// hand-outs interleaved, one transaction per report (as before batching) against the feeder's
/// batches, on SQLite files of their own in one run, and with `--database` on PostgreSQL too
/// (each run on a list and campaign of its own in that database).
///
/// Each of `connections` tasks plays a node: it asks for `handOut` contacts, reports every one
/// of them (`no-answer`, so that no contact comes back within the run), asks again, until the
/// list is used up. One transaction per report answers a connection's requests one at a time,
/// each report a read of its attempt and a write, as the feeder did; the batched run queues
/// them as the cluster listener does now and waits for the answers at the end.
enum StoreBenchmark {
    /// Monday 6 January 2025, 12:00 UTC: inside the default calling hours in Denmark.
    static let now = Date(timeIntervalSince1970: 1_736_164_800)

    struct Mode {
        var name: String
        /// `nil`: one transaction per report.
        var batching: FeederBatching.Limits?
        /// `nil`: SQLite.
        var postgres: PostgresStoreConfiguration?
    }

    /// One run's figures, as the table and the JSON file show them.
    struct Row: Codable, Sendable {
        var benchmark: String
        var results: Int
        var handOutRequests: Int
        var writeTransactions: Int
        var seconds: Double
        var resultsPerSecond: Double
        var cpuSeconds: Double
        /// `resultsPerSecond` over the first run's (per-report transactions).
        var ratioToPerReport: Double
    }

    static func report(results: Int, connections: Int, handOut: Int, postgres: PostgresStoreConfiguration?)
        async throws -> (String, [Row])
    {
        var modes = [
            Mode(name: "sqlite per-report transactions", batching: nil),
            Mode(name: "sqlite batched (256, linger 2 ms)", batching: .standard),
            Mode(name: "sqlite batched (256, no linger)", batching: .immediate),
        ]
        if let postgres {
            modes += [
                Mode(name: "postgres per-report transactions", batching: nil, postgres: postgres),
                Mode(name: "postgres batched (256, linger 2 ms)", batching: .standard, postgres: postgres),
                Mode(name: "postgres batched (256, no linger)", batching: .immediate, postgres: postgres),
            ]
        }
        var rows: [Row] = []
        for mode in modes {
            let run = try await measure(mode, results: results, connections: connections, handOut: handOut)
            let perSecond = Double(run.reports) / run.seconds
            rows.append(
                Row(
                    benchmark: mode.name, results: run.reports, handOutRequests: run.handOuts,
                    writeTransactions: run.transactions, seconds: run.seconds, resultsPerSecond: perSecond,
                    cpuSeconds: run.cpuSeconds,
                    ratioToPerReport: perSecond / (rows.first?.resultsPerSecond ?? perSecond)))
        }
        return (table(rows), rows)
    }

    static func table(_ rows: [Row]) -> String {
        let width = max(10, rows.map(\.benchmark.count).max() ?? 0)
        func cell(_ text: String, _ length: Int) -> String {
            text.padding(toLength: length, withPad: " ", startingAt: 0)
        }
        var text =
            cell("benchmark", width + 2) + "results  hand-outs  transactions  seconds  results/s  CPU s   ratio\n"
        for row in rows {
            text +=
                cell(row.benchmark, width + 2) + cell(String(row.results), 9) + cell(String(row.handOutRequests), 11)
            text += cell(String(row.writeTransactions), 14) + cell(String(format: "%.2f", row.seconds), 9)
            text +=
                cell(String(format: "%.0f", row.resultsPerSecond), 11) + cell(String(format: "%.1f", row.cpuSeconds), 8)
            text += String(format: "%.2f", row.ratioToPerReport) + "\n"
        }
        return text
    }

    struct Run {
        var reports: Int
        var handOuts: Int
        var transactions: Int
        var seconds: Double
        var cpuSeconds: Double
    }

    /// Counts shared by the connections of one run.
    final class Tally: Sendable {
        let reports = Atomic<Int>(0)
        let handOuts = Atomic<Int>(0)
        let transactions = Atomic<Int>(0)
        let failures = Atomic<Int>(0)
    }

    static func measure(_ mode: Mode, results: Int, connections: Int, handOut: Int) async throws -> Run {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dialer-bench-store-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store: any ManagerStore
        var postgresStore: PostgresManagerStore?
        if let postgres = mode.postgres {
            let opened = try await PostgresManagerStore.open(postgres, passwordIterations: 1_000, clock: { now })
            postgresStore = opened
            store = opened
        } else {
            store = try SQLiteManagerStore(
                path: directory.appendingPathComponent("manager.sqlite").path, passwordIterations: 1_000,
                clock: { now })
        }
        // A campaign of its own: a PostgreSQL database keeps earlier runs' campaigns.
        let run = String(UUID().uuidString.prefix(8)).lowercased()
        let campaign = CampaignID("bench-\(run)")
        try await prepare(store, campaign: campaign, contacts: results)

        let tally = Tally()
        let clock = SystemClock()
        let batcher = mode.batching.map { limits in
            FeederBatcher(
                store: store, limits: limits, clock: clock,
                committed: { _ in tally.transactions.add(1, ordering: .relaxed) })
        }
        let cpuBefore = ProcessUsage.read(pid: getpid(), role: "bench", id: "")?.cpuSeconds ?? 0
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            let loop = Task { await batcher?.run(wallTime: { now }) }
            for index in 0..<connections {
                let node = MemberID("node-\(index)")
                group.addTask {
                    if let batcher {
                        try await batchedConnection(
                            node, campaign: campaign, batcher: batcher, handOut: handOut, tally: tally)
                    } else {
                        try await perReportConnection(
                            node, campaign: campaign, store: store, handOut: handOut, tally: tally)
                    }
                }
            }
            try await group.waitForAll()
            loop.cancel()
            await loop.value
        }
        let seconds = (ContinuousClock.now - start).seconds
        let cpuAfter = ProcessUsage.read(pid: getpid(), role: "bench", id: "")?.cpuSeconds ?? 0
        // (A failed run ends the bench, and its process with the pool.)
        await postgresStore?.shutdown()
        guard tally.failures.load(ordering: .relaxed) == 0 else {
            throw StoreError.conflict("\(tally.failures.load(ordering: .relaxed)) reports were not applied")
        }
        let reports = tally.reports.load(ordering: .relaxed)
        guard reports == results else { throw StoreError.conflict("\(reports) of \(results) results were applied") }
        return Run(
            reports: reports, handOuts: tally.handOuts.load(ordering: .relaxed),
            transactions: tally.transactions.load(ordering: .relaxed), seconds: seconds,
            cpuSeconds: cpuAfter - cpuBefore)
    }

    /// One node, as the manager answered it before batching: a request at a time, each report
    /// its holder's read and its own write transaction.
    static func perReportConnection(
        _ node: MemberID, campaign: CampaignID, store: any ManagerStore, handOut: Int, tally: Tally
    ) async throws {
        while true {
            let handOuts = try await store.checkOutAttempts(
                campaign: campaign, count: handOut, node: node, epoch: Epoch(1), now: now, presentAgents: [])
            tally.handOuts.add(1, ordering: .relaxed)
            tally.transactions.add(1, ordering: .relaxed)
            if handOuts.isEmpty { return }
            for handed in handOuts {
                guard let holder = try await store.attemptHolder(handed.attempt), holder.node == node else {
                    tally.failures.add(1, ordering: .relaxed)
                    continue
                }
                let update = try await store.recordResult(
                    AttemptResult(attempt: handed.attempt, contact: handed.contact.id, outcome: .noAnswer), now: now)
                tally.transactions.add(1, ordering: .relaxed)
                if case .applied = update {
                    tally.reports.add(1, ordering: .relaxed)
                } else {
                    tally.failures.add(1, ordering: .relaxed)
                }
            }
        }
    }

    /// One node through the feeder's batches: its reports are queued without waiting for each
    /// other, and its next hand-out request behind them.
    static func batchedConnection(
        _ node: MemberID, campaign: CampaignID, batcher: FeederBatcher, handOut: Int, tally: Tally
    ) async throws {
        let checkOut = FeederOperation.checkOut(
            campaign: campaign, count: handOut, node: node, epoch: Epoch(1), presentAgents: [])
        while true {
            guard case .checkOut(let handOuts) = try await batcher.apply(checkOut) else {
                throw StoreError.corruptRow("a hand-out answered as a report")
            }
            tally.handOuts.add(1, ordering: .relaxed)
            if handOuts.isEmpty { break }
            for handed in handOuts {
                let result = AttemptResult(attempt: handed.attempt, contact: handed.contact.id, outcome: .noAnswer)
                batcher.submit(.report(result, node: node, epoch: Epoch(1))) { outcome in
                    if case .success(.report(.applied)) = outcome {
                        tally.reports.add(1, ordering: .relaxed)
                    } else {
                        tally.failures.add(1, ordering: .relaxed)
                    }
                }
            }
        }
        await batcher.barrier()
    }

    /// A campaign dialing a list of `contacts` Danish numbers, imported in one job.
    static func prepare(_ store: any ManagerStore, campaign: CampaignID, contacts: Int) async throws {
        let list = ContactListID(campaign.rawValue)
        _ = try await store.createList(id: list, name: "bench", description: "", now: now)
        _ = try await store.createCampaign(
            Campaign(
                id: campaign, name: "bench", list: list, queue: QueueID("q-\(campaign.rawValue)"),
                settings: CampaignSettings(status: .enabled)),
            now: now)
        var csv = "phone\n"
        for index in 0..<contacts { csv += "+45\(20_000_000 + index)\n" }
        let bytes = Array(csv.utf8)
        let chunks = stride(from: 0, to: bytes.count, by: 65_536).map {
            Array(bytes[$0..<min($0 + 65_536, bytes.count)])
        }
        let report = try await store.importContacts(
            into: list, format: .csv, mode: .append, options: ImportOptions(defaultRegion: "DK"),
            requestedBy: "dialer-bench", from: chunks.async)
        guard report.job.accepted == contacts else {
            throw StoreError.conflict("the import added \(report.job.accepted) of \(contacts) contacts")
        }
    }
}

/// An array's elements as an async sequence.
private struct AsyncArray<Element: Sendable>: AsyncSequence, Sendable {
    let elements: [Element]

    struct AsyncIterator: AsyncIteratorProtocol {
        var base: IndexingIterator<[Element]>
        mutating func next() async -> Element? { base.next() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: elements.makeIterator()) }
}

extension Array where Element: Sendable {
    fileprivate var async: AsyncArray<Element> { AsyncArray(elements: self) }
}
