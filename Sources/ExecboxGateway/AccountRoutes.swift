import ExecboxAPI
import ExecboxRPC
import ExecboxWellKnownTypes
import ExecboxWire
import Foundation

/// `/v1/waitlist`, `/v1/quota-requests` and `/v1/account/…` (CONTRACT.md §3.2–§3.15): each a thin
/// translation to one AccountService call (three for the enhanced usage).
enum AccountRoutes {
    static let routes = [
        Route("POST", "/v1/waitlist", public: true, joinWaitlist),
        Route("POST", "/v1/quota-requests", public: true, requestQuota),
        Route("GET", "/v1/account", getAccount),
        Route("GET", "/v1/account/usage", getUsage),
        Route("GET", "/v1/account/usage/enhanced", getEnhancedUsage),
        Route("GET", "/v1/account/usage/export", exportUsage),
        Route("GET", "/v1/account/limits", getLimits),
        Route("PUT", "/v1/account/limits", updateLimits),
        Route("GET", "/v1/account/keys", listKeys),
        Route("POST", "/v1/account/keys", createKey),
        Route("GET", "/v1/account/keys/{id}", getKey),
        Route("PUT", "/v1/account/keys/{id}", updateKey),
        Route("DELETE", "/v1/account/keys/{id}", revokeKey),
        Route("POST", "/v1/account/keys/{id}/rotate", rotateKey),
    ]

    @Sendable static func joinWaitlist(_ call: RouteCall) async throws -> RouteResponse {
        let body = try await call.body(WaitlistBody.self).validated()
        let response = try await call.accounts.joinWaitlist(
            JoinWaitlistRequest.with {
                $0.email = body.email
                $0.name = body.name ?? ""
            }, metadata: call.metadata)
        var object = JSONObject()
        object.add("id", response.apiKey?.id ?? "")
        object.add("key", response.secret)
        object.add("tier", LegacyJSON.tier(response.tier))
        object.add("message", response.message)
        return .json(status: 201, object.value)
    }

    @Sendable static func requestQuota(_ call: RouteCall) async throws -> RouteResponse {
        let body = try await call.body(QuotaRequestBody.self).validated()
        let response = try await call.accounts.requestQuota(
            RequestQuotaRequest.with {
                $0.email = body.email
                $0.name = body.name ?? ""
                $0.company = body.company ?? ""
                $0.useCase = body.use_case ?? ""
                $0.requestedLimits = body.requested_limits ?? ""
                $0.budget = body.budget ?? ""
            }, metadata: call.metadata)
        let request = response.quotaRequest ?? QuotaRequest()
        var object = JSONObject()
        object.add("id", request.id)
        object.add("status", LegacyJSON.name(request.status, prefix: "QUOTA_REQUEST_STATUS_", unspecified: "pending"))
        object.add("message", response.message)
        object.add("created_at", ifPresent: LegacyJSON.time(request.createdAt))
        return .json(status: 201, object.value)
    }

    @Sendable static func getAccount(_ call: RouteCall) async throws -> RouteResponse {
        .json(
            status: 200,
            LegacyJSON.account(try await call.accounts.getAccount(GetAccountRequest(), metadata: call.metadata)))
    }

    /// Usage counted for the calling key, as the legacy server did (§3.5).
    static func usage(_ call: RouteCall) async throws -> GetUsageResponse {
        let account = try await call.accounts.getAccount(GetAccountRequest(), metadata: call.metadata)
        return try await call.accounts.getUsage(
            GetUsageRequest.with { $0.apiKeyId = account.callerKey?.id ?? "" }, metadata: call.metadata)
    }

    @Sendable static func getUsage(_ call: RouteCall) async throws -> RouteResponse {
        .json(status: 200, LegacyJSON.usage(try await usage(call)))
    }

    @Sendable static func getEnhancedUsage(_ call: RouteCall) async throws -> RouteResponse {
        let days = try SchemaCheck.queryInteger(call.request.queryValue("days"), "days", default: 7, 1...90)
        let usage = try await usage(call)
        let hourly = try await call.accounts.getUsageHistory(
            GetUsageHistoryRequest.with {
                $0.granularity = .hourly
                $0.days = 1
            }, metadata: call.metadata)
        let daily = try await call.accounts.getUsageHistory(
            GetUsageHistoryRequest.with {
                $0.granularity = .daily
                $0.days = UInt32(days)
            }, metadata: call.metadata)
        return .json(status: 200, LegacyJSON.enhancedUsage(usage, hourly: hourly, daily: daily))
    }

    @Sendable static func exportUsage(_ call: RouteCall) async throws -> RouteResponse {
        let days = try SchemaCheck.queryInteger(call.request.queryValue("days"), "days", default: 30, 1...365)
        let format = call.request.queryValue("format") ?? "json"
        try SchemaCheck.oneOf(format, ["json", "csv"], at: "query.format")
        let request = ExportUsageRequest.with {
            $0.days = UInt32(days)
            $0.format = format == "csv" ? .csv : .json
        }
        let (contentType, filename, data) = try await call.accounts.exportUsage(request, metadata: call.metadata) {
            responses in
            var contentType = "", filename = "", data: [UInt8] = []
            for try await part in responses {
                if contentType.isEmpty { contentType = part.contentType }
                if filename.isEmpty { filename = part.filename }
                data += part.data
            }
            return (contentType, filename, data)
        }
        var headers: [(String, String)] = []
        if format == "csv", !filename.isEmpty {
            headers.append(("content-disposition", "attachment; filename=\"\(filename)\""))
        }
        let type =
            contentType.isEmpty ? (format == "csv" ? "text/csv; charset=utf-8" : "application/json") : contentType
        return .bytes(
            status: 200, contentType: type, data.isEmpty && format == "json" ? Array("[]".utf8) : data, headers: headers
        )
    }

    @Sendable static func getLimits(_ call: RouteCall) async throws -> RouteResponse {
        let response = try await call.accounts.getLimits(GetLimitsRequest(), metadata: call.metadata)
        return .json(status: 200, LegacyJSON.limits(response.limits ?? AccountLimits()))
    }

    @Sendable static func updateLimits(_ call: RouteCall) async throws -> RouteResponse {
        let body = try await call.body(UpdateLimitsBody.self).validated()
        let response = try await call.accounts.updateLimits(
            UpdateLimitsRequest.with {
                $0.dailyRequestsLimit = body.daily_requests_limit
                $0.concurrentRequestsLimit = body.concurrent_requests_limit
                $0.monthlyCostLimitCents = body.monthly_cost_limit_cents
                $0.alertThreshold = body.alert_threshold.map { UInt32(clamping: $0) }
                $0.billingEmail = body.billing_email
                $0.timezone = body.timezone
            }, metadata: call.metadata)
        return .json(status: 200, LegacyJSON.limits(response.limits ?? AccountLimits()))
    }

    @Sendable static func listKeys(_ call: RouteCall) async throws -> RouteResponse {
        var keys: [JSONValue] = []
        var token = ""
        repeat {
            let response = try await call.accounts.listAPIKeys(
                ListAPIKeysRequest.with {
                    $0.page = PageRequest.with {
                        $0.pageSize = 1000
                        $0.pageToken = token
                    }
                }, metadata: call.metadata)
            keys += response.keys.map { LegacyJSON.apiKey($0) }
            token = response.page?.nextPageToken ?? ""
        } while !token.isEmpty
        var object = JSONObject()
        object.add("keys", .array(keys))
        return .json(status: 200, object.value)
    }

    @Sendable static func createKey(_ call: RouteCall) async throws -> RouteResponse {
        let body = try await call.body(CreateKeyBody.self).validated()
        let expiry = try body.expires_at.map(expiresAt)
        let response = try await call.accounts.createAPIKey(
            CreateAPIKeyRequest.with {
                $0.name = body.name
                $0.description = body.description ?? ""
                $0.expiresAt = expiry
                $0.customDailyLimit = body.custom_daily_limit
                $0.customConcurrentLimit = body.custom_concurrent_limit
            }, metadata: call.metadata)
        return .json(status: 201, LegacyJSON.apiKey(response.apiKey ?? APIKey(), secret: response.secret))
    }

    @Sendable static func getKey(_ call: RouteCall) async throws -> RouteResponse {
        let response = try await call.accounts.getAPIKey(
            GetAPIKeyRequest.with { $0.keyId = call.parameter("id") }, metadata: call.metadata)
        return .json(status: 200, LegacyJSON.apiKey(response.apiKey ?? APIKey()))
    }

    @Sendable static func updateKey(_ call: RouteCall) async throws -> RouteResponse {
        let body = try await call.body(UpdateKeyBody.self).validated()
        let expiry = try body.expires_at.map(expiresAt)
        let response = try await call.accounts.updateAPIKey(
            UpdateAPIKeyRequest.with {
                $0.keyId = call.parameter("id")
                $0.name = body.name
                $0.description = body.description
                $0.expiresAt = expiry
                $0.customDailyLimit = body.custom_daily_limit
                $0.customConcurrentLimit = body.custom_concurrent_limit
            }, metadata: call.metadata)
        return .json(status: 200, LegacyJSON.apiKey(response.apiKey ?? APIKey()))
    }

    @Sendable static func revokeKey(_ call: RouteCall) async throws -> RouteResponse {
        _ = try await call.accounts.revokeAPIKey(
            RevokeAPIKeyRequest.with { $0.keyId = call.parameter("id") }, metadata: call.metadata)
        return .noContent
    }

    @Sendable static func rotateKey(_ call: RouteCall) async throws -> RouteResponse {
        let response = try await call.accounts.rotateAPIKey(
            RotateAPIKeyRequest.with { $0.keyId = call.parameter("id") }, metadata: call.metadata)
        return .json(status: 200, LegacyJSON.apiKey(response.apiKey ?? APIKey(), secret: response.secret))
    }

    /// `expires_at` as RFC 3339; anything else is the legacy 400 (and, unlike the legacy server,
    /// no key is created first).
    static func expiresAt(_ text: String) throws -> Google_Protobuf_Timestamp {
        guard let date = SchemaCheck.timestamp(text) else {
            throw GatewayError.badRequest("invalid expires_at format, use RFC3339")
        }
        return Google_Protobuf_Timestamp.with { $0.seconds = Int64(date.timeIntervalSince1970.rounded(.down)) }
    }
}
