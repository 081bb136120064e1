import ExecboxStorage
import Foundation

/// The documents of ExportUsage: one row per UTC day, newest first, in the legacy dashboard's CSV
/// (CONTRACT.md §3.7: that exact header, `\n` between lines, no trailing newline, no quoting) or
/// as a JSON array (`[]` when empty, never `null`).
enum UsageExport {
    static let csvHeader = "Date,Executions,Duration (ms),Cost (cents),Errors"
    static let csvContentType = "text/csv; charset=utf-8"
    static let jsonContentType = "application/json"
    /// Largest `data` per response message.
    static let chunkSize = 64 * 1024

    static func csv(_ days: [UsageBucket]) -> String {
        ([csvHeader]
            + newestFirst(days).map { day in
                let m = day.measures
                return "\(UTCCalendar.day(day.start)),\(m.executions),\(m.durationMs),\(m.costCents),\(m.errors)"
            }).joined(separator: "\n")
    }

    static func json(_ days: [UsageBucket]) -> String {
        let rows = newestFirst(days).map { day in
            let m = day.measures
            return """
                {"date":"\(UTCCalendar.day(day.start))","executions":\(m.executions),"duration_ms":\(m.durationMs),\
                "cost_cents":\(m.costCents),"errors":\(m.errors)}
                """
        }
        return "[" + rows.joined(separator: ",") + "]"
    }

    static func newestFirst(_ days: [UsageBucket]) -> [UsageBucket] {
        days.sorted { $0.start > $1.start }
    }

    /// `usage-export-YYYY-MM-DD.csv` (or `.json`), dated the day of the export.
    static func filename(at now: Date, csv: Bool) -> String {
        "usage-export-\(UTCCalendar.day(now)).\(csv ? "csv" : "json")"
    }

    static func chunks(_ document: String) -> [[UInt8]] {
        let bytes = Array(document.utf8)
        guard !bytes.isEmpty else { return [[]] }
        return stride(from: 0, to: bytes.count, by: chunkSize).map {
            Array(bytes[$0..<min($0 + chunkSize, bytes.count)])
        }
    }
}
