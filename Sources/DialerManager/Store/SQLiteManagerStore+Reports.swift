public import DialerCore
public import FoundationEssentials
import GRDB

/// Which attempts a report or an export reads. Every condition is optional; instants are
/// half-open (`from` included, `to` excluded) on the attempt's start.
public struct AttemptFilter: Sendable, Hashable {
    public var campaign: CampaignID?
    public var agent: AgentID?
    public var outcome: AttemptOutcome?
    /// Only attempts still open (no outcome yet), when true; `outcome` is then ignored.
    public var openOnly = false
    /// The disposition's name.
    public var disposition: String?
    public var from: Date?
    public var to: Date?

    public init(
        campaign: CampaignID? = nil, agent: AgentID? = nil, outcome: AttemptOutcome? = nil,
        disposition: String? = nil, from: Date? = nil, to: Date? = nil
    ) {
        self.campaign = campaign
        self.agent = agent
        self.outcome = outcome
        self.disposition = disposition
        self.from = from
        self.to = to
    }
}

/// Where a page of attempts ended: the next page starts after it (keyset pagination, so a
/// page costs the same wherever it is).
public struct AttemptCursor: Sendable, Hashable {
    /// The start as stored (not converted, so that the comparison is exact).
    var storedStartedAt: Double
    var rowID: Int64

    /// The cursor after `row`.
    public init(after row: AttemptRow) {
        self.storedStartedAt = row.storedStartedAt
        self.rowID = row.rowID
    }
}

/// One attempt as reports and exports read it: the stored columns, instants in Unix seconds.
public struct AttemptRow: Sendable, Hashable {
    public var rowID: Int64
    public var id: String
    public var campaign: String
    public var contactRowID: Int64
    public var node: String?
    public var agent: String?
    public var startedAt: Double
    public var endedAt: Double?
    public var answeredAt: Double?
    public var dialedAt: Double?
    public var bridgedAt: Double?
    public var callEndedAt: Double?
    public var outcome: String?
    public var abandonCause: String?
    public var disposition: String?
    public var dispositionAt: Double?
    public var callerID: String?
    /// The start as the store holds it, for the cursor.
    var storedStartedAt: Double

    /// The contact's id as the API shows it.
    public var contactID: String { ContactKey.id(contactRowID).rawValue }
}

/// Reading attempts page by page, for interval reports and the CSV export.
public protocol AttemptReportStore: Sendable {
    /// Up to `limit` attempts matching `filter`, ordered by start (then insertion), after
    /// `cursor`. Each page is its own read: a long export never holds a transaction open.
    func attemptPage(_ filter: AttemptFilter, after cursor: AttemptCursor?, limit: Int) async throws -> [AttemptRow]
}

extension SQLiteManagerStore {
    /// Unix seconds of the reference date (2001-01-01), the store's instants' origin.
    static let referenceDateUnix = 978_307_200.0

    public func attemptPage(_ filter: AttemptFilter, after cursor: AttemptCursor?, limit: Int) async throws
        -> [AttemptRow]
    {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let campaign = filter.campaign {
            conditions.append("campaign_id = ?")
            arguments += [campaign.rawValue]
        }
        if let from = filter.from {
            conditions.append("started_at >= ?")
            arguments += [from.storeValue]
        }
        if let to = filter.to {
            conditions.append("started_at < ?")
            arguments += [to.storeValue]
        }
        if let cursor {
            conditions.append("(started_at, rowid) > (?, ?)")
            arguments += [cursor.storedStartedAt, cursor.rowID]
        }
        if let agent = filter.agent {
            conditions.append("agent = ?")
            arguments += [agent.rawValue]
        }
        if filter.openOnly {
            conditions.append("outcome IS NULL")
        } else if let outcome = filter.outcome {
            conditions.append("outcome = ?")
            arguments += [outcome.rawValue]
        }
        if let disposition = filter.disposition {
            conditions.append("disposition_name = ?")
            arguments += [disposition]
        }
        arguments += [limit]
        let statementArguments = arguments
        let sql = """
            SELECT rowid, id, campaign_id, contact_id, node, agent, started_at, ended_at, answered_at, dialed_at, \
            bridged_at, call_ended_at, outcome, abandon_cause, disposition_name, disposition_at, caller_id \
            FROM attempt \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")) \
            ORDER BY started_at, rowid LIMIT ?
            """
        return try await pool.read { db in
            let unix = Self.referenceDateUnix
            func instant(_ row: Row, _ index: Int) -> Double? { (row[index] as Double?).map { $0 + unix } }
            var rows: [AttemptRow] = []
            rows.reserveCapacity(limit)
            let cursor = try Row.fetchCursor(db, sql: sql, arguments: statementArguments)
            while let row = try cursor.next() {
                rows.append(
                    AttemptRow(
                        rowID: row[0], id: row[1], campaign: row[2], contactRowID: row[3], node: row[4], agent: row[5],
                        startedAt: (row[6] as Double) + unix, endedAt: instant(row, 7), answeredAt: instant(row, 8),
                        dialedAt: instant(row, 9), bridgedAt: instant(row, 10), callEndedAt: instant(row, 11),
                        outcome: row[12], abandonCause: row[13], disposition: row[14],
                        dispositionAt: instant(row, 15), callerID: row[16], storedStartedAt: row[6]))
            }
            return rows
        }
    }

    /// How many attempts match `filter`, for tests that reports add up.
    func attemptCount(_ filter: AttemptFilter) async throws -> Int {
        var total = 0
        var cursor: AttemptCursor?
        while true {
            let page = try await attemptPage(filter, after: cursor, limit: 10_000)
            total += page.count
            guard page.count == 10_000, let last = page.last else { return total }
            cursor = AttemptCursor(after: last)
        }
    }
}
