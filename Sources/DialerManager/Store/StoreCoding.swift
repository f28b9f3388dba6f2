import DialerCore
import Foundation
import GRDB

// How the domain's values become columns and back.

extension Date {
    /// The stored form of an instant: exactly the seconds a `Date` holds, so it reads back equal.
    var storeValue: Double { timeIntervalSinceReferenceDate }

    init(storeValue: Double) {
        self.init(timeIntervalSinceReferenceDate: storeValue)
    }
}

extension Optional where Wrapped == Date {
    var storeValue: Double? { self?.storeValue }
}

extension Row {
    /// The instant in `column`, or nil for NULL.
    func date(_ column: String) -> Date? {
        (self[column] as Double?).map(Date.init(storeValue:))
    }
}

/// Contact ids are the row's integer id, zero-padded so that their text order (the order
/// ``ContactOrder`` breaks ties with) is the numeric order SQL walks.
enum ContactKey {
    static func id(_ rowID: Int64) -> ContactID {
        let digits = String(rowID)
        return ContactID(digits.count >= 12 ? digits : String(repeating: "0", count: 12 - digits.count) + digits)
    }

    /// The row id of a contact id, or nil for an id the store never made.
    static func rowID(_ id: ContactID) -> Int64? {
        guard !id.rawValue.isEmpty, id.rawValue.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return Int64(id.rawValue)
    }
}

/// Custom fields as a JSON object of strings.
enum FieldsJSON {
    /// The object's text. Written by hand, not with `JSONEncoder`: an import writes it once per
    /// row, and escaping is all it takes.
    static func encode(_ fields: some Sequence<(key: String, value: String)>) -> String {
        var text = "{"
        var first = true
        for (key, value) in fields {
            if !first { text.append(",") }
            first = false
            appendString(key, to: &text)
            text.append(":")
            appendString(value, to: &text)
        }
        text.append("}")
        return text
    }

    static func encode(_ fields: [String: String]) -> String {
        encode(fields.sorted { $0.key < $1.key }.lazy.map { (key: $0.key, value: $0.value) })
    }

    static func decode(_ text: String) throws -> [String: String] {
        if text == "{}" { return [:] }
        return try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
    }

    private static func appendString(_ string: String, to text: inout String) {
        text.append("\"")
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text.append("\\\"")
            case "\\": text.append("\\\\")
            case "\n": text.append("\\n")
            case "\r": text.append("\\r")
            case "\t": text.append("\\t")
            case let control where control.value < 0x20:
                let hex = String(control.value, radix: 16)
                text.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default: text.unicodeScalars.append(scalar)
            }
        }
        text.append("\"")
    }

    /// The JSON path of a field for `json_extract`, or nil for a name a path cannot quote.
    static func path(_ name: String) -> String? {
        guard !name.contains("\""), !name.contains("\\") else { return nil }
        return "$.\"" + name + "\""
    }
}

/// The contact table's columns, and a contact's values for them.
enum ContactColumns {
    /// Every column a ``Contact`` is read from, with its campaign (the one dialing its list).
    static let select = """
        contact.id, contact.list_id, contact.phone, contact.time_zone, contact.caller_id, contact.priority, \
        contact.fields, contact.state, contact.next_attempt_at, contact.open_attempt, contact.final_reason, \
        contact.final_detail, contact.attempts, contact.last_outcome, contact.last_disposition, \
        contact.last_attempt, contact.last_attempt_at, contact.callback_at, contact.callback_agent, \
        contact.created_at, contact.updated_at, \
        (SELECT campaign.id FROM campaign WHERE campaign.list_id = contact.list_id) AS campaign_id
        """

    /// A list's contacts in groups alike in what a campaign report shows, with each group's size
    /// (one argument: the list's id): the report's contact figures counted by the database,
    /// which neither stores nor decodes a row per contact. Read each row with
    /// ``tally(_:state:finalReason:lastOutcome:lastDisposition:count:)``.
    static let tallyByList = """
        SELECT state, final_reason, last_outcome, last_disposition, COUNT(*) AS contacts FROM contact \
        WHERE list_id = ? GROUP BY state, final_reason, last_outcome, last_disposition
        """

    /// Adds one group of ``tallyByList`` to `tally`. A group whose state is unknown, or final
    /// without a known reason, is a corrupt row, as it is to ``contact(_:withFields:)``.
    static func tally(
        _ tally: inout ContactTally, state: String, finalReason: String?, lastOutcome: String?,
        lastDisposition: String?, count: Int
    ) throws {
        guard let kind = ContactStateKind(rawValue: state) else {
            throw StoreError.corruptRow("\(count) contact(s) in the unknown state \"\(state)\"")
        }
        if kind == .final, !["outcome", "disposition", "attemptsExhausted"].contains(finalReason) {
            throw StoreError.corruptRow("\(count) contact(s) final without a reason")
        }
        tally.add(
            state: kind, attemptsExhausted: kind == .final && finalReason == "attemptsExhausted",
            lastOutcome: lastOutcome.flatMap(AttemptOutcome.init(rawValue:)), lastDisposition: lastDisposition,
            count: count)
    }

    /// Assignments of every column that ``stateArguments(_:)`` fills, for an `UPDATE`.
    static let stateAssignments = """
        state = ?, next_attempt_at = ?, open_attempt = ?, final_reason = ?, final_detail = ?, waiting_since = ?, \
        attempts = ?, last_outcome = ?, last_disposition = ?, last_attempt = ?, last_attempt_at = ?, \
        callback_at = ?, callback_agent = ?, updated_at = ?
        """

    /// The values of the state and counter columns, in ``stateAssignments`` order.
    static func stateArguments(_ contact: Contact) -> StatementArguments {
        let columns = ContactStateColumns(contact.state)
        return [
            contact.state.kind.rawValue, columns.nextAttemptAt, columns.openAttempt, columns.finalReason,
            columns.finalDetail,
            contact.waitingSince.storeValue, contact.attempts, contact.lastOutcome?.rawValue, contact.lastDisposition,
            contact.lastAttempt?.rawValue, contact.lastAttemptAt.storeValue, contact.callback?.at.storeValue,
            contact.callback?.privateAgent?.rawValue, contact.updatedAt.storeValue,
        ]
    }

    /// The contact in a row read with ``select``.
    ///
    /// - Parameter withFields: whether to decode the custom fields; statistics and rules do not
    ///   look at them, and skipping the JSON keeps a scan of a large list cheap.
    static func contact(_ row: Row, withFields: Bool = true) throws -> Contact {
        let rowID: Int64 = row["id"]
        func corrupt(_ what: String) -> StoreError { .corruptRow("contact \(rowID): \(what)") }
        let state: ContactState
        switch ContactStateKind(rawValue: row["state"]) {
        case .fresh: state = .fresh
        case .scheduled:
            guard let at = row.date("next_attempt_at") else { throw corrupt("scheduled without a time") }
            state = .scheduled(at: at)
        case .inAttempt:
            guard let attempt = row["open_attempt"] as String? else { throw corrupt("in attempt without one") }
            state = .inAttempt(AttemptID(attempt))
        case .final:
            let detail: String? = row["final_detail"]
            switch row["final_reason"] as String? {
            case "outcome":
                guard let outcome = detail.flatMap(AttemptOutcome.init(rawValue:)) else {
                    throw corrupt("final without an outcome")
                }
                state = .final(.outcome(outcome))
            case "disposition": state = .final(.disposition(detail ?? ""))
            case "attemptsExhausted": state = .final(.attemptsExhausted)
            default: throw corrupt("final without a reason")
            }
        case nil: throw corrupt("unknown state")
        }
        let callback = row.date("callback_at").map {
            Callback(at: $0, privateAgent: (row["callback_agent"] as String?).map(AgentID.init))
        }
        let createdAt = row.date("created_at") ?? Date(storeValue: 0)
        return Contact(
            id: ContactKey.id(rowID),
            campaign: CampaignID(row["campaign_id"] ?? ""),
            list: ContactListID(row["list_id"]),
            phoneNumber: row["phone"],
            timeZone: row["time_zone"],
            callerID: row["caller_id"],
            priority: row["priority"],
            fields: withFields ? try FieldsJSON.decode(row["fields"]) : [:],
            state: state,
            attempts: row["attempts"],
            lastOutcome: (row["last_outcome"] as String?).flatMap(AttemptOutcome.init(rawValue:)),
            lastDisposition: row["last_disposition"],
            lastAttempt: (row["last_attempt"] as String?).map(AttemptID.init),
            lastAttemptAt: row.date("last_attempt_at"),
            callback: callback,
            createdAt: createdAt,
            updatedAt: row.date("updated_at") ?? createdAt)
    }

    /// The contact with `id`, read in `db`.
    static func fetch(_ db: Database, id: ContactID, withFields: Bool = true) throws -> Contact? {
        guard let rowID = ContactKey.rowID(id) else { return nil }
        return try fetch(db, rowID: rowID, withFields: withFields)
    }

    static func fetch(_ db: Database, rowID: Int64, withFields: Bool = true) throws -> Contact? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(select) FROM contact WHERE contact.id = ?"), arguments: [rowID]
        )
        .map { try contact($0, withFields: withFields) }
    }

    /// Writes a contact's state and counters (after a domain transition).
    static func saveState(_ db: Database, _ contact: Contact) throws {
        guard let rowID = ContactKey.rowID(contact.id) else { throw StoreError.notFound("contact \(contact.id)") }
        var arguments = stateArguments(contact)
        arguments += [rowID]
        try db.cachedStatement(sql: "UPDATE contact SET \(stateAssignments) WHERE id = ?").execute(arguments: arguments)
    }
}

/// Attempts as rows.
enum AttemptColumns {
    static func record(_ row: Row) throws -> AttemptRecord {
        let id: String = row["id"]
        var record = AttemptRecord(
            id: AttemptID(id), contact: ContactKey.id(row["contact_id"]),
            node: (row["node"] as String?).map(MemberID.init), startedAt: row.date("started_at") ?? Date(storeValue: 0))
        record.endedAt = row.date("ended_at")
        record.answeredAt = row.date("answered_at")
        record.dialedAt = row.date("dialed_at")
        record.bridgedAt = row.date("bridged_at")
        record.callEndedAt = row.date("call_ended_at")
        record.callerID = row["caller_id"]
        record.abandonCause = (row["abandon_cause"] as String?).flatMap(AbandonCause.init)
        if let outcome = row["outcome"] as String? {
            guard let value = AttemptOutcome(rawValue: outcome) else {
                throw StoreError.corruptRow("attempt \(id): unknown outcome")
            }
            record.outcome = value
        }
        if let disposition = row["disposition"] as String? {
            record.disposition = try JSONDecoder().decode(Disposition.self, from: Data(disposition.utf8))
        }
        record.agent = (row["agent"] as String?).map(AgentID.init)
        record.nodeLostOnCall = (row["node_lost_on_call"] as Int64? ?? 0) != 0
        return record
    }

    static func dispositionJSON(_ disposition: Disposition?) throws -> String? {
        guard let disposition else { return nil }
        return String(decoding: try JSONEncoder().encode(disposition), as: UTF8.self)
    }
}

/// Campaigns as rows: the settings as JSON, with the columns queries need beside it.
enum CampaignColumns {
    static func campaign(_ row: Row) throws -> Campaign {
        let settings: String = row["settings"]
        return Campaign(
            id: CampaignID(row["id"]), name: row["name"], description: row["description"],
            list: ContactListID(row["list_id"]), queue: QueueID(row["queue_id"]),
            settings: try JSONDecoder().decode(CampaignSettings.self, from: Data(settings.utf8)))
    }

    static func settingsJSON(_ settings: CampaignSettings) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(settings), as: UTF8.self)
    }

    static func fetch(_ db: Database, _ id: CampaignID) throws -> Campaign? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM campaign WHERE id = ?"), arguments: [id.rawValue])
            .map(campaign)
    }
}

/// A GRDB cursor read as a `Sequence`, so that the domain's aggregates (``CampaignReport``,
/// ``CampaignSummary``) can consume a table row by row in bounded memory. A `Sequence` cannot
/// throw: the first error ends it and is kept in ``error`` for the caller to throw.
final class RowStream<Element>: Sequence, IteratorProtocol {
    private let cursor: RowCursor
    private let transform: (Row) throws -> Element
    private(set) var error: (any Error)?

    init(_ cursor: RowCursor, transform: @escaping (Row) throws -> Element) {
        self.cursor = cursor
        self.transform = transform
    }

    func next() -> Element? {
        guard error == nil else { return nil }
        do {
            guard let row = try cursor.next() else { return nil }
            return try transform(row)
        } catch {
            self.error = error
            return nil
        }
    }

    func makeIterator() -> RowStream<Element> { self }

    /// Throws the error that ended the stream, if one did.
    func check() throws {
        if let error { throw error }
    }
}

/// A do-not-call check that asks the database, one indexed lookup per number, so that a scan of a
/// large list does not load the lists into memory. A failing lookup counts as listed (never call
/// when unsure) and is kept to be thrown after.
final class StoredDoNotCall: DoNotCallCheck {
    private let globalStatement: Statement
    private let campaignStatement: Statement
    private let campaign: String?
    private(set) var error: (any Error)?

    init(_ db: Database, campaign: CampaignID?) throws {
        globalStatement = try db.makeStatement(
            sql: "SELECT EXISTS (SELECT 1 FROM dnc WHERE campaign_id IS NULL AND phone = ?)")
        campaignStatement = try db.makeStatement(
            sql: "SELECT EXISTS (SELECT 1 FROM dnc WHERE campaign_id = ? AND phone = ?)")
        self.campaign = campaign?.rawValue
    }

    func isDoNotCall(_ phoneNumber: String) -> Bool {
        do {
            if try Bool.fetchOne(globalStatement, arguments: [phoneNumber]) == true { return true }
            guard let campaign else { return false }
            return try Bool.fetchOne(campaignStatement, arguments: [campaign, phoneNumber]) == true
        } catch {
            self.error = self.error ?? error
            return true
        }
    }

    func check() throws {
        if let error { throw error }
    }
}

/// SQL functions and a collation that let SQL sort contacts the way ``ContactOrder`` does.
enum StoreFunctions {
    /// Registers the functions on a new connection; `fence` gives `dialer_manager_term()`.
    static func register(in db: Database, fence: ManagerTermFence? = nil) {
        db.add(function: sortKind)
        db.add(function: sortNumber)
        db.add(collation: swiftText)
        db.add(function: (fence ?? ManagerTermFence.none).function)
    }

    /// A custom field's kind in ``ContactOrder``: 0 for a number, 1 for other text, NULL for none.
    static let sortKind = DatabaseFunction("dialer_sort_kind", argumentCount: 1, pure: true) { values in
        guard let text = String.fromDatabaseValue(values[0]) else { return nil }
        return number(text) == nil ? 1 : 0
    }

    /// A custom field's value as a number, when ``ContactOrder`` reads it as one.
    static let sortNumber = DatabaseFunction("dialer_sort_number", argumentCount: 1, pure: true) { values in
        String.fromDatabaseValue(values[0]).flatMap(number)
    }

    /// Swift's order of strings, which ``ContactOrder`` compares text with.
    static let swiftText = DatabaseCollation("dialer_swift") { lhs, rhs in
        lhs < rhs ? .orderedAscending : (lhs == rhs ? .orderedSame : .orderedDescending)
    }

    /// The number a custom field holds, read exactly as ``ContactOrder`` reads it.
    static func number(_ text: String) -> Double? {
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else { return nil }
        return value
    }
}

/// The columns that hold a contact's state besides its kind, as both stores write them: when
/// a scheduled contact is due, a contact's open attempt, or why a final contact ended.
struct ContactStateColumns {
    var nextAttemptAt: Double?
    var openAttempt: String?
    var finalReason: String?
    var finalDetail: String?

    init(_ state: ContactState) {
        switch state {
        case .fresh: break
        case .scheduled(let at): nextAttemptAt = at.storeValue
        case .inAttempt(let attempt): openAttempt = attempt.rawValue
        case .final(.outcome(let outcome)):
            finalReason = "outcome"
            finalDetail = outcome.rawValue
        case .final(.disposition(let name)):
            finalReason = "disposition"
            finalDetail = name
        case .final(.attemptsExhausted):
            finalReason = "attemptsExhausted"
        }
    }
}
