#if canImport(Glibc)
    import Glibc
#endif

/// Header fields in order, names lower-case as HTTP/2 requires.
///
/// The fields are kept as bytes, back to back in one array, and made into Strings only when read:
/// a request head arrives as bytes from nghttp2 and mostly leaves as bytes again (a response head
/// handed back to nghttp2), while the few fields a handler reads are looked up by comparing bytes.
/// One allocation holds a whole head, and freeing it releases one object, where an array of String
/// pairs cost a String per field on the way in and two releases per field on the way out.
///
/// Names are lower-cased as ASCII (HTTP field names are ASCII tokens, and nghttp2 refuses others
/// on input); lookups by name ignore ASCII case. Bytes are kept as they came: equality and hashing
/// compare them, and bytes that are not UTF-8 are repaired only in the Strings made from them.
public struct HTTP2Headers: Sendable, Hashable, ExpressibleByDictionaryLiteral, Sequence {
    /// Each field: the name's length and the value's (UInt32, little-endian), then the name's
    /// bytes and the value's. Only the first `used` bytes are fields; the bytes after them are
    /// room, so a field is written with one uniqueness check instead of an append per piece.
    private var storage: [UInt8] = []
    private var used = 0
    public private(set) var count = 0

    /// The bytes in front of each field's name and value.
    private static let lengthsSize = 8
    /// Room a field takes in `reserveCapacity`, lengths included: most names and values are short.
    private static let typicalFieldSize = 32

    public init() {}

    public init(dictionaryLiteral elements: (String, String)...) {
        reserveCapacity(elements.count)
        for (name, value) in elements { add(name, value) }
    }

    public init(_ fields: [(String, String)]) {
        reserveCapacity(fields.count)
        for (name, value) in fields { add(name, value) }
    }

    /// Room for about `count` fields, so building a head appends without regrowing.
    public mutating func reserveCapacity(_ count: Int) {
        grow(to: used + count * Self.typicalFieldSize)
    }

    /// The bytes the storage holds, fields and room.
    package var storageCapacity: Int { storage.count }

    /// Removes every field; with `keepingCapacity`, the storage stays for the next head (when no
    /// copy shares it).
    package mutating func removeAll(keepingCapacity: Bool) {
        used = 0
        count = 0
        if !keepingCapacity { storage = [] }
    }

    private mutating func grow(to size: Int) {
        guard size > storage.count else { return }
        if storage.isEmpty {
            storage = [UInt8](repeating: 0, count: size)
        } else {
            storage.append(contentsOf: repeatElement(0, count: size - storage.count))
        }
    }

    /// Appends a field; the name is lower-cased.
    public mutating func add(_ name: String, _ value: String) {
        appendField(name, value, lowercasingName: true)
    }

    /// Appends a field whose name is lower-case already (literals in this package are written so).
    package mutating func addLowercased(_ name: String, _ value: String) {
        appendField(name, value, lowercasingName: false)
    }

    private mutating func appendField(_ name: String, _ value: String, lowercasingName: Bool) {
        var name = name
        var value = value
        name.withUTF8 { name in
            value.withUTF8 { value in
                appendField(name, value, lowercasingName: lowercasingName)
            }
        }
    }

    /// Appends a field whose name is lower-case already (nghttp2 rejects others on input).
    package mutating func addLowercased(_ name: UnsafeBufferPointer<UInt8>, _ value: UnsafeBufferPointer<UInt8>) {
        appendField(name, value, lowercasingName: false)
    }

    private mutating func appendField(
        _ name: UnsafeBufferPointer<UInt8>,
        _ value: UnsafeBufferPointer<UInt8>,
        lowercasingName: Bool
    ) {
        precondition(name.count <= UInt32.max && value.count <= UInt32.max, "a header field of 4 GiB or more")
        let size = Self.lengthsSize + name.count + value.count
        if storage.count - used < size { grow(to: Swift.max(storage.count * 2, used + size)) }
        let start = used
        storage.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(
                of: UInt32(truncatingIfNeeded: name.count).littleEndian, toByteOffset: start, as: UInt32.self)
            bytes.storeBytes(
                of: UInt32(truncatingIfNeeded: value.count).littleEndian, toByteOffset: start + 4, as: UInt32.self)
            let nameStart = start + Self.lengthsSize
            if lowercasingName {
                for (i, byte) in name.enumerated() { bytes[nameStart + i] = lowercasedASCII(byte) }
            } else if !name.isEmpty {
                UnsafeMutableRawBufferPointer(rebasing: bytes[nameStart..<nameStart + name.count])
                    .copyMemory(from: UnsafeRawBufferPointer(name))
            }
            let valueStart = nameStart + name.count
            if !value.isEmpty {
                UnsafeMutableRawBufferPointer(rebasing: bytes[valueStart..<valueStart + value.count])
                    .copyMemory(from: UnsafeRawBufferPointer(value))
            }
        }
        used += size
        count += 1
    }

    /// The fields' bytes, for `body`'s duration.
    private func withFieldBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer { try body(UnsafeBufferPointer(rebasing: $0[..<used])) }
    }

    /// The value of the first field named `name` (matched without regard to ASCII case).
    public subscript(_ name: String) -> String? {
        // Borrowed where the String has contiguous UTF-8 (native and small ones do): no copy.
        if let found = name.utf8.withContiguousStorageIfAvailable({ value(named: $0) }) { return found }
        var name = name
        return name.withUTF8 { value(named: $0) }
    }

    private func value(named name: UnsafeBufferPointer<UInt8>) -> String? {
        withFieldBytes { storage in
            var fields = HTTP2FieldCursor(storage)
            while let field = fields.next() {
                if equalsLowercased(field.name, name) { return headerValueString(field.value) }
            }
            return nil
        }
    }

    /// Calls `body` with a cursor over the fields' bytes, in order, without making Strings. The
    /// bytes are valid during the call only.
    package func withFieldCursor<R>(_ body: (inout HTTP2FieldCursor) throws -> R) rethrows -> R {
        try withFieldBytes { storage in
            var fields = HTTP2FieldCursor(storage)
            return try body(&fields)
        }
    }

    /// Calls `body` with each field whose name bytes pass `include`, as Strings; the fields left
    /// out are never made into Strings.
    package func forEachField(
        where include: (_ name: UnsafeBufferPointer<UInt8>) -> Bool,
        _ body: (_ name: String, _ value: String) throws -> Void
    ) rethrows {
        try withFieldBytes { storage in
            var fields = HTTP2FieldCursor(storage)
            while let field = fields.next() {
                guard include(field.name) else { continue }
                try body(headerNameString(field.name), headerValueString(field.value))
            }
        }
    }

    /// Every field, as Strings (made on each call).
    public var fields: [(name: String, value: String)] {
        var fields: [(name: String, value: String)] = []
        fields.reserveCapacity(count)
        for field in self { fields.append(field) }
        return fields
    }

    public func makeIterator() -> Iterator {
        Iterator(storage: storage, used: used)
    }

    /// Makes each field's Strings as it is reached.
    public struct Iterator: IteratorProtocol {
        let storage: [UInt8]
        let used: Int
        var offset = 0

        public mutating func next() -> (name: String, value: String)? {
            storage.withUnsafeBufferPointer { storage in
                var fields = HTTP2FieldCursor(UnsafeBufferPointer(rebasing: storage[..<used]), offset: offset)
                guard let field = fields.next() else { return nil }
                offset = fields.offset
                return (headerNameString(field.name), headerValueString(field.value))
            }
        }
    }

    public static func == (lhs: HTTP2Headers, rhs: HTTP2Headers) -> Bool {
        lhs.withFieldBytes { l in rhs.withFieldBytes { r in l.elementsEqual(r) } }
    }

    public func hash(into hasher: inout Hasher) {
        withFieldBytes { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// Walks the fields of an `HTTP2Headers`' bytes (see `HTTP2Headers.withFieldCursor`).
package struct HTTP2FieldCursor {
    let storage: UnsafeBufferPointer<UInt8>
    var offset: Int

    init(_ storage: UnsafeBufferPointer<UInt8>, offset: Int = 0) {
        self.storage = storage
        self.offset = offset
    }

    /// The next field's name and value bytes, valid while the cursor's storage is.
    package mutating func next() -> (name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>)? {
        guard offset < storage.count, let base = storage.baseAddress else { return nil }
        let raw = UnsafeRawPointer(base + offset)
        let nameCount = Int(UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)))
        let valueCount = Int(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4, as: UInt32.self)))
        let nameStart = offset + 8
        let valueStart = nameStart + nameCount
        offset = valueStart + valueCount
        return (
            UnsafeBufferPointer(start: base + nameStart, count: nameCount),
            UnsafeBufferPointer(start: base + valueStart, count: valueCount)
        )
    }
}

@inline(__always)
private func isUpperASCII(_ byte: UInt8) -> Bool {
    byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")
}

@inline(__always)
private func lowercasedASCII(_ byte: UInt8) -> UInt8 {
    isUpperASCII(byte) ? byte | 0x20 : byte
}

/// Whether the lower-case `stored` name equals `name` without regard to ASCII case.
private func equalsLowercased(_ stored: UnsafeBufferPointer<UInt8>, _ name: UnsafeBufferPointer<UInt8>) -> Bool {
    guard stored.count == name.count else { return false }
    for i in 0..<stored.count where stored[i] != lowercasedASCII(name[i]) { return false }
    return true
}

/// The header names nearly every request carries, as literals: matching one (a length switch and
/// a byte compare against static bytes) is cheaper than making a String from the bytes, even a
/// small one.
private func commonHeaderName(_ buffer: UnsafeBufferPointer<UInt8>) -> String? {
    guard let bytes = buffer.baseAddress else { return nil }
    func matches(_ name: StaticString) -> Bool { memcmp(name.utf8Start, bytes, buffer.count) == 0 }
    switch buffer.count {
    case 2: if matches("te") { return "te" }
    case 5: if matches(":path") { return ":path" }
    case 6: if matches("accept") { return "accept" }
    case 7:
        if matches(":method") { return ":method" }
        if matches(":scheme") { return ":scheme" }
        if matches(":status") { return ":status" }
    case 10:
        if matches(":authority") { return ":authority" }
        if matches("user-agent") { return "user-agent" }
    case 11: if matches("grpc-status") { return "grpc-status" }
    case 12:
        if matches("content-type") { return "content-type" }
        if matches("grpc-timeout") { return "grpc-timeout" }
        if matches("grpc-message") { return "grpc-message" }
    case 13:
        if matches("grpc-encoding") { return "grpc-encoding" }
        if matches("authorization") { return "authorization" }
    case 14: if matches("content-length") { return "content-length" }
    case 15: if matches("accept-encoding") { return "accept-encoding" }
    default: break
    }
    return nil
}

private func headerNameString(_ buffer: UnsafeBufferPointer<UInt8>) -> String {
    commonHeaderName(buffer) ?? headerValueString(buffer)
}

/// The field bytes `buffer` as a String. Those longer than Swift's 15-byte small-string form cost
/// an allocation each; the long ones every gRPC call carries come from literals instead.
private func headerValueString(_ buffer: UnsafeBufferPointer<UInt8>) -> String {
    guard buffer.count > 15, let bytes = buffer.baseAddress else { return String(decoding: buffer, as: UTF8.self) }
    func matches(_ literal: StaticString) -> Bool { memcmp(literal.utf8Start, bytes, buffer.count) == 0 }
    switch buffer.count {
    case 16: if matches("application/grpc") { return "application/grpc" }
    case 20: if matches("grpc-accept-encoding") { return "grpc-accept-encoding" }
    case 21: if matches("identity,deflate,gzip") { return "identity,deflate,gzip" }
    case 22: if matches("application/grpc+proto") { return "application/grpc+proto" }
    case 23: if matches("identity, deflate, gzip") { return "identity, deflate, gzip" }
    case 26: if matches("grpc-previous-rpc-attempts") { return "grpc-previous-rpc-attempts" }
    default: break
    }
    return String(decoding: buffer, as: UTF8.self)
}
