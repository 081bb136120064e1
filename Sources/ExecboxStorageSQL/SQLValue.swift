import ExecboxStorage
package import Foundation

/// A value bound to a statement parameter or read from a result column. Bound parameters are
/// the only way values reach SQL text.
package enum SQLValue: Hashable, Sendable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
    case bool(Bool)

    package static func int(_ value: Int) -> SQLValue { .integer(Int64(value)) }

    package static func int(_ value: Int?) -> SQLValue { value.map { .integer(Int64($0)) } ?? .null }

    package static func text(_ value: String?) -> SQLValue { value.map { .text($0) } ?? .null }

    package static func blob(_ value: [UInt8]?) -> SQLValue { value.map { .blob($0) } ?? .null }

    /// Times are stored as integer microseconds since the Unix epoch, UTC, in both dialects.
    package static func date(_ value: Date?) -> SQLValue {
        value.map { .integer(Micros.from($0)) } ?? .null
    }
}

/// Conversions between `Date` and the stored microseconds.
package enum Micros {
    package static let perSecond: Int64 = 1_000_000
    package static let perHour: Int64 = 3_600 * perSecond
    package static let perDay: Int64 = 86_400 * perSecond

    package static func from(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    package static func date(_ micros: Int64) -> Date {
        Date(timeIntervalSince1970: Double(micros) / 1_000_000)
    }

    /// Start of the UTC hour or day containing `micros`.
    package static func floor(_ micros: Int64, to unit: Int64) -> Int64 {
        micros >= 0 ? micros / unit * unit : ((micros + 1) / unit - 1) * unit
    }
}
