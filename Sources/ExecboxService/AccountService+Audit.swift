public import ExecboxAPI
public import ExecboxRPC
import ExecboxStorage
import ExecboxWire
import Foundation

extension AccountService {
    public func listAuditLog(request: ListAuditLogRequest, context: ServerContext) async throws
        -> ListAuditLogResponse
    {
        let principal = try Principal.required()
        guard request.actions.count <= 16 else { throw Validation.invalid("at most 16 actions") }
        let actions = try Set(
            request.actions.map { action in
                guard let stored = APIMapping.auditAction(action) else {
                    throw Validation.invalid("AUDIT_ACTION_UNSPECIFIED or an unknown action in the filter")
                }
                return stored
            })
        let from = request.startTime.map(Timestamps.date)
        let until = request.endTime.map(Timestamps.date)
        if let from, let until, from > until { throw Validation.invalid("start_time must not be after end_time") }
        let now = now()
        let filters = [
            "audit", principal.accountID, actions.map(\.rawValue).sorted().joined(separator: ","), request.targetId,
            "\(from?.timeIntervalSince1970 ?? 0)", "\(until?.timeIntervalSince1970 ?? 0)",
        ].joined(separator: "|")
        let page = try await store.auditEvents(
            AuditQuery(
                accountID: principal.accountID, actions: actions,
                targetID: request.targetId.isEmpty ? nil : request.targetId, from: from, until: until,
                page: PageToken.pageRequest(request.page, filters: filters, now: now)))
        return ListAuditLogResponse.with {
            $0.events = page.items.map(APIMapping.auditEvent)
            $0.page = PageToken.response(page.nextCursor, filters: filters, now: now)
        }
    }
}
