public import ExecboxStorage
public import Foundation

extension SQLStore {
    private static let activeList = "('pending', 'building', 'running', 'stopping')"

    public func createSession(
        _ session: SessionRecord,
        environment: [String: String],
        quota: SessionQuota,
        idempotency: IdempotencyClaim?
    ) async throws -> SessionCreation {
        try await write { connection in
            // Every create of the account queues here (PostgreSQL: the row lock; SQLite: the one
            // write lock), so the counts below cannot go stale before the insert.
            guard
                try connection.queryFirst(
                    "SELECT id FROM accounts WHERE id = $1\(connection.dialect.forUpdate)",
                    [.text(session.accountID)]
                ) != nil
            else { throw StorageError.notFound("account") }
            var session = session
            if let idempotency {
                let claim = try Self.claim(
                    accountID: session.accountID,
                    scope: "session",
                    idempotency,
                    resourceID: session.id,
                    at: session.createdAt,
                    on: connection
                )
                if case .replay(let id) = claim {
                    guard
                        let row = try connection.queryFirst(
                            "SELECT \(Self.sessionColumns) FROM sessions WHERE id = $1",
                            [.text(id)]
                        )
                    else { throw StorageError.notFound("session") }
                    return SessionCreation(session: try Self.session(row), replayed: true)
                }
                session.idempotencyKey = idempotency.key
            }
            try Self.checkQuota(quota, for: session, on: connection)
            _ = try self.insertSession(session, environment: environment, ifAbsent: false, on: connection)
            return SessionCreation(session: session, replayed: false)
        }
    }

    private static func checkQuota(_ quota: SessionQuota, for session: SessionRecord, on connection: any SQLConnection)
        throws
    {
        var quota = quota
        if quota.includesStoredLimits {
            // Read under the account's lock taken above, like the counts.
            guard
                var row = try connection.queryFirst(
                    """
                    SELECT
                        (SELECT concurrent_requests_limit FROM account_limits WHERE account_id = $1),
                        (SELECT daily_requests_limit FROM account_limits WHERE account_id = $1),
                        (SELECT custom_concurrent_limit FROM api_keys WHERE id = $2 AND account_id = $1),
                        (SELECT custom_daily_limit FROM api_keys WHERE id = $2 AND account_id = $1)
                    """,
                    [.text(session.accountID), .text(session.apiKeyID)]
                )
            else { throw SQLRow.corrupt("a scalar select gave no row") }
            quota = quota.tightened(
                accountConcurrent: try row.optionalInt(), accountDaily: try row.optionalInt(),
                keyConcurrent: try row.optionalInt(), keyDaily: try row.optionalInt())
        }
        guard quota != .unlimited else { return }
        let dayStart = Micros.floor(Micros.from(session.createdAt), to: Micros.perDay)
        guard
            var row = try connection.queryFirst(
                """
                SELECT
                    COALESCE(SUM(CASE WHEN status IN \(activeList) THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN created_at >= $2 THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN api_key_id = $3 AND status IN \(activeList) THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN api_key_id = $3 AND created_at >= $2 THEN 1 ELSE 0 END), 0)
                FROM sessions WHERE account_id = $1 AND (status IN \(activeList) OR created_at >= $2)
                """,
                [.text(session.accountID), .integer(dayStart), .text(session.apiKeyID)]
            )
        else { throw SQLRow.corrupt("an aggregate gave no row") }
        let accountActive = try row.int()
        let accountToday = try row.int()
        let keyActive = try row.int()
        let keyToday = try row.int()
        let checks: [(StorageError.QuotaViolation.Scope, Int, Int?)] = [
            (.accountConcurrent, accountActive, quota.accountConcurrent),
            (.keyConcurrent, keyActive, quota.keyConcurrent),
            (.accountDaily, accountToday, quota.accountDaily),
            (.keyDaily, keyToday, quota.keyDaily),
        ]
        for (scope, current, limit) in checks {
            guard let limit, current >= limit else { continue }
            let violation = StorageError.QuotaViolation(scope: scope, current: current, limit: limit)
            throw StorageError(code: .quotaExceeded, message: violation.legacyMessage, quota: violation)
        }
    }

    public func session(id: String, accountID: String?) async throws -> SessionRecord? {
        try await read { connection in
            var sql = SQLBuilder("SELECT \(Self.sessionColumns) FROM sessions WHERE")
            sql.append(" id = \(sql.bind(.text(id)))")
            if let accountID { sql.append(" AND account_id = \(sql.bind(.text(accountID)))") }
            return try connection.queryFirst(sql.sql, sql.binds).map(Self.session)
        }
    }

    public func sessionEnvironment(id: String) async throws -> [String: String] {
        let box = self.box
        return try await read { connection in
            guard var row = try connection.queryFirst("SELECT env_sealed FROM sessions WHERE id = $1", [.text(id)])
            else {
                throw StorageError.notFound("session")
            }
            guard let sealed = try row.optionalBlob() else { return [:] }
            let plain = try box.open(sealed, context: Self.environmentContext(sessionID: id))
            return try JSONText.decode([String: String].self, from: String(decoding: plain, as: UTF8.self))
        }
    }

    public func listSessions(_ query: SessionQuery) async throws -> Page<SessionRecord> {
        let limit = Cursor.limit(query.page)
        return try await read { connection in
            var sql = SQLBuilder("SELECT \(Self.sessionColumns) FROM sessions s WHERE")
            sql.append(" account_id = \(sql.bind(.text(query.accountID)))")
            if let key = query.apiKeyID { sql.append(" AND api_key_id = \(sql.bind(.text(key)))") }
            if !query.statuses.isEmpty {
                sql.append(" AND")
                sql.appendIn("status", query.statuses.map(\.rawValue).sorted().map { .text($0) })
            }
            for (name, value) in query.labels.sorted(by: { $0.key < $1.key }) {
                let n = sql.bind(.text(name))
                let v = sql.bind(.text(value))
                sql.append(
                    " AND EXISTS (SELECT 1 FROM session_labels l WHERE l.session_id = s.id AND l.name = \(n) AND l.value = \(v))"
                )
            }
            if let cursor = query.page.cursor {
                let (micros, id) = try Cursor.decode(cursor)
                let m = sql.bind(.integer(micros))
                sql.append(" AND (created_at < \(m) OR (created_at = \(m) AND id < \(sql.bind(.text(id)))))")
            }
            sql.append(" ORDER BY created_at DESC, id DESC LIMIT \(sql.bind(.int(limit + 1)))")
            var sessions = try connection.query(sql.sql, sql.binds).map(Self.session)
            let more = sessions.count > limit
            if more { sessions.removeLast() }
            let next = more ? sessions.last.map { Cursor.encode(micros: Micros.from($0.createdAt), id: $0.id) } : nil
            return Page(items: sessions, nextCursor: next)
        }
    }

    public func updateSession(
        id: String,
        accountID: String?,
        allowedFrom: Set<SessionStatus>?,
        _ change: SessionChange,
        durability: CommitDurability
    ) async throws -> SessionRecord {
        let kind: TransactionKind = durability == .synced ? .write : .writeDeferringSync
        return try await database.perform(kind) { connection in
            var lookup = SQLBuilder("SELECT status FROM sessions WHERE")
            lookup.append(" id = \(lookup.bind(.text(id)))")
            if let accountID { lookup.append(" AND account_id = \(lookup.bind(.text(accountID)))") }
            lookup.append(connection.dialect.forUpdate)
            guard var current = try connection.queryFirst(lookup.sql, lookup.binds) else {
                throw StorageError.notFound("session")
            }
            guard let status = SessionStatus(rawValue: try current.string()) else {
                throw SQLRow.corrupt("unknown session status")
            }
            if let allowedFrom, !allowedFrom.contains(status) {
                throw StorageError(code: .failedPrecondition, message: "session is \(status.rawValue)")
            }
            if let next = change.status, status.isTerminal, next.isActive {
                throw StorageError(
                    code: .failedPrecondition,
                    message: "session is \(status.rawValue) and cannot become \(next.rawValue)"
                )
            }
            var sql = SQLBuilder("UPDATE sessions SET")
            var sets: [String] = []
            func set(_ column: String, _ value: SQLValue) { sets.append(" \(column) = \(sql.bind(value))") }
            if let v = change.status { set("status", .text(v.rawValue)) }
            if let v = change.imageID { set("image_id", .text(v)) }
            if let v = change.imageRef { set("image_ref", .text(v)) }
            if let v = change.backendID { set("backend_id", .text(v)) }
            if let v = change.nodeID { set("node_id", .text(v)) }
            if let v = change.network { set("network", .text(try JSONText.encode(v))) }
            if let v = change.startedAt { set("started_at", .date(v)) }
            if let v = change.endedAt { set("ended_at", .date(v)) }
            if let v = change.expiresAt { set("expires_at", .date(v)) }
            if let v = change.lastActivityAt { set("last_activity_at", .date(v)) }
            if let v = change.exit {
                set("exit_code", .int(v.code))
                set("exit_signal", .int(v.signal))
                set("exit_reason", .text(v.reason.rawValue))
                set("oom_killed", .bool(v.oomKilled))
            }
            if let v = change.statusMessage { set("status_message", .text(v)) }
            if let v = change.usage {
                set("duration_ms", .int(v.durationMs))
                set("cpu_time_ms", .int(v.cpuTimeMs))
                set("memory_peak_mb", .int(v.memoryPeakMB))
                set("network_tx_bytes", .int(v.networkTxBytes))
                set("network_rx_bytes", .int(v.networkRxBytes))
                set("cost_cents", .int(v.costCents))
                set("cost_micro_usd", .int(v.costMicroUSD))
            }
            if sets.isEmpty { set("id", .text(id)) }
            sql.append(sets.joined(separator: ","))
            sql.append(" WHERE id = \(sql.bind(.text(id))) RETURNING \(Self.sessionColumns)")
            guard let row = try connection.queryFirst(sql.sql, sql.binds) else {
                throw StorageError.notFound("session")
            }
            return try Self.session(row)
        }
    }

    public func sessionCounts(accountID: String, apiKeyID: String?, since: Date) async throws -> SessionCounts {
        try await read { connection in
            var sql = SQLBuilder("")
            let since = sql.bind(.date(since))
            sql.append(
                """
                SELECT COALESCE(SUM(CASE WHEN status IN \(Self.activeList) THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN created_at >= \(since) THEN 1 ELSE 0 END), 0)
                FROM sessions WHERE account_id = \(sql.bind(.text(accountID)))
                    AND (status IN \(Self.activeList) OR created_at >= \(since))
                """
            )
            if let apiKeyID { sql.append(" AND api_key_id = \(sql.bind(.text(apiKeyID)))") }
            guard var row = try connection.queryFirst(sql.sql, sql.binds) else {
                throw SQLRow.corrupt("an aggregate gave no row")
            }
            return SessionCounts(active: try row.int(), createdSince: try row.int())
        }
    }

    public func activeSessions(page: PageRequest) async throws -> Page<SessionRecord> {
        let limit = Cursor.limit(page)
        return try await read { connection in
            var sql = SQLBuilder("SELECT \(Self.sessionColumns) FROM sessions WHERE status IN \(Self.activeList)")
            if let cursor = page.cursor {
                let (micros, id) = try Cursor.decode(cursor)
                let m = sql.bind(.integer(micros))
                sql.append(" AND (created_at > \(m) OR (created_at = \(m) AND id > \(sql.bind(.text(id)))))")
            }
            sql.append(" ORDER BY created_at, id LIMIT \(sql.bind(.int(limit + 1)))")
            var sessions = try connection.query(sql.sql, sql.binds).map(Self.session)
            let more = sessions.count > limit
            if more { sessions.removeLast() }
            let next = more ? sessions.last.map { Cursor.encode(micros: Micros.from($0.createdAt), id: $0.id) } : nil
            return Page(items: sessions, nextCursor: next)
        }
    }
}
