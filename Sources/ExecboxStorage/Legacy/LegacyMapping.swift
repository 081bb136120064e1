import Foundation

/// Pure conversions from legacy rows to Execbox records (CONTRACT.md §2, §7, §8).
enum LegacyMapping {
    static let importer = "system: legacy import"

    /// A legacy key keeps its id and works byte for byte: its plaintext is hashed here and
    /// dropped. Primary means `account_id = id` or no parent (§2.3).
    static func key(_ row: LegacyRows.APIKey, parentInImport: Bool) -> APIKeyRecord {
        var key = APIKeyRecord(
            id: row.id,
            accountID: row.accountID,
            parentKeyID: parentInImport ? row.parentKeyID : nil,
            secret: row.key,
            name: row.name ?? "",
            description: row.description ?? "",
            rateLimitRPS: max(1, row.rateLimitRPS ?? 10),
            expiresAt: row.expiresAt,
            customDailyLimit: row.customDailyLimit.flatMap { $0 > 0 ? $0 : nil },
            customConcurrentLimit: row.customConcurrentLimit.flatMap { $0 > 0 ? $0 : nil },
            createdAt: row.createdAt,
            createdBy: row.lastUpdatedBy ?? importer
        )
        key.isPrimary = row.id == row.accountID || row.parentKeyID == nil
        key.isActive = row.isActive ?? true
        key.lastUsedAt = row.lastUsedAt
        return key
    }

    /// Keys ordered so that every parent comes before its children.
    static func parentsFirst(_ keys: [LegacyRows.APIKey]) -> [LegacyRows.APIKey] {
        var placed: Set<String> = []
        var ordered: [LegacyRows.APIKey] = []
        var pending = keys.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        let ids = Set(keys.map(\.id))
        while !pending.isEmpty {
            let before = pending.count
            pending.removeAll { key in
                guard let parent = key.parentKeyID, ids.contains(parent), !placed.contains(parent), parent != key.id
                else {
                    placed.insert(key.id)
                    ordered.append(key)
                    return true
                }
                return false
            }
            if pending.count == before {
                // A parent cycle: place the rest as they come (their parent link is dropped).
                ordered += pending
                break
            }
        }
        return ordered
    }

    static func limits(_ row: LegacyRows.AccountLimits?, accountID: String, now: Date) -> AccountLimits {
        guard let row else { return AccountLimits(accountID: accountID, updatedAt: now) }
        func limit(_ value: Int?) -> Int { value.map { $0 > 0 ? $0 : -1 } ?? -1 }
        return AccountLimits(
            accountID: accountID,
            dailyRequestsLimit: limit(row.dailyRequestsLimit),
            concurrentRequestsLimit: limit(row.concurrentRequestsLimit),
            monthlyCostLimitCents: row.monthlyCostLimitUSD.flatMap { $0 > 0 ? Int(($0 * 100).rounded()) : nil },
            alertThreshold: min(100, max(1, row.alertThresholdPercentage ?? 80)),
            billingEmail: row.billingEmail ?? "",
            timezone: row.timezone ?? "UTC",
            updatedAt: row.updatedAt
        )
    }

    /// A legacy session with its account resolved from its key. Sessions the legacy service
    /// left active have no sandbox any more: they end as FAILED at `now` rather than holding a
    /// concurrency slot forever (the legacy lock-out, §5.2).
    static func session(_ row: LegacyRows.Session, accountID: String, now: Date) -> (SessionRecord, [String: String]) {
        let environment = decodeJSON([String: String].self, row.envJSON) ?? [:]
        let ports = (decodeJSON([LegacyPort].self, row.portsJSON) ?? []).map {
            SessionSpec.Port(containerPort: $0.container, transport: $0.protocol ?? "tcp")
        }
        let spec = SessionSpec(
            image: row.image,
            command: decodeJSON([String].self, row.commandJSON) ?? [],
            envKeys: environment.keys.sorted(),
            network: ports.isEmpty ? .outgoing : .exposed,
            ports: ports
        )
        var status = SessionStatus(rawValue: row.status) ?? .failed
        var message = ""
        var endedAt = row.endedAt
        if status.isActive {
            status = .failed
            message = "imported from execbox-cloud while \(row.status); its sandbox is not managed by this server"
            endedAt = endedAt ?? now
        }
        let exit = row.exitCode.map {
            ExitStatus(code: $0, reason: status == .killed ? .killed : .exited)
        }
        let session = SessionRecord(
            id: row.id,
            accountID: accountID,
            apiKeyID: row.apiKeyID,
            status: status,
            spec: spec,
            setupHash: row.setupHash ?? "",
            backend: "legacy",
            backendID: row.backendID ?? "",
            createdAt: row.createdAt,
            startedAt: row.startedAt,
            endedAt: endedAt,
            exit: exit,
            statusMessage: message,
            usage: SessionUsage(
                durationMs: zip(row.startedAt, row.endedAt).map { Int(($1.timeIntervalSince($0) * 1000).rounded()) }
                    ?? 0,
                cpuTimeMs: row.cpuMillisUsed,
                memoryPeakMB: row.memoryPeakMB,
                // The legacy column is (tx + rx) in MiB; the direction is unknown.
                networkRxBytes: row.networkTransferMB * 1_048_576,
                costCents: row.costEstimateCents
            )
        )
        return (session, environment)
    }

    static func quotaRequest(_ row: LegacyRows.QuotaRequest, key: APIKeyRecord?) -> QuotaRequest {
        var useCase = row.useCase ?? ""
        if let notes = row.notes, !notes.isEmpty {
            useCase += (useCase.isEmpty ? "" : "\n\n") + "Notes: " + notes
        }
        return QuotaRequest(
            email: row.email,
            name: row.name ?? "",
            company: row.company ?? "",
            useCase: useCase,
            requestedLimits: row.requestedLimits ?? "",
            budget: row.budget ?? "",
            currentTier: row.currentTier.map(Tier.init(legacyValue:)),
            apiKeyID: key?.id,
            accountID: key?.accountID,
            status: QuotaRequest.Status(rawValue: row.status) ?? .pending,
            createdAt: row.createdAt,
            respondedAt: row.respondedAt
        )
    }

    static func usage(_ row: LegacyRows.Usage, table: String, key: APIKeyRecord) -> UsageEvent {
        UsageEvent(
            idempotencyKey: "legacy:\(table):\(row.id)",
            accountID: key.accountID,
            apiKeyID: key.id,
            occurredAt: row.start,
            measures: UsageMeasures(
                executions: max(0, row.executions),
                durationMs: max(0, row.durationMs),
                cpuTimeMs: max(0, row.cpuMillis),
                memoryMBSeconds: max(0, row.memoryMBSeconds),
                errors: max(0, row.errors),
                costCents: max(0, row.costCents)
            )
        )
    }

    private struct LegacyPort: Decodable {
        var container: Int
        var `protocol`: String?
    }

    private static func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String?) -> T? {
        guard let text else { return nil }
        return try? JSONDecoder().decode(type, from: Data(text.utf8))
    }
}

private func zip(_ a: Date?, _ b: Date?) -> (Date, Date)? {
    guard let a, let b else { return nil }
    return (a, b)
}
