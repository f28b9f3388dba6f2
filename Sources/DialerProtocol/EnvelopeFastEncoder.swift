import Foundation
import NIOCore
import SwiftProtobuf

/// A binary protobuf encoder for the protocol's messages that writes the same bytes as
/// swift-protobuf's, straight into a `ByteBuffer`, in one pass when the buffer has the room.
///
/// Why: swift-protobuf serialises in two passes (the whole message's size, then the bytes,
/// sizing every nested message again as it is written), so the generated `traverse` of an
/// `Envelope`, and the copies of its large oneof that it makes, ran twice per frame; and it
/// writes into memory it first fills with zeros. This encoder drives the same generated
/// `traverse(visitor:)`, so it knows no message by hand and needs no change when the protocol
/// grows. It writes into the buffer's free room through a pointer; when the message turns
/// out larger than the room, it goes on counting without writing, and a second pass writes
/// it into a buffer grown to the exact size (two passes, as swift-protobuf always takes).
///
/// A nested message's length is written before its body, in the fewest bytes (as
/// swift-protobuf writes it): one byte is reserved, the body is written, and when the length
/// needs more than one byte the body is moved up by the difference. Every field is written as
/// swift-protobuf's `BinaryEncodingVisitor` writes it (same order, same varint and zigzag forms,
/// negative `int32` and enum values in ten bytes, maps in the dictionary's iteration order with
/// both key and value always written, unknown fields as they were kept). What the protocol does
/// not use, groups and extensions, it declines (throws ``Declined``), as it does a message of
/// 2 GiB or more, and the caller serialises with swift-protobuf, which gives the answer.
struct EnvelopeFastEncoder: SwiftProtobuf.Visitor {
    /// This message needs swift-protobuf's own encoder.
    struct Declined: Error {}

    /// The room written into (nil when there is none).
    private let base: UnsafeMutableRawPointer?
    private let capacity: Int
    /// Bytes of the message so far, written or (once it no longer fit) only counted.
    private var count = 0
    /// The message did not fit: nothing more is written, bytes are only counted.
    private var overflowed = false

    private init(room: UnsafeMutableRawBufferPointer) {
        base = room.baseAddress
        capacity = base == nil ? 0 : room.count
    }

    /// Appends `message`'s protobuf encoding to `buffer`, or throws ``Declined`` (the buffer's
    /// readable bytes are then as they were).
    static func append<M: Message>(_ message: M, to buffer: inout ByteBuffer) throws {
        _ = try append(message, to: &buffer, lengthHeader: false)
    }

    /// Appends `message` as a frame, its encoding behind a 4-byte big-endian length, and
    /// returns the encoding's length; or throws ``Declined`` (the buffer as it was).
    static func appendFrame<M: Message>(_ message: M, to buffer: inout ByteBuffer) throws -> Int {
        try append(message, to: &buffer, lengthHeader: true)
    }

    private static func append<M: Message>(
        _ message: M, to buffer: inout ByteBuffer, lengthHeader: Bool
    ) throws -> Int {
        var needed = 0
        if let length = try write(message, into: &buffer, minimumRoom: 0, lengthHeader: lengthHeader, needed: &needed) {
            return length
        }
        // Larger than the room: grow the buffer to the exact size and write it again.
        guard
            let length = try write(
                message, into: &buffer, minimumRoom: needed, lengthHeader: lengthHeader, needed: &needed)
        else {
            // The same message takes the same bytes; declined rather than trusted.
            throw Declined()
        }
        return length
    }

    /// One pass: the encoding's length when it was written, otherwise nil and `needed` is the
    /// room it takes.
    private static func write<M: Message>(
        _ message: M, into buffer: inout ByteBuffer, minimumRoom: Int, lengthHeader: Bool, needed: inout Int
    ) throws -> Int? {
        var length: Int?
        try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: minimumRoom) { room in
            var encoder = EnvelopeFastEncoder(room: room)
            let header = lengthHeader ? encoder.claim(FrameFormat.headerLength) : nil
            try message.traverse(visitor: &encoder)
            let bodyLength = encoder.count - (lengthHeader ? FrameFormat.headerLength : 0)
            // swift-protobuf refuses messages of 2 GiB or more: it gives the answer.
            guard bodyLength < 0x7fff_ffff else { throw Declined() }
            needed = encoder.count
            guard !encoder.overflowed else { return 0 }
            header?.storeBytes(of: UInt32(truncatingIfNeeded: bodyLength).bigEndian, as: UInt32.self)
            length = bodyLength
            return encoder.count
        }
        return length
    }

    // MARK: Primitives

    /// Room for the next `size` bytes, or nil once the message no longer fits (then only counted).
    @inline(__always)
    private mutating func claim(_ size: Int) -> UnsafeMutableRawPointer? {
        let at = count
        count &+= size
        guard !overflowed, count <= capacity, let base else {
            overflowed = true
            return nil
        }
        return base + at
    }

    /// Bytes a varint of `value` takes.
    @inline(__always)
    private static func varintSize(_ value: UInt64) -> Int {
        // One byte per seven significant bits, at least one.
        let bits = 64 - (value | 1).leadingZeroBitCount
        return (bits + 6) / 7
    }

    @inline(__always)
    private static func store(varint value: UInt64, at p: UnsafeMutableRawPointer) {
        var value = value
        var at = 0
        while value >= 0x80 {
            p.storeBytes(of: UInt8(truncatingIfNeeded: value) | 0x80, toByteOffset: at, as: UInt8.self)
            value >>= 7
            at &+= 1
        }
        p.storeBytes(of: UInt8(truncatingIfNeeded: value), toByteOffset: at, as: UInt8.self)
    }

    private mutating func varint(_ value: UInt64) {
        if value < 0x80 {
            claim(1)?.storeBytes(of: UInt8(truncatingIfNeeded: value), as: UInt8.self)
        } else if let p = claim(Self.varintSize(value)) {
            Self.store(varint: value, at: p)
        }
    }

    private mutating func fixed<T: FixedWidthInteger>(_ value: T) {
        claim(MemoryLayout<T>.size)?.storeBytes(of: value.littleEndian, as: T.self)
    }

    private mutating func raw(_ bytes: UnsafeRawBufferPointer) {
        guard let p = claim(bytes.count), let source = bytes.baseAddress else { return }
        p.copyMemory(from: source, byteCount: bytes.count)
    }

    /// A field's key: its number and wire type (0 varint, 1 64-bit, 2 length-delimited, 5 32-bit).
    private mutating func key(_ fieldNumber: Int, _ wireType: UInt64) {
        varint(UInt64(truncatingIfNeeded: fieldNumber) << 3 | wireType)
    }

    /// Writes a length-delimited field whose body `body` writes: the length is reserved as one
    /// byte, and the body moved up when its length needs more.
    private mutating func delimited(_ fieldNumber: Int, _ body: (inout Self) throws -> Void) throws {
        key(fieldNumber, 2)
        let lengthAt = count
        _ = claim(1)
        try body(&self)
        let length = count &- lengthAt &- 1
        guard length < 0x7fff_ffff else { throw Declined() }
        let extra = Self.varintSize(UInt64(length)) &- 1
        if extra > 0, claim(extra) != nil, let base {
            // The body moves up by `extra` bytes (overlapping: a memmove).
            (base + lengthAt + 1 + extra).copyMemory(from: base + lengthAt + 1, byteCount: length)
        }
        if !overflowed, let base {
            Self.store(varint: UInt64(length), at: base + lengthAt)
        }
    }

    private mutating func text(_ value: String) {
        let utf8 = value.utf8
        varint(UInt64(utf8.count))
        let copied: Void? = utf8.withContiguousStorageIfAvailable { raw(UnsafeRawBufferPointer($0)) }
        if copied == nil, let p = claim(utf8.count) {
            // A string without contiguous UTF-8 (bridged): byte by byte.
            for (offset, byte) in utf8.enumerated() { p.storeBytes(of: byte, toByteOffset: offset, as: UInt8.self) }
        }
    }

    private mutating func data(_ value: Data) {
        varint(UInt64(value.count))
        value.withUnsafeBytes { raw($0) }
    }

    // MARK: Singular fields

    mutating func visitUnknown(bytes: Data) throws {
        bytes.withUnsafeBytes { raw($0) }
    }

    mutating func visitSingularFloatField(value: Float, fieldNumber: Int) throws {
        key(fieldNumber, 5)
        fixed(value.bitPattern)
    }

    mutating func visitSingularDoubleField(value: Double, fieldNumber: Int) throws {
        key(fieldNumber, 1)
        fixed(value.bitPattern)
    }

    mutating func visitSingularInt32Field(value: Int32, fieldNumber: Int) throws {
        key(fieldNumber, 0)
        varint(UInt64(bitPattern: Int64(value)))
    }

    mutating func visitSingularInt64Field(value: Int64, fieldNumber: Int) throws {
        key(fieldNumber, 0)
        varint(UInt64(bitPattern: value))
    }

    mutating func visitSingularUInt32Field(value: UInt32, fieldNumber: Int) throws {
        key(fieldNumber, 0)
        varint(UInt64(value))
    }

    mutating func visitSingularUInt64Field(value: UInt64, fieldNumber: Int) throws {
        key(fieldNumber, 0)
        varint(value)
    }

    mutating func visitSingularSInt32Field(value: Int32, fieldNumber: Int) throws {
        key(fieldNumber, 0)
        varint(Self.zigZag(Int64(value)))
    }

    mutating func visitSingularSInt64Field(value: Int64, fieldNumber: Int) throws {
        key(fieldNumber, 0)
        varint(Self.zigZag(value))
    }

    mutating func visitSingularFixed32Field(value: UInt32, fieldNumber: Int) throws {
        key(fieldNumber, 5)
        fixed(value)
    }

    mutating func visitSingularFixed64Field(value: UInt64, fieldNumber: Int) throws {
        key(fieldNumber, 1)
        fixed(value)
    }

    mutating func visitSingularSFixed32Field(value: Int32, fieldNumber: Int) throws {
        key(fieldNumber, 5)
        fixed(value)
    }

    mutating func visitSingularSFixed64Field(value: Int64, fieldNumber: Int) throws {
        key(fieldNumber, 1)
        fixed(value)
    }

    mutating func visitSingularBoolField(value: Bool, fieldNumber: Int) throws {
        key(fieldNumber, 0)
        varint(value ? 1 : 0)
    }

    mutating func visitSingularStringField(value: String, fieldNumber: Int) throws {
        key(fieldNumber, 2)
        text(value)
    }

    mutating func visitSingularBytesField(value: Data, fieldNumber: Int) throws {
        key(fieldNumber, 2)
        data(value)
    }

    mutating func visitSingularEnumField<E: Enum>(value: E, fieldNumber: Int) throws {
        key(fieldNumber, 0)
        varint(UInt64(bitPattern: Int64(value.rawValue)))
    }

    mutating func visitSingularMessageField<M: Message>(value: M, fieldNumber: Int) throws {
        try delimited(fieldNumber) { try value.traverse(visitor: &$0) }
    }

    // MARK: Repeated fields (one field per element: the protocol's strings, bytes and messages)

    mutating func visitRepeatedStringField(value: [String], fieldNumber: Int) throws {
        for text in value {
            key(fieldNumber, 2)
            self.text(text)
        }
    }

    mutating func visitRepeatedBytesField(value: [Data], fieldNumber: Int) throws {
        for bytes in value {
            key(fieldNumber, 2)
            data(bytes)
        }
    }

    mutating func visitRepeatedMessageField<M: Message>(value: [M], fieldNumber: Int) throws {
        for message in value {
            try delimited(fieldNumber) { try message.traverse(visitor: &$0) }
        }
    }

    // MARK: Packed fields (proto3's repeated numbers): one length-delimited run

    private mutating func packedVarints<T>(_ value: [T], _ fieldNumber: Int, _ raw: (T) -> UInt64) {
        key(fieldNumber, 2)
        var length = 0
        for v in value { length += Self.varintSize(raw(v)) }
        varint(UInt64(length))
        for v in value { varint(raw(v)) }
    }

    private mutating func packedFixed<T: FixedWidthInteger>(_ value: [T], _ fieldNumber: Int) {
        key(fieldNumber, 2)
        varint(UInt64(value.count * MemoryLayout<T>.size))
        for v in value { fixed(v) }
    }

    mutating func visitPackedFloatField(value: [Float], fieldNumber: Int) throws {
        packedFixed(value.map(\.bitPattern), fieldNumber)
    }

    mutating func visitPackedDoubleField(value: [Double], fieldNumber: Int) throws {
        packedFixed(value.map(\.bitPattern), fieldNumber)
    }

    mutating func visitPackedInt32Field(value: [Int32], fieldNumber: Int) throws {
        packedVarints(value, fieldNumber) { UInt64(bitPattern: Int64($0)) }
    }

    mutating func visitPackedInt64Field(value: [Int64], fieldNumber: Int) throws {
        packedVarints(value, fieldNumber) { UInt64(bitPattern: $0) }
    }

    mutating func visitPackedUInt32Field(value: [UInt32], fieldNumber: Int) throws {
        packedVarints(value, fieldNumber) { UInt64($0) }
    }

    mutating func visitPackedUInt64Field(value: [UInt64], fieldNumber: Int) throws {
        packedVarints(value, fieldNumber) { $0 }
    }

    mutating func visitPackedSInt32Field(value: [Int32], fieldNumber: Int) throws {
        packedVarints(value, fieldNumber) { Self.zigZag(Int64($0)) }
    }

    mutating func visitPackedSInt64Field(value: [Int64], fieldNumber: Int) throws {
        packedVarints(value, fieldNumber) { Self.zigZag($0) }
    }

    mutating func visitPackedFixed32Field(value: [UInt32], fieldNumber: Int) throws {
        packedFixed(value, fieldNumber)
    }

    mutating func visitPackedFixed64Field(value: [UInt64], fieldNumber: Int) throws {
        packedFixed(value, fieldNumber)
    }

    mutating func visitPackedSFixed32Field(value: [Int32], fieldNumber: Int) throws {
        packedFixed(value, fieldNumber)
    }

    mutating func visitPackedSFixed64Field(value: [Int64], fieldNumber: Int) throws {
        packedFixed(value, fieldNumber)
    }

    mutating func visitPackedBoolField(value: [Bool], fieldNumber: Int) throws {
        packedVarints(value, fieldNumber) { $0 ? 1 : 0 }
    }

    mutating func visitPackedEnumField<E: Enum>(value: [E], fieldNumber: Int) throws {
        // swift-protobuf writes the run's length from the values as 32-bit numbers and the
        // values as 64-bit ones: the same bytes for every value an enum field can hold.
        packedVarints(value, fieldNumber) { UInt64(bitPattern: Int64($0.rawValue)) }
    }

    // MARK: Maps: one entry message per pair, key (1) and value (2) always written

    mutating func visitMapField<KeyType, ValueType: MapValueType>(
        fieldType: _ProtobufMap<KeyType, ValueType>.Type,
        value: _ProtobufMap<KeyType, ValueType>.BaseType,
        fieldNumber: Int
    ) throws {
        for (k, v) in value {
            try delimited(fieldNumber) {
                try KeyType.visitSingular(value: k, fieldNumber: 1, with: &$0)
                try ValueType.visitSingular(value: v, fieldNumber: 2, with: &$0)
            }
        }
    }

    mutating func visitMapField<KeyType, ValueType>(
        fieldType: _ProtobufEnumMap<KeyType, ValueType>.Type,
        value: _ProtobufEnumMap<KeyType, ValueType>.BaseType,
        fieldNumber: Int
    ) throws where ValueType.RawValue == Int {
        for (k, v) in value {
            try delimited(fieldNumber) {
                try KeyType.visitSingular(value: k, fieldNumber: 1, with: &$0)
                try $0.visitSingularEnumField(value: v, fieldNumber: 2)
            }
        }
    }

    mutating func visitMapField<KeyType, ValueType>(
        fieldType: _ProtobufMessageMap<KeyType, ValueType>.Type,
        value: _ProtobufMessageMap<KeyType, ValueType>.BaseType,
        fieldNumber: Int
    ) throws {
        for (k, v) in value {
            try delimited(fieldNumber) {
                try KeyType.visitSingular(value: k, fieldNumber: 1, with: &$0)
                try $0.visitSingularMessageField(value: v, fieldNumber: 2)
            }
        }
    }

    // MARK: Not in the protocol: swift-protobuf encodes

    mutating func visitSingularGroupField<G: Message>(value: G, fieldNumber: Int) throws { throw Declined() }
    mutating func visitRepeatedGroupField<G: Message>(value: [G], fieldNumber: Int) throws { throw Declined() }

    mutating func visitExtensionFields(fields: ExtensionFieldValueSet, start: Int, end: Int) throws {
        throw Declined()
    }

    mutating func visitExtensionFieldsAsMessageSet(fields: ExtensionFieldValueSet, start: Int, end: Int) throws {
        throw Declined()
    }

    // MARK: Numbers

    private static func zigZag(_ value: Int64) -> UInt64 {
        UInt64(bitPattern: (value << 1) ^ (value >> 63))
    }
}
