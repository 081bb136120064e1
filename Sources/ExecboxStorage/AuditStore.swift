/// The audit log.
public protocol AuditStore: Sendable {
    func appendAuditEvent(_ event: AuditEvent) async throws -> AuditEvent
    func auditEvents(_ query: AuditQuery) async throws -> Page<AuditEvent>
}
