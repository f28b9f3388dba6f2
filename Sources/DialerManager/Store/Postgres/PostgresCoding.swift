import DialerCore
import Foundation
import PostgresNIO

// Rows of the PostgreSQL store as the domain's values: the counterparts of StoreCoding's
// ContactColumns, AttemptColumns and CampaignColumns (the columns are the same).

enum PGContacts {
    /// The SQL of ``ContactColumns/stateAssignments`` and its values, shared with SQLite.
    static func stateArguments(_ contact: Contact) -> [(any PGArgument)?] {
        let state = PGContactState(contact)
        return [
            state.state, state.nextAttemptAt, state.openAttempt, state.finalReason, state.finalDetail,
            state.waitingSince, state.attempts, state.lastOutcome, state.lastDisposition, state.lastAttempt,
            state.lastAttemptAt, state.callbackAt, state.callbackAgent, state.updatedAt,
        ]
    }

    /// The contact in a row read with ``ContactColumns/select``.
    static func contact(_ row: PGRow, withFields: Bool = true) throws -> Contact {
        let rowID = try row.int64("id")
        func corrupt(_ what: String) -> StoreError { .corruptRow("contact \(rowID): \(what)") }
        let state: ContactState
        switch ContactStateKind(rawValue: try row.string("state")) {
        case .fresh: state = .fresh
        case .scheduled:
            guard let at = try row.date("next_attempt_at") else { throw corrupt("scheduled without a time") }
            state = .scheduled(at: at)
        case .inAttempt:
            guard let attempt = try row.optionalString("open_attempt") else { throw corrupt("in attempt without one") }
            state = .inAttempt(AttemptID(attempt))
        case .final:
            let detail = try row.optionalString("final_detail")
            switch try row.optionalString("final_reason") {
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
        let callback = try row.date("callback_at").map {
            Callback(at: $0, privateAgent: try row.optionalString("callback_agent").map(AgentID.init))
        }
        let createdAt = try row.date("created_at") ?? Date(storeValue: 0)
        return Contact(
            id: ContactKey.id(rowID),
            campaign: CampaignID(try row.optionalString("campaign_id") ?? ""),
            list: ContactListID(try row.string("list_id")),
            phoneNumber: try row.string("phone"),
            timeZone: try row.optionalString("time_zone"),
            callerID: try row.optionalString("caller_id"),
            priority: try row.int("priority"),
            fields: withFields ? try FieldsJSON.decode(try row.string("fields")) : [:],
            state: state,
            attempts: try row.int("attempts"),
            lastOutcome: try row.optionalString("last_outcome").flatMap(AttemptOutcome.init(rawValue:)),
            lastDisposition: try row.optionalString("last_disposition"),
            lastAttempt: try row.optionalString("last_attempt").map(AttemptID.init),
            lastAttemptAt: try row.date("last_attempt_at"),
            callback: callback,
            createdAt: createdAt,
            updatedAt: try row.date("updated_at") ?? createdAt)
    }

    static func fetch(_ db: PGSession, id: ContactID, withFields: Bool = true) async throws -> Contact? {
        guard let rowID = ContactKey.rowID(id) else { return nil }
        return try await fetch(db, rowID: rowID, withFields: withFields)
    }

    static func fetch(_ db: PGSession, rowID: Int64, withFields: Bool = true) async throws -> Contact? {
        try await db.fetchOne("SELECT \(ContactColumns.select) FROM contact WHERE contact.id = ?", [rowID])
            .map { try contact($0, withFields: withFields) }
    }

    /// Writes the state and counters of many contacts in one statement (after domain transitions):
    /// the same columns as ``saveState(_:_:)``.
    static func saveStates(_ db: PGSession, _ contacts: [Contact]) async throws {
        guard !contacts.isEmpty else { return }
        try await db.execute(
            "UPDATE contact SET \(PGContactState.assignments) FROM \(PGContactState.recordSet) WHERE contact.id = v.id",
            [try PGRecordSet(contacts.map(PGContactState.init))])
    }

    /// Writes a contact's state and counters (after a domain transition).
    static func saveState(_ db: PGSession, _ contact: Contact) async throws {
        guard let rowID = ContactKey.rowID(contact.id) else { throw StoreError.notFound("contact \(contact.id)") }
        try await db.execute(
            "UPDATE contact SET \(ContactColumns.stateAssignments) WHERE id = ?", stateArguments(contact) + [rowID])
    }
}

/// A contact's state and counter columns, as ``ContactColumns/stateAssignments`` writes them: one
/// row of a ``PGRecordSet`` (nil values are left out of the JSON, and read back as NULL).
struct PGContactState: Encodable {
    var id: Int64?
    var state: String
    var nextAttemptAt: Double?
    var openAttempt: String?
    var finalReason: String?
    var finalDetail: String?
    var waitingSince: Double
    var attempts: Int
    var lastOutcome: String?
    var lastDisposition: String?
    var lastAttempt: String?
    var lastAttemptAt: Double?
    var callbackAt: Double?
    var callbackAgent: String?
    var updatedAt: Double

    enum CodingKeys: String, CodingKey {
        case id, state, attempts
        case nextAttemptAt = "next_attempt_at"
        case openAttempt = "open_attempt"
        case finalReason = "final_reason"
        case finalDetail = "final_detail"
        case waitingSince = "waiting_since"
        case lastOutcome = "last_outcome"
        case lastDisposition = "last_disposition"
        case lastAttempt = "last_attempt"
        case lastAttemptAt = "last_attempt_at"
        case callbackAt = "callback_at"
        case callbackAgent = "callback_agent"
        case updatedAt = "updated_at"
    }

    init(_ contact: Contact) {
        id = ContactKey.rowID(contact.id)
        state = contact.state.kind.rawValue
        let columns = ContactStateColumns(contact.state)
        nextAttemptAt = columns.nextAttemptAt
        openAttempt = columns.openAttempt
        finalReason = columns.finalReason
        finalDetail = columns.finalDetail
        waitingSince = contact.waitingSince.storeValue
        attempts = contact.attempts
        lastOutcome = contact.lastOutcome?.rawValue
        lastDisposition = contact.lastDisposition
        lastAttempt = contact.lastAttempt?.rawValue
        lastAttemptAt = contact.lastAttemptAt.storeValue
        callbackAt = contact.callback?.at.storeValue
        callbackAgent = contact.callback?.privateAgent?.rawValue
        updatedAt = contact.updatedAt.storeValue
    }

    /// The rows of a ``PGRecordSet`` argument as table `v`, typed as the contact's columns.
    static let recordSet = """
        json_to_recordset(?::JSON) AS v(id BIGINT, state TEXT, next_attempt_at DOUBLE PRECISION, \
        open_attempt TEXT, final_reason TEXT, final_detail TEXT, waiting_since DOUBLE PRECISION, attempts BIGINT, \
        last_outcome TEXT, last_disposition TEXT, last_attempt TEXT, last_attempt_at DOUBLE PRECISION, \
        callback_at DOUBLE PRECISION, callback_agent TEXT, updated_at DOUBLE PRECISION)
        """

    /// ``ContactColumns/stateAssignments`` from the record set's `v`.
    static let assignments = """
        state = v.state, next_attempt_at = v.next_attempt_at, open_attempt = v.open_attempt, \
        final_reason = v.final_reason, final_detail = v.final_detail, waiting_since = v.waiting_since, \
        attempts = v.attempts, last_outcome = v.last_outcome, last_disposition = v.last_disposition, \
        last_attempt = v.last_attempt, last_attempt_at = v.last_attempt_at, callback_at = v.callback_at, \
        callback_agent = v.callback_agent, updated_at = v.updated_at
        """
}

/// Many rows in one argument, as a JSON array of objects read with `json_to_recordset(?::JSON)`:
/// a statement that writes a whole batch's rows at once (one round trip for all of them).
/// Instants go through JSON exactly: Swift writes the shortest decimal that reads back as the
/// same `Double`, and PostgreSQL reads it back correctly rounded.
struct PGRecordSet: PGArgument {
    let json: String

    init(_ rows: [some Encodable]) throws {
        json = String(decoding: try JSONEncoder().encode(rows), as: UTF8.self)
    }

    func bind(into bindings: inout PostgresBindings) { bindings.append(json) }
}

enum PGAttempts {
    static func record(_ row: PGRow) throws -> AttemptRecord {
        let id = try row.string("id")
        var record = AttemptRecord(
            id: AttemptID(id), contact: ContactKey.id(try row.int64("contact_id")),
            node: try row.optionalString("node").map(MemberID.init),
            startedAt: try row.date("started_at") ?? Date(storeValue: 0))
        record.endedAt = try row.date("ended_at")
        record.answeredAt = try row.date("answered_at")
        record.dialedAt = try row.date("dialed_at")
        record.bridgedAt = try row.date("bridged_at")
        record.callEndedAt = try row.date("call_ended_at")
        record.callerID = try row.optionalString("caller_id")
        record.abandonCause = try row.optionalString("abandon_cause").flatMap(AbandonCause.init)
        if let outcome = try row.optionalString("outcome") {
            guard let value = AttemptOutcome(rawValue: outcome) else {
                throw StoreError.corruptRow("attempt \(id): unknown outcome")
            }
            record.outcome = value
        }
        if let disposition = try row.optionalString("disposition") {
            record.disposition = try JSONDecoder().decode(Disposition.self, from: Data(disposition.utf8))
        }
        record.agent = try row.optionalString("agent").map(AgentID.init)
        record.nodeLostOnCall = try row.flag("node_lost_on_call")
        return record
    }
}

enum PGCampaigns {
    static func campaign(_ row: PGRow) throws -> Campaign {
        let settings = try row.string("settings")
        return Campaign(
            id: CampaignID(try row.string("id")), name: try row.string("name"),
            description: try row.string("description"), list: ContactListID(try row.string("list_id")),
            queue: QueueID(try row.string("queue_id")),
            settings: try JSONDecoder().decode(CampaignSettings.self, from: Data(settings.utf8)))
    }

    static func fetch(_ db: PGSession, _ id: CampaignID) async throws -> Campaign? {
        try await db.fetchOne("SELECT * FROM campaign WHERE id = ?", [id.rawValue]).map(campaign)
    }
}

/// The do-not-call lists of one check, loaded for the numbers it will be asked about: the
/// domain's rules ask synchronously, so the numbers are looked up before, in one query.
struct PGDoNotCall: DoNotCallCheck {
    let listed: Set<String>

    func isDoNotCall(_ phoneNumber: String) -> Bool { listed.contains(phoneNumber) }

    /// Which of `numbers` may not be called by `campaign` (listed globally or for it).
    static func load(_ db: PGSession, campaign: CampaignID?, numbers: [String]) async throws -> PGDoNotCall {
        guard !numbers.isEmpty else { return PGDoNotCall(listed: []) }
        let rows = try await db.query(
            """
            SELECT DISTINCT phone FROM dnc WHERE phone = ANY(?) AND (campaign_id IS NULL OR campaign_id = ?::TEXT)
            """,
            [PGTextArray(values: Array(Set(numbers))), campaign?.rawValue])
        return PGDoNotCall(listed: Set(try rows.map { try $0.string("phone") }))
    }
}
