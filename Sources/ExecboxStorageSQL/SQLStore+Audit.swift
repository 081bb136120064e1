public import ExecboxStorage
import Foundation

extension SQLStore {
    /// Appends an audit event inside the caller's transaction.
    @discardableResult
    package static func insertAudit(_ event: AuditEvent, on connection: any SQLConnection) throws -> Int64 {
        let rows = try connection.query(
            """
            INSERT INTO audit_log (account_id, occurred_at, action, target_type, target_id, performed_by, details,
                request_id, source_ip)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id
            """,
            [
                .text(event.accountID), .date(event.occurredAt), .text(event.action.rawValue), .text(event.targetType),
                .text(event.targetID), .text(event.performedBy), .text(try JSONText.encode(event.details)),
                .text(event.requestID), .text(event.sourceIP),
            ]
        )
        guard var row = rows.first else { throw SQLRow.corrupt("INSERT … RETURNING gave no row") }
        return try row.int64()
    }

    public func appendAuditEvent(_ event: AuditEvent) async throws -> AuditEvent {
        try await write { connection in
            var stored = event
            stored.id = try Self.insertAudit(event, on: connection)
            return stored
        }
    }

    public func auditEvents(_ query: AuditQuery) async throws -> Page<AuditEvent> {
        let limit = Cursor.limit(query.page)
        return try await read { connection in
            var sql = SQLBuilder(
                """
                SELECT id, account_id, occurred_at, action, target_type, target_id, performed_by, details, request_id,
                    source_ip
                FROM audit_log WHERE
                """
            )
            sql.append(" account_id = \(sql.bind(.text(query.accountID)))")
            if !query.actions.isEmpty {
                sql.append(" AND")
                sql.appendIn("action", query.actions.map(\.rawValue).sorted().map { .text($0) })
            }
            if let target = query.targetID { sql.append(" AND target_id = \(sql.bind(.text(target)))") }
            if let from = query.from { sql.append(" AND occurred_at >= \(sql.bind(.date(from)))") }
            if let until = query.until { sql.append(" AND occurred_at < \(sql.bind(.date(until)))") }
            if let cursor = query.page.cursor {
                sql.append(" AND id < \(sql.bind(.integer(try Cursor.decodeID(cursor))))")
            }
            sql.append(" ORDER BY id DESC LIMIT \(sql.bind(.int(limit + 1)))")
            var events = try connection.query(sql.sql, sql.binds).map(Self.auditEvent)
            let more = events.count > limit
            if more { events.removeLast() }
            return Page(items: events, nextCursor: more ? events.last?.id.map { String($0) } : nil)
        }
    }

    private static func auditEvent(_ row: SQLRow) throws -> AuditEvent {
        var row = row
        let id = try row.int64()
        let accountID = try row.string()
        let at = try row.date()
        let actionText = try row.string()
        guard let action = AuditAction(rawValue: actionText) else { throw SQLRow.corrupt("unknown audit action") }
        let targetType = try row.string()
        let targetID = try row.string()
        let performedBy = try row.string()
        let details = try JSONText.decode([String: String].self, from: try row.string())
        let context = AuditContext(
            performedBy: performedBy,
            requestID: try row.string(),
            sourceIP: try row.string(),
            at: at
        )
        return AuditEvent(
            id: id,
            accountID: accountID,
            action: action,
            targetType: targetType,
            targetID: targetID,
            details: details,
            context: context
        )
    }
}
