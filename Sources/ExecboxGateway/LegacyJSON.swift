public import ExecboxAPI
public import ExecboxWellKnownTypes
public import ExecboxWire
import Foundation

/// The REST API's JSON bodies (legacy CONTRACT.md §3, mapped as in docs/api-legacy-mapping.md),
/// built from the gRPC messages: what the gateway answers and the CLI's `--json` prints.
public enum LegacyJSON {
    /// `SessionResponse`: `id`, `status`, `image`, `createdAt`, `startedAt`?, `endedAt`?,
    /// `exitCode`?, `network`?.
    public static func session(_ session: Session) -> JSONValue {
        var object = JSONObject()
        object.add("id", session.id)
        object.add("status", status(session.status))
        object.add("image", session.image)
        object.add("createdAt", ifPresent: time(session.createdAt))
        object.add("startedAt", ifPresent: time(session.startedAt))
        object.add("endedAt", ifPresent: time(session.endedAt))
        object.add("exitCode", ifPresent: session.exit.map { .int(Int64($0.exitCode)) })
        object.add("network", ifPresent: network(session))
        return object.value
    }

    /// `NetworkInfo`: mode, host and each port's host port and URL, keyed by the container port.
    public static func network(_ session: Session) -> JSONValue? {
        if let network = session.network {
            var info = JSONObject()
            info.add("mode", name(network.mode, prefix: "NETWORK_MODE_", unspecified: "outgoing"))
            info.add("host", network.host)
            var ports = JSONObject()
            for port in network.ports {
                var binding = JSONObject()
                binding.add("hostPort", Int64(port.hostPort))
                binding.add("url", port.url)
                ports.add(String(port.containerPort), binding.value)
            }
            info.add("ports", ports.value)
            return info.value
        }
        return nil
    }

    /// The status a legacy `?status=` filter names.
    public static func sessionStatus(_ name: String) -> SessionStatus? {
        SessionStatus(protoName: "SESSION_STATUS_" + name.uppercased()).flatMap { $0 == .unspecified ? nil : $0 }
    }

    /// `APIKeyResponse`, plus the one-time `key` after create and rotate.
    public static func apiKey(_ key: APIKey, secret: String? = nil) -> JSONValue {
        var object = JSONObject()
        object.add("id", key.id)
        object.add("name", ifNotEmpty: key.name)
        object.add("description", ifNotEmpty: key.description)
        object.add("key_preview", key.keyPreview)
        object.add("is_active", key.isActive)
        object.add("expires_at", ifPresent: time(key.expiresAt))
        object.add("custom_daily_limit", ifPresent: key.customDailyLimit.map { .int($0) })
        object.add("custom_concurrent_limit", ifPresent: key.customConcurrentLimit.map { .int($0) })
        object.add("created_at", ifPresent: time(key.createdAt))
        object.add("last_used_at", ifPresent: time(key.lastUsedAt))
        if let secret { object.add("key", secret) }
        return object.value
    }

    /// `UsageResponse` (today's counts, as numbers), with the `EnhancedUsageResponse` fields
    /// `account_id`, `alert_threshold` and `monthly_cost_limit_cents`.
    public static func usage(_ usage: GetUsageResponse) -> JSONValue {
        let limits = usage.limits ?? TierLimits()
        var object = JSONObject()
        object.add("sessions_today", usage.sessionsToday)
        object.add("active_sessions", usage.activeSessions)
        object.add("quota_used", usage.quotaUsed)
        object.add("quota_remaining", usage.quotaRemaining)
        object.add("tier", tier(usage.tier))
        object.add("concurrent_limit", limits.concurrentLimit)
        object.add("daily_limit", limits.dailyLimit)
        object.add("max_duration_seconds", limits.maxDurationMs < 0 ? -1 : limits.maxDurationMs / 1000)
        object.add("max_memory_mb", limits.maxMemoryMb)
        object.add("account_id", usage.accountId)
        object.add("alert_threshold", Int64(usage.alertThreshold))
        object.add("monthly_cost_limit_cents", ifPresent: usage.monthlyCostLimitCents.map { .int($0) })
        return object.value
    }

    /// `EnhancedUsageResponse` (§3.6): today's usage, the last 24 hours by hour (oldest first) and
    /// the last days (newest first).
    public static func enhancedUsage(
        _ usage: GetUsageResponse, hourly: GetUsageHistoryResponse, daily: GetUsageHistoryResponse
    ) -> JSONValue {
        guard case .object(var fields) = self.usage(usage) else { return .null }
        fields.append(("cost_estimate_cents", .int(daily.totalCostCents)))
        fields.append(
            (
                "hourly_usage",
                .array(
                    hourly.buckets.map { bucket in
                        var object = JSONObject()
                        object.add("hour", ifPresent: time(bucket.startTime))
                        object.add("executions", bucket.executions)
                        object.add("cost_cents", bucket.costCents)
                        object.add("errors", bucket.errors)
                        return object.value
                    })
            ))
        fields.append(("daily_history", .array(daily.buckets.reversed().map(dayUsage))))
        return .object(fields)
    }

    /// `DayUsage`.
    public static func dayUsage(_ bucket: UsageBucket) -> JSONValue {
        var object = JSONObject()
        object.add("date", bucket.date)
        object.add("executions", bucket.executions)
        object.add("duration_ms", bucket.durationMs)
        object.add("cost_cents", bucket.costCents)
        object.add("errors", bucket.errors)
        return object.value
    }

    /// `AccountLimitsResponse` (§3.8).
    public static func limits(_ limits: AccountLimits) -> JSONValue {
        var object = JSONObject()
        object.add("daily_requests_limit", limits.dailyRequestsLimit)
        object.add("concurrent_requests_limit", limits.concurrentRequestsLimit)
        object.add("monthly_cost_limit_cents", ifPresent: limits.monthlyCostLimitCents.map { .int($0) })
        object.add("alert_threshold", Int64(limits.alertThreshold))
        object.add("billing_email", ifNotEmpty: limits.billingEmail)
        object.add("timezone", limits.timezone.isEmpty ? "UTC" : limits.timezone)
        return object.value
    }

    /// `AccountResponse` of `GET /v1/account`.
    public static func account(_ response: GetAccountResponse) -> JSONValue {
        let account = response.account ?? Account()
        let key = response.callerKey ?? APIKey()
        var object = JSONObject()
        object.add("tier", tier(account.tier))
        object.add("email", ifNotEmpty: account.email)
        object.add("api_key_id", key.id)
        object.add("api_key_preview", key.keyPreview)
        object.add("created_at", ifPresent: time(account.createdAt))
        object.add("tier_expires_at", ifPresent: time(account.tierExpiresAt))
        return object.value
    }

    /// `GetURLResponse`.
    public static func portURL(_ response: GetPortURLResponse) -> JSONValue {
        var object = JSONObject()
        object.add("containerPort", Int64(response.containerPort))
        object.add("hostPort", Int64(response.hostPort))
        object.add("url", response.url)
        object.add("protocol", name(response.transport, prefix: "TRANSPORT_PROTOCOL_", unspecified: "tcp"))
        return object.value
    }

    /// The legacy status string: STOPPING reads `running`, as the gateway writes it.
    public static func status(_ status: SessionStatus) -> String {
        status == .stopping ? "running" : name(status, prefix: "SESSION_STATUS_", unspecified: "pending")
    }

    public static func tier(_ tier: Tier) -> String {
        name(tier, prefix: "TIER_", unspecified: "free")
    }

    /// `SESSION_STATUS_RUNNING` → `running`.
    public static func name(_ value: some WireEnum, prefix: String, unspecified: String) -> String {
        guard let protoName = value.protoName, !protoName.hasSuffix("_UNSPECIFIED") else { return unspecified }
        return protoName.dropFirst(protoName.hasPrefix(prefix) ? prefix.count : 0).lowercased()
    }

    /// RFC 3339 in UTC, whole seconds (`2024-01-15T10:30:00Z`); nil when unset.
    public static func time(_ timestamp: Google_Protobuf_Timestamp?) -> JSONValue? {
        timestamp.map { .string(rfc3339($0)) }
    }

    public static func rfc3339(_ timestamp: Google_Protobuf_Timestamp) -> String {
        Date(timeIntervalSince1970: TimeInterval(timestamp.seconds)).formatted(.iso8601)
    }
}
