public import ExecboxStorage
import Foundation

extension SQLStore {
    private static let limitColumns = """
        account_id, daily_requests_limit, concurrent_requests_limit, monthly_cost_limit_cents, alert_threshold,
        billing_email, timezone, updated_at
        """

    package static func insertLimits(_ limits: AccountLimits, ifAbsent: Bool = false, on connection: any SQLConnection)
        throws
    {
        _ = try connection.query(
            """
            INSERT INTO account_limits (\(limitColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            \(ifAbsent ? "ON CONFLICT DO NOTHING" : "")
            """,
            [
                .text(limits.accountID), .int(limits.dailyRequestsLimit), .int(limits.concurrentRequestsLimit),
                .int(limits.monthlyCostLimitCents), .int(limits.alertThreshold), .text(limits.billingEmail),
                .text(limits.timezone), .date(limits.updatedAt),
            ]
        )
    }

    public func accountLimits(accountID: String) async throws -> AccountLimits? {
        try await read { connection in
            try connection.queryFirst(
                "SELECT \(Self.limitColumns) FROM account_limits WHERE account_id = $1",
                [.text(accountID)]
            ).map(Self.limits)
        }
    }

    public func updateAccountLimits(accountID: String, _ update: AccountLimitsUpdate, audit: AuditContext) async throws
        -> AccountLimits
    {
        try await write { connection in
            guard
                let old = try connection.queryFirst(
                    "SELECT \(Self.limitColumns) FROM account_limits WHERE account_id = $1\(connection.dialect.forUpdate)",
                    [.text(accountID)]
                ).map(Self.limits)
            else { throw StorageError.notFound("account limits") }
            var new = old
            if let v = update.dailyRequestsLimit { new.dailyRequestsLimit = v }
            if let v = update.concurrentRequestsLimit { new.concurrentRequestsLimit = v }
            if let v = update.monthlyCostLimitCents { new.monthlyCostLimitCents = v }
            if let v = update.alertThreshold { new.alertThreshold = v }
            if let v = update.billingEmail { new.billingEmail = v }
            if let v = update.timezone { new.timezone = v }
            new.updatedAt = audit.at
            guard
                let row = try connection.queryFirst(
                    """
                    UPDATE account_limits SET daily_requests_limit = $2, concurrent_requests_limit = $3,
                        monthly_cost_limit_cents = $4, alert_threshold = $5, billing_email = $6, timezone = $7,
                        updated_at = $8
                    WHERE account_id = $1 RETURNING \(Self.limitColumns)
                    """,
                    [
                        .text(accountID), .int(new.dailyRequestsLimit), .int(new.concurrentRequestsLimit),
                        .int(new.monthlyCostLimitCents), .int(new.alertThreshold), .text(new.billingEmail),
                        .text(new.timezone), .date(new.updatedAt),
                    ]
                )
            else { throw StorageError.notFound("account limits") }
            var details: [String: String] = [:]
            let pairs: [(String, String, String)] = [
                ("daily_requests_limit", String(old.dailyRequestsLimit), String(new.dailyRequestsLimit)),
                ("concurrent_requests_limit", String(old.concurrentRequestsLimit), String(new.concurrentRequestsLimit)),
                (
                    "monthly_cost_limit_cents", Self.describe(old.monthlyCostLimitCents),
                    Self.describe(new.monthlyCostLimitCents)
                ),
                ("alert_threshold", String(old.alertThreshold), String(new.alertThreshold)),
                ("billing_email", old.billingEmail, new.billingEmail),
                ("timezone", old.timezone, new.timezone),
            ]
            for (field, before, after) in pairs where before != after {
                details["\(field).old"] = before
                details["\(field).new"] = after
            }
            try Self.insertAudit(
                AuditEvent(
                    accountID: accountID,
                    action: .limitsChanged,
                    targetType: "account_limits",
                    targetID: accountID,
                    details: details,
                    context: audit
                ),
                on: connection
            )
            return try Self.limits(row)
        }
    }

    private static func limits(_ row: SQLRow) throws -> AccountLimits {
        var row = row
        return AccountLimits(
            accountID: try row.string(),
            dailyRequestsLimit: try row.int(),
            concurrentRequestsLimit: try row.int(),
            monthlyCostLimitCents: try row.optionalInt(),
            alertThreshold: try row.int(),
            billingEmail: try row.string(),
            timezone: try row.string(),
            updatedAt: try row.date()
        )
    }
}
