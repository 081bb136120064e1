package import ExecboxStorage
import Foundation

extension SQLStore {
    package static let sessionColumns = """
        id, account_id, api_key_id, status, spec, image_id, image_ref, setup_hash, image_cache_hit, backend, backend_id,
        node_id, network, created_at, started_at, ended_at, expires_at, last_activity_at, exit_code, exit_signal,
        exit_reason, oom_killed, status_message, duration_ms, cpu_time_ms, memory_peak_mb, network_tx_bytes,
        network_rx_bytes, cost_cents, cost_micro_usd, idempotency_key
        """

    /// Associated data of a session's sealed environment: binds the ciphertext to its row.
    package static func environmentContext(sessionID: String) -> String { "session-env:\(sessionID)" }

    package func insertSession(
        _ session: SessionRecord,
        environment: [String: String],
        ifAbsent: Bool,
        on connection: any SQLConnection
    ) throws -> Bool {
        let sealed =
            environment.isEmpty
            ? nil
            : try box.seal(
                Array(try JSONText.encode(environment).utf8),
                context: Self.environmentContext(sessionID: session.id)
            )
        let exit = session.exit
        let usage = session.usage
        let inserted = try connection.query(
            """
            INSERT INTO sessions (id, account_id, api_key_id, status, spec, env_sealed, image, image_id, image_ref,
                setup_hash, image_cache_hit, backend, backend_id, node_id, network, created_at, started_at, ended_at,
                expires_at, last_activity_at, exit_code, exit_signal, exit_reason, oom_killed, status_message,
                duration_ms, cpu_time_ms, memory_peak_mb, network_tx_bytes, network_rx_bytes, cost_cents,
                cost_micro_usd, idempotency_key)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21,
                $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33)
            \(ifAbsent ? "ON CONFLICT DO NOTHING " : "")RETURNING id
            """,
            [
                .text(session.id), .text(session.accountID), .text(session.apiKeyID), .text(session.status.rawValue),
                .text(try JSONText.encode(session.spec)), .blob(sealed), .text(session.spec.image),
                .text(session.imageID), .text(session.imageRef), .text(session.setupHash),
                .bool(session.imageCacheHit), .text(session.backend), .text(session.backendID), .text(session.nodeID),
                .text(try session.network.map(JSONText.encode)), .date(session.createdAt), .date(session.startedAt),
                .date(session.endedAt), .date(session.expiresAt), .date(session.lastActivityAt), .int(exit?.code),
                .int(exit?.signal), .text(exit?.reason.rawValue), .bool(exit?.oomKilled ?? false),
                .text(session.statusMessage), .int(usage.durationMs), .int(usage.cpuTimeMs), .int(usage.memoryPeakMB),
                .int(usage.networkTxBytes), .int(usage.networkRxBytes), .int(usage.costCents),
                .int(usage.costMicroUSD), .text(session.idempotencyKey),
            ]
        )
        guard !inserted.isEmpty else { return false }
        for (name, value) in session.spec.labels.sorted(by: { $0.key < $1.key }) {
            _ = try connection.query(
                "INSERT INTO session_labels (session_id, name, value) VALUES ($1, $2, $3)",
                [.text(session.id), .text(name), .text(value)]
            )
        }
        return true
    }

    package static func session(_ row: SQLRow) throws -> SessionRecord {
        var row = row
        let id = try row.string()
        let accountID = try row.string()
        let apiKeyID = try row.string()
        guard let status = SessionStatus(rawValue: try row.string()) else {
            throw SQLRow.corrupt("unknown session status")
        }
        var session = SessionRecord(
            id: id,
            accountID: accountID,
            apiKeyID: apiKeyID,
            status: status,
            spec: try JSONText.decode(SessionSpec.self, from: try row.string()),
            createdAt: .distantPast
        )
        session.imageID = try row.string()
        session.imageRef = try row.string()
        session.setupHash = try row.string()
        session.imageCacheHit = try row.bool()
        session.backend = try row.string()
        session.backendID = try row.string()
        session.nodeID = try row.string()
        session.network = try row.optionalString().map { try JSONText.decode(NetworkInfo.self, from: $0) }
        session.createdAt = try row.date()
        session.startedAt = try row.optionalDate()
        session.endedAt = try row.optionalDate()
        session.expiresAt = try row.optionalDate()
        session.lastActivityAt = try row.optionalDate()
        let code = try row.optionalInt()
        let signal = try row.optionalInt()
        let reason = try row.optionalString()
        let oomKilled = try row.bool()
        if let reason {
            guard let reason = ExitStatus.Reason(rawValue: reason) else { throw SQLRow.corrupt("unknown exit reason") }
            session.exit = ExitStatus(code: code, signal: signal, reason: reason, oomKilled: oomKilled)
        }
        session.statusMessage = try row.string()
        session.usage = SessionUsage(
            durationMs: try row.int(),
            cpuTimeMs: try row.int(),
            memoryPeakMB: try row.int(),
            networkTxBytes: try row.int(),
            networkRxBytes: try row.int(),
            costCents: try row.int(),
            costMicroUSD: try row.int()
        )
        session.idempotencyKey = try row.optionalString()
        return session
    }
}
