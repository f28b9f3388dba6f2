/// Which columns of a contact-list file hold what, by header name.
///
/// Header names are matched case-insensitively and without surrounding white space, so
/// `Phone`, ` PHONE ` and `phone` are the same column; names are otherwise compared exactly
/// (`phone_number` is not `phone`). The same mapping names JSON keys for ``JSONContactReader``.
public struct ColumnMapping: Sendable, Hashable {
    /// Which columns become the custom fields an agent sees.
    public enum CustomFields: Sendable, Hashable {
        /// Every column not mapped to phone, time zone, caller ID or priority.
        case allOtherColumns
        /// These columns, in this order; they may include mapped ones (an agent may need to see
        /// the number).
        case named([String])
        /// No custom fields.
        case none
    }

    /// The phone number column.
    public var phone: String
    /// The contact's own time zone column, if any.
    public var timeZone: String?
    /// The caller ID column, if any.
    public var callerID: String?
    /// The priority column, if any.
    public var priority: String?
    /// The columns shown to the agent.
    public var customFields: CustomFields

    /// A mapping; by default the phone is in `phone` and every other column is a custom field.
    public init(
        phone: String = "phone", timeZone: String? = nil, callerID: String? = nil, priority: String? = nil,
        customFields: CustomFields = .allOtherColumns
    ) {
        self.phone = phone
        self.timeZone = timeZone
        self.callerID = callerID
        self.priority = priority
        self.customFields = customFields
    }

    /// The form in which header names are compared.
    static func key(_ name: String) -> String {
        name.trimmingWhiteSpace().lowercased()
    }

    /// The mapped roles with the column each names.
    var namedRoles: [(role: ColumnRole, name: String)] {
        var roles: [(ColumnRole, String)] = [(.phone, phone)]
        if let timeZone { roles.append((.timeZone, timeZone)) }
        if let callerID { roles.append((.callerID, callerID)) }
        if let priority { roles.append((.priority, priority)) }
        return roles
    }

    /// Where the mapped columns are in a file with this header.
    ///
    /// - Parameters:
    ///   - header: the header record's fields.
    ///   - delimiter: the delimiter the header was split with, so that a header that was not
    ///     split at all can be reported as a wrong delimiter.
    public func resolve(header: [String], delimiter: CSVDelimiter? = nil) throws(ColumnMappingError) -> ColumnLayout {
        if header.count == 1, let likely = Self.likelyDelimiter(in: header[0], other: delimiter) {
            throw .wrongDelimiter(used: delimiter ?? .comma, likely: likely)
        }

        var columns: [String: Int] = [:]
        for (index, name) in header.enumerated() {
            let key = Self.key(name)
            // A blank header names no column: spreadsheets leave them after the last real one.
            guard !key.isEmpty else { continue }
            if let first = columns[key] {
                throw .duplicateHeader(name.trimmingWhiteSpace(), columns: [first + 1, index + 1])
            }
            columns[key] = index
        }
        let found = header.map { $0.trimmingWhiteSpace() }.filter { !$0.isEmpty }

        var mapped: [ColumnRole: Int] = [:]
        var roleOfColumn: [Int: ColumnRole] = [:]
        for (role, name) in namedRoles {
            guard let index = columns[Self.key(name)] else {
                if role == .phone {
                    throw .missingPhoneColumn(expected: name, found: found)
                }
                throw .unknownColumn(role, name: name, found: found)
            }
            if let other = roleOfColumn[index] {
                throw .columnMappedTwice(header[index].trimmingWhiteSpace(), roles: [other, role])
            }
            mapped[role] = index
            roleOfColumn[index] = role
        }

        var custom: [Int] = []
        switch customFields {
        case .allOtherColumns:
            custom = header.indices.filter { roleOfColumn[$0] == nil && !Self.key(header[$0]).isEmpty }
        case .named(let names):
            for name in names {
                guard let index = columns[Self.key(name)] else {
                    throw .unknownColumn(.customField, name: name, found: found)
                }
                if !custom.contains(index) {
                    custom.append(index)
                }
            }
        case .none:
            break
        }

        return ColumnLayout(
            headers: header.map { $0.trimmingWhiteSpace() }, phoneColumn: mapped[.phone]!,
            timeZoneColumn: mapped[.timeZone], callerIDColumn: mapped[.callerID], priorityColumn: mapped[.priority],
            customFieldColumns: custom)
    }

    /// The delimiter a one-column header was evidently written with, other than the one used.
    private static func likelyDelimiter(in header: String, other used: CSVDelimiter?) -> CSVDelimiter? {
        var best: CSVDelimiter?
        var bestCount = 0
        for candidate in CSVDelimiter.allCases where candidate != (used ?? .comma) {
            let count = header.utf8.count { $0 == candidate.rawValue }
            if count > bestCount {
                best = candidate
                bestCount = count
            }
        }
        return best
    }
}

/// What a mapped column is for.
public enum ColumnRole: String, Sendable, Hashable, CustomStringConvertible {
    case phone
    case timeZone
    case callerID
    case priority
    case customField

    /// The role in words.
    public var description: String {
        switch self {
        case .phone: "phone"
        case .timeZone: "time zone"
        case .callerID: "caller ID"
        case .priority: "priority"
        case .customField: "custom field"
        }
    }
}

/// Why a contact-list file's header cannot be used; the import stops.
public enum ColumnMappingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file has no header row (it is empty, or holds only empty lines).
    case emptyFile
    /// The header row itself could not be read.
    case unreadableHeader(CSVRowError)
    /// The header was not split: its one column holds another delimiter.
    case wrongDelimiter(used: CSVDelimiter, likely: CSVDelimiter)
    /// Two columns have the same name; the 1-based column numbers.
    case duplicateHeader(String, columns: [Int])
    /// No column has the phone header; `found` are the headers the file has.
    case missingPhoneColumn(expected: String, found: [String])
    /// The mapping names a column the file does not have.
    case unknownColumn(ColumnRole, name: String, found: [String])
    /// The mapping gives one column two roles.
    case columnMappedTwice(String, roles: [ColumnRole])

    /// The problem and what to do about it, for the person importing.
    public var description: String {
        switch self {
        case .emptyFile:
            return "the file is empty: the first row must be a header"
        case .unreadableHeader(let error):
            return "the header row cannot be read: \(error)"
        case .wrongDelimiter(let used, let likely):
            return "the file looks \(likely)-delimited, not \(used)-delimited; pass delimiter=\(likely)"
        case .duplicateHeader(let name, let columns):
            return "the header \"\(name)\" appears in columns \(columns.map(String.init).joined(separator: " and "))"
        case .missingPhoneColumn(let expected, let found):
            return "no phone column \"\(expected)\"; the header has: \(Self.list(found))"
        case .unknownColumn(let role, let name, let found):
            return "the \(role) column \"\(name)\" is not in the file; the header has: \(Self.list(found))"
        case .columnMappedTwice(let name, let roles):
            return "the column \"\(name)\" is mapped as both \(roles.map(\.description).joined(separator: " and "))"
        }
    }

    private static func list(_ names: [String]) -> String {
        names.isEmpty ? "(no named columns)" : names.map { "\"\($0)\"" }.joined(separator: ", ")
    }
}

/// Where the mapped columns are in one file: a ``ColumnMapping`` resolved against its header.
public struct ColumnLayout: Sendable, Hashable {
    /// The header's names, trimmed.
    public let headers: [String]
    /// The 0-based index of the phone column.
    public let phoneColumn: Int
    /// The 0-based index of the time zone column, if mapped.
    public let timeZoneColumn: Int?
    /// The 0-based index of the caller ID column, if mapped.
    public let callerIDColumn: Int?
    /// The 0-based index of the priority column, if mapped.
    public let priorityColumn: Int?
    /// The 0-based indices of the custom field columns, in the order they are shown.
    public let customFieldColumns: [Int]

    /// The contact in `record`, or why the row is rejected.
    ///
    /// A row shorter than the header is read as if the missing trailing fields were empty
    /// (spreadsheets drop them); a longer one is rejected unless the extra fields are empty.
    public func contact(from record: CSVRecord) -> Result<ContactRow, ImportRowError> {
        let fields = record.fields
        if fields.count > headers.count,
            fields[headers.count...].contains(where: { !$0.trimmingWhiteSpace().isEmpty })
        {
            return .failure(
                ImportRowError(row: record.row, reason: .tooManyFields(found: fields.count, expected: headers.count)))
        }
        func value(_ column: Int?) -> String? {
            guard let column, column < fields.count else { return nil }
            let trimmed = fields[column].trimmingWhiteSpace()
            return trimmed.isEmpty ? nil : trimmed
        }
        guard let phone = value(phoneColumn) else {
            return .failure(ImportRowError(row: record.row, reason: .missingPhone))
        }
        var priority: Int?
        if let text = value(priorityColumn) {
            guard let number = Int(text) else {
                let reason = ImportRowError.Reason.wrongType(field: headers[priorityColumn!], expected: "an integer")
                return .failure(ImportRowError(row: record.row, reason: reason))
            }
            priority = number
        }
        let custom = customFieldColumns.map { column in
            ContactField(name: headers[column], value: column < fields.count ? fields[column] : "")
        }
        return .success(
            ContactRow(
                row: record.row, phone: phone, timeZone: value(timeZoneColumn), callerID: value(callerIDColumn),
                priority: priority, fields: custom))
    }
}

extension String {
    /// The string without leading and trailing white space (including no-break spaces, which
    /// spreadsheets like to leave around numbers).
    func trimmingWhiteSpace() -> String {
        // Most values start and end with a printable ASCII character: nothing to trim, and no
        // need for the Unicode properties lookup `isWhitespace` does.
        if let first = utf8.first, let last = utf8.last, (0x21...0x7E).contains(first), (0x21...0x7E).contains(last) {
            return self
        }
        guard let first = firstIndex(where: { !$0.isWhitespace }) else { return "" }
        let last = lastIndex(where: { !$0.isWhitespace })!
        return String(self[first...last])
    }

    /// Whether the string is empty or white space only.
    var isBlank: Bool {
        if utf8.contains(where: { (0x21...0x7E).contains($0) }) {
            return false
        }
        return allSatisfy(\.isWhitespace)
    }
}
