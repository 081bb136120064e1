public import ExecboxStorage
public import Foundation

extension SQLStore {
    private static let alertColumns = """
        id, account_id, name, metric, threshold, webhook_ids, notify_email, cooldown_ms, created_at, last_triggered_at
        """

    public func createAlertRule(_ rule: AlertRule, audit: AuditContext) async throws -> AlertRule {
        try await write { connection in
            _ = try connection.query(
                "INSERT INTO alert_rules (\(Self.alertColumns)) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                [
                    .text(rule.id), .text(rule.accountID), .text(rule.name), .text(rule.metric.rawValue),
                    .real(rule.threshold), .text(try JSONText.encode(rule.webhookIDs)), .bool(rule.notifyEmail),
                    .int(rule.cooldownMs), .date(rule.createdAt), .date(rule.lastTriggeredAt),
                ]
            )
            try Self.insertAudit(
                AuditEvent(
                    accountID: rule.accountID,
                    action: .alertRuleCreated,
                    targetType: "alert_rule",
                    targetID: rule.id,
                    details: ["name": rule.name, "metric": rule.metric.rawValue],
                    context: audit
                ),
                on: connection
            )
            return rule
        }
    }

    public func listAlertRules(accountID: String, page: PageRequest) async throws -> Page<AlertRule> {
        try await listOldestFirst(table: "alert_rules", columns: Self.alertColumns, accountID: accountID, page: page) {
            try Self.alertRule($0)
        } cursor: {
            Cursor.encode(micros: Micros.from($0.createdAt), id: $0.id)
        }
    }

    public func countAlertRules(accountID: String) async throws -> Int {
        try await count(table: "alert_rules", accountID: accountID)
    }

    public func deleteAlertRule(id: String, accountID: String, audit: AuditContext) async throws {
        try await write { connection in
            guard
                try !connection.query(
                    "DELETE FROM alert_rules WHERE id = $1 AND account_id = $2 RETURNING id",
                    [.text(id), .text(accountID)]
                ).isEmpty
            else { throw StorageError.notFound("alert rule") }
            try Self.insertAudit(
                AuditEvent(
                    accountID: accountID,
                    action: .alertRuleDeleted,
                    targetType: "alert_rule",
                    targetID: id,
                    context: audit
                ),
                on: connection
            )
        }
    }

    public func fireAlertRule(id: String, at: Date) async throws -> Bool {
        try await write { connection in
            try !connection.query(
                """
                UPDATE alert_rules SET last_triggered_at = $2
                WHERE id = $1 AND (last_triggered_at IS NULL OR last_triggered_at + cooldown_ms * 1000 <= $2)
                RETURNING id
                """,
                [.text(id), .date(at)]
            ).isEmpty
        }
    }

    private static func alertRule(_ row: SQLRow) throws -> AlertRule {
        var row = row
        let id = try row.string()
        let accountID = try row.string()
        let name = try row.string()
        guard let metric = AlertRule.Metric(rawValue: try row.string()) else { throw SQLRow.corrupt("unknown metric") }
        return AlertRule(
            id: id,
            accountID: accountID,
            name: name,
            metric: metric,
            threshold: try row.double(),
            webhookIDs: try JSONText.decode([String].self, from: try row.string()),
            notifyEmail: try row.bool(),
            cooldownMs: try row.int(),
            createdAt: try row.date(),
            lastTriggeredAt: try row.optionalDate()
        )
    }

    /// A page of an account's rows ordered by (created_at, id).
    package func listOldestFirst<Item: Sendable>(
        table: String,
        columns: String,
        accountID: String,
        page: PageRequest,
        decode: @escaping @Sendable (SQLRow) throws -> Item,
        cursor: @escaping @Sendable (Item) -> String
    ) async throws -> Page<Item> {
        let limit = Cursor.limit(page)
        return try await read { connection in
            var sql = SQLBuilder("SELECT \(columns) FROM \(table) WHERE")
            sql.append(" account_id = \(sql.bind(.text(accountID)))")
            if let after = page.cursor {
                let (micros, id) = try Cursor.decode(after)
                let m = sql.bind(.integer(micros))
                sql.append(" AND (created_at > \(m) OR (created_at = \(m) AND id > \(sql.bind(.text(id)))))")
            }
            sql.append(" ORDER BY created_at, id LIMIT \(sql.bind(.int(limit + 1)))")
            var items = try connection.query(sql.sql, sql.binds).map(decode)
            let more = items.count > limit
            if more { items.removeLast() }
            return Page(items: items, nextCursor: more ? items.last.map(cursor) : nil)
        }
    }

    package func count(table: String, accountID: String) async throws -> Int {
        try await read { connection in
            guard
                var row = try connection.queryFirst(
                    "SELECT COUNT(*) FROM \(table) WHERE account_id = $1", [.text(accountID)])
            else { return 0 }
            return try row.int()
        }
    }
}
