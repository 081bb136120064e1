public import ExecboxAPI
public import ExecboxRPC
import ExecboxStorage
import ExecboxWire
import Foundation

extension AccountService {
    public func createAPIKey(request: CreateAPIKeyRequest, context: ServerContext) async throws
        -> CreateAPIKeyResponse
    {
        let principal = try Principal.required()
        let now = now()
        let name = try Validation.text(request.name, field: "name", maxBytes: 100, required: true)
        let description = try Validation.text(request.description, field: "description", maxBytes: 500)
        let tags = try Validation.tags(request.tags)
        let expiresAt = request.expiresAt.map(Timestamps.date)
        if let expiresAt, expiresAt <= now { throw Validation.invalid("expires_at must be in the future") }
        let limits = try await effectiveAccountLimits(principal)
        let daily = try customLimit(request.customDailyLimit, field: "custom_daily_limit", cap: limits.daily)
        let concurrent = try customLimit(
            request.customConcurrentLimit, field: "custom_concurrent_limit", cap: limits.concurrent)
        guard try await store.countActiveAPIKeys(accountID: principal.accountID) < Self.maximumActiveKeys else {
            throw RPCError(
                code: .resourceExhausted, message: "the account already has \(Self.maximumActiveKeys) active API keys")
        }
        let id = UUID().uuidString.lowercased()
        let secret = APIKeyFormat.generate(role: .secondary, keyID: id)
        let record = APIKeyRecord(
            id: id, accountID: principal.accountID, parentKeyID: principal.keyID, secret: secret, name: name,
            description: description, tags: tags, rateLimitRPS: administration.storedRate(principal.tier),
            expiresAt: expiresAt, customDailyLimit: daily, customConcurrentLimit: concurrent, createdAt: now,
            createdBy: principal.keyID)
        let created = try await store.createAPIKey(record, audit: audit(principal, at: now))
        return CreateAPIKeyResponse.with {
            $0.apiKey = APIMapping.apiKey(created, policy: policy(principal))
            $0.secret = secret
        }
    }

    public func listAPIKeys(request: ListAPIKeysRequest, context: ServerContext) async throws -> ListAPIKeysResponse {
        let principal = try Principal.required()
        let now = now()
        let filters = "keys|\(principal.accountID)|\(request.activeOnly)"
        let page = try await store.listAPIKeys(
            accountID: principal.accountID, activeOnly: request.activeOnly, now: now,
            page: PageToken.pageRequest(request.page, filters: filters, now: now))
        return ListAPIKeysResponse.with {
            $0.keys = page.items.map { APIMapping.apiKey($0, policy: policy(principal)) }
            $0.page = PageToken.response(page.nextCursor, filters: filters, now: now)
        }
    }

    public func getAPIKey(request: GetAPIKeyRequest, context: ServerContext) async throws -> GetAPIKeyResponse {
        let principal = try Principal.required()
        let key = try await key(request.keyId, of: principal)
        return GetAPIKeyResponse.with { $0.apiKey = APIMapping.apiKey(key, policy: policy(principal)) }
    }

    public func updateAPIKey(request: UpdateAPIKeyRequest, context: ServerContext) async throws
        -> UpdateAPIKeyResponse
    {
        let principal = try Principal.required()
        let now = now()
        let target = try await key(request.keyId, of: principal)
        var update = APIKeyUpdate()
        update.name = try request.name.map { try Validation.text($0, field: "name", maxBytes: 100) }
        update.description = try request.description.map {
            try Validation.text($0, field: "description", maxBytes: 500)
        }
        update.tags = try request.tags.map { try Validation.tags($0.tags) }
        switch (request.expiresAt.map(Timestamps.date), request.clearExpiresAt) {
        case (.some, true): throw Validation.invalid("expires_at and clear_expires_at cannot both be set")
        case (let expiresAt?, false):
            guard expiresAt > now else { throw Validation.invalid("expires_at must be in the future") }
            update.expiresAt = .some(expiresAt)
        case (nil, true): update.expiresAt = .some(nil)
        case (nil, false): break
        }
        let limits = try await effectiveAccountLimits(principal)
        if let daily = request.customDailyLimit {
            update.customDailyLimit =
                daily == 0 ? .some(nil) : try customLimit(daily, field: "custom_daily_limit", cap: limits.daily)
        }
        if let concurrent = request.customConcurrentLimit {
            update.customConcurrentLimit =
                concurrent == 0
                ? .some(nil) : try customLimit(concurrent, field: "custom_concurrent_limit", cap: limits.concurrent)
        }
        guard !update.isEmpty else { throw Validation.invalid("no fields to update") }
        try requireMayChange(target, principal, verb: "change")
        let updated = try await store.updateAPIKey(
            id: target.id, accountID: principal.accountID, update, audit: audit(principal, at: now))
        return UpdateAPIKeyResponse.with { $0.apiKey = APIMapping.apiKey(updated, policy: policy(principal)) }
    }

    public func revokeAPIKey(request: RevokeAPIKeyRequest, context: ServerContext) async throws
        -> RevokeAPIKeyResponse
    {
        let principal = try Principal.required()
        let reason = try Validation.text(request.reason, field: "reason", maxBytes: 500)
        let target = try await key(request.keyId, of: principal)
        guard !target.isPrimary else {
            throw ErrorDetails.withCode(
                .badRequest, RPCError(code: .failedPrecondition, message: "cannot delete the primary API key"))
        }
        let revoked = try await store.revokeAPIKey(
            id: target.id, accountID: principal.accountID, reason: reason, audit: audit(principal, at: now()))
        return RevokeAPIKeyResponse.with { $0.apiKey = APIMapping.apiKey(revoked, policy: policy(principal)) }
    }

    public func rotateAPIKey(request: RotateAPIKeyRequest, context: ServerContext) async throws
        -> RotateAPIKeyResponse
    {
        let principal = try Principal.required()
        guard (0...86_400_000).contains(request.gracePeriodMs) else {
            throw Validation.invalid("grace_period_ms must be between 0 and 86400000")
        }
        let target = try await key(request.keyId, of: principal)
        try requireMayChange(target, principal, verb: "rotate")
        let now = now()
        let secret = APIKeyFormat.generate(role: target.isPrimary ? .primary : .secondary, keyID: target.id)
        let rotated = try await store.rotateAPIKey(
            id: target.id, accountID: principal.accountID, newSecret: secret,
            previousValidUntil: request.gracePeriodMs > 0
                ? now.addingTimeInterval(Double(request.gracePeriodMs) / 1000) : nil,
            audit: audit(principal, at: now))
        return RotateAPIKeyResponse.with {
            $0.apiKey = APIMapping.apiKey(rotated, policy: policy(principal))
            $0.secret = secret
        }
    }

    /// Key roles: only the primary key may rotate or change the primary key.
    func requireMayChange(_ target: APIKeyRecord, _ principal: Principal, verb: String) throws {
        guard target.isPrimary, principal.role != .primary else { return }
        throw RPCError(code: .permissionDenied, message: "a secondary key cannot \(verb) the primary API key")
    }

    /// A per-key limit: absent stays absent; otherwise 1 up to the account's effective limit.
    func customLimit(_ value: Int64?, field: String, cap: Int) throws -> Int? {
        guard let value else { return nil }
        guard value >= 1 else { throw Validation.invalid("\(field) must be at least 1") }
        if cap >= 0, value > cap { throw Validation.invalid("\(field) must not exceed the account's limit (\(cap))") }
        return Int(value)
    }
}
