import DialerCore
import Foundation
import GRDB
import Testing

@testable import DialerManager

@Suite("Store: an attempt's call details (times and caller ID)")
struct StoreCallDetailsTests {
    let context = StoreContext()
    var store: any TestStore { context.store }
    var temporary: TemporaryStore { context.sqlite }

    /// A connected call's result as a node reports it: dialed at 0:10, answered at 0:20, bridged
    /// at 0:22, ended at 2:00 after the hand-out minute.
    private func connected(_ handOut: AttemptHandOut, callerID: String? = "+4570101010") -> AttemptResult {
        AttemptResult(
            attempt: handOut.attempt, contact: handOut.contact.id, outcome: .connected, agent: AgentID("a1"),
            answeredAt: StoreTime.minutes(20 / 60), dialedAt: StoreTime.minutes(10 / 60),
            bridgedAt: StoreTime.minutes(22 / 60), callEndedAt: StoreTime.minutes(2), callerID: callerID)
    }

    private func handOut() async throws -> AttemptHandOut {
        try await makeCampaign(store)
        try await addContacts(store, count: 1)
        return try #require(
            try await store.checkOutAttempts(
                campaign: CampaignID("c1"), count: 1, node: MemberID("n1"), epoch: Epoch(1), now: StoreTime.monday,
                presentAgents: []
            ).first)
    }

    @Test(arguments: StoreKind.allCases) func aReportsTimesAndCallerIDAreStoredAndReadBack(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        let handOut = try await handOut()
        let reported = connected(handOut)
        guard case .applied = try await store.recordResult(reported, now: StoreTime.minutes(3)) else {
            Issue.record("not applied")
            return
        }
        let record = try #require(try await store.attempt(handOut.attempt))
        #expect(record.dialedAt == reported.dialedAt)
        #expect(record.answeredAt == reported.answeredAt)
        #expect(record.bridgedAt == reported.bridgedAt)
        #expect(record.callEndedAt == reported.callEndedAt)
        #expect(record.callerID == "+4570101010")
        // The manager's own instants stay its own: the hand-out and when the result arrived.
        #expect(record.startedAt == StoreTime.monday && record.endedAt == StoreTime.minutes(3))
    }

    @Test(arguments: StoreKind.allCases) func aDuplicateReportChangesNothing(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        let handOut = try await handOut()
        _ = try await store.recordResult(connected(handOut), now: StoreTime.minutes(3))
        let first = try #require(try await store.attempt(handOut.attempt))
        let contact = try await store.contact(handOut.contact.id)

        var other = connected(handOut, callerID: "+4570202020")
        other.dialedAt = StoreTime.minutes(1)
        other.callEndedAt = StoreTime.minutes(5)
        #expect(try await store.recordResult(connected(handOut), now: StoreTime.minutes(4)) == .duplicate)
        #expect(try await store.recordResult(other, now: StoreTime.minutes(4)) == .duplicate)
        #expect(try await store.attempt(handOut.attempt) == first)
        #expect(try await store.contact(handOut.contact.id) == contact)
    }

    @Test(arguments: StoreKind.allCases) func absentDetailsStayAbsent(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        let handOut = try await handOut()
        let bare = AttemptResult(attempt: handOut.attempt, contact: handOut.contact.id, outcome: .noAnswer)
        _ = try await store.recordResult(bare, now: StoreTime.minutes(1))
        let record = try #require(try await store.attempt(handOut.attempt))
        #expect(record.outcome == .noAnswer)
        #expect(record.dialedAt == nil && record.answeredAt == nil && record.bridgedAt == nil)
        #expect(record.callEndedAt == nil && record.callerID == nil)
    }

    /// Details that cannot be right are left out; the result itself is applied all the same.
    @Test(
        arguments: StoreKind.allCases,
        [
            "ended before dialed", "bridged before answered", "a time in 1970", "a caller ID that is not E.164",
        ])
    func detailsThatCannotBeRightAreLeftOutAndTheResultKept(_ kind: StoreKind, _ flaw: String) async throws {
        guard try await context.open(kind) else { return }
        let handOut = try await handOut()
        var reported = connected(handOut)
        switch flaw {
        case "ended before dialed": reported.callEndedAt = StoreTime.minutes(-1)
        case "bridged before answered": reported.bridgedAt = StoreTime.minutes(15 / 60)
        case "a time in 1970": reported.dialedAt = Date(timeIntervalSince1970: 10)
        default: reported.callerID = "0045 70 10 10 10"
        }
        #expect(reported.callDetailProblems.count == 1, "\(reported.callDetailProblems)")
        guard case .applied(let contact) = try await store.recordResult(reported, now: StoreTime.minutes(3)) else {
            Issue.record("not applied")
            return
        }
        #expect(contact.lastOutcome == .connected)
        let record = try #require(try await store.attempt(handOut.attempt))
        #expect(record.outcome == .connected && record.agent == AgentID("a1"))
        if flaw == "a caller ID that is not E.164" {
            #expect(record.callerID == nil)
            #expect(record.dialedAt == reported.dialedAt && record.callEndedAt == reported.callEndedAt)
        } else {
            // Which of the times is wrong cannot be told: none is kept.
            #expect(record.dialedAt == nil && record.answeredAt == nil)
            #expect(record.bridgedAt == nil && record.callEndedAt == nil)
            #expect(record.callerID == "+4570101010")
        }
    }

    @Test(arguments: StoreKind.allCases) func timesThatAreEqualOrPartlyAbsentAreKept(_ kind: StoreKind) async throws {
        guard try await context.open(kind) else { return }
        let handOut = try await handOut()
        // A busy line: dialed and ended only, at the same millisecond.
        let busy = AttemptResult(
            attempt: handOut.attempt, contact: handOut.contact.id, outcome: .busy, dialedAt: StoreTime.minutes(1),
            callEndedAt: StoreTime.minutes(1))
        #expect(busy.callDetailProblems.isEmpty)
        _ = try await store.recordResult(busy, now: StoreTime.minutes(2))
        let record = try #require(try await store.attempt(handOut.attempt))
        #expect(record.dialedAt == StoreTime.minutes(1) && record.callEndedAt == StoreTime.minutes(1))
    }

    @Test(arguments: StoreKind.allCases) func aContactsHistoryListsItsAttemptsOldestFirstOpenOrClosed(_ kind: StoreKind)
        async throws
    {
        guard try await context.open(kind) else { return }
        let first = try await handOut()
        let contact = first.contact.id
        var history = try await store.attempts(ofContact: contact)
        #expect(history.map(\.record.id) == [first.attempt] && history.first?.record.isOpen == true)

        let busy = AttemptResult(attempt: first.attempt, contact: contact, outcome: .busy)
        _ = try await store.recordResult(busy, now: StoreTime.minutes(1))
        // The next day at noon: the busy retry is due and the contact is inside calling hours.
        let nextDay = StoreTime.minutes(24 * 60)
        let second = try #require(
            try await store.checkOutAttempts(
                campaign: CampaignID("c1"), count: 1, node: MemberID("n2"), epoch: Epoch(1), now: nextDay,
                presentAgents: []
            ).first)
        #expect(second.contact.id == contact)
        let reported = connected(second)
        _ = try await store.recordResult(reported, now: StoreTime.minutes(3, after: nextDay))
        _ = try await store.recordDisposition(
            .final("sale"), attempt: second.attempt, agent: AgentID("a1"), now: StoreTime.minutes(4, after: nextDay))

        history = try await store.attempts(ofContact: contact)
        #expect(history.map(\.record.id) == [first.attempt, second.attempt])
        #expect(history.allSatisfy { $0.campaign == CampaignID("c1") })
        #expect(history[0].record.outcome == .busy && history[0].record.node == MemberID("n1"))
        #expect(history[0].dispositionAt == nil)
        let last = history[1]
        #expect(last.record.outcome == .connected && last.record.node == MemberID("n2"))
        #expect(last.record.dialedAt == reported.dialedAt && last.record.callEndedAt == reported.callEndedAt)
        #expect(last.record.callerID == "+4570101010" && last.record.disposition == .final("sale"))
        #expect(last.dispositionAt == StoreTime.minutes(4, after: nextDay))

        #expect(try await store.attempts(ofContact: ContactID("nope")).isEmpty)
    }
}

@Suite("Store: migrating a v7 database")
struct StoreV7MigrationTests {
    /// A database as v7 left it, with a closed attempt and an open one: opening it with this
    /// version adds the call details, keeps every row, and the open attempt's result stores them.
    @Test func aV7DatabaseMigratesAndKeepsItsAttempts() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "dialer-store-v7-\(UUID().uuidString)"
        ).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/manager.sqlite"
        let monday = StoreTime.monday.storeValue
        do {
            let pool = try DatabasePool(path: path)
            try SQLiteManagerStore.migrator.migrate(pool, upTo: "v7: contacts by number")
            try await pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO contact_list (id, name, created_at, updated_at) VALUES ('l1', 'Leads', ?, ?);
                        INSERT INTO campaign (id, name, list_id, queue_id, status, settings, created_at, updated_at)
                            VALUES ('c1', 'Spring', 'l1', 'q-c1', 'enabled', ?, ?, ?);
                        INSERT INTO contact (id, list_id, phone, state, final_reason, final_detail, waiting_since,
                            attempts, last_outcome, last_attempt, last_attempt_at, created_at, updated_at)
                            VALUES (1, 'l1', '+4520000000', 'final', 'outcome', 'invalidNumber', ?, 1,
                            'invalidNumber', 'a-closed', ?, ?, ?);
                        INSERT INTO contact (id, list_id, phone, state, open_attempt, waiting_since, attempts,
                            last_attempt, last_attempt_at, created_at, updated_at)
                            VALUES (2, 'l1', '+4520000001', 'inAttempt', 'a-open', ?, 1, 'a-open', ?, ?, ?);
                        INSERT INTO attempt (id, campaign_id, contact_id, node, epoch, started_at, ended_at,
                            answered_at, outcome) VALUES ('a-closed', 'c1', 1, 'n1', 1, ?, ?, NULL, 'invalidNumber');
                        INSERT INTO attempt (id, campaign_id, contact_id, node, epoch, started_at)
                            VALUES ('a-open', 'c1', 2, 'n1', 1, ?);
                        """,
                    arguments: [
                        monday, monday, try CampaignColumns.settingsJSON(.dialing), monday, monday, monday, monday,
                        monday, monday, monday, monday, monday, monday, monday, monday + 60, monday,
                    ])
            }
            try pool.close()
        }

        let store = try SQLiteManagerStore(path: path, passwordIterations: 1_000)
        #expect(try store.appliedMigrations() == ["v1: api tokens"] + StoreSchema.migrationNames)
        let closed = try #require(try await store.attempt(AttemptID("a-closed")))
        #expect(closed.outcome == .invalidNumber && closed.endedAt == StoreTime.minutes(1))
        #expect(
            closed.dialedAt == nil && closed.bridgedAt == nil && closed.callEndedAt == nil && closed.callerID == nil)

        let result = AttemptResult(
            attempt: AttemptID("a-open"), contact: ContactKey.id(2), outcome: .busy, dialedAt: StoreTime.minutes(2),
            callEndedAt: StoreTime.minutes(2.1), callerID: "+4570101010")
        guard case .applied(let contact) = try await store.recordResult(result, now: StoreTime.minutes(3)) else {
            Issue.record("the v7 attempt's result was not applied")
            return
        }
        #expect(contact.lastOutcome == .busy)
        let reported = try #require(try await store.attempt(AttemptID("a-open")))
        #expect(reported.dialedAt == StoreTime.minutes(2) && reported.callEndedAt == StoreTime.minutes(2.1))
        #expect(reported.callerID == "+4570101010" && reported.outcome == .busy)
    }
}
