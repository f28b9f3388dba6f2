import Foundation
import SwiftProtobuf

/// A binary protobuf decoder for the protocol's messages that gives the same messages as
/// swift-protobuf's for the inputs it takes, and declines the rest.
///
/// Why: swift-protobuf checks each string field's UTF-8 one scalar at a time before building
/// the `String`, which was about 28 % of a 500-byte frame's encode + decode; this decoder
/// checks ASCII eight bytes at a time and leaves other text to the standard library's
/// validating initialiser (the same rules: no overlong forms, surrogates or values above
/// U+10FFFF). It drives the generated `decodeMessage(decoder:)`, so it knows no message by hand
/// and needs no change when the protocol grows.
///
/// It declines (throws ``Declined``) whatever it would not decode exactly as swift-protobuf
/// does, and the caller then parses the payload with swift-protobuf, which decides: a field
/// this peer does not know (kept there as an unknown field), a field whose wire type does not
/// match its declaration, invalid UTF-8, a malformed or truncated input, groups, extensions,
/// and nesting deeper than swift-protobuf's limit. So a well-formed frame of known fields
/// takes the fast path and every other input gets exactly the old answer.
struct EnvelopeFastDecoder: SwiftProtobuf.Decoder {
    /// This input needs swift-protobuf's own decoder.
    struct Declined: Error {}

    private var p: UnsafeRawPointer
    private var available: Int
    private var fieldNumber = 0
    private var wireType: UInt8 = 0
    private var consumed = true
    private var depth: Int

    /// swift-protobuf's default `messageDepthLimit`.
    private static let depthLimit = 100

    private init(start: UnsafeRawPointer, count: Int, depth: Int) {
        p = start
        available = count
        self.depth = depth
    }

    /// Decodes `bytes` as an `M`, or throws ``Declined``.
    static func decode<M: Message>(_ type: M.Type, from bytes: UnsafeRawBufferPointer) throws -> M {
        var message = M()
        try decode(into: &message, from: bytes)
        return message
    }

    /// Decodes `bytes` into `message` (merging, as swift-protobuf's `merge(serializedBytes:)`),
    /// or throws ``Declined``, leaving `message` partly decoded.
    static func decode<M: Message>(into message: inout M, from bytes: UnsafeRawBufferPointer) throws {
        guard let start = bytes.baseAddress else { return }
        var decoder = EnvelopeFastDecoder(start: start, count: bytes.count, depth: 1)
        try message.decodeMessage(decoder: &decoder)
    }

    // MARK: Fields

    mutating func handleConflictingOneOf() throws {
        // As swift-protobuf's binary decoder: the later value of a oneof wins.
    }

    mutating func nextFieldNumber() throws -> Int? {
        // A field the message did not take would be an unknown field (or a wire-type mismatch).
        guard consumed else { throw Declined() }
        if available == 0 { return nil }
        let c0 = p.load(as: UInt8.self)
        var number: Int
        if c0 & 0x80 == 0 {
            number = Int(c0) >> 3
            p += 1
            available -= 1
        } else {
            guard available >= 2 else { throw Declined() }
            let c1 = p.load(fromByteOffset: 1, as: UInt8.self)
            // Tags of three bytes or more (field numbers above 2047) go to swift-protobuf.
            guard c1 & 0x80 == 0 else { throw Declined() }
            number = (Int(c0 & 0x7f) >> 3) | (Int(c1) << 4)
            p += 2
            available -= 2
        }
        wireType = c0 & 7
        // Varint, 64-bit, length-delimited, 32-bit; groups and invalid wire types are declined.
        guard number != 0, wireType == 0 || wireType == 1 || wireType == 2 || wireType == 5 else {
            throw Declined()
        }
        fieldNumber = number
        consumed = false
        return number
    }

    private mutating func varint() throws -> UInt64 {
        // The same reading as swift-protobuf's: at most ten bytes, the excess bits dropped.
        guard available >= 1 else { throw Declined() }
        var c = p.load(as: UInt8.self)
        p += 1
        available -= 1
        if c & 0x80 == 0 { return UInt64(c) }
        var value = UInt64(c & 0x7f)
        var shift: UInt64 = 7
        while true {
            guard available >= 1, shift <= 63 else { throw Declined() }
            c = p.load(as: UInt8.self)
            p += 1
            available -= 1
            value |= UInt64(c & 0x7f) &<< shift
            if c & 0x80 == 0 { return value }
            shift &+= 7
        }
    }

    /// The body of a length-delimited field.
    private mutating func body() throws -> UnsafeRawBufferPointer {
        let length = try varint()
        guard length < 0x7fff_ffff, length <= UInt64(available) else { throw Declined() }
        let body = UnsafeRawBufferPointer(start: p, count: Int(length))
        p += Int(length)
        available -= Int(length)
        return body
    }

    private mutating func fixed<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let size = MemoryLayout<T>.size
        guard available >= size else { throw Declined() }
        let value = T(littleEndian: p.loadUnaligned(as: T.self))
        p += size
        available -= size
        return value
    }

    /// Reads a varint field (`transform` of the value), or leaves a mismatched field unconsumed.
    private mutating func singularVarint<T>(_ value: inout T, _ transform: (UInt64) -> T) throws {
        guard wireType == 0 else { return }
        value = transform(try varint())
        consumed = true
    }

    private mutating func singularVarint<T>(_ value: inout T?, _ transform: (UInt64) -> T) throws {
        guard wireType == 0 else { return }
        value = transform(try varint())
        consumed = true
    }

    /// Reads one value or a packed run of varints.
    private mutating func repeatedVarint<T>(_ value: inout [T], _ transform: (UInt64) -> T) throws {
        switch wireType {
        case 0:
            value.append(transform(try varint()))
            consumed = true
        case 2:
            let run = try body()
            guard let start = run.baseAddress else {
                consumed = true
                return
            }
            var inner = EnvelopeFastDecoder(start: start, count: run.count, depth: depth)
            while inner.available > 0 { value.append(transform(try inner.varint())) }
            consumed = true
        default:
            return
        }
    }

    private mutating func singularFixed<T: FixedWidthInteger, V>(
        _: T.Type, wire: UInt8, _ value: inout V, _ transform: (T) -> V
    ) throws {
        guard wireType == wire else { return }
        value = transform(try fixed(T.self))
        consumed = true
    }

    private mutating func singularFixed<T: FixedWidthInteger, V>(
        _: T.Type, wire: UInt8, _ value: inout V?, _ transform: (T) -> V
    ) throws {
        guard wireType == wire else { return }
        value = transform(try fixed(T.self))
        consumed = true
    }

    private mutating func repeatedFixed<T: FixedWidthInteger, V>(
        _: T.Type, wire: UInt8, _ value: inout [V], _ transform: (T) -> V
    ) throws {
        switch wireType {
        case wire:
            value.append(transform(try fixed(T.self)))
            consumed = true
        case 2:
            let run = try body()
            let size = MemoryLayout<T>.size
            guard run.count % size == 0 else { throw Declined() }
            guard let start = run.baseAddress else {
                consumed = true
                return
            }
            var inner = EnvelopeFastDecoder(start: start, count: run.count, depth: depth)
            while inner.available > 0 { value.append(transform(try inner.fixed(T.self))) }
            consumed = true
        default:
            return
        }
    }

    mutating func decodeSingularFloatField(value: inout Float) throws {
        try singularFixed(UInt32.self, wire: 5, &value) { Float(bitPattern: $0) }
    }
    mutating func decodeSingularFloatField(value: inout Float?) throws {
        try singularFixed(UInt32.self, wire: 5, &value) { Float(bitPattern: $0) }
    }
    mutating func decodeRepeatedFloatField(value: inout [Float]) throws {
        try repeatedFixed(UInt32.self, wire: 5, &value) { Float(bitPattern: $0) }
    }
    mutating func decodeSingularDoubleField(value: inout Double) throws {
        try singularFixed(UInt64.self, wire: 1, &value) { Double(bitPattern: $0) }
    }
    mutating func decodeSingularDoubleField(value: inout Double?) throws {
        try singularFixed(UInt64.self, wire: 1, &value) { Double(bitPattern: $0) }
    }
    mutating func decodeRepeatedDoubleField(value: inout [Double]) throws {
        try repeatedFixed(UInt64.self, wire: 1, &value) { Double(bitPattern: $0) }
    }
    mutating func decodeSingularInt32Field(value: inout Int32) throws {
        try singularVarint(&value) { Int32(truncatingIfNeeded: $0) }
    }
    mutating func decodeSingularInt32Field(value: inout Int32?) throws {
        try singularVarint(&value) { Int32(truncatingIfNeeded: $0) }
    }
    mutating func decodeRepeatedInt32Field(value: inout [Int32]) throws {
        try repeatedVarint(&value) { Int32(truncatingIfNeeded: $0) }
    }
    mutating func decodeSingularInt64Field(value: inout Int64) throws {
        try singularVarint(&value) { Int64(bitPattern: $0) }
    }
    mutating func decodeSingularInt64Field(value: inout Int64?) throws {
        try singularVarint(&value) { Int64(bitPattern: $0) }
    }
    mutating func decodeRepeatedInt64Field(value: inout [Int64]) throws {
        try repeatedVarint(&value) { Int64(bitPattern: $0) }
    }
    mutating func decodeSingularUInt32Field(value: inout UInt32) throws {
        try singularVarint(&value) { UInt32(truncatingIfNeeded: $0) }
    }
    mutating func decodeSingularUInt32Field(value: inout UInt32?) throws {
        try singularVarint(&value) { UInt32(truncatingIfNeeded: $0) }
    }
    mutating func decodeRepeatedUInt32Field(value: inout [UInt32]) throws {
        try repeatedVarint(&value) { UInt32(truncatingIfNeeded: $0) }
    }
    mutating func decodeSingularUInt64Field(value: inout UInt64) throws {
        try singularVarint(&value) { $0 }
    }
    mutating func decodeSingularUInt64Field(value: inout UInt64?) throws {
        try singularVarint(&value) { $0 }
    }
    mutating func decodeRepeatedUInt64Field(value: inout [UInt64]) throws {
        try repeatedVarint(&value) { $0 }
    }
    mutating func decodeSingularSInt32Field(value: inout Int32) throws {
        try singularVarint(&value) { Self.zigZag32($0) }
    }
    mutating func decodeSingularSInt32Field(value: inout Int32?) throws {
        try singularVarint(&value) { Self.zigZag32($0) }
    }
    mutating func decodeRepeatedSInt32Field(value: inout [Int32]) throws {
        try repeatedVarint(&value) { Self.zigZag32($0) }
    }
    mutating func decodeSingularSInt64Field(value: inout Int64) throws {
        try singularVarint(&value) { Self.zigZag64($0) }
    }
    mutating func decodeSingularSInt64Field(value: inout Int64?) throws {
        try singularVarint(&value) { Self.zigZag64($0) }
    }
    mutating func decodeRepeatedSInt64Field(value: inout [Int64]) throws {
        try repeatedVarint(&value) { Self.zigZag64($0) }
    }
    mutating func decodeSingularFixed32Field(value: inout UInt32) throws {
        try singularFixed(UInt32.self, wire: 5, &value) { $0 }
    }
    mutating func decodeSingularFixed32Field(value: inout UInt32?) throws {
        try singularFixed(UInt32.self, wire: 5, &value) { $0 }
    }
    mutating func decodeRepeatedFixed32Field(value: inout [UInt32]) throws {
        try repeatedFixed(UInt32.self, wire: 5, &value) { $0 }
    }
    mutating func decodeSingularFixed64Field(value: inout UInt64) throws {
        try singularFixed(UInt64.self, wire: 1, &value) { $0 }
    }
    mutating func decodeSingularFixed64Field(value: inout UInt64?) throws {
        try singularFixed(UInt64.self, wire: 1, &value) { $0 }
    }
    mutating func decodeRepeatedFixed64Field(value: inout [UInt64]) throws {
        try repeatedFixed(UInt64.self, wire: 1, &value) { $0 }
    }
    mutating func decodeSingularSFixed32Field(value: inout Int32) throws {
        try singularFixed(UInt32.self, wire: 5, &value) { Int32(bitPattern: $0) }
    }
    mutating func decodeSingularSFixed32Field(value: inout Int32?) throws {
        try singularFixed(UInt32.self, wire: 5, &value) { Int32(bitPattern: $0) }
    }
    mutating func decodeRepeatedSFixed32Field(value: inout [Int32]) throws {
        try repeatedFixed(UInt32.self, wire: 5, &value) { Int32(bitPattern: $0) }
    }
    mutating func decodeSingularSFixed64Field(value: inout Int64) throws {
        try singularFixed(UInt64.self, wire: 1, &value) { Int64(bitPattern: $0) }
    }
    mutating func decodeSingularSFixed64Field(value: inout Int64?) throws {
        try singularFixed(UInt64.self, wire: 1, &value) { Int64(bitPattern: $0) }
    }
    mutating func decodeRepeatedSFixed64Field(value: inout [Int64]) throws {
        try repeatedFixed(UInt64.self, wire: 1, &value) { Int64(bitPattern: $0) }
    }
    mutating func decodeSingularBoolField(value: inout Bool) throws {
        try singularVarint(&value) { $0 != 0 }
    }
    mutating func decodeSingularBoolField(value: inout Bool?) throws {
        try singularVarint(&value) { $0 != 0 }
    }
    mutating func decodeRepeatedBoolField(value: inout [Bool]) throws {
        try repeatedVarint(&value) { $0 != 0 }
    }

    // MARK: Text and bytes

    /// The field's text; declined when it is not valid UTF-8 (swift-protobuf then says so).
    private mutating func text() throws -> String {
        let bytes = try body()
        guard let start = bytes.baseAddress, bytes.count > 0 else { return String() }
        if Self.isASCII(start, count: bytes.count) {
            // ASCII is valid UTF-8 as it is.
            return String(decoding: bytes, as: UTF8.self)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw Declined() }
        return text
    }

    /// Whether every byte is below 0x80, eight at a time.
    private static func isASCII(_ start: UnsafeRawPointer, count: Int) -> Bool {
        var offset = 0
        var high: UInt64 = 0
        while offset + 8 <= count {
            high |= start.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        while offset < count {
            high |= UInt64(start.load(fromByteOffset: offset, as: UInt8.self))
            offset += 1
        }
        return high & 0x8080_8080_8080_8080 == 0
    }

    mutating func decodeSingularStringField(value: inout String) throws {
        guard wireType == 2 else { return }
        value = try text()
        consumed = true
    }
    mutating func decodeSingularStringField(value: inout String?) throws {
        guard wireType == 2 else { return }
        value = try text()
        consumed = true
    }
    mutating func decodeRepeatedStringField(value: inout [String]) throws {
        guard wireType == 2 else { return }
        value.append(try text())
        consumed = true
    }
    mutating func decodeSingularBytesField(value: inout Data) throws {
        guard wireType == 2 else { return }
        value = Data(try body())
        consumed = true
    }
    mutating func decodeSingularBytesField(value: inout Data?) throws {
        guard wireType == 2 else { return }
        value = Data(try body())
        consumed = true
    }
    mutating func decodeRepeatedBytesField(value: inout [Data]) throws {
        guard wireType == 2 else { return }
        value.append(Data(try body()))
        consumed = true
    }

    // MARK: Enums

    mutating func decodeSingularEnumField<E: Enum>(value: inout E) throws where E.RawValue == Int {
        guard wireType == 0 else { return }
        // A value the enum does not take stays unconsumed: swift-protobuf keeps it as unknown.
        if let v = E(rawValue: Int(Int32(truncatingIfNeeded: try varint()))) {
            value = v
            consumed = true
        }
    }
    mutating func decodeSingularEnumField<E: Enum>(value: inout E?) throws where E.RawValue == Int {
        guard wireType == 0 else { return }
        if let v = E(rawValue: Int(Int32(truncatingIfNeeded: try varint()))) {
            value = v
            consumed = true
        }
    }
    mutating func decodeRepeatedEnumField<E: Enum>(value: inout [E]) throws where E.RawValue == Int {
        var raw: [Int32] = []
        try repeatedVarint(&raw) { Int32(truncatingIfNeeded: $0) }
        guard consumed else { return }
        for number in raw {
            guard let v = E(rawValue: Int(number)) else { throw Declined() }
            value.append(v)
        }
    }

    // MARK: Messages

    mutating func decodeSingularMessageField<M: Message>(value: inout M?) throws {
        guard wireType == 2 else { return }
        let bytes = try body()
        var message = value ?? M()
        // Moved out while it is decoded, so that it is not copied.
        value = nil
        try decodeNested(&message, from: bytes)
        value = message
        consumed = true
    }

    mutating func decodeRepeatedMessageField<M: Message>(value: inout [M]) throws {
        guard wireType == 2 else { return }
        let bytes = try body()
        var message = M()
        try decodeNested(&message, from: bytes)
        value.append(message)
        consumed = true
    }

    private func decodeNested<M: Message>(_ message: inout M, from bytes: UnsafeRawBufferPointer) throws {
        guard depth < Self.depthLimit else { throw Declined() }
        guard let start = bytes.baseAddress else { return }
        var inner = EnvelopeFastDecoder(start: start, count: bytes.count, depth: depth + 1)
        try message.decodeMessage(decoder: &inner)
    }

    // MARK: Maps

    mutating func decodeMapField<KeyType, ValueType: MapValueType>(
        fieldType: _ProtobufMap<KeyType, ValueType>.Type,
        value: inout _ProtobufMap<KeyType, ValueType>.BaseType
    ) throws {
        guard wireType == 2 else { return }
        var key: KeyType.BaseType?
        var entryValue: ValueType.BaseType?
        let bytes = try body()
        if let start = bytes.baseAddress {
            var entry = EnvelopeFastDecoder(start: start, count: bytes.count, depth: depth)
            while let number = try entry.nextFieldNumber() {
                switch number {
                case 1: try KeyType.decodeSingular(value: &key, from: &entry)
                case 2: try ValueType.decodeSingular(value: &entryValue, from: &entry)
                // Other fields in an entry (skipped by swift-protobuf) are left to it.
                default: throw Declined()
                }
            }
        }
        value[key ?? KeyType.proto3DefaultValue] = entryValue ?? ValueType.proto3DefaultValue
        consumed = true
    }

    mutating func decodeMapField<KeyType, ValueType>(
        fieldType: _ProtobufEnumMap<KeyType, ValueType>.Type,
        value: inout _ProtobufEnumMap<KeyType, ValueType>.BaseType
    ) throws where ValueType.RawValue == Int {
        throw Declined()
    }

    mutating func decodeMapField<KeyType, ValueType>(
        fieldType: _ProtobufMessageMap<KeyType, ValueType>.Type,
        value: inout _ProtobufMessageMap<KeyType, ValueType>.BaseType
    ) throws {
        throw Declined()
    }

    // MARK: Not in the protocol: swift-protobuf decides

    mutating func decodeSingularGroupField<G: Message>(value: inout G?) throws { throw Declined() }
    mutating func decodeRepeatedGroupField<G: Message>(value: inout [G]) throws { throw Declined() }

    mutating func decodeExtensionField(
        values: inout ExtensionFieldValueSet,
        messageType: any Message.Type,
        fieldNumber: Int
    ) throws {
        throw Declined()
    }

    // MARK: Numbers

    private static func zigZag32(_ raw: UInt64) -> Int32 {
        let n = UInt32(truncatingIfNeeded: raw)
        return Int32(bitPattern: (n >> 1) ^ (0 &- (n & 1)))
    }

    private static func zigZag64(_ raw: UInt64) -> Int64 {
        Int64(bitPattern: (raw >> 1) ^ (0 &- (raw & 1)))
    }
}
