import DialerCore
public import FoundationEssentials

// The feeder's batches on PostgreSQL, as SQLiteManagerStore+Batch: one transaction, each result
// the same as the operation applied alone. What differs is the number of round trips, which is
// what bounds the store (each is a wake-up of this process and of the server):
//
// - A run of reports next to each other in a batch is applied with two statements: one locks its
//   attempts and reads them with their contacts, one writes the attempts and the contacts. Each
//   report's answer is decided in Swift from those rows by the rules of the report applied alone.
// - A hand-out writes its contacts and attempts in one statement (see `checkOut`).
// - No savepoint per operation: a batch is first applied at once; when one of its operations
//   fails (a missing campaign, a constraint), that transaction is rolled back and the batch is
//   applied again an operation at a time, each in a savepoint, so that the one that fails is
//   undone alone, as before.

extension PostgresManagerStore {
    public func applyFeederBatch(_ operations: [FeederOperation], now: Date) async throws
        -> [Result<FeederOperationOutcome, any Error>]
    {
        guard !operations.isEmpty else { return [] }
        do {
            return try await write { db in try await Self.applyAtOnce(db, operations, now: now) }
        } catch let failed as OperationFailed {
            logger.debug("a feeder batch is applied again an operation at a time: \(failed.error)")
            return try await write { db in
                var results: [Result<FeederOperationOutcome, any Error>] = []
                results.reserveCapacity(operations.count)
                var campaigns: [CampaignID: Campaign] = [:]
                for operation in operations {
                    results.append(try await Self.applyAlone(db, operation, now: now, campaigns: &campaigns))
                }
                return results
            }
        }
    }

    /// An operation of a batch applied at once failed: the batch is to be applied again an
    /// operation at a time.
    struct OperationFailed: Error {
        var error: any Error
    }

    /// Applies a batch without a savepoint per operation. A failure of the database itself fails
    /// the batch (a deadlock runs it again); any other failure throws ``OperationFailed``.
    static func applyAtOnce(_ db: PGSession, _ operations: [FeederOperation], now: Date) async throws
        -> [Result<FeederOperationOutcome, any Error>]
    {
        var results: [Result<FeederOperationOutcome, any Error>] = []
        results.reserveCapacity(operations.count)
        // Nothing in a batch changes a campaign: each is read once.
        var campaigns: [CampaignID: Campaign] = [:]
        var index = operations.startIndex
        while index < operations.endIndex {
            do {
                let run = BatchReport.run(operations, from: index)
                if run.isEmpty {
                    results.append(
                        .success(try await apply(db, operation: operations[index], now: now, campaigns: &campaigns)))
                    index += 1
                } else {
                    results += try await applyTogether(db, run, now: now, campaigns: &campaigns).map {
                        .success(.report($0))
                    }
                    index += run.count
                }
            } catch {
                if PGErrors.isRetryable(error) { throw error }
                let mapped = PGErrors.map(error)
                if case .unavailable = mapped as? StoreError { throw mapped }
                throw OperationFailed(error: mapped)
            }
        }
        return results
    }

    /// Applies one operation in a savepoint of its own: its failure undoes it alone.
    static func applyAlone(
        _ db: PGSession, _ operation: FeederOperation, now: Date, campaigns: inout [CampaignID: Campaign]
    ) async throws -> Result<FeederOperationOutcome, any Error> {
        do {
            return .success(
                try await db.inSavepoint {
                    try await Self.apply(db, operation: operation, now: now, campaigns: &campaigns)
                })
        } catch let error as StoreError {
            return .failure(error)
        } catch {
            // A failure of the database itself (not of the operation) fails the batch.
            let mapped = PGErrors.map(error)
            if case .unavailable = mapped as? StoreError { throw mapped }
            return .failure(mapped)
        }
    }

    private static func apply(
        _ db: PGSession, operation: FeederOperation, now: Date, campaigns: inout [CampaignID: Campaign]
    ) async throws -> FeederOperationOutcome {
        switch operation {
        case .report(let result, let node, let epoch):
            let holder = try await holder(db, of: result.attempt)
            if let refusal = ReportOutcome.refusal(
                holder: holder, node: node, epoch: epoch, reported: result.outcome)
            {
                return .report(refusal)
            }
            if let holder, campaigns[holder.campaign] == nil {
                campaigns[holder.campaign] = try await PGCampaigns.fetch(db, holder.campaign)
            }
            switch try await apply(db, result: result, now: now, campaigns: campaigns) {
            case .applied(let contact): return .report(.applied(contact))
            case .duplicate, .attemptStillOpen: return .report(.duplicate)
            case .unknownAttempt: return .report(.contactMismatch)
            }
        case .checkOut(let campaign, let count, let node, let epoch, let presentAgents):
            if campaigns[campaign] == nil { campaigns[campaign] = try await PGCampaigns.fetch(db, campaign) }
            return .checkOut(
                try await checkOut(
                    db, campaign: campaign, count: count, node: node, epoch: epoch, now: now,
                    presentAgents: presentAgents, known: campaigns[campaign]))
        }
    }

    /// The reports' answers, each by the rules of the report applied alone (the fence of its
    /// attempt, ``ReportOutcome/refusal(holder:node:epoch:reported:)``, then
    /// `apply(_:result:now:campaigns:)`), with two statements for the whole run (three when a
    /// campaign is not read yet).
    private static func applyTogether(
        _ db: PGSession, _ reports: [BatchReport], now: Date, campaigns: inout [CampaignID: Campaign]
    ) async throws -> [ReportOutcome] {
        // The attempts, locked in the order of their ids (two managers' batches lock in one
        // order) so that two managers applying one result at once apply it once, each with its
        // contact. No transaction changes a contact and leaves its attempt open under the
        // attempt's lock, so a contact read with the lock is as current as one read after it.
        var attempts: [String: PGRow] = [:]
        for row in try await db.query(
            """
            SELECT attempt.id AS attempt_id, attempt.campaign_id AS attempt_campaign, attempt.contact_id, \
            attempt.node, attempt.epoch, attempt.outcome, attempt.disposition, attempt.disposition_at, \
            attempt.agent, attempt.node_lost_on_call, \(ContactColumns.select) \
            FROM attempt LEFT JOIN contact ON contact.id = attempt.contact_id \
            WHERE attempt.id = ANY(?) ORDER BY attempt.id FOR UPDATE OF attempt
            """,
            [PGTextArray(values: reports.map(\.result.attempt.rawValue))])
        {
            attempts[try row.string("attempt_id")] = row
        }

        // What each report comes to before it is written: a refusal, or its attempt's row.
        enum Step {
            case answered(ReportOutcome)
            case closing(PGRow, contact: Contact?, campaign: CampaignID)
        }
        var steps: [Step] = []
        for report in reports {
            guard let row = attempts[report.result.attempt.rawValue] else {
                steps.append(.answered(.notHandedOut))
                continue
            }
            let contactRowID = try row.int64("contact_id")
            let holder = AttemptHolder(
                attempt: report.result.attempt, campaign: CampaignID(try row.string("attempt_campaign")),
                contact: ContactKey.id(contactRowID), node: try row.optionalString("node").map(MemberID.init),
                epoch: try row.optionalInt64("epoch").map { Epoch(UInt64(clamping: $0)) },
                outcome: try row.optionalString("outcome").flatMap(AttemptOutcome.init(rawValue:)))
            if let refusal = ReportOutcome.refusal(
                holder: holder, node: report.node, epoch: report.epoch, reported: report.result.outcome)
            {
                steps.append(.answered(refusal))
                continue
            }
            guard ContactKey.rowID(report.result.contact) == contactRowID else {
                steps.append(.answered(.contactMismatch))
                continue
            }
            guard try row.optionalString("outcome") == nil else {
                steps.append(.answered(.duplicate))
                continue
            }
            // The contact's columns are NULL when it has gone (no foreign key holds it).
            let contact = try row.optionalInt64("id") == nil ? nil : try PGContacts.contact(row)
            steps.append(.closing(row, contact: contact, campaign: holder.campaign))
        }

        var missing: Set<String> = []
        for case .closing(_, _, let campaign) in steps where campaigns[campaign] == nil {
            missing.insert(campaign.rawValue)
        }
        if !missing.isEmpty {
            for row in try await db.query(
                "SELECT * FROM campaign WHERE id = ANY(?)", [PGTextArray(values: missing.sorted())])
            {
                let campaign = try PGCampaigns.campaign(row)
                campaigns[campaign.id] = campaign
            }
        }

        var outcomes: [ReportOutcome] = []
        outcomes.reserveCapacity(reports.count)
        var closings: [PGAttemptClosing] = []
        var changedContacts: [Contact] = []
        for (report, step) in zip(reports, steps) {
            switch step {
            case .answered(let outcome):
                outcomes.append(outcome)
            case .closing(let row, let contact, let campaignID):
                var result = report.result
                let closing = try PGAttemptClosing(row, result: &result, now: now)
                closings.append(closing)
                // As apply(_:result:now:campaigns:): the attempt is closed even when its
                // contact or campaign has gone, and the report answered as not its contact's.
                guard var contact, let campaign = campaigns[campaignID] else {
                    outcomes.append(.contactMismatch)
                    continue
                }
                result.contact = contact.id
                if case .applied = contact.applyResult(result, settings: campaign.settings, now: now) {
                    changedContacts.append(contact)
                }
                outcomes.append(.applied(contact))
            }
        }

        guard !closings.isEmpty else { return outcomes }
        // One statement for both tables; the AFTER triggers (webhooks) see both when they run.
        try await db.execute(
            """
            WITH closed AS (UPDATE attempt SET ended_at = ?, answered_at = v.answered_at, outcome = v.outcome, \
            disposition = v.disposition, disposition_name = v.disposition_name, \
            disposition_at = v.disposition_at, agent = v.agent, dialed_at = v.dialed_at, \
            bridged_at = v.bridged_at, call_ended_at = v.call_ended_at, caller_id = v.caller_id, \
            abandon_cause = v.abandon_cause, node_lost_on_call = v.node_lost_on_call \
            FROM \(PGAttemptClosing.recordSet) WHERE attempt.id = v.id) \
            UPDATE contact SET \(PGContactState.assignments) FROM \(PGContactState.recordSet) WHERE contact.id = v.id
            """,
            [
                now.storeValue, try PGRecordSet(closings),
                try PGRecordSet(changedContacts.map(PGContactState.init)),
            ])
        return outcomes
    }

    /// The holder of the attempt in `row`, a row with its `campaign_id`, `contact_id`, `node`,
    /// `epoch` and `outcome`.
    static func holder(_ row: PGRow, of id: AttemptID) throws -> AttemptHolder {
        AttemptHolder(
            attempt: id, campaign: CampaignID(try row.string("campaign_id")),
            contact: ContactKey.id(try row.int64("contact_id")),
            node: try row.optionalString("node").map(MemberID.init),
            epoch: try row.optionalInt64("epoch").map { Epoch(UInt64(clamping: $0)) },
            outcome: try row.optionalString("outcome").flatMap(AttemptOutcome.init(rawValue:)))
    }
}

/// A report of a batch, with what fences it.
struct BatchReport {
    var result: AttemptResult
    var node: MemberID
    var epoch: Epoch

    var operation: FeederOperation { .report(result, node: node, epoch: epoch) }

    /// The reports from `start` on that can be applied together: next to each other (a hand-out
    /// between them may depend on what they changed, and they on it), and each of an attempt
    /// not reported before in the run (a second copy of a report answers `duplicate` only once
    /// the first is written). Empty when the operation at `start` is a hand-out.
    static func run(_ operations: [FeederOperation], from start: Int) -> [BatchReport] {
        var run: [BatchReport] = []
        var attempts: Set<AttemptID> = []
        for operation in operations[start...] {
            guard case .report(let result, let node, let epoch) = operation,
                attempts.insert(result.attempt).inserted
            else { break }
            run.append(BatchReport(result: result, node: node, epoch: epoch))
        }
        return run
    }
}

/// An attempt's columns as a result closes it, as `apply(_:result:now:campaigns:)` writes them:
/// one row of a ``PGRecordSet``.
struct PGAttemptClosing: Encodable {
    var id: String
    var answeredAt: Double?
    var outcome: String
    var disposition: String?
    var dispositionName: String?
    var dispositionAt: Double?
    var agent: String?
    var dialedAt: Double?
    var bridgedAt: Double?
    var callEndedAt: Double?
    var callerID: String?
    var abandonCause: String?
    var nodeLostOnCall: Int

    enum CodingKeys: String, CodingKey {
        case id, outcome, disposition, agent
        case answeredAt = "answered_at"
        case dispositionName = "disposition_name"
        case dispositionAt = "disposition_at"
        case dialedAt = "dialed_at"
        case bridgedAt = "bridged_at"
        case callEndedAt = "call_ended_at"
        case callerID = "caller_id"
        case abandonCause = "abandon_cause"
        case nodeLostOnCall = "node_lost_on_call"
    }

    /// The closing of the open attempt in `row` by `result`, which takes the disposition and the
    /// agent the attempt recorded before its result (as the result applied alone does).
    init(_ row: PGRow, result: inout AttemptResult, now: Date) throws {
        let details = result.withoutInvalidCallDetails()
        var dispositionAt = result.disposition == nil ? nil : now
        if result.disposition == nil, let pending = try row.optionalString("disposition") {
            result.disposition = try JSONDecoder().decode(Disposition.self, from: Data(pending.utf8))
            dispositionAt = try row.date("disposition_at") ?? now
        }
        if result.agent == nil { result.agent = try row.optionalString("agent").map(AgentID.init) }
        let nodeLostOnCall = try result.outcome == .unknown && row.flag("node_lost_on_call")
        id = result.attempt.rawValue
        answeredAt = details.answeredAt.storeValue
        outcome = result.outcome.rawValue
        disposition = try AttemptColumns.dispositionJSON(result.disposition)
        dispositionName = result.disposition?.name
        self.dispositionAt = dispositionAt?.storeValue
        agent = result.agent?.rawValue
        dialedAt = details.dialedAt.storeValue
        bridgedAt = details.bridgedAt.storeValue
        callEndedAt = details.callEndedAt.storeValue
        callerID = details.callerID
        abandonCause = result.outcome == .abandoned ? result.abandonCause?.rawValue : nil
        self.nodeLostOnCall = nodeLostOnCall ? 1 : 0
    }

    /// The rows of a ``PGRecordSet`` argument as table `v`, typed as the attempt's columns.
    static let recordSet = """
        json_to_recordset(?::JSON) AS v(id TEXT, answered_at DOUBLE PRECISION, outcome TEXT, disposition TEXT, \
        disposition_name TEXT, disposition_at DOUBLE PRECISION, agent TEXT, dialed_at DOUBLE PRECISION, \
        bridged_at DOUBLE PRECISION, call_ended_at DOUBLE PRECISION, caller_id TEXT, abandon_cause TEXT, \
        node_lost_on_call BIGINT)
        """
}
