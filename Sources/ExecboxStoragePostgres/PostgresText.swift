import CLibPQ
import ExecboxStorage
import ExecboxStorageSQL

/// Decodes a text-format result value by its column type.
enum PostgresText {
    static func decode(_ bytes: UnsafeRawBufferPointer, type: Oid) throws -> SQLValue {
        switch type {
        case 16:  // bool
            return .bool(bytes.first == UInt8(ascii: "t"))
        case 20, 21, 23, 26:  // int8, int2, int4, oid
            guard let value = Int64(String(decoding: bytes, as: UTF8.self)) else { throw corrupt("an integer") }
            return .integer(value)
        case 1700:  // numeric: SUM(bigint) gives one
            let text = String(decoding: bytes, as: UTF8.self)
            if let value = Int64(text) { return .integer(value) }
            guard let value = Double(text) else { throw corrupt("a numeric") }
            return .real(value)
        case 700, 701:  // float4, float8
            guard let value = Double(String(decoding: bytes, as: UTF8.self)) else { throw corrupt("a float") }
            return .real(value)
        case 17:  // bytea, hex output: \x0a1b…
            return .blob(try hex(bytes))
        default:
            return .text(String(decoding: bytes, as: UTF8.self))
        }
    }

    private static func hex(_ bytes: UnsafeRawBufferPointer) throws -> [UInt8] {
        guard bytes.count >= 2, bytes[0] == UInt8(ascii: "\\"), bytes[1] == UInt8(ascii: "x"), bytes.count % 2 == 0
        else {
            throw corrupt("a bytea")
        }
        func nibble(_ c: UInt8) throws -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: throw corrupt("a bytea")
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count - 2) / 2)
        var index = 2
        while index < bytes.count {
            out.append(try nibble(bytes[index]) << 4 | nibble(bytes[index + 1]))
            index += 2
        }
        return out
    }

    private static func corrupt(_ what: String) -> StorageError {
        StorageError(code: .dataCorrupted, message: "PostgreSQL returned a malformed \(what)")
    }
}
