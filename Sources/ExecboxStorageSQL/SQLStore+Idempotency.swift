public import ExecboxStorage
public import Foundation

extension SQLStore {
    public func claimIdempotencyKey(
        accountID: String,
        scope: String,
        _ claim: IdempotencyClaim,
        resourceID: String,
        at: Date
    ) async throws -> IdempotencyOutcome {
        try await write { connection in
            try Self.claim(accountID: accountID, scope: scope, claim, resourceID: resourceID, at: at, on: connection)
        }
    }

    public func purgeIdempotencyKeys(expiredBefore now: Date) async throws -> Int {
        try await write { connection in
            try connection.query("DELETE FROM idempotency_keys WHERE expires_at <= $1 RETURNING scope", [.date(now)])
                .count
        }
    }

    /// Claims the key inside the caller's transaction. A concurrent claim of the same key waits
    /// on the insert and then sees the winner's row.
    package static func claim(
        accountID: String,
        scope: String,
        _ claim: IdempotencyClaim,
        resourceID: String,
        at: Date,
        on connection: any SQLConnection
    ) throws -> IdempotencyOutcome {
        let key: [SQLValue] = [.text(accountID), .text(scope), .text(claim.key)]
        for _ in 0..<2 {
            if var row = try connection.queryFirst(
                """
                SELECT request_digest, resource_id, expires_at FROM idempotency_keys
                WHERE account_id = $1 AND scope = $2 AND idempotency_key = $3
                """,
                key
            ) {
                let digest = try row.string()
                let resource = try row.string()
                if try row.date() > at {
                    guard digest == claim.requestDigest else {
                        throw StorageError(
                            code: .alreadyExists,
                            message: "the idempotency key was used with a different request"
                        )
                    }
                    return .replay(resourceID: resource)
                }
                _ = try connection.query(
                    "DELETE FROM idempotency_keys WHERE account_id = $1 AND scope = $2 AND idempotency_key = $3",
                    key
                )
            }
            let inserted = try connection.query(
                """
                INSERT INTO idempotency_keys (account_id, scope, idempotency_key, request_digest, resource_id,
                    created_at, expires_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING scope
                """,
                key + [.text(claim.requestDigest), .text(resourceID), .date(at), .date(claim.expiresAt)]
            )
            if !inserted.isEmpty { return .claimed }
        }
        throw StorageError(code: .aborted, message: "the idempotency key is being claimed concurrently")
    }
}
