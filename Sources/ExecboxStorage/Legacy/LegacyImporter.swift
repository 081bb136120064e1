public import Foundation

/// Imports a legacy execbox-cloud database: accounts (one per primary key), keys (hashed on
/// the way in, so legacy `sk_` keys keep working), account limits, session history, usage and
/// quota requests. Every write is insert-if-absent, so running it again imports only what is
/// new. Usage: `hourly_account_usage` rows, plus `usage_metrics` days that have no hourly rows
/// for that key (the legacy service wrote the former; the two would double count).
public struct LegacyImporter: Sendable {
    public let source: any LegacySource
    public let store: any ExecboxStore

    public init(source: any LegacySource, store: any ExecboxStore) {
        self.source = source
        self.store = store
    }

    public func run(now: Date) async throws -> LegacyImportReport {
        var report = LegacyImportReport()
        let keys = try await importAccounts(now: now, report: &report)
        try await importSessions(keys: keys, now: now, report: &report)
        for row in try await source.quotaRequests() {
            let request = LegacyMapping.quotaRequest(row, key: row.apiKeyID.flatMap { keys[$0] })
            if try await store.importQuotaRequest(request, legacyID: row.id) {
                report.quotaRequests += 1
            } else {
                report.skipped += 1
            }
        }
        try await importUsage(keys: keys, report: &report)
        return report
    }

    /// Returns the imported keys by id.
    private func importAccounts(now: Date, report: inout LegacyImportReport) async throws -> [String: APIKeyRecord] {
        let rows = try await source.apiKeys()
        let ids = Set(rows.map(\.id))
        let limits = Dictionary(try await source.accountLimits().map { ($0.accountID, $0) }) { first, _ in first }
        var keys: [String: APIKeyRecord] = [:]
        for (accountID, members) in Dictionary(grouping: rows, by: \.accountID).sorted(by: { $0.key < $1.key }) {
            let ordered = LegacyMapping.parentsFirst(members)
            let records = ordered.map {
                LegacyMapping.key($0, parentInImport: $0.parentKeyID.map(ids.contains) ?? false)
            }
            for record in records { keys[record.id] = record }
            guard
                let primary = ordered.first(where: { $0.id == accountID })
                    ?? ordered.first(where: { $0.parentKeyID == nil })
            else {
                report.skipped += members.count
                continue
            }
            let account = Account(
                id: accountID,
                email: primary.email ?? "",
                tier: Tier(legacyValue: primary.tier),
                tierExpiresAt: primary.tierExpiresAt,
                tierUpdatedAt: primary.tierUpdatedAt,
                createdAt: primary.createdAt,
                primaryKeyID: primary.id
            )
            let accountLimits = LegacyMapping.limits(limits[accountID], accountID: accountID, now: now)
            if try await store.importAccount(account, keys: records, limits: accountLimits) {
                report.accounts += 1
                report.keys += records.count
            } else {
                report.skipped += 1
            }
        }
        return keys
    }

    private func importSessions(keys: [String: APIKeyRecord], now: Date, report: inout LegacyImportReport) async throws
    {
        var after: String?
        while true {
            let page = try await source.sessions(afterID: after, limit: 500)
            for row in page {
                guard let key = keys[row.apiKeyID] else {
                    report.skipped += 1
                    continue
                }
                let (session, environment) = LegacyMapping.session(row, accountID: key.accountID, now: now)
                if try await store.importSession(session, environment: environment) {
                    report.sessions += 1
                    if session.statusMessage.hasPrefix("imported from") { report.sessionsEndedOnImport += 1 }
                } else {
                    report.skipped += 1
                }
            }
            guard page.count == 500, let last = page.last else { return }
            after = last.id
        }
    }

    private func importUsage(keys: [String: APIKeyRecord], report: inout LegacyImportReport) async throws {
        let hourly = try await source.hourlyUsage()
        let calendarDay = { (date: Date) in Int(date.timeIntervalSince1970.rounded(.down)) / 86_400 }
        let coveredDays = Set(hourly.map { "\($0.apiKeyID)/\(calendarDay($0.start))" })
        let daily = try await source.dailyUsage().filter {
            !coveredDays.contains("\($0.apiKeyID)/\(calendarDay($0.start))")
        }
        for (table, rows) in [("hourly_account_usage", hourly), ("usage_metrics", daily)] {
            for row in rows {
                guard let key = keys[row.apiKeyID] else {
                    report.skipped += 1
                    continue
                }
                if try await store.recordUsage(LegacyMapping.usage(row, table: table, key: key)) {
                    report.usageRows += 1
                } else {
                    report.skipped += 1
                }
            }
        }
    }
}
