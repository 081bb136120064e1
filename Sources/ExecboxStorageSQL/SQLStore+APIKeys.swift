public import ExecboxStorage
public import Foundation

extension SQLStore {
    public func createAPIKey(_ key: APIKeyRecord, audit: AuditContext) async throws -> APIKeyRecord {
        try await write { connection in
            guard try connection.queryFirst("SELECT id FROM accounts WHERE id = $1", [.text(key.accountID)]) != nil
            else {
                throw StorageError.notFound("account")
            }
            try Self.insertAPIKey(key, on: connection)
            try Self.insertAudit(
                AuditEvent(
                    accountID: key.accountID,
                    action: .apiKeyCreated,
                    targetType: "api_key",
                    targetID: key.id,
                    details: ["name": key.name],
                    context: audit
                ),
                on: connection
            )
            return key
        }
    }

    public func apiKey(secretHash: APIKeyHash, now: Date) async throws -> APIKeyRecord? {
        try await read { connection in try Self.apiKey(secretHash: secretHash, now: now, on: connection) }
    }

    public func apiKeyAndAccount(secretHash: APIKeyHash, now: Date) async throws
        -> (key: APIKeyRecord, account: Account)?
    {
        try await read { connection in
            guard let key = try Self.apiKey(secretHash: secretHash, now: now, on: connection),
                let account = try connection.queryFirst(
                    "SELECT \(Self.accountColumns) FROM accounts WHERE id = $1", [.text(key.accountID)]
                ).map(Self.account)
            else { return nil }
            return (key, account)
        }
    }

    private static func apiKey(secretHash: APIKeyHash, now: Date, on connection: any SQLConnection) throws
        -> APIKeyRecord?
    {
        if let row = try connection.queryFirst(
            "SELECT \(Self.apiKeyColumns) FROM api_keys WHERE secret_hash = $1",
            [.blob(secretHash.bytes)]
        ) {
            return try Self.apiKey(row)
        }
        return try connection.queryFirst(
            """
            SELECT \(Self.apiKeyColumns) FROM api_keys
            WHERE previous_secret_hash = $1 AND previous_secret_expires_at > $2
            """,
            [.blob(secretHash.bytes), .date(now)]
        ).map(Self.apiKey)
    }

    public func apiKey(id: String, accountID: String) async throws -> APIKeyRecord? {
        try await read { connection in
            try connection.queryFirst(
                "SELECT \(Self.apiKeyColumns) FROM api_keys WHERE id = $1 AND account_id = $2",
                [.text(id), .text(accountID)]
            ).map(Self.apiKey)
        }
    }

    public func listAPIKeys(accountID: String, activeOnly: Bool, now: Date, page: PageRequest) async throws
        -> Page<APIKeyRecord>
    {
        let limit = Cursor.limit(page)
        return try await read { connection in
            var sql = SQLBuilder("SELECT \(Self.apiKeyColumns) FROM api_keys WHERE")
            sql.append(" account_id = \(sql.bind(.text(accountID)))")
            if activeOnly {
                sql.append(" AND is_active = TRUE AND (expires_at IS NULL OR expires_at > \(sql.bind(.date(now))))")
            }
            if let cursor = page.cursor {
                let (micros, id) = try Cursor.decode(cursor)
                let m = sql.bind(.integer(micros))
                sql.append(" AND (created_at > \(m) OR (created_at = \(m) AND id > \(sql.bind(.text(id)))))")
            }
            sql.append(" ORDER BY created_at, id LIMIT \(sql.bind(.int(limit + 1)))")
            var keys = try connection.query(sql.sql, sql.binds).map(Self.apiKey)
            let more = keys.count > limit
            if more { keys.removeLast() }
            let next = more ? keys.last.map { Cursor.encode(micros: Micros.from($0.createdAt), id: $0.id) } : nil
            return Page(items: keys, nextCursor: next)
        }
    }

    public func countActiveAPIKeys(accountID: String) async throws -> Int {
        try await read { connection in
            guard
                var row = try connection.queryFirst(
                    "SELECT COUNT(*) FROM api_keys WHERE account_id = $1 AND is_active = TRUE",
                    [.text(accountID)]
                )
            else { return 0 }
            return try row.int()
        }
    }

    public func updateAPIKey(id: String, accountID: String, _ update: APIKeyUpdate, audit: AuditContext) async throws
        -> APIKeyRecord
    {
        try await write { connection in
            let old = try Self.lockedAPIKey(id: id, accountID: accountID, on: connection)
            guard old.isActive else { throw StorageError(code: .failedPrecondition, message: "the API key is revoked") }
            var key = old
            var details: [String: String] = [:]
            func note(_ field: String, _ before: String, _ after: String) {
                guard before != after else { return }
                details["\(field).old"] = before
                details["\(field).new"] = after
            }
            if let name = update.name { key.name = name }
            if let description = update.description { key.description = description }
            if let tags = update.tags { key.tags = tags }
            if let expiresAt = update.expiresAt { key.expiresAt = expiresAt }
            if let daily = update.customDailyLimit { key.customDailyLimit = daily }
            if let concurrent = update.customConcurrentLimit { key.customConcurrentLimit = concurrent }
            note("name", old.name, key.name)
            note("description", old.description, key.description)
            note("tags", old.tags.joined(separator: ","), key.tags.joined(separator: ","))
            note("expires_at", Self.describe(old.expiresAt), Self.describe(key.expiresAt))
            note("custom_daily_limit", Self.describe(old.customDailyLimit), Self.describe(key.customDailyLimit))
            note(
                "custom_concurrent_limit",
                Self.describe(old.customConcurrentLimit),
                Self.describe(key.customConcurrentLimit)
            )
            key.updatedAt = audit.at
            key.lastUpdatedBy = audit.performedBy
            let saved = try Self.saveAPIKey(key, on: connection)
            try Self.insertAudit(
                AuditEvent(
                    accountID: accountID,
                    action: .apiKeyUpdated,
                    targetType: "api_key",
                    targetID: id,
                    details: details,
                    context: audit
                ),
                on: connection
            )
            return saved
        }
    }

    public func revokeAPIKey(id: String, accountID: String, reason: String, audit: AuditContext) async throws
        -> APIKeyRecord
    {
        try await write { connection in
            var key = try Self.lockedAPIKey(id: id, accountID: accountID, on: connection)
            guard !key.isPrimary else {
                throw StorageError(code: .failedPrecondition, message: "cannot delete the primary API key")
            }
            guard key.isActive else { return key }
            key.isActive = false
            key.revokedAt = audit.at
            key.revokeReason = reason
            key.updatedAt = audit.at
            key.lastUpdatedBy = audit.performedBy
            let saved = try Self.saveAPIKey(key, on: connection)
            try Self.insertAudit(
                AuditEvent(
                    accountID: accountID,
                    action: .apiKeyRevoked,
                    targetType: "api_key",
                    targetID: id,
                    details: reason.isEmpty ? [:] : ["reason": reason],
                    context: audit
                ),
                on: connection
            )
            return saved
        }
    }

    public func rotateAPIKey(
        id: String,
        accountID: String,
        newSecret: String,
        previousValidUntil: Date?,
        audit: AuditContext
    ) async throws -> APIKeyRecord {
        try await write { connection in
            var key = try Self.lockedAPIKey(id: id, accountID: accountID, on: connection)
            let oldPreview = key.preview
            if let previousValidUntil, previousValidUntil > audit.at {
                key.previousSecretHash = key.secretHash
                key.previousSecretExpiresAt = previousValidUntil
            } else {
                key.previousSecretHash = nil
                key.previousSecretExpiresAt = nil
            }
            key.secretHash = APIKeyHash(secret: newSecret)
            key.lookupPrefix = APIKeySecret.lookupPrefix(of: newSecret)
            key.preview = APIKeySecret.preview(of: newSecret)
            key.updatedAt = audit.at
            key.lastUpdatedBy = audit.performedBy
            let saved = try Self.saveAPIKey(key, on: connection)
            try Self.insertAudit(
                AuditEvent(
                    accountID: accountID,
                    action: .apiKeyRotated,
                    targetType: "api_key",
                    targetID: id,
                    details: ["key_preview.old": oldPreview, "key_preview.new": key.preview],
                    context: audit
                ),
                on: connection
            )
            return saved
        }
    }

    public func touchAPIKey(id: String, at: Date, minimumInterval: TimeInterval) async throws -> Bool {
        try await write { connection in
            try !connection.query(
                """
                UPDATE api_keys SET last_used_at = $2
                WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3) RETURNING id
                """,
                [.text(id), .date(at), .date(at.addingTimeInterval(-minimumInterval))]
            ).isEmpty
        }
    }

    static func describe(_ value: Date?) -> String {
        value.map { $0.ISO8601Format() } ?? ""
    }

    static func describe(_ value: Int?) -> String {
        value.map { String($0) } ?? ""
    }
}
