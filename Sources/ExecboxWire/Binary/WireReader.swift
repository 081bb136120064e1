/// Reads fields from a bounded region of bytes. Every read checks the bytes left first, so a
/// malformed or hostile input ends in a ``WireDecodingError``, never a trap or an over-read.
public struct WireReader: ~Copyable {
    @usableFromInline var position: UnsafeRawPointer
    @usableFromInline var end: UnsafeRawPointer
    @usableFromInline var depth: Int
    @usableFromInline let options: WireDecodingOptions
    /// Start of the field being read, so unknown fields can be copied whole.
    @usableFromInline var fieldStart: UnsafeRawPointer

    @inlinable
    init(buffer: UnsafeRawBufferPointer, options: WireDecodingOptions) {
        // An empty buffer may have no base address; point at a static byte instead.
        let start = buffer.baseAddress ?? UnsafeRawPointer(WireReader.emptyByte)
        self.position = start
        self.end = start + buffer.count
        self.depth = 0
        self.options = options
        self.fieldStart = start
    }

    @usableFromInline nonisolated(unsafe) static let emptyByte = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)

    @inlinable
    public var bytesLeft: Int { end - position }

    @inlinable
    public var isAtEnd: Bool { position >= end }

    /// The next field's tag, or nil at the end of this region.
    @inlinable
    public mutating func nextTag() throws(WireDecodingError) -> FieldTag? {
        guard position < end else { return nil }
        fieldStart = position
        let raw = try readVarint()
        // A tag fits in five bytes; longer (zero-padded) encodings are rejected, as upb does.
        guard raw >> 3 != 0, raw <= UInt64(UInt32.max), raw & 7 < 6, position - fieldStart <= 5 else {
            throw .invalidTag(raw)
        }
        return FieldTag(rawValue: UInt32(truncatingIfNeeded: raw))
    }

    @inlinable
    public mutating func readVarint() throws(WireDecodingError) -> UInt64 {
        // Fast path: one byte.
        guard position < end else { throw .truncated }
        let first = position.load(as: UInt8.self)
        position += 1
        if first < 0x80 { return UInt64(first) }
        var result = UInt64(first & 0x7f)
        var shift: UInt64 = 7
        while true {
            guard position < end else { throw .truncated }
            let byte = position.load(as: UInt8.self)
            position += 1
            if shift == 63 && byte > 1 { throw .malformedVarint }
            result |= UInt64(byte & 0x7f) << shift
            if byte < 0x80 { return result }
            shift += 7
            if shift > 63 { throw .malformedVarint }
        }
    }

    @inlinable
    public mutating func readFixed32() throws(WireDecodingError) -> UInt32 {
        guard bytesLeft >= 4 else { throw .truncated }
        let v = position.loadUnaligned(as: UInt32.self)
        position += 4
        return UInt32(littleEndian: v)
    }

    @inlinable
    public mutating func readFixed64() throws(WireDecodingError) -> UInt64 {
        guard bytesLeft >= 8 else { throw .truncated }
        let v = position.loadUnaligned(as: UInt64.self)
        position += 8
        return UInt64(littleEndian: v)
    }

    @inlinable
    public mutating func readFloat() throws(WireDecodingError) -> Float {
        Float(bitPattern: try readFixed32())
    }

    @inlinable
    public mutating func readDouble() throws(WireDecodingError) -> Double {
        Double(bitPattern: try readFixed64())
    }

    @inlinable
    public mutating func readBool() throws(WireDecodingError) -> Bool {
        try readVarint() != 0
    }

    @inlinable
    public mutating func readInt32() throws(WireDecodingError) -> Int32 {
        Int32(truncatingIfNeeded: try readVarint())
    }

    @inlinable
    public mutating func readInt64() throws(WireDecodingError) -> Int64 {
        Int64(bitPattern: try readVarint())
    }

    @inlinable
    public mutating func readUInt32() throws(WireDecodingError) -> UInt32 {
        UInt32(truncatingIfNeeded: try readVarint())
    }

    @inlinable
    public mutating func readSInt32() throws(WireDecodingError) -> Int32 {
        ZigZag.decode(UInt32(truncatingIfNeeded: try readVarint()))
    }

    @inlinable
    public mutating func readSInt64() throws(WireDecodingError) -> Int64 {
        ZigZag.decode(try readVarint())
    }

    /// A length prefix, checked against the bytes left.
    @inlinable
    public mutating func readLength() throws(WireDecodingError) -> Int {
        let length = try readVarint()
        guard length <= UInt64(bytesLeft) else {
            throw length > UInt64(Int32.max) ? .invalidLength(length) : .truncated
        }
        return Int(length)
    }

    @inlinable
    public mutating func readRawBytes(_ count: Int) -> UnsafeRawBufferPointer {
        let buffer = UnsafeRawBufferPointer(start: position, count: count)
        position += count
        return buffer
    }

    @inlinable
    public mutating func readBytes() throws(WireDecodingError) -> [UInt8] {
        let count = try readLength()
        return [UInt8](readRawBytes(count))
    }

    @inlinable
    public mutating func readString(field: Int) throws(WireDecodingError) -> String {
        let count = try readLength()
        let raw = readRawBytes(count).bindMemory(to: UInt8.self)
        // String(validating:as:) runs an unspecialized generic validator (runtime metadata lookups
        // on every call). Decoding with repair is fast; it changed nothing exactly when the input
        // was valid UTF-8, which the length and a byte comparison confirm.
        let s = String(decoding: raw, as: UTF8.self)
        let same =
            s.utf8.count == count
            && s.utf8.withContiguousStorageIfAvailable { decoded in
                decoded.elementsEqual(raw)
            } ?? false
        guard same else { throw .invalidUTF8(field: field) }
        return s
    }

    /// Runs `body` over the next length-delimited region, one level deeper.
    @inlinable
    public mutating func withNested<R>(
        countsAsDepth: Bool = true,
        _ body: (inout WireReader) throws(WireDecodingError) -> R
    ) throws(WireDecodingError) -> R {
        let count = try readLength()
        let step = countsAsDepth ? 1 : 0
        guard depth + step <= options.maxDepth else { throw .tooDeep(limit: options.maxDepth) }
        let savedEnd = end
        end = position + count
        depth += step
        defer {
            depth -= step
            end = savedEnd
        }
        let result = try body(&self)
        // The body reads to the region's end: a message or packed run always consumes all of it.
        position = end
        return result
    }

    /// Reads a nested message field, merging into `message` as protobuf requires.
    @inlinable
    public mutating func readMessage<M: WireMessage>(into message: inout M) throws(WireDecodingError) {
        try withNested { (r: inout WireReader) throws(WireDecodingError) in
            try message.decodeMessage(from: &r)
        }
    }

    @inlinable
    public mutating func readMessage<M: WireMessage>(_ type: M.Type = M.self) throws(WireDecodingError) -> M {
        var message = M()
        try readMessage(into: &message)
        return message
    }

    /// Skips the field whose tag was just read, keeping its bytes in `unknownFields`.
    @inlinable
    public mutating func skipField(_ tag: FieldTag, into unknownFields: inout UnknownFields) throws(WireDecodingError) {
        let start = fieldStart
        try skip(tag)
        if !options.discardUnknownFields {
            unknownFields.append(UnsafeRawBufferPointer(start: start, count: position - start))
        }
    }

    /// Skips the payload of the field whose tag was just read.
    @inlinable
    public mutating func skip(_ tag: FieldTag) throws(WireDecodingError) {
        switch tag.wireType {
        case .varint: _ = try readVarint()
        case .fixed64:
            guard bytesLeft >= 8 else { throw .truncated }
            position += 8
        case .fixed32:
            guard bytesLeft >= 4 else { throw .truncated }
            position += 4
        case .lengthDelimited: position += try readLength()
        case .startGroup: try skipGroup(number: tag.number)
        case .endGroup: throw .unbalancedGroup
        case nil: throw .invalidTag(UInt64(tag.rawValue))
        }
    }

    @usableFromInline
    mutating func skipGroup(number: Int) throws(WireDecodingError) {
        guard depth < options.maxDepth else { throw .tooDeep(limit: options.maxDepth) }
        depth += 1
        defer { depth -= 1 }
        while true {
            guard position < end else { throw .truncated }
            let raw = try readVarint()
            guard raw >> 3 != 0, raw <= UInt64(UInt32.max), raw & 7 < 6 else { throw .invalidTag(raw) }
            let tag = FieldTag(rawValue: UInt32(truncatingIfNeeded: raw))
            if tag.wireType == .endGroup {
                guard tag.number == number else { throw .unbalancedGroup }
                return
            }
            try skip(tag)
        }
    }

    /// Reads a packed run, calling `element` until the region is used up.
    @inlinable
    public mutating func readPacked(
        field: Int,
        _ element: (inout WireReader) throws(WireDecodingError) -> Void
    ) throws(WireDecodingError) {
        try withNested(countsAsDepth: false) { (r: inout WireReader) throws(WireDecodingError) in
            while !r.isAtEnd {
                do throws(WireDecodingError) {
                    try element(&r)
                } catch .truncated {
                    throw .malformedPacked(field: field)
                }
            }
        }
    }
}
