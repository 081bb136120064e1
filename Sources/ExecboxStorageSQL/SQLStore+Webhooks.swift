public import ExecboxStorage
public import Foundation

extension SQLStore {
    private static let webhookColumns = """
        id, account_id, url, description, events, secret_preview, created_at, last_delivery_at, last_delivery_status,
        consecutive_failures
        """
    private static let deliveryColumns = """
        id, webhook_id, account_id, event, payload, idempotency_key, state, attempts, next_attempt_at, last_attempt_at,
        last_status_code, last_error, created_at
        """

    private static func secretContext(webhookID: String) -> String { "webhook-secret:\(webhookID)" }

    public func createWebhook(_ webhook: Webhook, signingSecret: String, audit: AuditContext) async throws -> Webhook {
        let sealed = try box.seal(Array(signingSecret.utf8), context: Self.secretContext(webhookID: webhook.id))
        return try await write { connection in
            _ = try connection.query(
                """
                INSERT INTO webhooks (id, account_id, url, description, events, secret_sealed, secret_preview,
                    created_at, last_delivery_at, last_delivery_status, consecutive_failures)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                """,
                [
                    .text(webhook.id), .text(webhook.accountID), .text(webhook.url), .text(webhook.description),
                    .text(try JSONText.encode(webhook.events)), .blob(sealed), .text(webhook.secretPreview),
                    .date(webhook.createdAt), .date(webhook.lastDeliveryAt), .int(webhook.lastDeliveryStatus),
                    .int(webhook.consecutiveFailures),
                ]
            )
            try Self.insertAudit(
                AuditEvent(
                    accountID: webhook.accountID,
                    action: .webhookCreated,
                    targetType: "webhook",
                    targetID: webhook.id,
                    details: ["url": webhook.url],
                    context: audit
                ),
                on: connection
            )
            return webhook
        }
    }

    public func webhook(id: String, accountID: String) async throws -> Webhook? {
        try await read { connection in
            try connection.queryFirst(
                "SELECT \(Self.webhookColumns) FROM webhooks WHERE id = $1 AND account_id = $2",
                [.text(id), .text(accountID)]
            ).map(Self.webhook)
        }
    }

    public func listWebhooks(accountID: String, page: PageRequest) async throws -> Page<Webhook> {
        try await listOldestFirst(table: "webhooks", columns: Self.webhookColumns, accountID: accountID, page: page) {
            try Self.webhook($0)
        } cursor: {
            Cursor.encode(micros: Micros.from($0.createdAt), id: $0.id)
        }
    }

    public func countWebhooks(accountID: String) async throws -> Int {
        try await count(table: "webhooks", accountID: accountID)
    }

    public func deleteWebhook(id: String, accountID: String, audit: AuditContext) async throws {
        try await write { connection in
            guard
                try !connection.query(
                    "DELETE FROM webhooks WHERE id = $1 AND account_id = $2 RETURNING id",
                    [.text(id), .text(accountID)]
                ).isEmpty
            else { throw StorageError.notFound("webhook") }
            try Self.insertAudit(
                AuditEvent(
                    accountID: accountID, action: .webhookDeleted, targetType: "webhook", targetID: id, context: audit),
                on: connection
            )
        }
    }

    public func webhookSigningSecret(id: String) async throws -> String {
        let box = self.box
        return try await read { connection in
            guard var row = try connection.queryFirst("SELECT secret_sealed FROM webhooks WHERE id = $1", [.text(id)])
            else {
                throw StorageError.notFound("webhook")
            }
            let plain = try box.open(try row.blob(), context: Self.secretContext(webhookID: id))
            return String(decoding: plain, as: UTF8.self)
        }
    }

    public func enqueueDelivery(_ delivery: WebhookDelivery) async throws -> WebhookDelivery {
        try await write { connection in
            _ = try connection.query(
                """
                INSERT INTO webhook_deliveries (webhook_id, account_id, event, payload, idempotency_key, state, attempts,
                    next_attempt_at, last_attempt_at, last_status_code, last_error, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                ON CONFLICT (idempotency_key) DO NOTHING
                """,
                [
                    .text(delivery.webhookID), .text(delivery.accountID), .text(delivery.event),
                    .text(delivery.payload),
                    .text(delivery.idempotencyKey), .text(delivery.state.rawValue), .int(delivery.attempts),
                    .date(delivery.nextAttemptAt), .date(delivery.lastAttemptAt), .int(delivery.lastStatusCode),
                    .text(delivery.lastError), .date(delivery.createdAt),
                ]
            )
            guard
                let row = try connection.queryFirst(
                    "SELECT \(Self.deliveryColumns) FROM webhook_deliveries WHERE idempotency_key = $1",
                    [.text(delivery.idempotencyKey)]
                )
            else { throw StorageError.notFound("webhook delivery") }
            return try Self.delivery(row)
        }
    }

    public func dueDeliveries(now: Date, limit: Int) async throws -> [WebhookDelivery] {
        try await read { connection in
            try connection.query(
                """
                SELECT \(Self.deliveryColumns) FROM webhook_deliveries
                WHERE state = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2
                """,
                [.date(now), .int(max(1, min(limit, 1000)))]
            ).map(Self.delivery)
        }
    }

    public func recordDeliveryAttempt(id: Int64, _ attempt: DeliveryAttempt) async throws -> WebhookDelivery {
        try await write { connection in
            let state: WebhookDelivery.State =
                attempt.succeeded ? .succeeded : (attempt.retryAt == nil ? .failed : .pending)
            guard
                let row = try connection.queryFirst(
                    """
                    UPDATE webhook_deliveries SET state = $2, attempts = attempts + 1, next_attempt_at = $3,
                        last_attempt_at = $4, last_status_code = $5, last_error = $6
                    WHERE id = $1 RETURNING \(Self.deliveryColumns)
                    """,
                    [
                        .integer(id), .text(state.rawValue), .date(attempt.succeeded ? nil : attempt.retryAt),
                        .date(attempt.at), .int(attempt.statusCode), .text(attempt.error),
                    ]
                )
            else { throw StorageError.notFound("webhook delivery") }
            let delivery = try Self.delivery(row)
            _ = try connection.query(
                """
                UPDATE webhooks SET last_delivery_at = $2, last_delivery_status = $3,
                    consecutive_failures = CASE WHEN $4 THEN 0 ELSE consecutive_failures + 1 END
                WHERE id = $1
                """,
                [.text(delivery.webhookID), .date(attempt.at), .int(attempt.statusCode), .bool(attempt.succeeded)]
            )
            return delivery
        }
    }

    private static func webhook(_ row: SQLRow) throws -> Webhook {
        var row = row
        return Webhook(
            id: try row.string(),
            accountID: try row.string(),
            url: try row.string(),
            description: try row.string(),
            events: try JSONText.decode([String].self, from: try row.string()),
            secretPreview: try row.string(),
            createdAt: try row.date(),
            lastDeliveryAt: try row.optionalDate(),
            lastDeliveryStatus: try row.int(),
            consecutiveFailures: try row.int()
        )
    }

    private static func delivery(_ row: SQLRow) throws -> WebhookDelivery {
        var row = row
        let id = try row.int64()
        let webhookID = try row.string()
        let accountID = try row.string()
        let event = try row.string()
        let payload = try row.string()
        let key = try row.string()
        guard let state = WebhookDelivery.State(rawValue: try row.string()) else {
            throw SQLRow.corrupt("unknown delivery state")
        }
        return WebhookDelivery(
            id: id,
            webhookID: webhookID,
            accountID: accountID,
            event: event,
            payload: payload,
            idempotencyKey: key,
            state: state,
            attempts: try row.int(),
            nextAttemptAt: try row.optionalDate(),
            lastAttemptAt: try row.optionalDate(),
            lastStatusCode: try row.int(),
            lastError: try row.string(),
            createdAt: try row.date()
        )
    }
}
