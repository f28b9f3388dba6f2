import DialerCore
import Foundation
import GRDB

@testable import DialerManager

/// An attempt written straight into the store, as a node's results would leave it.
struct StoredAttempt {
    var id: String
    var campaign: String = "c1"
    var contact: Int64 = 1
    var agent: String?
    var startedAt: Date
    var outcome: String? = "noAnswer"
    var abandonCause: String?
    var disposition: String?
    var bridgedAt: Date?
    var callEndedAt: Date?
    var dispositionAt: Date?
    var callerID: String?
}

extension SQLiteManagerStore {
    /// Inserts attempts directly (the reports read what is stored, whatever wrote it).
    func insertAttemptsForTesting(_ attempts: [StoredAttempt]) async throws {
        try await pool.write { db in
            let statement = try db.makeStatement(
                sql: """
                    INSERT INTO attempt (id, campaign_id, contact_id, agent, started_at, ended_at, outcome, \
                    abandon_cause, disposition_name, bridged_at, call_ended_at, disposition_at, caller_id) \
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
            for attempt in attempts {
                try statement.execute(arguments: [
                    attempt.id, attempt.campaign, attempt.contact, attempt.agent, attempt.startedAt.storeValue,
                    attempt.outcome == nil ? nil : (attempt.callEndedAt ?? attempt.startedAt).storeValue,
                    attempt.outcome, attempt.abandonCause, attempt.disposition, attempt.bridgedAt?.storeValue,
                    attempt.callEndedAt?.storeValue, attempt.dispositionAt?.storeValue, attempt.callerID,
                ])
            }
        }
    }

    /// Runs `sql` and reads one integer, for tests that compare reports with the store.
    func integerForTesting(_ sql: String, _ arguments: [Double] = []) async throws -> Int {
        try await pool.read { db in try Int.fetchOne(db, sql: sql, arguments: StatementArguments(arguments)) ?? 0 }
    }

    func executeForTesting(_ sql: String, _ arguments: [Double] = []) async throws {
        try await pool.write { db in try db.execute(sql: sql, arguments: StatementArguments(arguments)) }
    }
}

/// A repeatable mix of attempts over three days for campaigns c1 and c2 and agents a1 to a3.
func attemptMix(count: Int, start: Date, seed: UInt64 = 7) -> [StoredAttempt] {
    var random = SeededGenerator(seed: seed)
    let outcomes = [
        "connected", "abandoned", "machine", "busy", "noAnswer", "invalidNumber", "networkFailure", "unknown",
    ]
    let causes = [nil, "no-agent-free", "customer-hung-up", "granted-late"]
    let dispositions = ["sale", "no sale", "call back"]
    return (0..<count).map { index in
        let startedAt = start.addingTimeInterval(Double(random.next() % (3 * 86_400 * 1000)) / 1000)
        var attempt = StoredAttempt(
            id: "a\(index)", campaign: index % 3 == 0 ? "c2" : "c1", contact: Int64(index + 1), startedAt: startedAt)
        let draw = Int(random.next() % 10)
        attempt.outcome = draw == 9 ? nil : outcomes[draw % outcomes.count]
        if attempt.outcome == "abandoned" { attempt.abandonCause = causes[Int(random.next() % 4)] }
        if attempt.outcome == "connected" {
            attempt.agent = "a\(1 + random.next() % 3)"
            attempt.bridgedAt = startedAt.addingTimeInterval(5)
            attempt.callEndedAt = startedAt.addingTimeInterval(5 + Double(random.next() % 300))
            attempt.disposition = dispositions[Int(random.next() % 3)]
            attempt.dispositionAt = attempt.callEndedAt!.addingTimeInterval(Double(random.next() % 60))
        }
        return attempt
    }
}
