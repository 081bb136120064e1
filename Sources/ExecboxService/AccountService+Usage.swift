public import ExecboxAPI
public import ExecboxRPC
import ExecboxStorage
import ExecboxWire
import Foundation

extension AccountService {
    public func getUsage(request: GetUsageRequest, context: ServerContext) async throws -> GetUsageResponse {
        let principal = try Principal.required()
        let key = try await optionalKey(request.apiKeyId, of: principal)
        let now = now()
        let day = UTCCalendar.startOfDay(now)
        let month = UTCCalendar.month(of: now)
        let today = try await store.sessionCounts(accountID: principal.accountID, apiKeyID: key?.id, since: day)
        let period = try await store.sessionCounts(
            accountID: principal.accountID, apiKeyID: key?.id, since: month.start)
        let cost = try await store.usage(
            UsageQuery(
                accountID: principal.accountID, apiKeyID: key?.id, granularity: .daily, from: month.start,
                until: month.end)
        ).reduce(UsageMeasures()) { $0 + $1.measures }
        let limits = try await store.accountLimits(accountID: principal.accountID)
        let policy = policy(principal)
        var effective = APIMapping.tierLimits(principal.tier, policy)
        effective.dailyLimit = Int64(
            EffectiveLimits.combine(limits?.dailyRequestsLimit, policy.dailySessions, key?.customDailyLimit))
        effective.concurrentLimit = Int64(
            EffectiveLimits.combine(
                limits?.concurrentRequestsLimit, policy.concurrentSessions, key?.customConcurrentLimit))
        return GetUsageResponse.with {
            $0.accountId = principal.accountID
            $0.tier = APIMapping.tier(principal.tier)
            $0.sessionsToday = Int64(today.createdSince)
            $0.activeSessions = Int64(today.active)
            $0.quotaUsed = Int64(today.createdSince)
            $0.quotaRemaining =
                effective.dailyLimit < 0 ? -1 : max(0, effective.dailyLimit - Int64(today.createdSince))
            $0.limits = effective
            $0.monthlyCostLimitCents = limits?.monthlyCostLimitCents.map(Int64.init)
            $0.alertThreshold = UInt32(limits?.alertThreshold ?? 80)
            $0.dayStartedAt = Timestamps.make(day)
            $0.billingPeriodStart = Timestamps.make(month.start)
            $0.billingPeriodEnd = Timestamps.make(month.end)
            $0.periodExecutions = Int64(period.createdSince)
            $0.periodCostUsd = Double(cost.costMicroUSD) / 1e6
            $0.periodCostCents = Int64(cost.costCents)
        }
    }

    public func getUsageHistory(request: GetUsageHistoryRequest, context: ServerContext) async throws
        -> GetUsageHistoryResponse
    {
        let principal = try Principal.required()
        let granularity: ExecboxStorage.UsageGranularity
        switch request.granularity {
        case .unspecified, .daily: granularity = .daily
        case .hourly: granularity = .hourly
        case .unrecognized: throw Validation.invalid("unknown granularity")
        }
        let range = try UsageRange(
            granularity: granularity, days: request.days, defaultDays: granularity == .hourly ? 1 : 7,
            start: request.startTime, end: request.endTime, now: now())
        let key = try await optionalKey(request.apiKeyId, of: principal)
        let buckets = try await store.usage(
            UsageQuery(
                accountID: principal.accountID, apiKeyID: key?.id, granularity: granularity, from: range.from,
                until: range.until)
        ).filter { $0.measures.executions > 0 }
        let total = buckets.reduce(UsageMeasures()) { $0 + $1.measures }
        return GetUsageHistoryResponse.with {
            $0.granularity = granularity == .hourly ? .hourly : .daily
            $0.buckets = buckets.map { Self.bucket($0, daily: granularity == .daily) }
            $0.startTime = Timestamps.make(range.from)
            $0.endTime = Timestamps.make(range.until)
            $0.totalExecutions = Int64(total.executions)
            $0.totalDurationMs = Int64(total.durationMs)
            $0.totalErrors = Int64(total.errors)
            $0.totalCostCents = Int64(total.costCents)
            $0.totalCostUsd = Double(total.costMicroUSD) / 1e6
        }
    }

    public func exportUsage(
        request: ExportUsageRequest, responses: RPCWriter<ExportUsageResponse>, context: ServerContext
    ) async throws {
        let principal = try Principal.required()
        let csv: Bool
        switch request.format {
        case .unspecified, .json: csv = false
        case .csv: csv = true
        case .unrecognized: throw Validation.invalid("unknown format")
        }
        let now = now()
        let range = try UsageRange(
            granularity: .daily, days: request.days, defaultDays: 30, start: request.startTime, end: request.endTime,
            now: now)
        let key = try await optionalKey(request.apiKeyId, of: principal)
        let days = try await store.usage(
            UsageQuery(
                accountID: principal.accountID, apiKeyID: key?.id, granularity: .daily, from: range.from,
                until: range.until)
        ).filter { $0.measures.executions > 0 }
        let document = csv ? UsageExport.csv(days) : UsageExport.json(days)
        for (index, chunk) in UsageExport.chunks(document).enumerated() {
            try await responses.write(
                ExportUsageResponse.with {
                    $0.data = chunk
                    if index == 0 {
                        $0.contentType = csv ? UsageExport.csvContentType : UsageExport.jsonContentType
                        $0.filename = UsageExport.filename(at: now, csv: csv)
                    }
                })
        }
    }

    /// The key named by an optional `api_key_id` filter: nil when empty, NOT_FOUND when not the account's.
    func optionalKey(_ id: String, of principal: Principal) async throws -> APIKeyRecord? {
        id.isEmpty ? nil : try await key(id, of: principal)
    }

    static func bucket(_ bucket: ExecboxStorage.UsageBucket, daily: Bool) -> ExecboxAPI.UsageBucket {
        let m = bucket.measures
        return ExecboxAPI.UsageBucket.with {
            $0.startTime = Timestamps.make(bucket.start)
            $0.date = daily ? UTCCalendar.day(bucket.start) : ""
            $0.executions = Int64(m.executions)
            $0.durationMs = Int64(m.durationMs)
            $0.errors = Int64(m.errors)
            $0.costCents = Int64(m.costCents)
            $0.costUsd = Double(m.costMicroUSD) / 1e6
            $0.cpuTimeMs = Int64(m.cpuTimeMs)
            $0.memoryMbSeconds = Int64(m.memoryMBSeconds)
        }
    }
}
