import CLibPQ
import ExecboxStorageSQL
import Foundation

/// Bound parameters in libpq's C layout: text format for everything but blobs (binary bytea),
/// each with an explicit type so that the server never has to guess.
struct PostgresParameters {
    let values: UnsafeMutablePointer<UnsafePointer<CChar>?>
    let lengths: UnsafeMutablePointer<Int32>
    let formats: UnsafeMutablePointer<Int32>
    private let count: Int

    init(_ binds: [SQLValue]) {
        count = binds.count
        values = .allocate(capacity: max(count, 1))
        lengths = .allocate(capacity: max(count, 1))
        formats = .allocate(capacity: max(count, 1))
        for (index, value) in binds.enumerated() {
            lengths[index] = 0
            formats[index] = 0
            switch value {
            case .null:
                values[index] = nil
            case .integer(let v):
                values[index] = Self.copy(String(v))
            case .bool(let v):
                values[index] = Self.copy(v ? "t" : "f")
            case .real(let v):
                values[index] = Self.copy(v.isFinite ? "\(v)" : (v.isNaN ? "NaN" : (v > 0 ? "Infinity" : "-Infinity")))
            case .text(let v):
                values[index] = Self.copy(v)
            case .blob(let v):
                let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(v.count, 1))
                v.withUnsafeBytes {
                    UnsafeMutableRawPointer(buffer).copyMemory(
                        from: $0.baseAddress ?? UnsafeRawPointer(buffer), byteCount: v.count)
                }
                values[index] = UnsafePointer(buffer)
                lengths[index] = Int32(v.count)
                formats[index] = 1
            }
        }
    }

    func deallocate() {
        for index in 0..<count { values[index].map { UnsafeMutablePointer(mutating: $0).deallocate() } }
        values.deallocate()
        lengths.deallocate()
        formats.deallocate()
    }

    private static func copy(_ text: String) -> UnsafePointer<CChar> {
        let bytes = Array(text.utf8CString)
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
        buffer.initialize(from: bytes, count: bytes.count)
        return UnsafePointer(buffer)
    }

    /// The type OID of a parameter; 0 lets the server infer it (NULL only).
    static func type(_ value: SQLValue) -> Oid {
        switch value {
        case .null: 0
        case .integer: 20  // int8
        case .bool: 16  // bool
        case .real: 701  // float8
        case .text: 25  // text
        case .blob: 17  // bytea
        }
    }
}
