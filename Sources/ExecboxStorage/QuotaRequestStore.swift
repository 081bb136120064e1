public import Foundation

/// Quota requests.
public protocol QuotaRequestStore: Sendable {
    /// Stores the request; with an account, also a `quota_requested` audit event.
    func createQuotaRequest(_ request: QuotaRequest, audit: AuditContext?) async throws -> QuotaRequest
    func listQuotaRequests(status: QuotaRequest.Status?, page: PageRequest) async throws -> Page<QuotaRequest>
    func setQuotaRequestStatus(id: Int64, status: QuotaRequest.Status, at: Date) async throws -> QuotaRequest
}
