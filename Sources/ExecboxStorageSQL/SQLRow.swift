package import ExecboxStorage
package import Foundation

/// One result row, read column by column in order with typed accessors. A value of the wrong
/// type is reported as `.dataCorrupted`, never trapped on.
package struct SQLRow: Sendable {
    package var values: [SQLValue]
    private var position = 0

    package init(values: [SQLValue]) {
        self.values = values
    }

    private mutating func next() throws -> SQLValue {
        guard position < values.count else { throw Self.corrupt("a row has fewer columns than expected") }
        defer { position += 1 }
        return values[position]
    }

    package mutating func optionalInt64() throws -> Int64? {
        switch try next() {
        case .null: return nil
        case .integer(let v): return v
        case .bool(let v): return v ? 1 : 0
        case .real(let v) where v == v.rounded() && abs(v) < 9e18: return Int64(v)
        case .text(let s):
            guard let v = Int64(s) else { throw Self.corrupt("a column is not an integer") }
            return v
        default: throw Self.corrupt("a column is not an integer")
        }
    }

    package mutating func int64() throws -> Int64 {
        guard let v = try optionalInt64() else { throw Self.corrupt("an integer column is null") }
        return v
    }

    package mutating func int() throws -> Int { Int(try int64()) }

    package mutating func optionalInt() throws -> Int? { try optionalInt64().map { Int($0) } }

    package mutating func bool() throws -> Bool {
        switch try next() {
        case .bool(let v): return v
        case .integer(let v): return v != 0
        default: throw Self.corrupt("a column is not a boolean")
        }
    }

    package mutating func double() throws -> Double {
        switch try next() {
        case .real(let v): return v
        case .integer(let v): return Double(v)
        case .text(let s):
            guard let v = Double(s) else { throw Self.corrupt("a column is not a number") }
            return v
        default: throw Self.corrupt("a column is not a number")
        }
    }

    package mutating func optionalString() throws -> String? {
        switch try next() {
        case .null: return nil
        case .text(let s): return s
        default: throw Self.corrupt("a column is not text")
        }
    }

    package mutating func string() throws -> String {
        guard let s = try optionalString() else { throw Self.corrupt("a text column is null") }
        return s
    }

    package mutating func optionalBlob() throws -> [UInt8]? {
        switch try next() {
        case .null: return nil
        case .blob(let b): return b
        default: throw Self.corrupt("a column is not a blob")
        }
    }

    package mutating func blob() throws -> [UInt8] {
        guard let b = try optionalBlob() else { throw Self.corrupt("a blob column is null") }
        return b
    }

    package mutating func optionalDate() throws -> Date? { try optionalInt64().map(Micros.date) }

    package mutating func date() throws -> Date { Micros.date(try int64()) }

    package static func corrupt(_ message: String) -> StorageError {
        StorageError(code: .dataCorrupted, message: message)
    }
}
