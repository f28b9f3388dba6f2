public import DialerCore
public import FoundationEssentials
import GRDB

/// Whom an attempt was handed to, under which lease epoch, and how it ended: what the feeder
/// checks before it applies a node's report.
public struct AttemptHolder: Hashable, Sendable {
    public var attempt: AttemptID
    public var campaign: CampaignID
    public var contact: ContactID
    /// The node the attempt was handed to.
    public var node: MemberID?
    /// The lease epoch the node asked under.
    public var epoch: Epoch?
    /// How the attempt ended; `nil` while it is open.
    public var outcome: AttemptOutcome?

    public init(
        attempt: AttemptID, campaign: CampaignID, contact: ContactID, node: MemberID?, epoch: Epoch?,
        outcome: AttemptOutcome?
    ) {
        self.attempt = attempt
        self.campaign = campaign
        self.contact = contact
        self.node = node
        self.epoch = epoch
        self.outcome = outcome
    }
}

// What the cluster side (the feeder over the protocol, node loss) needs beyond the feeder's
// own operations.

extension SQLiteManagerStore {
    public func campaign(dialing queue: QueueID) async throws -> Campaign? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM campaign WHERE queue_id = ?", arguments: [queue.rawValue])
                .map(CampaignColumns.campaign)
        }
    }

    public func attemptHolder(_ id: AttemptID) async throws -> AttemptHolder? {
        try await pool.read { db in try Self.holder(db, of: id) }
    }

    /// The attempt's holder as `db` has it.
    static func holder(_ db: Database, of id: AttemptID) throws -> AttemptHolder? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT id, campaign_id, contact_id, node, epoch, outcome FROM attempt WHERE id = ?"),
                arguments: [id.rawValue])
        else { return nil }
        let node: String? = row["node"]
        let epoch: Int64? = row["epoch"]
        let outcome: String? = row["outcome"]
        return AttemptHolder(
            attempt: id, campaign: CampaignID(row["campaign_id"]), contact: ContactKey.id(row["contact_id"]),
            node: node.map(MemberID.init), epoch: epoch.map { Epoch(UInt64(clamping: $0)) },
            outcome: outcome.flatMap(AttemptOutcome.init(rawValue:)))
    }

    public func nodesWithOpenAttempts() async throws -> Set<MemberID> {
        try await pool.read { db in
            Set(
                try String.fetchAll(
                    db, sql: "SELECT DISTINCT node FROM attempt WHERE outcome IS NULL AND node IS NOT NULL"
                ).map(MemberID.init))
        }
    }

    public func closeAttemptsOfLostNode(_ node: MemberID, handedOutThrough cutoff: Date, now: Date) async throws
        -> [AttemptID]
    {
        try await pool.write { db in
            let open = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, contact_id FROM attempt WHERE node = ? AND outcome IS NULL AND started_at <= ? \
                    ORDER BY id
                    """,
                arguments: [node.rawValue, cutoff.storeValue])
            var closed: [AttemptID] = []
            for row in open {
                let attempt = AttemptID(row["id"])
                // As closeAttemptsOfLostNode(_:now:): unknown, so retried after the retry interval.
                let result = AttemptResult(
                    attempt: attempt, contact: ContactKey.id(row["contact_id"]), outcome: .unknown)
                _ = try Self.apply(db, result: result, now: now)
                closed.append(attempt)
            }
            return closed
        }
    }
}
