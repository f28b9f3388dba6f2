public import DialerCore
import DialerImport
import Foundation
public import FoundationEssentials
import GRDB

// Single contacts: add, read, edit, delete, search, reset.

extension SQLiteManagerStore {
    public func addContact(to list: ContactListID, _ draft: ContactDraft, defaultRegion: String, now: Date)
        async throws -> Contact
    {
        let values = try ContactValues(draft, defaultRegion: defaultRegion)
        return try await pool.write { db in
            guard try Self.exists(db, "SELECT 1 FROM contact_list WHERE id = ?", [list.rawValue]) else {
                throw StoreError.notFound("list \(list)")
            }
            guard
                try !Self.exists(
                    db, "SELECT 1 FROM contact WHERE list_id = ? AND phone = ?", [list.rawValue, values.phone])
            else { throw StoreError.alreadyExists("the number in list \(list)") }
            try db.execute(
                sql: """
                    INSERT INTO contact (list_id, phone, time_zone, caller_id, priority, fields, state, waiting_since, \
                    created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'fresh', ?, ?, ?)
                    """,
                arguments: [
                    list.rawValue, values.phone, values.timeZone, values.callerID, draft.priority, values.fields,
                    now.storeValue, now.storeValue, now.storeValue,
                ])
            return try ContactColumns.fetch(db, rowID: db.lastInsertedRowID)!
        }
    }

    public func contact(_ id: ContactID) async throws -> Contact? {
        try await pool.read { db in try ContactColumns.fetch(db, id: id) }
    }

    public func updateContact(_ id: ContactID, _ draft: ContactDraft, defaultRegion: String, now: Date)
        async throws -> Contact
    {
        let values = try ContactValues(draft, defaultRegion: defaultRegion)
        return try await pool.write { db in
            guard let rowID = ContactKey.rowID(id), let contact = try ContactColumns.fetch(db, rowID: rowID) else {
                throw StoreError.notFound("contact \(id)")
            }
            // As in the domain's ledger: a contact in an attempt changes only through its result.
            if contact.state.openAttempt != nil {
                throw StoreError.conflict("contact \(id) is in an open attempt")
            }
            guard
                try !Self.exists(
                    db, "SELECT 1 FROM contact WHERE list_id = ? AND phone = ? AND id <> ?",
                    [contact.list.rawValue, values.phone, rowID])
            else { throw StoreError.alreadyExists("the number in list \(contact.list)") }
            try db.execute(
                sql: """
                    UPDATE contact SET phone = ?, time_zone = ?, caller_id = ?, priority = ?, fields = ?, \
                    updated_at = ? WHERE id = ?
                    """,
                arguments: [
                    values.phone, values.timeZone, values.callerID, draft.priority, values.fields, now.storeValue,
                    rowID,
                ])
            return try ContactColumns.fetch(db, rowID: rowID)!
        }
    }

    public func deleteContact(_ id: ContactID) async throws -> Bool {
        guard let rowID = ContactKey.rowID(id) else { return false }
        return try await pool.write { db in
            if try Self.exists(db, "SELECT 1 FROM contact WHERE id = ? AND state = 'inAttempt'", [rowID]) {
                throw StoreError.conflict("contact \(id) is in an open attempt")
            }
            try db.execute(sql: "DELETE FROM contact WHERE id = ?", arguments: [rowID])
            return db.changesCount > 0
        }
    }

    public func searchContacts(_ filter: ContactFilter, after: ContactID?, limit: Int) async throws -> ContactPage {
        let condition = try ContactCondition(filter)
        let limit = max(0, limit)
        // An `after` the store never made sorts before every id.
        let afterRowID = after.map { ContactKey.rowID($0) ?? 0 } ?? 0
        return try await pool.read { db in
            var arguments = condition.arguments
            arguments += [afterRowID, limit]
            let contacts = try Row.fetchAll(
                db,
                sql: """
                    SELECT \(ContactColumns.select) FROM contact WHERE \(condition.sql) AND contact.id > ? \
                    ORDER BY contact.id LIMIT ?
                    """,
                arguments: arguments
            ).map { try ContactColumns.contact($0) }
            return ContactPage(contacts: contacts, nextAfter: contacts.count == limit ? contacts.last?.id : nil)
        }
    }

    public func countContacts(_ filter: ContactFilter) async throws -> Int {
        let condition = try ContactCondition(filter)
        return try await pool.read { db in
            try Int.fetchOne(
                db, sql: "SELECT COUNT(*) FROM contact WHERE \(condition.sql)", arguments: condition.arguments) ?? 0
        }
    }

    public func resetAttempts(of id: ContactID, now: Date) async throws -> Bool? {
        try await pool.write { db in
            guard var contact = try ContactColumns.fetch(db, id: id) else { return nil }
            guard contact.state.openAttempt == nil else { return false }
            contact.resetAttempts(now: now)
            try ContactColumns.saveState(db, contact)
            return true
        }
    }

    public func resetAttempts(matching filter: ContactFilter, now: Date) async throws -> AttemptReset {
        let condition = try ContactCondition(filter)
        return try await pool.write { db in
            // The rule of Contact.resetAttempts(now:) in one statement, so that resetting a whole
            // campaign does not read every contact into memory: not in an attempt → counter to
            // zero; closed for using its attempts → fresh. (A test holds the two to agree.)
            let exhausted = "contact.state = 'final' AND contact.final_reason = 'attemptsExhausted'"
            let reopened =
                try Int.fetchOne(
                    db, sql: "SELECT COUNT(*) FROM contact WHERE \(condition.sql) AND \(exhausted)",
                    arguments: condition.arguments) ?? 0
            var arguments: StatementArguments = [now.storeValue]
            arguments += condition.arguments
            try db.execute(
                sql: """
                    UPDATE contact SET attempts = 0, updated_at = ?,
                        state = CASE WHEN \(exhausted) THEN 'fresh' ELSE state END,
                        final_reason = CASE WHEN \(exhausted) THEN NULL ELSE final_reason END
                    WHERE \(condition.sql) AND contact.state <> 'inAttempt'
                    """,
                arguments: arguments)
            return AttemptReset(reset: db.changesCount, reopened: reopened)
        }
    }
}

/// A draft's values as stored: the numbers in E.164, the time zone checked or guessed, the
/// fields as JSON.
struct ContactValues: Sendable {
    var phone: String
    var timeZone: String?
    var callerID: String?
    var fields: String

    init(_ draft: ContactDraft, defaultRegion: String) throws {
        let number = try PhoneInput.normalize(draft.phone, region: defaultRegion, what: "the phone number")
        phone = number.description
        callerID = try draft.callerID.map {
            try PhoneInput.normalize($0, region: defaultRegion, what: "the caller ID").description
        }
        if let zone = draft.timeZone {
            guard TimeZone(identifier: zone) != nil else { throw StoreError.invalid("unknown time zone \"\(zone)\"") }
            timeZone = zone
        } else {
            timeZone = TimeZoneGuess.zone(for: number)
        }
        fields = FieldsJSON.encode(draft.fields)
    }
}

/// Phone numbers as operators write them, read into E.164.
enum PhoneInput {
    /// The number, or ``StoreError/invalid(_:)`` with why (never the number itself).
    static func normalize(_ raw: String, region: String, what: String) throws -> E164 {
        switch PhoneNumber.normalize(raw, defaultRegion: region) {
        case .success(let number): return number
        case .failure(let error): throw StoreError.invalid("\(what) is not valid: \(error)")
        }
    }
}

/// A ``ContactFilter`` as an SQL condition on the `contact` table.
struct ContactCondition: Sendable {
    var sql: String
    var arguments: StatementArguments

    init(_ filter: ContactFilter) throws {
        var terms = ["1"]
        var arguments = StatementArguments()
        if let list = filter.list {
            terms.append("contact.list_id = ?")
            arguments += [list.rawValue]
        }
        if let campaign = filter.campaign {
            terms.append("contact.list_id = (SELECT list_id FROM campaign WHERE id = ?)")
            arguments += [campaign.rawValue]
        }
        if let phone = filter.phone {
            terms.append("contact.phone = ?")
            arguments += [phone]
        }
        if let states = filter.states {
            let kinds = states.map(\.rawValue).sorted()
            terms.append(
                kinds.isEmpty
                    ? "0" : "contact.state IN (\(Array(repeating: "?", count: kinds.count).joined(separator: ", ")))")
            for kind in kinds { arguments += [kind] }
        }
        if let outcome = filter.lastOutcome {
            terms.append("contact.last_outcome = ?")
            arguments += [outcome.rawValue]
        }
        if let minimum = filter.minimumAttempts {
            terms.append("contact.attempts >= ?")
            arguments += [minimum]
        }
        for (name, value) in filter.fields.sorted(by: { $0.key < $1.key }) {
            guard let path = FieldsJSON.path(name) else {
                throw StoreError.invalid("a field name to filter by cannot hold quotes or backslashes")
            }
            terms.append("json_extract(contact.fields, ?) = ?")
            arguments += [path, value]
        }
        self.sql = "(" + terms.joined(separator: " AND ") + ")"
        self.arguments = arguments
    }
}
