/// A value in a TOML document, restricted to the subset that cluster files use.
enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    /// An array of scalars (nested arrays are rejected by the parser).
    case array([TOMLValue])

    /// The kind of value, for "expected X, found Y" messages.
    var kindDescription: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .boolean: "a boolean"
        case .array: "an array"
        }
    }
}

/// One `key = value` line, with its line number so that later checks can point at it.
struct TOMLEntry: Equatable, Sendable {
    var key: String
    var value: TOMLValue
    var line: Int
}

/// The keys before any header (`name` nil), under one `[name]` header, or under one
/// `[[name]]` header (one element of an array of tables).
struct TOMLTable: Equatable, Sendable {
    var name: String?
    var isArrayElement: Bool
    /// The line of the header (1 for the root table).
    var line: Int
    /// The entries in file order; keys are unique within a table.
    var entries: [TOMLEntry] = []

    subscript(key: String) -> TOMLValue? {
        entries.first { $0.key == key }?.value
    }
}

/// A parsed TOML document: the root table and every table header, in file order.
///
/// Order is kept (rather than a dictionary of tables) so that errors found after parsing are
/// reported for the first offending line, the same way on every run.
struct TOMLDocument: Equatable, Sendable {
    var root = TOMLTable(name: nil, isArrayElement: false, line: 1)
    var tables: [TOMLTable] = []

    /// The table `[name]`, if the document has one.
    func table(_ name: String) -> TOMLTable? {
        tables.first { $0.name == name && !$0.isArrayElement }
    }

    /// The elements of the array of tables `[[name]]`, in file order.
    func arrayOfTables(_ name: String) -> [TOMLTable] {
        tables.filter { $0.name == name && $0.isArrayElement }
    }

    /// Adds an entry to the table whose header came last (the root before any header).
    mutating func appendToCurrentTable(_ entry: TOMLEntry) {
        if tables.isEmpty {
            root.entries.append(entry)
        } else {
            tables[tables.count - 1].entries.append(entry)
        }
    }
}
