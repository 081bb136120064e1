import ExecboxRPC
import ExecboxStorage
import ExecboxWellKnownTypes
import Foundation

/// The time range of a usage query. Without a start, `days` whole buckets ending with the current
/// one: DAILY with 7 days is today and the six days before it (the legacy window was one day
/// longer by mistake, CONTRACT.md §3.6).
struct UsageRange: Hashable {
    var from: Date
    var until: Date

    static let maximumSpan: TimeInterval = 366 * 86_400
    static let maximumHourlySpan: TimeInterval = 31 * 86_400

    init(from: Date, until: Date) {
        self.from = from
        self.until = until
    }

    init(
        granularity: UsageGranularity, days: UInt32, defaultDays: UInt32, start: Google_Protobuf_Timestamp?,
        end: Google_Protobuf_Timestamp?, now: Date
    ) throws {
        guard days <= 365 else { throw Validation.invalid("days must be between 1 and 365") }
        let until = end.map(Timestamps.date) ?? now
        let from: Date
        if let start {
            from = Timestamps.date(start)
        } else {
            let count = Double(days == 0 ? defaultDays : days)
            switch granularity {
            case .hourly: from = UTCCalendar.startOfHour(until.addingTimeInterval(-3600 * (count * 24 - 1)))
            case .daily: from = UTCCalendar.startOfDay(until.addingTimeInterval(-86_400 * (count - 1)))
            }
        }
        guard from <= until else { throw Validation.invalid("start_time must not be after end_time") }
        guard until.timeIntervalSince(from) <= Self.maximumSpan else {
            throw Validation.invalid("the range must not exceed 366 days")
        }
        if granularity == .hourly, until.timeIntervalSince(from) > Self.maximumHourlySpan {
            throw Validation.invalid("an hourly range must not exceed 31 days")
        }
        self.init(from: from, until: until)
    }
}
