import DialerCore
import Foundation

/// How the PostgreSQL store reads the feeder's candidates: ``FeederQuery``'s plan (three
/// segments in ``ContactOrder``'s order, SQL narrows, ``FeederSelection`` decides), and the
/// contacts chosen from each page are locked `FOR UPDATE SKIP LOCKED` before they count, so that
/// two managers handing out from one campaign at once never take the same contact: each skips
/// the contacts the other is taking and reads on. Only chosen contacts are locked, so a
/// hand-out never holds back contacts it does not take (except the few candidates of one
/// segment that the final choice across segments leaves out).
///
/// PostgreSQL cannot call back into Swift, so calling hours are not asked row by row as in
/// SQLite: the zones found closed on one page are left out of the next pages' SQL (the domain
/// drops them from each page anyway).
enum PGFeederQuery {
    private static let campaignHolds: Set<HoldRule> = [.campaignDisabled, .campaignAutomaticOff, .campaignWindowClosed]

    private enum Segment: CaseIterable {
        case callbacks
        case fresh
        case retries

        /// The condition and whether it takes `now` (one `?`).
        var condition: (sql: String, takesNow: Bool) {
            switch self {
            case .callbacks:
                (
                    "contact.callback_at IS NOT NULL AND (contact.state = 'fresh' OR "
                        + "(contact.state = 'scheduled' AND contact.next_attempt_at <= ?))", true
                )
            case .fresh: ("contact.state = 'fresh' AND contact.callback_at IS NULL", false)
            case .retries:
                ("contact.state = 'scheduled' AND contact.callback_at IS NULL AND contact.next_attempt_at <= ?", true)
            }
        }
    }

    static func choose(
        _ db: PGSession, campaign: Campaign, count: Int, now: Date, presentAgents: Set<AgentID>
    ) async throws -> [Contact] {
        let settings = campaign.settings
        let present = { (agent: AgentID) in presentAgents.contains(agent) }
        let probe = Contact(
            id: ContactID(""), campaign: campaign.id, list: campaign.list, phoneNumber: "", createdAt: now)
        let campaignHeld = Dialability.evaluate(
            contact: probe, campaign: settings, dnc: DoNotCallList(), now: now, privateAgentPresent: { _ in true }
        ).holds.contains { campaignHolds.contains($0.rule) }
        if campaignHeld { return [] }

        let hours = CallingHoursByZone(campaign: campaign, now: now)
        var closedZones: Set<String> = []
        let agents = PGTextArray(values: presentAgents.map(\.rawValue).sorted())
        let order = orderBy(settings.priorityOrder)
        let pageSize = FeederQuery.pageSize(count: count)
        var candidates: [Contact] = []
        // The SQL left out DNC numbers; the domain's check asks this set, which holds none.
        let noDNC = PGDoNotCall(listed: [])
        for segment in Segment.allCases {
            let condition = segment.condition
            var terms = order
            if segment == .callbacks {
                terms.insert("(contact.callback_agent IS NULL)", at: 0)
                switch settings.freshVersusRetry {
                case .freshFirst: terms.append("(contact.attempts = 0) DESC")
                case .retriesFirst: terms.append("(contact.attempts = 0) ASC")
                case .interleaved: break
                }
            }
            let sql = """
                SELECT \(ContactColumns.select), contact.xmin::TEXT AS row_version FROM contact
                WHERE contact.list_id = ? AND \(condition.sql)
                AND (contact.attempts < ? OR contact.callback_at IS NOT NULL)
                AND NOT EXISTS (SELECT 1 FROM dnc WHERE dnc.campaign_id IS NULL AND dnc.phone = contact.phone)
                AND NOT EXISTS (SELECT 1 FROM dnc WHERE dnc.campaign_id = ? AND dnc.phone = contact.phone)
                AND (contact.callback_agent IS NULL OR contact.callback_agent = ANY(?))
                AND NOT (COALESCE(contact.time_zone, '') = ANY(?))
                AND NOT (contact.id = ANY(?))
                ORDER BY \((terms + ["contact.waiting_since", "contact.id"]).joined(separator: ", "))
                LIMIT ? OFFSET ?
                """
            var found = 0
            var offset = 0
            var scanned = 0
            // Contacts this hand-out took, and those another manager is taking: both leave the
            // query's result.
            var excluded: [Int64] = []
            while found < count, scanned < FeederQuery.segmentScanLimit {
                var arguments: [(any PGArgument)?] = [campaign.list.rawValue]
                if condition.takesNow { arguments.append(now.storeValue) }
                arguments += [
                    settings.maximumAttempts, campaign.id.rawValue, agents,
                    PGTextArray(values: closedZones.sorted()), PGInt64Array(values: excluded), pageSize, offset,
                ]
                let rows = try await db.query(sql, arguments)
                var versions: [ContactID: String] = [:]
                let page = try rows.map { row in
                    let contact = try PGContacts.contact(row)
                    versions[contact.id] = try row.string("row_version")
                    return contact
                }
                scanned += page.count
                for contact in page where !hours.isOpen(zone: contact.timeZone) {
                    closedZones.insert(contact.timeZone ?? "")
                }
                let chosen = FeederSelection.choose(
                    from: page, campaign: settings, count: count - found, now: now, dnc: noDNC,
                    privateAgentPresent: present)
                let dialable = try await lock(db, chosen, versions: versions)
                candidates += dialable
                found += dialable.count
                excluded += chosen.compactMap { ContactKey.rowID($0.id) }
                if dialable.count < chosen.count {
                    // Another manager took some: the rest of this page may hold the next best,
                    // so read it again without them.
                    continue
                }
                // The rows that stay in the query's result (not chosen, zone open) are passed.
                let chosenIDs = Set(chosen.map(\.id))
                offset += page.filter { !chosenIDs.contains($0.id) && hours.isOpen(zone: $0.timeZone) }.count
                if page.count < pageSize { break }
            }
        }
        return FeederSelection.choose(
            from: candidates, campaign: settings, count: count, now: now, dnc: noDNC, privateAgentPresent: present)
    }

    /// The contacts of `chosen` this transaction could lock unchanged since the page read them
    /// (the same row version), in `chosen`'s order. A contact another manager holds is skipped,
    /// not waited for: that manager is handing it out; one that changed meanwhile (handed out
    /// and reported by another transaction) is left out too.
    private static func lock(_ db: PGSession, _ chosen: [Contact], versions: [ContactID: String]) async throws
        -> [Contact]
    {
        guard !chosen.isEmpty else { return [] }
        let rows = try await db.query(
            "SELECT id, xmin::TEXT AS row_version FROM contact WHERE id = ANY(?) FOR UPDATE SKIP LOCKED",
            [PGInt64Array(values: chosen.compactMap { ContactKey.rowID($0.id) })])
        var locked: [ContactID: String] = [:]
        for row in rows { locked[ContactKey.id(try row.int64("id"))] = try row.string("row_version") }
        return chosen.filter { contact in locked[contact.id].map { $0 == versions[contact.id] } ?? false }
    }

    /// ``FeederQuery/orderBy(_:)`` in PostgreSQL's words: a field's value is read with `->>`,
    /// text compares by code point (`COLLATE "C"`, Swift's order for NFC text), and NULLs sort
    /// as in SQLite (first ascending, last descending).
    static func orderBy(_ keys: [SortKey]) -> [String] {
        var terms: [String] = []
        for key in keys {
            let direction = key.order == .ascending ? "ASC NULLS FIRST" : "DESC NULLS LAST"
            switch key.field {
            case .priority: terms.append("contact.priority \(direction)")
            case .attempts: terms.append("contact.attempts \(direction)")
            case .createdAt: terms.append("contact.created_at \(direction)")
            case .lastAttemptAt:
                terms.append("(contact.last_attempt_at IS NULL)")
                terms.append("contact.last_attempt_at \(direction)")
            case .field(let name):
                guard FieldsJSON.path(name) != nil else { continue }
                let literal = "'" + name.replacingOccurrences(of: "'", with: "''") + "'"
                let value = "(contact.fields::JSONB ->> \(literal))"
                terms.append("(\(value) IS NULL)")
                terms.append("dialer_sort_kind(\(value)) \(direction)")
                terms.append("dialer_sort_number(\(value)) \(direction)")
                terms.append("(CASE WHEN dialer_sort_kind(\(value)) = 1 THEN \(value) END) COLLATE \"C\" \(direction)")
            }
        }
        return terms
    }
}
