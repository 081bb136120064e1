public import ExecboxStorage
import Foundation

extension SQLStore {
    private static let measureColumns = [
        "executions", "duration_ms", "cpu_time_ms", "memory_mb_seconds", "bytes_in", "bytes_out", "errors",
        "cost_cents", "cost_micro_usd",
    ]

    private static func values(_ m: UsageMeasures) -> [SQLValue] {
        [
            m.executions, m.durationMs, m.cpuTimeMs, m.memoryMBSeconds, m.bytesIn, m.bytesOut, m.errors, m.costCents,
            m.costMicroUSD,
        ]
        .map { .int($0) }
    }

    public func recordUsage(_ event: UsageEvent) async throws -> Bool {
        try await write { connection in
            let columns = Self.measureColumns.joined(separator: ", ")
            let inserted = try connection.query(
                """
                INSERT INTO usage_events (idempotency_key, account_id, api_key_id, session_id, occurred_at, recorded_at,
                    \(columns))
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
                ON CONFLICT (idempotency_key) DO NOTHING RETURNING id
                """,
                [
                    .text(event.idempotencyKey), .text(event.accountID), .text(event.apiKeyID), .text(event.sessionID),
                    .date(event.occurredAt), .date(Date()),
                ] + Self.values(event.measures)
            )
            guard !inserted.isEmpty else { return false }
            let at = Micros.from(event.occurredAt)
            for (table, unit) in [("usage_hourly", Micros.perHour), ("usage_daily", Micros.perDay)] {
                let sums = Self.measureColumns.map { "\($0) = \(table).\($0) + excluded.\($0)" }.joined(separator: ", ")
                _ = try connection.query(
                    """
                    INSERT INTO \(table) (account_id, api_key_id, bucket_start, \(columns))
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                    ON CONFLICT (account_id, api_key_id, bucket_start) DO UPDATE SET \(sums)
                    """,
                    [.text(event.accountID), .text(event.apiKeyID), .integer(Micros.floor(at, to: unit))]
                        + Self.values(event.measures)
                )
            }
            return true
        }
    }

    public func usage(_ query: UsageQuery) async throws -> [UsageBucket] {
        try await read { connection in
            let table = query.granularity == .hourly ? "usage_hourly" : "usage_daily"
            let sums = Self.measureColumns.map { "SUM(\($0))" }.joined(separator: ", ")
            var sql = SQLBuilder("SELECT bucket_start, \(sums) FROM \(table) WHERE")
            sql.append(" account_id = \(sql.bind(.text(query.accountID)))")
            if let key = query.apiKeyID { sql.append(" AND api_key_id = \(sql.bind(.text(key)))") }
            sql.append(" AND bucket_start >= \(sql.bind(.date(query.from)))")
            sql.append(" AND bucket_start < \(sql.bind(.date(query.until)))")
            sql.append(" GROUP BY bucket_start ORDER BY bucket_start")
            return try connection.query(sql.sql, sql.binds).map { row in
                var row = row
                return UsageBucket(
                    start: try row.date(),
                    measures: UsageMeasures(
                        executions: try row.int(),
                        durationMs: try row.int(),
                        cpuTimeMs: try row.int(),
                        memoryMBSeconds: try row.int(),
                        bytesIn: try row.int(),
                        bytesOut: try row.int(),
                        errors: try row.int(),
                        costCents: try row.int(),
                        costMicroUSD: try row.int()
                    )
                )
            }
        }
    }
}
