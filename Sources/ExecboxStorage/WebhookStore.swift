public import Foundation

/// Webhook endpoints and their delivery queue.
public protocol WebhookStore: Sendable {
    /// Stores the webhook with its signing secret encrypted.
    func createWebhook(_ webhook: Webhook, signingSecret: String, audit: AuditContext) async throws -> Webhook
    func webhook(id: String, accountID: String) async throws -> Webhook?
    func listWebhooks(accountID: String, page: PageRequest) async throws -> Page<Webhook>
    func countWebhooks(accountID: String) async throws -> Int
    /// Deletes the webhook and its pending deliveries.
    func deleteWebhook(id: String, accountID: String, audit: AuditContext) async throws
    /// The decrypted signing secret.
    func webhookSigningSecret(id: String) async throws -> String

    /// Queues a delivery; a delivery with the same idempotency key is returned instead of a copy.
    func enqueueDelivery(_ delivery: WebhookDelivery) async throws -> WebhookDelivery
    /// Pending deliveries due at `now`, oldest first.
    func dueDeliveries(now: Date, limit: Int) async throws -> [WebhookDelivery]
    /// Records an attempt on the delivery and the webhook's statistics in one transaction.
    func recordDeliveryAttempt(id: Int64, _ attempt: DeliveryAttempt) async throws -> WebhookDelivery
}
