/// Kinds of audited actions. The raw values are stored; the first ones match the legacy
/// `api_key_audit_log.action` vocabulary where one exists.
public enum AuditAction: String, Hashable, Sendable, CaseIterable {
    case apiKeyCreated = "created"
    case apiKeyUpdated = "updated"
    case apiKeyRevoked = "deleted"
    case apiKeyRotated = "rotated"
    case apiKeyActivated = "activated"
    case apiKeyDeactivated = "deactivated"
    case limitsChanged = "limits_changed"
    case alertRuleCreated = "alert_rule_created"
    case alertRuleDeleted = "alert_rule_deleted"
    case webhookCreated = "webhook_created"
    case webhookDeleted = "webhook_deleted"
    case quotaRequested = "quota_requested"
    case tierChanged = "tier_changed"
    case accountCreated = "account_created"
}
