import DialerRuntime
import FoundationEssentials

// Reads a request body's typed value straight from its ``JSONTree``.
//
// Foundation's `JSONDecoder` answers a number that does not fit the field (`2.5` or `1e300` for
// an integer) with "The given data was not valid JSON" and no path, which names nothing and is
// not true. Here every number is converted by range-checked initialisers, and a value that
// does not fit is an error naming its field and saying what was there.

/// Decodes API bodies from a ``JSONTree`` the way ``APIJSON/decoder()`` reads JSON: keys
/// camel-cased back (`caller_id` → `callerID`), dates in ISO 8601.
enum JSONTreeDecoder {
    static func decode<T: Decodable>(_ type: T.Type, from tree: JSONTree) throws -> T {
        try TreeDecoding(tree: tree, codingPath: []).value(T.self)
    }
}

private struct TreeDecoding: Decoder {
    let tree: JSONTree
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func value<T: Decodable>(_ type: T.Type) throws -> T {
        if T.self == Date.self {
            guard case .string(let text) = tree else { throw mismatch(T.self, "a date-time string") }
            guard let date = try? Date(text, strategy: .iso8601) else {
                throw corrupt("expected an ISO 8601 date-time like 2025-01-06T12:00:00Z (was \"\(text)\")")
            }
            // swift-format-ignore: NeverForceUnwrap
            return date as! T
        }
        if let dictionary = T.self as? any StringKeyedDictionary.Type {
            // Keys of a dictionary are data (a contact's field names), not the model's keys: they
            // stay as sent, as JSONDecoder keeps them.
            guard case .object(let members) = tree else { throw mismatch(T.self, "an object") }
            // swift-format-ignore: NeverForceUnwrap
            return try dictionary.decode(members: members, codingPath: codingPath) as! T
        }
        return try T(from: self)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let members) = tree else { throw mismatch([String: String].self, "an object") }
        var converted: [String: JSONTree] = [:]
        for (key, value) in members { converted[APIJSON.camelCased(key)] = value }
        return KeyedDecodingContainer(KeyedTree<Key>(members: converted, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = tree else { throw mismatch([String].self, "an array") }
        return UnkeyedTree(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleTree(tree: tree, codingPath: codingPath)
    }

    func mismatch(_ type: Any.Type, _ expected: String) -> DecodingError {
        if tree == .null {
            return .valueNotFound(type, .init(codingPath: codingPath, debugDescription: "must not be null"))
        }
        return .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "expected \(expected)"))
    }

    func corrupt(_ message: String) -> DecodingError {
        .dataCorrupted(.init(codingPath: codingPath, debugDescription: message))
    }
}

private struct SingleTree: SingleValueDecodingContainer {
    let tree: JSONTree
    let codingPath: [any CodingKey]

    private var decoding: TreeDecoding { TreeDecoding(tree: tree, codingPath: codingPath) }

    func decodeNil() -> Bool { tree == .null }

    func decode(_ type: Bool.Type) throws -> Bool {
        guard case .bool(let value) = tree else { throw decoding.mismatch(type, "true or false") }
        return value
    }

    func decode(_ type: String.Type) throws -> String {
        guard case .string(let value) = tree else { throw decoding.mismatch(type, "a string") }
        return value
    }

    func decode(_ type: Double.Type) throws -> Double {
        switch tree {
        case .integer(let value): return Double(value)
        case .number(let value): return value
        default: throw decoding.mismatch(type, "a number")
        }
    }

    func decode(_ type: Float.Type) throws -> Float {
        let value = try decode(Double.self)
        let float = Float(value)
        guard float.isFinite else { throw decoding.corrupt("is out of range (was \(value))") }
        return float
    }

    func decode(_ type: Int.Type) throws -> Int { try integer(type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(type) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(type) }

    func decode<T: Decodable>(_ type: T.Type) throws -> T { try decoding.value(type) }

    /// An integer of `type`: a JSON integer in its range, or a number with no fraction in it
    /// (`1e3`); anything else is an error that shows the value.
    private func integer<I: FixedWidthInteger>(_ type: I.Type) throws -> I {
        switch tree {
        case .integer(let value):
            guard let result = I(exactly: value) else {
                throw decoding.corrupt("is out of range: \(I.min) to \(I.max) (was \(value))")
            }
            return result
        case .number(let value):
            guard value == value.rounded() else { throw decoding.corrupt("expected an integer (was \(value))") }
            guard let result = I(exactly: value) else {
                throw decoding.corrupt("is out of range: \(I.min) to \(I.max) (was \(value))")
            }
            return result
        default:
            throw decoding.mismatch(type, "an integer")
        }
    }
}

private struct UnkeyedTree: UnkeyedDecodingContainer {
    let items: [JSONTree]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(items: [JSONTree], codingPath: [any CodingKey]) {
        self.items = items
        self.codingPath = codingPath
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next() throws -> TreeDecoding {
        let path = codingPath + [AnyKey(index: currentIndex)]
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                JSONTree.self, .init(codingPath: path, debugDescription: "the array has no more elements"))
        }
        defer { currentIndex += 1 }
        return TreeDecoding(tree: items[currentIndex], codingPath: path)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try next().value(type) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try next().unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder { try next() }
}

private struct KeyedTree<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let members: [String: JSONTree]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { members.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { members[key.stringValue] != nil }

    private func member(_ key: Key) throws -> TreeDecoding {
        guard let value = members[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "is required"))
        }
        return TreeDecoding(tree: value, codingPath: codingPath + [key])
    }

    func decodeNil(forKey key: Key) throws -> Bool { try member(key).tree == .null }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try member(key).value(type) }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey>
    {
        try member(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try member(key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        TreeDecoding(tree: .object(members), codingPath: codingPath)
    }

    func superDecoder(forKey key: Key) throws -> any Decoder { try member(key) }
}

extension AnyKey {
    /// The key of an array element.
    init(index: Int) {
        self.stringValue = "Index \(index)"
        self.intValue = index
    }
}

/// A dictionary keyed by strings, decoded member by member with its keys unchanged.
private protocol StringKeyedDictionary {
    static func decode(members: [String: JSONTree], codingPath: [any CodingKey]) throws -> Self
}

extension Dictionary: StringKeyedDictionary where Key == String, Value: Decodable {
    fileprivate static func decode(members: [String: JSONTree], codingPath: [any CodingKey]) throws -> Self {
        var result: [String: Value] = [:]
        for (key, value) in members {
            result[key] = try TreeDecoding(tree: value, codingPath: codingPath + [AnyKey(key)]).value(Value.self)
        }
        return result
    }
}
