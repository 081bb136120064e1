public import ExecboxStorage
public import Foundation

extension SQLStore {
    private static let quotaColumns = """
        id, email, name, company, use_case, requested_limits, budget, current_tier, api_key_id, account_id, status,
        created_at, responded_at
        """

    public func createQuotaRequest(_ request: QuotaRequest, audit: AuditContext?) async throws -> QuotaRequest {
        try await write { connection in
            let stored = try Self.insertQuotaRequest(request, legacyID: nil, on: connection)
            if let audit, let accountID = request.accountID, let stored, let id = stored.id {
                try Self.insertAudit(
                    AuditEvent(
                        accountID: accountID,
                        action: .quotaRequested,
                        targetType: "quota_request",
                        targetID: String(id),
                        context: audit
                    ),
                    on: connection
                )
            }
            guard let stored else { throw SQLRow.corrupt("INSERT … RETURNING gave no row") }
            return stored
        }
    }

    public func listQuotaRequests(status: QuotaRequest.Status?, page: PageRequest) async throws -> Page<QuotaRequest> {
        let limit = Cursor.limit(page)
        return try await read { connection in
            var sql = SQLBuilder("SELECT \(Self.quotaColumns) FROM quota_requests WHERE 1 = 1")
            if let status { sql.append(" AND status = \(sql.bind(.text(status.rawValue)))") }
            if let cursor = page.cursor { sql.append(" AND id > \(sql.bind(.integer(try Cursor.decodeID(cursor))))") }
            sql.append(" ORDER BY id LIMIT \(sql.bind(.int(limit + 1)))")
            var items = try connection.query(sql.sql, sql.binds).map(Self.quotaRequest)
            let more = items.count > limit
            if more { items.removeLast() }
            return Page(items: items, nextCursor: more ? items.last?.id.map { String($0) } : nil)
        }
    }

    public func setQuotaRequestStatus(id: Int64, status: QuotaRequest.Status, at: Date) async throws -> QuotaRequest {
        try await write { connection in
            guard
                let row = try connection.queryFirst(
                    "UPDATE quota_requests SET status = $2, responded_at = $3 WHERE id = $1 RETURNING \(Self.quotaColumns)",
                    [.integer(id), .text(status.rawValue), .date(at)]
                )
            else { throw StorageError.notFound("quota request") }
            return try Self.quotaRequest(row)
        }
    }

    /// Inserts a request; nil when `legacyID` was imported before.
    package static func insertQuotaRequest(_ request: QuotaRequest, legacyID: Int64?, on connection: any SQLConnection)
        throws -> QuotaRequest?
    {
        try connection.queryFirst(
            """
            INSERT INTO quota_requests (legacy_id, email, name, company, use_case, requested_limits, budget,
                current_tier, api_key_id, account_id, status, created_at, responded_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            \(legacyID == nil ? "" : "ON CONFLICT (legacy_id) DO NOTHING ")RETURNING \(quotaColumns)
            """,
            [
                legacyID.map { .integer($0) } ?? .null, .text(request.email), .text(request.name),
                .text(request.company),
                .text(request.useCase), .text(request.requestedLimits), .text(request.budget),
                .text(request.currentTier?.rawValue), .text(request.apiKeyID), .text(request.accountID),
                .text(request.status.rawValue), .date(request.createdAt), .date(request.respondedAt),
            ]
        ).map(quotaRequest)
    }

    private static func quotaRequest(_ row: SQLRow) throws -> QuotaRequest {
        var row = row
        let id = try row.int64()
        let email = try row.string()
        let name = try row.string()
        let company = try row.string()
        let useCase = try row.string()
        let limits = try row.string()
        let budget = try row.string()
        let tier = try row.optionalString().map(Tier.init(legacyValue:))
        let apiKeyID = try row.optionalString()
        let accountID = try row.optionalString()
        guard let status = QuotaRequest.Status(rawValue: try row.string()) else {
            throw SQLRow.corrupt("unknown quota request status")
        }
        return QuotaRequest(
            id: id,
            email: email,
            name: name,
            company: company,
            useCase: useCase,
            requestedLimits: limits,
            budget: budget,
            currentTier: tier,
            apiKeyID: apiKeyID,
            accountID: accountID,
            status: status,
            createdAt: try row.date(),
            respondedAt: try row.optionalDate()
        )
    }
}
