import DialerCore
public import FoundationEssentials
import GRDB

// The feeder's writes in batches: one transaction, each operation in a savepoint of its own.

extension SQLiteManagerStore {
    public func applyFeederBatch(_ operations: [FeederOperation], now: Date) async throws
        -> [Result<FeederOperationOutcome, any Error>]
    {
        guard !operations.isEmpty else { return [] }
        return try await pool.write { db in
            var results: [Result<FeederOperationOutcome, any Error>] = []
            results.reserveCapacity(operations.count)
            let campaigns = BatchCampaigns(db)
            for operation in operations {
                var outcome: FeederOperationOutcome?
                do {
                    // A failure undoes this operation alone (back to its savepoint); the rest of
                    // the batch goes on.
                    try db.inSavepoint {
                        outcome = try Self.apply(db, operation: operation, now: now, campaigns: campaigns)
                        return .commit
                    }
                    if let outcome { results.append(.success(outcome)) }
                } catch {
                    results.append(.failure(error))
                }
            }
            return results
        }
    }

    /// Applies one feeder operation in `db`.
    static func apply(_ db: Database, operation: FeederOperation, now: Date, campaigns: BatchCampaigns) throws
        -> FeederOperationOutcome
    {
        switch operation {
        case .report(let result, let node, let epoch):
            return .report(
                try applyReport(db, result: result, node: node, epoch: epoch, now: now, campaigns: campaigns.campaign))
        case .checkOut(let campaign, let count, let node, let epoch, let presentAgents):
            return .checkOut(
                try checkOut(
                    db, campaign: campaign, count: count, node: node, epoch: epoch, now: now,
                    presentAgents: presentAgents))
        }
    }

    /// Applies a node's report in `db`, fenced by its attempt: it must have been handed to the
    /// node under the report's epoch.
    static func applyReport(
        _ db: Database, result: AttemptResult, node: MemberID, epoch: Epoch, now: Date,
        campaigns: (CampaignID) throws -> Campaign?
    ) throws -> ReportOutcome {
        let holder = try holder(db, of: result.attempt)
        if let refusal = ReportOutcome.refusal(holder: holder, node: node, epoch: epoch, reported: result.outcome) {
            return refusal
        }
        switch try apply(db, result: result, now: now, campaigns: campaigns) {
        case .applied(let contact): return .applied(contact)
        case .duplicate, .attemptStillOpen: return .duplicate
        case .unknownAttempt: return .contactMismatch
        }
    }
}

/// The campaigns one batch has read, each decoded once: nothing in a batch changes a campaign.
final class BatchCampaigns {
    private let db: Database
    private var known: [CampaignID: Campaign] = [:]

    init(_ db: Database) {
        self.db = db
    }

    func campaign(_ id: CampaignID) throws -> Campaign? {
        if let campaign = known[id] { return campaign }
        let campaign = try CampaignColumns.fetch(db, id)
        known[id] = campaign
        return campaign
    }
}
