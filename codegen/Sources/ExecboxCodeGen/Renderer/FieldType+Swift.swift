/// What the renderer writes for each field type: Swift type, default, wire form, reads and writes.
extension FieldType {
    var swiftType: String {
        switch self {
        case .double: "Double"
        case .float: "Float"
        case .int64, .sint64, .sfixed64: "Int64"
        case .uint64, .fixed64: "UInt64"
        case .int32, .sint32, .sfixed32: "Int32"
        case .uint32, .fixed32: "UInt32"
        case .bool: "Bool"
        case .string: "String"
        case .bytes: "[UInt8]"
        case .message(let swiftType, _): swiftType
        case .enumeration(let swiftType, _): swiftType
        }
    }

    var defaultValue: String {
        switch self {
        case .double, .float, .int64, .sint64, .sfixed64, .uint64, .fixed64,
            .int32, .sint32, .sfixed32, .uint32, .fixed32:
            "0"
        case .bool: "false"
        case .string: "\"\""
        case .bytes: "[]"
        case .message(let swiftType, _): "\(swiftType)()"
        case .enumeration(_, let defaultCase): ".\(defaultCase)"
        }
    }

    /// The wire type number (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32).
    var wireType: UInt32 {
        switch self {
        case .double, .fixed64, .sfixed64: 1
        case .float, .fixed32, .sfixed32: 5
        case .string, .bytes, .message: 2
        default: 0
        }
    }

    /// Fixed payload size, for types that have one.
    var fixedSize: Int? {
        switch self {
        case .double, .fixed64, .sfixed64: 8
        case .float, .fixed32, .sfixed32: 4
        case .bool: 1
        default: nil
        }
    }

    func read(field: Int) -> String {
        switch self {
        case .double: "try r.readDouble()"
        case .float: "try r.readFloat()"
        case .int64: "try r.readInt64()"
        case .uint64: "try r.readVarint()"
        case .int32: "try r.readInt32()"
        case .fixed64: "try r.readFixed64()"
        case .fixed32: "try r.readFixed32()"
        case .bool: "try r.readBool()"
        case .string: "try r.readString(field: \(field))"
        case .bytes: "try r.readBytes()"
        case .uint32: "try r.readUInt32()"
        case .sfixed32: "Int32(bitPattern: try r.readFixed32())"
        case .sfixed64: "Int64(bitPattern: try r.readFixed64())"
        case .sint32: "try r.readSInt32()"
        case .sint64: "try r.readSInt64()"
        case .enumeration(let swiftType, _): "\(swiftType)(rawValue: try r.readInt32())"
        case .message(let swiftType, _): "try r.readMessage(\(swiftType).self)"
        }
    }

    /// The payload size of `v` (not for messages, whose size comes from the cache).
    func size(_ v: String) -> String {
        if let fixed = fixedSize { return "\(fixed)" }
        switch self {
        case .int64: return "Varint.size(UInt64(bitPattern: \(v)))"
        case .uint64: return "Varint.size(\(v))"
        case .int32: return "Varint.size(int32: \(v))"
        case .uint32: return "Varint.size(UInt64(\(v)))"
        case .sint32: return "Varint.size(UInt64(ZigZag.encode(\(v))))"
        case .sint64: return "Varint.size(ZigZag.encode(\(v)))"
        case .enumeration: return "Varint.size(int32: \(v).rawValue)"
        case .string: return "WireSize.string(\(v))"
        case .bytes: return "WireSize.bytes(\(v))"
        default: preconditionFailure("no inline size for \(self)")
        }
    }

    func write(_ v: String) -> String {
        switch self {
        case .double: "w.writeDouble(\(v))"
        case .float: "w.writeFloat(\(v))"
        case .int64: "w.writeVarint(UInt64(bitPattern: \(v)))"
        case .uint64: "w.writeVarint(\(v))"
        case .int32: "w.writeVarint(UInt64(bitPattern: Int64(\(v))))"
        case .fixed64: "w.writeFixed64(\(v))"
        case .fixed32: "w.writeFixed32(\(v))"
        case .bool: "w.writeBool(\(v))"
        case .string: "w.writeString(\(v))"
        case .bytes: "w.writeBytes(\(v))"
        case .uint32: "w.writeVarint(UInt64(\(v)))"
        case .sfixed32: "w.writeFixed32(UInt32(bitPattern: \(v)))"
        case .sfixed64: "w.writeFixed64(UInt64(bitPattern: \(v)))"
        case .sint32: "w.writeVarint(UInt64(ZigZag.encode(\(v))))"
        case .sint64: "w.writeVarint(ZigZag.encode(\(v)))"
        case .enumeration: "w.writeVarint(UInt64(bitPattern: Int64(\(v).rawValue)))"
        case .message: preconditionFailure("messages are written through the size cache")
        }
    }

    /// True when `v` differs from the default (proto3 implicit presence writes only those).
    func isNonDefault(_ v: String) -> String {
        switch self {
        case .double, .float: "\(v).bitPattern != 0"
        case .bool: v
        case .string, .bytes: "!\(v).isEmpty"
        case .enumeration: "\(v).rawValue != 0"
        case .message: "true"
        default: "\(v) != 0"
        }
    }

    func jsonWrite(_ v: String) -> String {
        switch self {
        case .int32, .sint32, .sfixed32: "w.int32(\(v))"
        case .uint32, .fixed32: "w.uint32(\(v))"
        case .int64, .sint64, .sfixed64: "w.int64(\(v))"
        case .uint64, .fixed64: "w.uint64(\(v))"
        case .float: "w.float(\(v))"
        case .double: "w.double(\(v))"
        case .bool: "w.bool(\(v))"
        case .string: "w.string(\(v))"
        case .bytes: "w.bytes(\(v))"
        case .enumeration: "w.enumValue(\(v))"
        case .message: "\(v).encodeJSON(to: &w)"
        }
    }

    /// An expression reading one JSON value (not for enums and messages, handled by the caller).
    var jsonRead: String {
        switch self {
        case .int32, .sint32, .sfixed32: "try s.readInt32()"
        case .uint32, .fixed32: "try s.readUInt32()"
        case .int64, .sint64, .sfixed64: "try s.readInt64()"
        case .uint64, .fixed64: "try s.readUInt64()"
        case .float: "try s.readFloat()"
        case .double: "try s.readDouble()"
        case .bool: "try s.readBool()"
        case .string: "try s.readString()"
        case .bytes: "try s.readBytes()"
        case .enumeration, .message: preconditionFailure("read by the caller")
        }
    }

    /// A map key as a JSON object key.
    func jsonKey(_ k: String) -> String {
        switch self {
        case .string: k
        case .bool: "(\(k) ? \"true\" : \"false\")"
        default: "String(\(k))"
        }
    }

    /// A JSON object key back into a map key.
    func jsonKeyParse(_ k: String) -> String {
        switch self {
        case .string: k
        case .bool: "try JSONScanner.boolKey(\(k))"
        case .int32, .sint32, .sfixed32: "try JSONScanner.int32Key(\(k))"
        case .uint32, .fixed32: "try JSONScanner.uint32Key(\(k))"
        case .int64, .sint64, .sfixed64: "try JSONScanner.int64Key(\(k))"
        case .uint64, .fixed64: "try JSONScanner.uint64Key(\(k))"
        default: preconditionFailure("invalid map key type \(self)")
        }
    }
}

/// The varint-encoded size of a tag.
func tagSize(_ number: Int) -> Int {
    let tag = UInt64(number) << 3
    var n = 1
    var v = tag >> 7
    while v != 0 {
        n += 1
        v >>= 7
    }
    return n
}

func tag(_ number: Int, _ wireType: UInt32) -> UInt32 {
    UInt32(number) << 3 | wireType
}
