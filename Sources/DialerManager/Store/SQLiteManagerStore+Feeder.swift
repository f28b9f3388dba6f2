public import DialerCore
public import FoundationEssentials
import GRDB
import Synchronization

// The feeder's side of the store: hand-outs, results, lost nodes.

extension SQLiteManagerStore {
    public func checkOutAttempts(
        campaign id: CampaignID, count: Int, node: MemberID, epoch: Epoch, now: Date, presentAgents: Set<AgentID>
    ) async throws -> [AttemptHandOut] {
        try await pool.write { db in
            try Self.checkOut(
                db, campaign: id, count: count, node: node, epoch: epoch, now: now, presentAgents: presentAgents)
        }
    }

    /// Hands out attempts in `db`, as ``checkOutAttempts(campaign:count:node:epoch:now:presentAgents:)``.
    static func checkOut(
        _ db: Database, campaign id: CampaignID, count: Int, node: MemberID, epoch: Epoch, now: Date,
        presentAgents: Set<AgentID>
    ) throws -> [AttemptHandOut] {
        guard let campaign = try CampaignColumns.fetch(db, id) else { throw StoreError.notFound("campaign \(id)") }
        guard count > 0 else { return [] }
        let chosen = try FeederQuery.choose(
            db, campaign: campaign, count: count, now: now, presentAgents: presentAgents)
        var handOuts: [AttemptHandOut] = []
        for var contact in chosen {
            let attempt = AttemptID(UUID().uuidString.lowercased())
            try contact.beginAttempt(attempt, now: now)
            var arguments = ContactColumns.stateArguments(contact)
            arguments += [ContactKey.rowID(contact.id)]
            // The state guard repeats in SQL what beginAttempt checked on the row just read;
            // the unique index on open attempts below is the last line.
            try db.cachedStatement(
                sql: """
                    UPDATE contact SET \(ContactColumns.stateAssignments) \
                    WHERE id = ? AND state IN ('fresh', 'scheduled')
                    """
            ).execute(arguments: arguments)
            guard db.changesCount == 1 else {
                throw StoreError.conflict("contact \(contact.id) changed under the feeder")
            }
            try db.cachedStatement(
                sql: """
                    INSERT INTO attempt (id, campaign_id, contact_id, node, epoch, started_at) VALUES (?, ?, ?, ?, ?, ?)
                    """
            ).execute(
                arguments: [
                    attempt.rawValue, id.rawValue, ContactKey.rowID(contact.id), node.rawValue,
                    Int64(clamping: epoch.rawValue), now.storeValue,
                ])
            handOuts.append(AttemptHandOut(attempt: attempt, contact: contact))
        }
        return handOuts
    }

    public func recordResult(_ result: AttemptResult, now: Date) async throws -> LedgerUpdate {
        try await pool.write { db in try Self.apply(db, result: result, now: now) }
    }

    public func recordDisposition(
        _ disposition: Disposition, attempt: AttemptID, agent: AgentID?, nodeLost: Bool, now: Date
    ) async throws -> LedgerUpdate {
        try await pool.write { db in
            guard
                let row = try Row.fetchOne(
                    db, sql: "SELECT * FROM attempt WHERE id = ?", arguments: [attempt.rawValue]),
                var contact = try ContactColumns.fetch(db, rowID: row["contact_id"]),
                let campaign = try CampaignColumns.fetch(db, CampaignID(row["campaign_id"]))
            else { return .unknownAttempt }
            guard let outcome = row["outcome"] as String? else {
                guard nodeLost else { return .attemptStillOpen }
                // The node is gone and the sweep closes the attempt later: keep the disposition
                // for that result, which applies it to the contact.
                guard row["disposition"] as String? == nil else { return .duplicate }
                try db.execute(
                    sql: """
                        UPDATE attempt SET disposition = ?, disposition_name = ?, disposition_at = ?, \
                        agent = COALESCE(agent, ?), node_lost_on_call = 1 WHERE id = ?
                        """,
                    arguments: [
                        try AttemptColumns.dispositionJSON(disposition), disposition.name, now.storeValue,
                        agent?.rawValue, attempt.rawValue,
                    ])
                return .applied(contact)
            }
            if outcome == AttemptOutcome.unknown.rawValue {
                // Only an agent connected to the call has its attempt: someone talked.
                try db.execute(
                    sql: "UPDATE attempt SET node_lost_on_call = 1 WHERE id = ?", arguments: [attempt.rawValue])
            }
            guard row["disposition"] as String? == nil,
                case .applied = contact.applyDisposition(
                    disposition, attempt: attempt, settings: campaign.settings, now: now)
            else { return .duplicate }
            try db.execute(
                sql: """
                    UPDATE attempt SET disposition = ?, disposition_name = ?, disposition_at = ?, \
                    agent = COALESCE(agent, ?) WHERE id = ?
                    """,
                arguments: [
                    try AttemptColumns.dispositionJSON(disposition), disposition.name, now.storeValue, agent?.rawValue,
                    attempt.rawValue,
                ])
            try ContactColumns.saveState(db, contact)
            return .applied(contact)
        }
    }

    public func closeAttemptsOfLostNode(_ node: MemberID, now: Date) async throws -> [AttemptID] {
        try await pool.write { db in
            let open = try Row.fetchAll(
                db, sql: "SELECT id, contact_id FROM attempt WHERE node = ? AND outcome IS NULL ORDER BY id",
                arguments: [node.rawValue])
            var closed: [AttemptID] = []
            for row in open {
                let attempt = AttemptID(row["id"])
                // Unknown: the customer may have just been called, so the domain schedules the
                // retry after the retry interval (never under its minimum), not at once.
                let result = AttemptResult(
                    attempt: attempt, contact: ContactKey.id(row["contact_id"]), outcome: .unknown)
                _ = try Self.apply(db, result: result, now: now)
                closed.append(attempt)
            }
            return closed
        }
    }

    public func attempt(_ id: AttemptID) async throws -> AttemptRecord? {
        try await pool.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM attempt WHERE id = ?", arguments: [id.rawValue])
                .map(AttemptColumns.record)
        }
    }

    public func openAttempts(campaign: CampaignID?) async throws -> [AttemptRecord] {
        try await pool.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM attempt WHERE outcome IS NULL AND (? IS NULL OR campaign_id = ?) \
                    ORDER BY started_at, id
                    """,
                arguments: [campaign?.rawValue, campaign?.rawValue]
            ).map(AttemptColumns.record)
        }
    }

    public func attempts(ofContact contact: ContactID) async throws -> [ContactAttempt] {
        guard let rowID = ContactKey.rowID(contact) else { return [] }
        return try await pool.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM attempt WHERE contact_id = ? ORDER BY started_at, id", arguments: [rowID]
            ).map { row in
                ContactAttempt(
                    campaign: CampaignID(row["campaign_id"]), record: try AttemptColumns.record(row),
                    dispositionAt: row.date("disposition_at"))
            }
        }
    }

    /// Inserts an open attempt without any check but the database's own, for the test that the
    /// schema refuses a second open attempt of a contact.
    func insertOpenAttemptForTesting(id: String, campaign: CampaignID, contact: ContactID) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO attempt (id, campaign_id, contact_id, started_at) VALUES (?, ?, ?, 0)",
                arguments: [id, campaign.rawValue, ContactKey.rowID(contact)])
        }
    }

    /// Applies a result in `db`, as ``ContactLedger/apply(result:now:)`` does in memory.
    ///
    /// - Parameter campaigns: reads a campaign; a batch passes one that remembers what it read,
    ///   since nothing in a batch changes a campaign.
    static func apply(
        _ db: Database, result: AttemptResult, now: Date,
        campaigns: (CampaignID) throws -> Campaign? = { _ in nil }
    ) throws -> LedgerUpdate {
        // Cached statements: the feeder's batches run these many times in one transaction.
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT * FROM attempt WHERE id = ?"), arguments: [result.attempt.rawValue])
        else { return .unknownAttempt }
        let contactRowID: Int64 = row["contact_id"]
        guard ContactKey.rowID(result.contact) == contactRowID else { return .unknownAttempt }
        guard row["outcome"] as String? == nil else { return .duplicate }
        // The feeder has logged what it drops; any other caller gets the same rule.
        let details = result.withoutInvalidCallDetails()
        var result = result
        var dispositionAt = result.disposition == nil ? nil : now
        // A disposition kept while the attempt was open (its node was lost mid-call) comes with
        // the result that closes it, unless the result brings its own.
        if result.disposition == nil, let pending = row["disposition"] as String? {
            result.disposition = try JSONDecoder().decode(Disposition.self, from: Data(pending.utf8))
            dispositionAt = row.date("disposition_at") ?? now
        }
        if result.agent == nil { result.agent = (row["agent"] as String?).map(AgentID.init) }
        // Marked only while the outcome stays unknown: a node that came back reported the call.
        let nodeLostOnCall = result.outcome == .unknown && (row["node_lost_on_call"] as Int64? ?? 0) != 0
        try db.cachedStatement(
            sql: """
                UPDATE attempt SET ended_at = ?, answered_at = ?, outcome = ?, disposition = ?, disposition_name = ?, \
                disposition_at = ?, agent = ?, dialed_at = ?, bridged_at = ?, call_ended_at = ?, caller_id = ?, \
                abandon_cause = ?, node_lost_on_call = ? WHERE id = ?
                """
        ).execute(
            arguments: [
                now.storeValue, details.answeredAt.storeValue, result.outcome.rawValue,
                try AttemptColumns.dispositionJSON(result.disposition), result.disposition?.name,
                dispositionAt?.storeValue, result.agent?.rawValue, details.dialedAt.storeValue,
                details.bridgedAt.storeValue, details.callEndedAt.storeValue, details.callerID,
                result.outcome == .abandoned ? result.abandonCause?.rawValue : nil, nodeLostOnCall ? 1 : 0,
                result.attempt.rawValue,
            ])
        guard var contact = try ContactColumns.fetch(db, rowID: contactRowID),
            let campaign = try campaigns(CampaignID(row["campaign_id"]))
                ?? CampaignColumns.fetch(db, CampaignID(row["campaign_id"]))
        else { return .unknownAttempt }
        // The node may spell the contact id without the padding; the domain compares ids exactly.
        result.contact = contact.id
        // The contact is in exactly this attempt (hand-out and result are the only ways in and out
        // of an attempt, and an open attempt's contact cannot be edited or deleted).
        if case .applied = contact.applyResult(result, settings: campaign.settings, now: now) {
            try ContactColumns.saveState(db, contact)
        }
        return .applied(contact)
    }
}

/// How the feeder reads candidates: SQL narrows and orders, the domain decides.
///
/// SQL reads a campaign's contacts in three segments, each in ``ContactOrder``'s order restricted
/// to it: due callbacks, fresh contacts, due retries. It drops in SQL what the domain's rules
/// would drop anyway and an index can tell (DNC numbers, used attempts without a callback, absent
/// private agents, and calling hours, by a function that asks ``Dialability`` once per zone), so
/// that the first rows it reads are nearly all dialable. ``FeederSelection`` then filters and
/// orders each page with the domain's rules; the first `count` dialable contacts of each segment
/// hold the best `count` overall, and a last ``FeederSelection`` over them picks those.
///
/// Cost: with the default priority order (priority ascending) fresh contacts come in the
/// `contact_feed` index's order, so a hand-out reads little more than the rows it returns; due
/// callbacks and retries are found by their own indexes and only the due ones are sorted; other
/// orders sort the segment. Rows the SQL filters drop are still walked: when calling hours are
/// closed in every zone of a large list, a hand-out walks the whole list to return nothing (about
/// 0.7 s for a million contacts on the project's machine).
enum FeederQuery {
    /// Rows read per page.
    static func pageSize(count: Int) -> Int { min(max(count * 2, 64), 2_000) }
    /// The most rows a segment reads in one hand-out, to bound its time when the SQL filters miss
    /// a rule that holds many contacts back.
    static let segmentScanLimit = 50_000

    /// Holds that apply to the whole campaign, whatever the contact.
    private static let campaignHolds: Set<HoldRule> = [.campaignDisabled, .campaignAutomaticOff, .campaignWindowClosed]

    private enum Segment: CaseIterable {
        case callbacks
        case fresh
        case retries

        var condition: String {
            switch self {
            case .callbacks:
                "contact.callback_at IS NOT NULL AND (contact.state = 'fresh' OR "
                    + "(contact.state = 'scheduled' AND contact.next_attempt_at <= :now))"
            case .fresh: "contact.state = 'fresh' AND contact.callback_at IS NULL"
            case .retries:
                "contact.state = 'scheduled' AND contact.callback_at IS NULL AND contact.next_attempt_at <= :now"
            }
        }
    }

    static func choose(
        _ db: Database, campaign: Campaign, count: Int, now: Date, presentAgents: Set<AgentID>
    ) throws -> [Contact] {
        let settings = campaign.settings
        let present = { (agent: AgentID) in presentAgents.contains(agent) }
        // A probe contact answers for the whole campaign: disabled, off, or between windows.
        let probe = Contact(
            id: ContactID(""), campaign: campaign.id, list: campaign.list, phoneNumber: "", createdAt: now)
        let campaignHeld = Dialability.evaluate(
            contact: probe, campaign: settings, dnc: DoNotCallList(), now: now, privateAgentPresent: { _ in true }
        ).holds.contains { campaignHolds.contains($0.rule) }
        if campaignHeld { return [] }

        let hours = CallingHoursByZone(campaign: campaign, now: now)
        let inCallingHours = DatabaseFunction("dialer_in_calling_hours", argumentCount: 1, pure: true) { values in
            hours.isOpen(zone: String.fromDatabaseValue(values[0]))
        }
        db.add(function: inCallingHours)
        defer { db.remove(function: inCallingHours) }

        let dnc = try StoredDoNotCall(db, campaign: campaign.id)
        let agents = String(decoding: try JSONEncoder().encode(presentAgents.map(\.rawValue).sorted()), as: UTF8.self)
        let (order, orderArguments) = orderBy(settings.priorityOrder)
        let pageSize = pageSize(count: count)
        var candidates: [Contact] = []
        for segment in Segment.allCases {
            var sql = """
                SELECT \(ContactColumns.select) FROM contact
                WHERE contact.list_id = :list AND \(segment.condition)
                AND (contact.attempts < :maximumAttempts OR contact.callback_at IS NOT NULL)
                AND NOT EXISTS (SELECT 1 FROM dnc WHERE dnc.campaign_id IS NULL AND dnc.phone = contact.phone)
                AND NOT EXISTS (SELECT 1 FROM dnc WHERE dnc.campaign_id = :campaign AND dnc.phone = contact.phone)
                AND (contact.callback_agent IS NULL OR contact.callback_agent IN (SELECT value FROM json_each(:agents)))
                AND dialer_in_calling_hours(contact.time_zone)
                ORDER BY
                """
            var terms = order
            if segment == .callbacks {
                // Private callbacks before other callbacks (ContactOrder's first key); fresh and
                // retried callbacks mix here, so their order is ContactOrder's too.
                terms.insert("(contact.callback_agent IS NULL)", at: 0)
                switch settings.freshVersusRetry {
                case .freshFirst: terms.append("(contact.attempts = 0) DESC")
                case .retriesFirst: terms.append("(contact.attempts = 0) ASC")
                case .interleaved: break
                }
            }
            sql += " " + (terms + ["contact.waiting_since", "contact.id"]).joined(separator: ", ")
            sql += " LIMIT :limit OFFSET :offset"
            let statement = try db.makeStatement(sql: sql)
            var found = 0
            var offset = 0
            while found < count, offset < segmentScanLimit {
                var arguments: StatementArguments = [
                    "list": campaign.list.rawValue, "now": now.storeValue, "maximumAttempts": settings.maximumAttempts,
                    "campaign": campaign.id.rawValue, "agents": agents, "limit": pageSize, "offset": offset,
                ]
                _ = arguments.append(contentsOf: orderArguments)
                let page = try Row.fetchAll(statement, arguments: arguments).map {
                    try ContactColumns.contact($0)
                }
                let dialable = FeederSelection.choose(
                    from: page, campaign: settings, count: count - found, now: now, dnc: dnc,
                    privateAgentPresent: present)
                try dnc.check()
                candidates += dialable
                found += dialable.count
                offset += page.count
                if page.count < pageSize { break }
            }
        }
        return FeederSelection.choose(
            from: candidates, campaign: settings, count: count, now: now, dnc: dnc, privateAgentPresent: present)
    }

    /// The SQL terms of a priority order, as ``ContactOrder`` compares (a missing value last in
    /// either direction; among custom fields, numbers before text, text in Swift's order), with
    /// their named arguments.
    static func orderBy(_ keys: [SortKey]) -> (terms: [String], arguments: StatementArguments) {
        var terms: [String] = []
        var arguments: [String: (any DatabaseValueConvertible)?] = [:]
        for (index, key) in keys.enumerated() {
            let direction = key.order == .ascending ? "ASC" : "DESC"
            switch key.field {
            case .priority: terms.append("contact.priority \(direction)")
            case .attempts: terms.append("contact.attempts \(direction)")
            case .createdAt: terms.append("contact.created_at \(direction)")
            case .lastAttemptAt:
                terms.append("(contact.last_attempt_at IS NULL)")
                terms.append("contact.last_attempt_at \(direction)")
            case .field(let name):
                // A name a JSON path cannot quote is left to FeederSelection's own sort.
                guard let path = FieldsJSON.path(name) else { continue }
                let value = "json_extract(contact.fields, :field\(index))"
                arguments["field\(index)"] = path
                terms.append("(\(value) IS NULL)")
                terms.append("dialer_sort_kind(\(value)) \(direction)")
                terms.append("dialer_sort_number(\(value)) \(direction)")
                // Numbers that compare equal tie, as in ContactOrder: only text compares as text.
                terms.append(
                    "(CASE WHEN dialer_sort_kind(\(value)) = 1 THEN \(value) END) COLLATE dialer_swift \(direction)")
            }
        }
        return (terms, StatementArguments(arguments))
    }
}

/// Whether calling hours are open at one instant in a zone, as ``Dialability`` says: asked once
/// per zone with a probe contact in that zone, then remembered.
final class CallingHoursByZone: Sendable {
    private let campaign: Campaign
    private let now: Date
    private let known = Mutex<[String: Bool]>([:])

    init(campaign: Campaign, now: Date) {
        self.campaign = campaign
        self.now = now
    }

    /// Whether a contact whose zone is `zone` (nil: none, so the campaign's) is inside calling
    /// hours.
    func isOpen(zone: String?) -> Bool {
        let key = zone ?? ""
        if let open = known.withLock({ $0[key] }) { return open }
        let probe = Contact(
            id: ContactID(""), campaign: campaign.id, list: campaign.list, phoneNumber: "", timeZone: zone,
            createdAt: now)
        let open = !Dialability.evaluate(
            contact: probe, campaign: campaign.settings, dnc: DoNotCallList(), now: now,
            privateAgentPresent: { _ in true }
        ).holds.contains { $0.rule == .outsideCallingHours }
        // A file of endless distinct zones must not grow the cache without bound.
        known.withLock { if $0.count < 10_000 { $0[key] = open } }
        return open
    }
}
