public import ExecboxStorage
import ExecboxStorageSQL
import Foundation

/// Reads a legacy execbox-cloud PostgreSQL database (CONTRACT.md §7) for `LegacyImporter`.
/// Columns the database lacks read as NULL and missing tables as empty, because legacy
/// deployments stopped at different migrations. Times are converted to microseconds by the
/// server, independent of its time zone.
public final class PostgresLegacySource: LegacySource {
    private let database: PostgresDatabase
    private let columns: [String: Set<String>]

    private init(database: PostgresDatabase, columns: [String: Set<String>]) {
        self.database = database
        self.columns = columns
    }

    /// Connects (read-only use) and reads which legacy tables and columns exist.
    public static func connect(url: String) async throws -> PostgresLegacySource {
        let database = PostgresDatabase(settings: PostgresSettings(url: url, poolSize: 1))
        do {
            let columns = try await database.perform(.read) { connection in
                var columns: [String: Set<String>] = [:]
                for var row in try connection.query(
                    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()",
                    []
                ) {
                    let table = try row.string()
                    columns[table, default: []].insert(try row.string())
                }
                return columns
            }
            return PostgresLegacySource(database: database, columns: columns)
        } catch {
            await database.close()
            throw error
        }
    }

    public func close() async {
        await database.close()
    }

    /// `column` as text, or NULL when the table lacks it. Names come from this file only.
    private func text(_ table: String, _ column: String) -> String {
        columns[table]?.contains(column) == true ? "\(column)::text" : "NULL::text"
    }

    private func micros(_ table: String, _ column: String) -> String {
        columns[table]?.contains(column) == true
            ? "(EXTRACT(EPOCH FROM \(column)) * 1000000)::bigint" : "NULL::bigint"
    }

    private func integer(_ table: String, _ column: String) -> String {
        columns[table]?.contains(column) == true ? "\(column)::bigint" : "NULL::bigint"
    }

    private func rows(_ table: String, _ select: [String], _ tail: String = "", _ binds: [SQLValue] = []) async throws
        -> [SQLRow]
    {
        guard columns[table] != nil else { return [] }
        let sql = "SELECT \(select.joined(separator: ", ")) FROM \(table) \(tail)"
        return try await database.perform(.read) { try $0.query(sql, binds) }
    }

    public func apiKeys() async throws -> [LegacyRows.APIKey] {
        let t = "api_keys"
        let select = [
            text(t, "id"), text(t, "key"), text(t, "account_id"), text(t, "parent_key_id"), text(t, "tier"),
            integer(t, "rate_limit_rps"), text(t, "email"), text(t, "name"), text(t, "description"),
            columns[t]?.contains("is_active") == true ? "is_active" : "NULL::boolean", micros(t, "expires_at"),
            integer(t, "custom_daily_limit"), integer(t, "custom_concurrent_limit"), text(t, "last_updated_by"),
            micros(t, "tier_expires_at"), micros(t, "tier_updated_at"), micros(t, "created_at"),
            micros(t, "last_used_at"),
        ]
        return try await rows(t, select, "ORDER BY created_at, id").map { row in
            var row = row
            let id = try row.string()
            let key = try row.string()
            // Legacy keys without an account_id column (before migration 005) are their own account.
            let accountID = try row.optionalString() ?? id
            let parent = try row.optionalString()
            var record = LegacyRows.APIKey(
                id: id,
                key: key,
                accountID: accountID,
                tier: try row.optionalString() ?? "free",
                createdAt: .distantPast
            )
            record.parentKeyID = parent
            record.rateLimitRPS = try row.optionalInt()
            record.email = try row.optionalString()
            record.name = try row.optionalString()
            record.description = try row.optionalString()
            record.isActive = try row.optionalInt64().map { $0 != 0 }
            record.expiresAt = try row.optionalDate()
            record.customDailyLimit = try row.optionalInt()
            record.customConcurrentLimit = try row.optionalInt()
            record.lastUpdatedBy = try row.optionalString()
            record.tierExpiresAt = try row.optionalDate()
            record.tierUpdatedAt = try row.optionalDate()
            record.createdAt = try row.optionalDate() ?? Date(timeIntervalSince1970: 0)
            record.lastUsedAt = try row.optionalDate()
            return record
        }
    }

    public func accountLimits() async throws -> [LegacyRows.AccountLimits] {
        let t = "account_limits"
        let select = [
            text(t, "account_id"), integer(t, "daily_requests_limit"), integer(t, "concurrent_requests_limit"),
            columns[t]?.contains("monthly_cost_limit") == true ? "monthly_cost_limit::text" : "NULL::text",
            integer(t, "alert_threshold_percentage"), text(t, "billing_email"), text(t, "timezone"),
            micros(t, "updated_at"),
        ]
        return try await rows(t, select).map { row in
            var row = row
            var limits = LegacyRows.AccountLimits(accountID: try row.string(), updatedAt: .distantPast)
            limits.dailyRequestsLimit = try row.optionalInt()
            limits.concurrentRequestsLimit = try row.optionalInt()
            limits.monthlyCostLimitUSD = try row.optionalString().flatMap { Double($0) }
            limits.alertThresholdPercentage = try row.optionalInt()
            limits.billingEmail = try row.optionalString()
            limits.timezone = try row.optionalString()
            limits.updatedAt = try row.optionalDate() ?? Date(timeIntervalSince1970: 0)
            return limits
        }
    }

    public func sessions(afterID: String?, limit: Int) async throws -> [LegacyRows.Session] {
        let t = "sessions"
        let select = [
            text(t, "id"), text(t, "api_key_id"), text(t, "fly_machine_id"), text(t, "image"), text(t, "command"),
            text(t, "env"), text(t, "ports"), text(t, "setup_hash"), text(t, "status"), integer(t, "exit_code"),
            micros(t, "created_at"), micros(t, "started_at"), micros(t, "ended_at"), integer(t, "cost_estimate_cents"),
            integer(t, "cpu_millis_used"), integer(t, "memory_peak_mb"), integer(t, "network_transfer_mb"),
        ]
        return try await rows(t, select, "WHERE id > $1 ORDER BY id LIMIT $2", [.text(afterID ?? ""), .int(limit)])
            .map { row in
                var row = row
                var session = LegacyRows.Session(
                    id: try row.string(),
                    apiKeyID: try row.string(),
                    image: "",
                    status: "",
                    createdAt: .distantPast
                )
                session.backendID = try row.optionalString()
                session.image = try row.optionalString() ?? ""
                session.commandJSON = try row.optionalString()
                session.envJSON = try row.optionalString()
                session.portsJSON = try row.optionalString()
                session.setupHash = try row.optionalString()
                session.status = try row.optionalString() ?? "failed"
                session.exitCode = try row.optionalInt()
                session.createdAt = try row.optionalDate() ?? Date(timeIntervalSince1970: 0)
                session.startedAt = try row.optionalDate()
                session.endedAt = try row.optionalDate()
                session.costEstimateCents = try row.optionalInt() ?? 0
                session.cpuMillisUsed = try row.optionalInt() ?? 0
                session.memoryPeakMB = try row.optionalInt() ?? 0
                session.networkTransferMB = try row.optionalInt() ?? 0
                return session
            }
    }

    public func quotaRequests() async throws -> [LegacyRows.QuotaRequest] {
        let t = "quota_requests"
        let select = [
            integer(t, "id"), text(t, "api_key_id"), text(t, "email"), text(t, "name"), text(t, "company"),
            text(t, "current_tier"), text(t, "requested_limits"), text(t, "budget"), text(t, "use_case"),
            text(t, "notes"), text(t, "status"), micros(t, "created_at"), micros(t, "responded_at"),
        ]
        return try await rows(t, select, "ORDER BY id").map { row in
            var row = row
            let id = try row.int64()
            let apiKeyID = try row.optionalString()
            var request = LegacyRows.QuotaRequest(
                id: id,
                email: try row.optionalString() ?? "",
                status: "pending",
                createdAt: .distantPast
            )
            request.apiKeyID = apiKeyID
            request.name = try row.optionalString()
            request.company = try row.optionalString()
            request.currentTier = try row.optionalString()
            request.requestedLimits = try row.optionalString()
            request.budget = try row.optionalString()
            request.useCase = try row.optionalString()
            request.notes = try row.optionalString()
            request.status = try row.optionalString() ?? "pending"
            request.createdAt = try row.optionalDate() ?? Date(timeIntervalSince1970: 0)
            request.respondedAt = try row.optionalDate()
            return request
        }
    }

    public func hourlyUsage() async throws -> [LegacyRows.Usage] {
        let t = "hourly_account_usage"
        return try await usage(
            t,
            [
                integer(t, "id"), text(t, "account_id"), micros(t, "hour"), integer(t, "executions"),
                integer(t, "duration_ms"), integer(t, "cost_estimate_cents"), integer(t, "cpu_millis_used"),
                integer(t, "memory_mb_seconds"), integer(t, "errors"),
            ]
        )
    }

    public func dailyUsage() async throws -> [LegacyRows.Usage] {
        let t = "usage_metrics"
        let day =
            columns[t]?.contains("date") == true
            ? "(EXTRACT(EPOCH FROM (date::timestamp AT TIME ZONE 'UTC')) * 1000000)::bigint" : "NULL::bigint"
        return try await usage(
            t,
            [
                integer(t, "id"), text(t, "api_key_id"), day, integer(t, "executions"), integer(t, "duration_ms"),
                integer(t, "cost_estimate_cents"), integer(t, "cpu_millis_used"), integer(t, "memory_mb_seconds"),
                "NULL::bigint",
            ]
        )
    }

    private func usage(_ table: String, _ select: [String]) async throws -> [LegacyRows.Usage] {
        try await rows(table, select, "ORDER BY id").map { row in
            var row = row
            var usage = LegacyRows.Usage(
                id: try row.int64(),
                apiKeyID: try row.string(),
                start: try row.optionalDate() ?? Date(timeIntervalSince1970: 0),
                executions: try row.optionalInt() ?? 0
            )
            usage.durationMs = try row.optionalInt() ?? 0
            usage.costCents = try row.optionalInt() ?? 0
            usage.cpuMillis = try row.optionalInt() ?? 0
            usage.memoryMBSeconds = try row.optionalInt() ?? 0
            usage.errors = try row.optionalInt() ?? 0
            return usage
        }
    }
}
