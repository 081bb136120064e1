import Foundation

/// Quota days, usage buckets and billing periods are UTC.
enum UTCCalendar {
    static let calendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    static func startOfDay(_ date: Date) -> Date {
        calendar.startOfDay(for: date)
    }

    static func startOfHour(_ date: Date) -> Date {
        calendar.dateInterval(of: .hour, for: date)?.start ?? date
    }

    /// The billing period (calendar month) containing `date`: its first instant and the first after it.
    static func month(of date: Date) -> (start: Date, end: Date) {
        let interval = calendar.dateInterval(of: .month, for: date)!
        return (interval.start, interval.end)
    }

    /// `YYYY-MM-DD`.
    static func day(_ date: Date) -> String {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
    }
}
