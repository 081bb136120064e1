public import ExecboxStorage
public import Foundation

extension SQLStore {
    public func createAccount(
        _ account: Account,
        primaryKey: APIKeyRecord,
        limits: AccountLimits,
        waitlist: WaitlistEntry?,
        uniqueEmail: Bool,
        audit: AuditContext
    ) async throws -> Account {
        try await write { connection in
            let emailKey = uniqueEmail ? account.email.lowercased() : nil
            if let emailKey,
                try connection.queryFirst("SELECT id FROM accounts WHERE email_key = $1", [.text(emailKey)]) != nil
            {
                throw StorageError(code: .alreadyExists, message: "an account with this email exists")
            }
            try Self.insertAccount(account, emailKey: emailKey, on: connection)
            try Self.insertAPIKey(primaryKey, on: connection)
            try Self.insertLimits(limits, on: connection)
            if let waitlist {
                _ = try connection.query(
                    "INSERT INTO waitlist (email, name, account_id, source_ip, created_at) VALUES ($1, $2, $3, $4, $5)",
                    [
                        .text(waitlist.email), .text(waitlist.name), .text(account.id), .text(waitlist.sourceIP),
                        .date(waitlist.createdAt),
                    ]
                )
            }
            try Self.insertAudit(
                AuditEvent(
                    accountID: account.id,
                    action: .accountCreated,
                    targetType: "account",
                    targetID: account.id,
                    details: ["tier": account.tier.rawValue, "primary_key_id": primaryKey.id],
                    context: audit
                ),
                on: connection
            )
            return account
        }
    }

    public func account(id: String) async throws -> Account? {
        try await read { connection in
            try connection.queryFirst("SELECT \(Self.accountColumns) FROM accounts WHERE id = $1", [.text(id)])
                .map(Self.account)
        }
    }

    public func updateTier(accountID: String, tier: Tier, expiresAt: Date?, audit: AuditContext) async throws -> Account
    {
        try await write { connection in
            guard
                let old = try connection.queryFirst(
                    "SELECT \(Self.accountColumns) FROM accounts WHERE id = $1\(connection.dialect.forUpdate)",
                    [.text(accountID)]
                ).map(Self.account)
            else { throw StorageError.notFound("account") }
            guard
                let updated = try connection.queryFirst(
                    """
                    UPDATE accounts SET tier = $2, tier_expires_at = $3, tier_updated_at = $4 WHERE id = $1
                    RETURNING \(Self.accountColumns)
                    """,
                    [.text(accountID), .text(tier.rawValue), .date(expiresAt), .date(audit.at)]
                ).map(Self.account)
            else { throw StorageError.notFound("account") }
            try Self.insertAudit(
                AuditEvent(
                    accountID: accountID,
                    action: .tierChanged,
                    targetType: "account",
                    targetID: accountID,
                    details: ["tier.old": old.tier.rawValue, "tier.new": tier.rawValue],
                    context: audit
                ),
                on: connection
            )
            return updated
        }
    }

    package static let accountColumns =
        "id, email, tier, tier_expires_at, tier_updated_at, created_at, primary_key_id"

    package static func insertAccount(_ account: Account, emailKey: String?, on connection: any SQLConnection) throws {
        _ = try connection.query(
            """
            INSERT INTO accounts (id, email, email_key, tier, tier_expires_at, tier_updated_at, created_at,
                primary_key_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            """,
            [
                .text(account.id), .text(account.email), .text(emailKey), .text(account.tier.rawValue),
                .date(account.tierExpiresAt), .date(account.tierUpdatedAt), .date(account.createdAt),
                .text(account.primaryKeyID),
            ]
        )
    }

    package static func account(_ row: SQLRow) throws -> Account {
        var row = row
        let id = try row.string()
        let email = try row.string()
        guard let tier = Tier(rawValue: try row.string()) else { throw SQLRow.corrupt("unknown tier") }
        return Account(
            id: id,
            email: email,
            tier: tier,
            tierExpiresAt: try row.optionalDate(),
            tierUpdatedAt: try row.optionalDate(),
            createdAt: try row.date(),
            primaryKeyID: try row.string()
        )
    }
}
