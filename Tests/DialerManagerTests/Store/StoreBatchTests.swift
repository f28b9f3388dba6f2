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

/// A batch that mixes every kind of report (fresh, duplicates, stale, fenced by node and epoch,
/// unknown, of another contact, closed as unknown, with a pending disposition) with a hand-out,
/// and what it leaves: the answers and the rows, with attempt ids named by label (hand-outs make
/// new ids in every store).
private enum MixedBatch {
    static let lost = MemberID("n2")
    static let agent = AgentID("a1")
    /// The batch's instant, with a fraction that a rounded instant would lose.
    static let now = StoreTime.monday.addingTimeInterval(0.123_456_789)

    /// What a store holds after the batch, attempt ids replaced by their labels.
    struct Snapshot: Equatable {
        var answers: [String]
        var contacts: [Contact?]
        var attempts: [AttemptRecord?]
    }

    struct Prepared {
        var operations: [FeederOperation]
        var labels: [AttemptID: String]
        var contacts: [ContactID]
        var attempts: [AttemptID]
    }

    /// A campaign of 12 contacts in `store` (fresh): 8 handed to `node`, 2 to `lost` (whose
    /// attempts are then closed as unknown), one reported already, one with a disposition
    /// recorded while its node was lost; and the batch's operations.
    static func prepare(_ store: any ManagerStore) async throws -> Prepared {
        try await makeCampaign(store)
        let contacts = try await addContacts(store, count: 12)
        let h = try await store.checkOutAttempts(
            campaign: CampaignID("c1"), count: 8, node: node, epoch: Epoch(1), now: StoreTime.monday, presentAgents: [])
        let g = try await store.checkOutAttempts(
            campaign: CampaignID("c1"), count: 2, node: lost, epoch: Epoch(1), now: StoreTime.monday, presentAgents: [])
        #expect(h.count == 8 && g.count == 2)
        var labels: [AttemptID: String] = [:]
        for (index, handed) in h.enumerated() { labels[handed.attempt] = "h\(index)" }
        for (index, handed) in g.enumerated() { labels[handed.attempt] = "g\(index)" }
        _ = try await store.recordResult(
            AttemptResult(attempt: h[0].attempt, contact: h[0].contact.id, outcome: .noAnswer), now: StoreTime.monday)
        _ = try await store.closeAttemptsOfLostNode(lost, now: StoreTime.monday)
        _ = try await store.recordDisposition(
            .final("sale"), attempt: h[6].attempt, agent: agent, nodeLost: true, now: StoreTime.minutes(1))

        func result(_ handed: AttemptHandOut, _ outcome: AttemptOutcome) -> AttemptResult {
            AttemptResult(attempt: handed.attempt, contact: handed.contact.id, outcome: outcome)
        }
        let callback = Disposition(
            name: "call-back", action: .callback(at: now.addingTimeInterval(3_600.987_654_321), privateAgent: agent))
        let answered = AttemptResult(
            attempt: h[3].attempt, contact: h[3].contact.id, outcome: .connected, disposition: callback, agent: agent,
            answeredAt: StoreTime.minutes(-1), dialedAt: StoreTime.minutes(-2), callEndedAt: StoreTime.minutes(-0.5),
            callerID: "+4570000000")
        var abandoned = result(h[5], .abandoned)
        abandoned.abandonCause = .noAgentFree
        let operations: [FeederOperation] = [
            .report(result(h[1], .busy), node: node, epoch: Epoch(1)),  // fresh
            .report(result(h[0], .noAnswer), node: node, epoch: Epoch(1)),  // applied before the batch
            .report(result(h[2], .noAnswer), node: lost, epoch: Epoch(1)),  // another node's
            .report(result(h[2], .noAnswer), node: node, epoch: Epoch(2)),  // another epoch's
            .report(answered, node: node, epoch: Epoch(1)),  // with a callback and call details
            .report(result(h[1], .busy), node: node, epoch: Epoch(1)),  // twice in the batch
            .report(
                AttemptResult(attempt: AttemptID("none"), contact: h[4].contact.id, outcome: .busy), node: node,
                epoch: Epoch(1)),
            .report(
                AttemptResult(attempt: h[4].attempt, contact: h[5].contact.id, outcome: .busy), node: node,
                epoch: Epoch(1)),  // names another contact
            .report(result(g[0], .noAnswer), node: lost, epoch: Epoch(1)),  // closed as unknown
            checkOut(2),
            .report(result(h[2], .noAnswer), node: node, epoch: Epoch(1)),  // now its own node's
            .report(result(g[1], .unknown), node: lost, epoch: Epoch(1)),  // unknown again
            .report(abandoned, node: node, epoch: Epoch(1)),
            .report(result(h[6], .noAnswer), node: node, epoch: Epoch(1)),  // takes the pending disposition
            .report(result(h[7], .noAnswer), node: node, epoch: Epoch(1)),
        ]
        return Prepared(
            operations: operations, labels: labels, contacts: contacts.map(\.id),
            attempts: h.map(\.attempt) + g.map(\.attempt))
    }

    /// The answers and rows after `results`, with the batch's hand-outs labelled in order.
    static func snapshot(
        _ store: any ManagerStore, _ prepared: Prepared, _ results: [Result<FeederOperationOutcome, any Error>]
    ) async throws -> Snapshot {
        var labels = prepared.labels
        var attempts = prepared.attempts
        for result in results {
            guard case .success(.checkOut(let handOuts)) = result else { continue }
            for handed in handOuts {
                labels[handed.attempt] = "new\(labels.count)"
                attempts.append(handed.attempt)
            }
        }
        func label(_ id: AttemptID) -> AttemptID { AttemptID(labels[id] ?? "unlabelled") }
        func normalized(_ contact: Contact) -> Contact {
            var contact = contact
            if case .inAttempt(let attempt) = contact.state { contact.state = .inAttempt(label(attempt)) }
            contact.lastAttempt = contact.lastAttempt.map(label)
            return contact
        }
        let answers = results.map { result -> String in
            switch result {
            case .success(.report(.applied(let contact))): "applied \(normalized(contact))"
            case .success(.report(let outcome)): "\(outcome)"
            case .success(.checkOut(let handOuts)): "handed out \(handOuts.map { normalized($0.contact) })"
            case .failure(let error): "failed \(error)"
            }
        }
        var contacts: [Contact?] = []
        for id in prepared.contacts { contacts.append(try await store.contact(id).map(normalized)) }
        var records: [AttemptRecord?] = []
        for id in attempts {
            records.append(
                try await store.attempt(id).map {
                    var record = $0
                    record.id = label(record.id)
                    return record
                })
        }
        return Snapshot(answers: answers, contacts: contacts, attempts: records)
    }
}

@Suite("Store: a batch's reports together, as each applied alone")
struct StoreMixedBatchTests {
    @Test(arguments: StoreKind.allCases)
    func eachReportOfAMixedBatchGetsTheAnswerItGetsAlone(_ kind: StoreKind) async throws {
        let together = StoreContext()
        let alone = StoreContext()
        guard try await together.open(kind), try await alone.open(kind) else { return }

        let batch = try await MixedBatch.prepare(together.store)
        let results = try await together.store.applyFeederBatch(batch.operations, now: MixedBatch.now)
        let one = try await MixedBatch.prepare(alone.store)
        var resultsAlone: [Result<FeederOperationOutcome, any Error>] = []
        for operation in one.operations {
            resultsAlone += try await alone.store.applyFeederBatch([operation], now: MixedBatch.now)
        }

        let snapshot = try await MixedBatch.snapshot(together.store, batch, results)
        #expect(snapshot == (try await MixedBatch.snapshot(alone.store, one, resultsAlone)))
        let kinds = results.map { result -> String in
            switch result {
            case .success(.report(.applied)): "applied"
            case .success(.report(let outcome)): "\(outcome)"
            case .success(.checkOut(let handOuts)): "handed out \(handOuts.count)"
            case .failure(let error): "failed \(error)"
            }
        }
        #expect(
            kinds == [
                "applied", "duplicate", "heldElsewhere", "heldElsewhere", "applied", "duplicate", "notHandedOut",
                "contactMismatch", "closedAsUnknown", "handed out 2", "applied", "duplicate", "applied", "applied",
                "applied",
            ])
        // The pending disposition and its agent went with the result; the callback's instant and
        // the batch's are stored exactly.
        let pending = snapshot.attempts[6]
        #expect(pending?.disposition?.name == "sale" && pending?.agent == MixedBatch.agent)
        #expect(pending?.endedAt == MixedBatch.now)
        let callbackAt = MixedBatch.now.addingTimeInterval(3_600.987_654_321)
        #expect(snapshot.contacts.contains { $0?.callback?.at == callbackAt })
    }

    /// SQLite applies a batch an operation at a time; PostgreSQL a run of reports together: the
    /// same batch leaves the same answers and rows in both.
    @Test func bothStoresLeaveTheSameRows() async throws {
        let sqlite = StoreContext()
        let postgres = StoreContext()
        guard try await sqlite.open(.sqlite), try await postgres.open(.postgres) else { return }
        var snapshots: [MixedBatch.Snapshot] = []
        for context in [sqlite, postgres] {
            let batch = try await MixedBatch.prepare(context.store)
            let results = try await context.store.applyFeederBatch(batch.operations, now: MixedBatch.now)
            snapshots.append(try await MixedBatch.snapshot(context.store, batch, results))
        }
        #expect(snapshots[0] == snapshots[1])
    }
}
