import DialerCore
import DialerTestSupport
import Foundation
import GRDB
import Synchronization
import Testing

@testable import DialerManager

/// Refuses every commit while `refusing` is set: a transaction that cannot commit.
private final class CommitRefusal: TransactionObserver, @unchecked Sendable {
    struct Refused: Error {}
    // Read and written only on the store's writer queue, or before the writes the test starts.
    var refusing = true

    func observes(eventsOfKind eventKind: DatabaseEventKind) -> Bool { false }
    func databaseDidChange(with event: DatabaseEvent) {}
    func databaseWillCommit() throws { if refusing { throw Refused() } }
    func databaseDidCommit(_ db: Database) {}
    func databaseDidRollback(_ db: Database) {}
}

private let node = MemberID("n1")

private func checkOut(_ count: Int, campaign: String = "c1") -> FeederOperation {
    .checkOut(campaign: CampaignID(campaign), count: count, node: node, epoch: Epoch(1), presentAgents: [])
}

private func report(_ handOut: AttemptHandOut, _ outcome: AttemptOutcome) -> FeederOperation {
    .report(
        AttemptResult(attempt: handOut.attempt, contact: handOut.contact.id, outcome: outcome), node: node,
        epoch: Epoch(1))
}

private func handOuts(_ result: Result<FeederOperationOutcome, any Error>) throws -> [AttemptHandOut] {
    guard case .checkOut(let handOuts) = try result.get() else { throw StoreError.corruptRow("not a hand-out") }
    return handOuts
}

private func reportOutcome(_ result: Result<FeederOperationOutcome, any Error>) -> ReportOutcome? {
    guard case .success(.report(let outcome)) = result else { return nil }
    return outcome
}

@Suite("Store: the feeder's batches")
struct StoreBatchTests {
    let context = StoreContext()
    var store: any TestStore { context.store }
    var temporary: TemporaryStore { context.sqlite }
    let now = StoreTime.monday

    @Test(arguments: StoreKind.allCases) func aBatchAppliesHandOutsAndReportsInOrder(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        try await addContacts(store, count: 4)
        let first = try handOuts(try await store.applyFeederBatch([checkOut(2)], now: now)[0])
        // A report and a hand-out in one batch: the second hand-out sees the first's contacts
        // in their attempts, and the reported contact is not handed out again at once.
        let results = try await store.applyFeederBatch(
            [report(first[0], .busy), checkOut(10), report(first[1], .noAnswer), report(first[0], .busy)], now: now)
        #expect(results.count == 4)
        #expect(reportOutcome(results[0]).map { if case .applied = $0 { true } else { false } } == true)
        let second = try handOuts(results[1])
        #expect(second.count == 2)
        #expect(Set(second.map(\.contact.id)).isDisjoint(with: first.map(\.contact.id)))
        #expect(reportOutcome(results[2]).map { if case .applied = $0 { true } else { false } } == true)
        #expect(reportOutcome(results[3]) == .duplicate)
        #expect(try await store.attempt(first[0].attempt)?.outcome == .busy)
        #expect(try await store.attempt(first[1].attempt)?.outcome == .noAnswer)
        #expect(try await store.openAttempts(campaign: nil).count == 2)
    }

    @Test(arguments: StoreKind.allCases) func anOperationThatFailsIsUndoneAloneAndTheBatchGoesOn(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        try await addContacts(store, count: 2)
        let handed = try await store.checkOutAttempts(
            campaign: CampaignID("c1"), count: 2, node: node, epoch: Epoch(1), now: now, presentAgents: [])
        let results = try await store.applyFeederBatch(
            [report(handed[0], .busy), checkOut(1, campaign: "missing"), report(handed[1], .busy)], now: now)
        guard case .failure(StoreError.notFound) = results[1] else {
            Issue.record("a hand-out of a missing campaign is not found: \(results[1])")
            return
        }
        #expect(try await store.attempt(handed[0].attempt)?.outcome == .busy)
        #expect(try await store.attempt(handed[1].attempt)?.outcome == .busy)
    }

    @Test(arguments: StoreKind.allCases) func reportsAreFencedByTheirAttempt(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        try await makeCampaign(store)
        try await addContacts(store, count: 1)
        let handed = try await store.checkOutAttempts(
            campaign: CampaignID("c1"), count: 1, node: node, epoch: Epoch(1), now: now, presentAgents: [])[0]
        let result = AttemptResult(attempt: handed.attempt, contact: handed.contact.id, outcome: .busy)
        let unknown = AttemptResult(attempt: AttemptID("nope"), contact: handed.contact.id, outcome: .busy)
        let wrongContact = AttemptResult(attempt: handed.attempt, contact: ContactID("999"), outcome: .busy)
        let results = try await store.applyFeederBatch(
            [
                .report(unknown, node: node, epoch: Epoch(1)),
                .report(result, node: MemberID("n2"), epoch: Epoch(1)),
                .report(result, node: node, epoch: Epoch(2)),
                .report(wrongContact, node: node, epoch: Epoch(1)),
            ], now: now)
        #expect(results.map(reportOutcome) == [.notHandedOut, .heldElsewhere, .heldElsewhere, .contactMismatch])
        #expect(try await store.attempt(handed.attempt)?.isOpen == true)
        _ = try await store.closeAttemptsOfLostNode(node, now: now)
        let late = try await store.applyFeederBatch([report(handed, .busy)], now: now)
        #expect(late.map(reportOutcome) == [.closedAsUnknown])
    }

    @Test func aBatchThatCannotCommitLeavesNothingOfItsReports() async throws {
        _ = try await context.open(.sqlite)
        let store = temporary.store
        try await makeCampaign(store)
        try await addContacts(store, count: 3)
        let handed = try await store.checkOutAttempts(
            campaign: CampaignID("c1"), count: 3, node: node, epoch: Epoch(1), now: now, presentAgents: [])
        let contactsBefore = try await handed.asyncMap { try await store.contact($0.contact.id) }
        let refusal = CommitRefusal()
        store.pool.add(transactionObserver: refusal, extent: .databaseLifetime)
        let operations = handed.map { report($0, .busy) } + [checkOut(1)]
        await #expect(throws: CommitRefusal.Refused.self) {
            _ = try await store.applyFeederBatch(operations, now: now)
        }
        for handOut in handed { #expect(try await store.attempt(handOut.attempt)?.isOpen == true) }
        #expect(try await handed.asyncMap { try await store.contact($0.contact.id) } == contactsBefore)
        #expect(try await store.openAttempts(campaign: nil).count == 3)

        try await store.pool.writeWithoutTransaction { _ in refusal.refusing = false }
        let results = try await store.applyFeederBatch(operations, now: now)
        #expect(results.prefix(3).allSatisfy { if case .applied = reportOutcome($0) { true } else { false } })
        for handOut in handed { #expect(try await store.attempt(handOut.attempt)?.outcome == .busy) }
    }

    @Test func eachAcknowledgementComesAfterItsReportIsCommitted() async throws {
        _ = try await context.open(.sqlite)
        let store = temporary.store
        try await makeCampaign(store)
        try await addContacts(store, count: 20)
        let handed = try await store.checkOutAttempts(
            campaign: CampaignID("c1"), count: 20, node: node, epoch: Epoch(1), now: now, presentAgents: [])
        // A second connection to the file sees only what is committed.
        let reader = try DatabaseQueue(path: temporary.path)
        let seenAtAck = Mutex<[String: String?]>([:])
        let clock = ManualClock()
        let batcher = FeederBatcher(store: store, limits: .immediate, clock: clock)
        for handOut in handed {
            batcher.submit(report(handOut, .busy)) { _ in
                let outcome = try? reader.read { db in
                    try String.fetchOne(
                        db, sql: "SELECT outcome FROM attempt WHERE id = ?", arguments: [handOut.attempt.rawValue])
                }
                seenAtAck.withLock { $0[handOut.attempt.rawValue] = outcome }
            }
        }
        let loop = Task { await batcher.run(wallTime: { StoreTime.monday }) }
        #expect(await waitForCondition(timeout: .seconds(20)) { seenAtAck.withLock { $0.count } == 20 })
        #expect(seenAtAck.withLock { $0.values.allSatisfy { $0 == "busy" } })
        loop.cancel()
        await loop.value
    }

    @Test func aCrashBetweenCommitAndAcknowledgementAppliesNothingTwice() async throws {
        _ = try await context.open(.sqlite)
        let store = temporary.store
        try await makeCampaign(store, settings: CampaignSettings(status: .enabled))
        try await addContacts(store, count: 5)
        let handed = try await store.checkOutAttempts(
            campaign: CampaignID("c1"), count: 5, node: node, epoch: Epoch(1), now: now, presentAgents: [])
        let operations = handed.map { report($0, .noAnswer) }
        // Applied and committed; the acknowledgements are lost with the process.
        _ = try await store.applyFeederBatch(operations, now: now)
        let contactsAfter = try await handed.asyncMap { try await store.contact($0.contact.id) }
        let attemptsAfter = try await handed.asyncMap { try await store.attempts(ofContact: $0.contact.id) }

        // The restarted manager opens the same file; the nodes send every report again.
        let restarted = try SQLiteManagerStore(path: temporary.path, passwordIterations: 1_000)
        let again = try await restarted.applyFeederBatch(operations, now: StoreTime.minutes(5))
        #expect(again.map(reportOutcome) == Array(repeating: .duplicate, count: 5))
        #expect(try await handed.asyncMap { try await restarted.contact($0.contact.id) } == contactsAfter)
        #expect(try await handed.asyncMap { try await restarted.attempts(ofContact: $0.contact.id) } == attemptsAfter)
        #expect(contactsAfter.allSatisfy { $0?.attempts == 1 })
    }
}

extension Array {
    fileprivate func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var mapped: [T] = []
        for element in self { mapped.append(try await transform(element)) }
        return mapped
    }
}
