package import ExecboxStorage
import Foundation

extension SQLStore {
    package static let apiKeyColumns = """
        id, account_id, parent_key_id, is_primary, secret_hash, lookup_prefix, key_preview, previous_secret_hash,
        previous_secret_expires_at, name, description, tags, rate_limit_rps, is_active, expires_at, custom_daily_limit,
        custom_concurrent_limit, created_at, updated_at, last_used_at, last_updated_by, revoked_at, revoke_reason
        """

    private static func apiKeyValues(_ key: APIKeyRecord) throws -> [SQLValue] {
        [
            .text(key.id), .text(key.accountID), .text(key.parentKeyID), .bool(key.isPrimary),
            .blob(key.secretHash.bytes),
            .text(key.lookupPrefix), .text(key.preview), .blob(key.previousSecretHash?.bytes),
            .date(key.previousSecretExpiresAt), .text(key.name), .text(key.description),
            .text(try JSONText.encode(key.tags)), .int(key.rateLimitRPS), .bool(key.isActive), .date(key.expiresAt),
            .int(key.customDailyLimit), .int(key.customConcurrentLimit), .date(key.createdAt), .date(key.updatedAt),
            .date(key.lastUsedAt), .text(key.lastUpdatedBy), .date(key.revokedAt), .text(key.revokeReason),
        ]
    }

    package static func insertAPIKey(_ key: APIKeyRecord, ifAbsent: Bool = false, on connection: any SQLConnection)
        throws
    {
        let placeholders = (1...23).map { "$\($0)" }.joined(separator: ", ")
        _ = try connection.query(
            "INSERT INTO api_keys (\(apiKeyColumns)) VALUES (\(placeholders))\(ifAbsent ? " ON CONFLICT DO NOTHING" : "")",
            try apiKeyValues(key)
        )
    }

    /// Writes every mutable column of `key` back to its row.
    package static func saveAPIKey(_ key: APIKeyRecord, on connection: any SQLConnection) throws -> APIKeyRecord {
        guard
            let row = try connection.queryFirst(
                """
                UPDATE api_keys SET secret_hash = $2, lookup_prefix = $3, key_preview = $4, previous_secret_hash = $5,
                    previous_secret_expires_at = $6, name = $7, description = $8, tags = $9, is_active = $10,
                    expires_at = $11, custom_daily_limit = $12, custom_concurrent_limit = $13, updated_at = $14,
                    last_updated_by = $15, revoked_at = $16, revoke_reason = $17
                WHERE id = $1 RETURNING \(apiKeyColumns)
                """,
                [
                    .text(key.id), .blob(key.secretHash.bytes), .text(key.lookupPrefix), .text(key.preview),
                    .blob(key.previousSecretHash?.bytes), .date(key.previousSecretExpiresAt), .text(key.name),
                    .text(key.description), .text(try JSONText.encode(key.tags)), .bool(key.isActive),
                    .date(key.expiresAt), .int(key.customDailyLimit), .int(key.customConcurrentLimit),
                    .date(key.updatedAt), .text(key.lastUpdatedBy), .date(key.revokedAt), .text(key.revokeReason),
                ]
            )
        else { throw StorageError.notFound("API key") }
        return try apiKey(row)
    }

    package static func apiKey(_ row: SQLRow) throws -> APIKeyRecord {
        var row = row
        let id = try row.string()
        let accountID = try row.string()
        let parent = try row.optionalString()
        let isPrimary = try row.bool()
        guard let hash = APIKeyHash(bytes: try row.blob()) else { throw SQLRow.corrupt("a key hash is not 32 bytes") }
        let prefix = try row.string()
        let preview = try row.string()
        let previousHash = try row.optionalBlob()
        let previousExpiry = try row.optionalDate()
        var key = APIKeyRecord(id: id, accountID: accountID, secretHash: hash, createdAt: .distantPast)
        key.parentKeyID = parent
        key.isPrimary = isPrimary
        key.lookupPrefix = prefix
        key.preview = preview
        if let previousHash {
            guard let hash = APIKeyHash(bytes: previousHash) else { throw SQLRow.corrupt("a key hash is not 32 bytes") }
            key.previousSecretHash = hash
        }
        key.previousSecretExpiresAt = previousExpiry
        key.name = try row.string()
        key.description = try row.string()
        key.tags = try JSONText.decode([String].self, from: try row.string())
        key.rateLimitRPS = try row.int()
        key.isActive = try row.bool()
        key.expiresAt = try row.optionalDate()
        key.customDailyLimit = try row.optionalInt()
        key.customConcurrentLimit = try row.optionalInt()
        key.createdAt = try row.date()
        key.updatedAt = try row.date()
        key.lastUsedAt = try row.optionalDate()
        key.lastUpdatedBy = try row.string()
        key.revokedAt = try row.optionalDate()
        key.revokeReason = try row.string()
        return key
    }

    /// The key, locked for the rest of the transaction; `.notFound` unless it is the account's.
    package static func lockedAPIKey(id: String, accountID: String, on connection: any SQLConnection) throws
        -> APIKeyRecord
    {
        guard
            let row = try connection.queryFirst(
                "SELECT \(apiKeyColumns) FROM api_keys WHERE id = $1 AND account_id = $2\(connection.dialect.forUpdate)",
                [.text(id), .text(accountID)]
            )
        else { throw StorageError.notFound("API key") }
        return try apiKey(row)
    }
}
