import DialerCore
import DialerImport
import DialerRuntime
import FoundationEssentials
import Hummingbird

// Strict JSON for request bodies.
//
// `JSONDecoder` ignores keys it does not know, so a misspelt setting (`ring_timout`) would be
// accepted and silently take its default. Every body is therefore read twice: once as a plain
// JSON tree, once as the typed value; the typed value is encoded again the way responses are,
// and a key of the tree that the encoding does not have is a field the API does not know.

/// A JSON document as a tree: what the body said, before any type reads it.
enum JSONTree: Codable, Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONTree])
    case object([String: JSONTree])

    init(from decoder: any Decoder) throws {
        if var array = try? decoder.unkeyedContainer() {
            var items: [JSONTree] = []
            while !array.isAtEnd { items.append(try array.decode(JSONTree.self)) }
            self = .array(items)
            return
        }
        if let object = try? decoder.container(keyedBy: AnyKey.self) {
            var members: [String: JSONTree] = [:]
            for key in object.allKeys { members[key.stringValue] = try object.decode(JSONTree.self, forKey: key) }
            self = .object(members)
            return
        }
        let value = try decoder.singleValueContainer()
        if value.decodeNil() {
            self = .null
        } else if let bool = try? value.decode(Bool.self) {
            self = .bool(bool)
        } else if let integer = try? value.decode(Int64.self) {
            self = .integer(integer)
        } else if let number = try? value.decode(Double.self) {
            self = .number(number)
        } else {
            self = .string(try value.decode(String.self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .bool(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .integer(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .number(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .string(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .array(let items):
            var container = encoder.unkeyedContainer()
            for item in items { try container.encode(item) }
        case .object(let members):
            var container = encoder.container(keyedBy: AnyKey.self)
            for (key, value) in members { try container.encode(value, forKey: AnyKey(key)) }
        }
    }

    /// RFC 7396 merge patch: members of `patch` replace this document's, objects merge
    /// recursively, and `null` removes a member (it takes its default again).
    func merged(with patch: JSONTree) -> JSONTree {
        guard case .object(let changes) = patch else { return patch }
        guard case .object(var members) = self else { return JSONTree.object([:]).merged(with: patch) }
        for (key, value) in changes {
            if value == .null {
                members[key] = nil
            } else {
                members[key] = (members[key] ?? .null).merged(with: value)
            }
        }
        return .object(members)
    }

    /// The first path (`settings.ring_timout`) present in this tree but not in `known`, by
    /// sorted key; `null` members are skipped (an absent optional encodes as nothing).
    func firstUnknownPath(comparedWith known: JSONTree, prefix: String = "") -> String? {
        switch (self, known) {
        case (.object(let members), .object(let knownMembers)):
            for key in members.keys.sorted() {
                let path = prefix.isEmpty ? key : prefix + "." + key
                guard let value = members[key], value != .null else { continue }
                guard let knownValue = knownMembers[key] else { return path }
                if let unknown = value.firstUnknownPath(comparedWith: knownValue, prefix: path) { return unknown }
            }
        case (.object(let members), _):
            // An object where the type has a scalar (a coding the type accepted but does not write
            // the same way): nothing to compare key by key.
            _ = members
        case (.array(let items), .array(let knownItems)):
            for (index, item) in items.enumerated() where index < knownItems.count {
                if let unknown = item.firstUnknownPath(comparedWith: knownItems[index], prefix: "\(prefix)[\(index)]") {
                    return unknown
                }
            }
        default:
            break
        }
        return nil
    }
}

struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ string: String) { self.stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

/// The API's JSON coding: snake_case keys both ways, ISO 8601 dates.
enum StrictJSON {
    /// The plain tree of `data`.
    static func tree(_ data: Data) throws(APIError) -> JSONTree {
        do {
            return try JSONDecoder().decode(JSONTree.self, from: data)
        } catch {
            throw APIError.invalid("the body is not valid JSON")
        }
    }

    /// The tree of `value` as the API writes it.
    static func tree(of value: some Encodable) throws -> JSONTree {
        try JSONDecoder().decode(JSONTree.self, from: APIJSON.encoder().encode(value))
    }

    /// Reads `tree` as a `T`, rejecting a missing or mistyped field and a field `T` does not
    /// know, each by name.
    static func decodeStrict<T: Codable>(_ type: T.Type, from tree: JSONTree) throws -> T {
        guard case .object = tree else { throw APIError.invalid("body: expected a JSON object") }
        let value: T
        do {
            value = try JSONTreeDecoder.decode(T.self, from: tree)
        } catch let error as DecodingError {
            throw APIError.invalid(describe(error))
        }
        if let unknown = tree.firstUnknownPath(comparedWith: try self.tree(of: value)) {
            throw APIError.invalid("\(unknown): is not a known field")
        }
        return value
    }

    /// "field: what is wrong", with the field as the API spells it.
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            var parts: [String] = []
            for key in codingPath + (last.map { [$0] } ?? []) {
                if let index = key.intValue {
                    parts.append("[\(index)]")
                } else {
                    parts.append((parts.isEmpty ? "" : ".") + key.stringValue.apiFieldName)
                }
            }
            let text = parts.joined()
            return text.isEmpty ? "body" : text
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath, key)): is required"
        case .typeMismatch(let expected, let context):
            return "\(path(context.codingPath)): expected \(typeName(expected))"
        case .valueNotFound(_, let context):
            return "\(path(context.codingPath)): must not be null"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "the body does not fit the request"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "true or false"
        default: "\(type)".lowercased().contains("array") ? "an array" : "an object"
        }
    }
}

extension String {
    /// `ringTimeout` → `ring_timeout`, `callerID` → `caller_id`: a model's field as the API
    /// spells it (keys already in snake_case and array indices stay as they are).
    var apiFieldName: String {
        var result = ""
        var previous: Character?
        for character in self {
            if character.isUppercase, let previous, previous.isLowercase || previous.isNumber {
                result += "_"
            }
            result += character.lowercased()
            previous = character
        }
        return result
    }

    /// A settings path from ``FieldError/field`` (`predictive.targetAbandonRate`, `windows[2]`)
    /// as the API spells it.
    var apiFieldPath: String {
        split(separator: ".", omittingEmptySubsequences: false).map { String($0).apiFieldName }.joined(separator: ".")
    }
}

/// Reads a request's JSON body strictly (see ``APIJSON/decodeStrict(_:from:)``): 413 above the
/// context's limit, 400 naming the field for a missing, mistyped or unknown one.
func decodeStrictBody<T: Codable>(_ type: T.Type, from request: Request, context: ManagerRequestContext)
    async throws -> T
{
    try StrictJSON.decodeStrict(T.self, from: try await bodyTree(request, context: context))
}

/// The request's JSON body as a tree, 413 above the context's limit.
func bodyTree(_ request: Request, context: ManagerRequestContext) async throws -> JSONTree {
    let buffer: ByteBuffer
    do {
        buffer = try await request.body.collect(upTo: context.maxUploadSize)
    } catch {
        throw APIError(.contentTooLarge, "body_too_large", "the request body exceeds \(context.maxUploadSize) bytes")
    }
    return try StrictJSON.tree(Data(buffer.readableBytesView))
}

/// Applies a merge-patch body to `current` (a value as the API shows it) and reads the result
/// strictly, as if the whole merged document had been sent.
func patched<T: Codable>(_ current: T, with request: Request, context: ManagerRequestContext) async throws -> T {
    let patch = try await bodyTree(request, context: context)
    guard case .object = patch else { throw APIError.invalid("body: expected a JSON object") }
    return try StrictJSON.decodeStrict(T.self, from: try StrictJSON.tree(of: current).merged(with: patch))
}

/// A JSON response in the API's coding.
func reply(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    try JSONResponse.make(value, status: status)
}

extension APIError {
    /// 409: the thing exists, or the operation would break a rule about something in use.
    static func conflict(_ message: String) -> APIError { APIError(.conflict, "conflict", message) }

    /// The API's answer to a store error: 404, 409, 400 naming the field, 422 for a failed import.
    init(_ error: StoreError) {
        switch error {
        case .notFound: self = .notFound(error.description)
        case .alreadyExists, .conflict: self = .conflict(error.description)
        case .invalid(let message): self = .invalid(message)
        case .invalidSettings(let errors):
            self = .invalid(
                errors.map { "settings.\($0.field.apiFieldPath): \($0.message)" }.joined(separator: "; "))
        case .importFailed: self = APIError(.unprocessableContent, "import_failed", error.description)
        case .corruptRow, .unavailable: self = APIError(.internalServerError, "internal_error", error.description)
        }
    }
}

/// Runs a store operation, answering its ``StoreError`` as the matching ``APIError``.
func storing<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as StoreError {
        throw APIError(error)
    } catch let busy as PasswordWork.Busy {
        throw APIError(.tooManyRequests, "too_many_requests", busy.description)
    }
}

/// The ids operators choose (campaigns, lists, agents, teams, queues): 1 to 64 ASCII letters,
/// digits, `-`, `_` and `.`, not starting with a dot, because they name folders (a campaign's
/// watched folder) and appear in URLs.
func checkIdentifier(_ value: String, field: String) throws {
    let allowed = value.utf8.allSatisfy { byte in
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == 0x2D || byte == 0x5F || byte == 0x2E
    }
    guard (1...64).contains(value.utf8.count), allowed, !value.hasPrefix(".") else {
        throw APIError.invalid(
            "\(field): must be 1 to 64 ASCII letters, digits, '-', '_' or '.', not starting with '.'")
    }
}

/// A short human text field (a name): trimmed, 1 to `limit` characters.
func checkName(_ value: String, field: String, limit: Int = 200) throws -> String {
    let trimmed = value.trimmingCharacters(in: .whitespaces)
    guard (1...limit).contains(trimmed.count) else {
        throw APIError.invalid("\(field): must be 1 to \(limit) characters")
    }
    return trimmed
}

/// A region for phone numbers: two capital letters.
func checkRegion(_ value: String, field: String) throws -> String {
    guard value.count == 2, value.allSatisfy({ $0.isASCII && $0.isLetter }) else {
        throw APIError.invalid("\(field): must be an ISO 3166 alpha-2 region such as US or DK")
    }
    return value.uppercased()
}

extension Parameters {
    /// A path parameter, percent-decoded.
    func path(_ name: String) throws -> String {
        let raw = try require(name)
        return raw.removingPercentEncoding ?? raw
    }
}

/// Query parameters, each checked by name: an unknown one is rejected like an unknown field.
struct Query {
    private var items: [String: String]
    private var used: Set<String> = []

    init(_ request: Request) {
        var items: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { items[String(key)] = String(value) }
        self.items = items
    }

    mutating func string(_ name: String) -> String? {
        used.insert(name)
        return items[name]
    }

    mutating func integer(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.invalid("\(name): must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    mutating func choice<T: RawRepresentable & CaseIterable>(_ name: String, of type: T.Type) throws -> T?
    where T.RawValue == String {
        guard let text = string(name) else { return nil }
        guard let value = T(rawValue: text) else {
            throw APIError.invalid(
                "\(name): must be one of \(T.allCases.map(\.rawValue).joined(separator: ", ")), not '\(text)'")
        }
        return value
    }

    mutating func bool(_ name: String) throws -> Bool {
        guard let text = string(name) else { return false }
        switch text {
        case "true", "1", "": return true
        case "false", "0": return false
        default: throw APIError.invalid("\(name): must be true or false")
        }
    }

    /// The parameters starting with `prefix`, by the rest of their name (`field.city` → `city`).
    mutating func prefixed(_ prefix: String) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in items where key.hasPrefix(prefix) {
            used.insert(key)
            result[String(key.dropFirst(prefix.count))] = value
        }
        return result
    }

    /// Rejects the parameters no one asked for.
    func checkAllUsed() throws {
        if let unknown = items.keys.filter({ !used.contains($0) }).sorted().first {
            throw APIError.invalid("\(unknown): is not a known query parameter")
        }
    }
}
