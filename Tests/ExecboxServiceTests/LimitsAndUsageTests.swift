import ExecboxAPI
import ExecboxRPC
import ExecboxStorage
import ExecboxStorageSQL
import ExecboxWire
import Foundation
import Testing

@testable import ExecboxService

/// GetLimits/UpdateLimits, GetUsage, GetUsageHistory and ExportUsage over recorded usage.
@Suite struct LimitsAndUsageTests {
    @Test func limitsLowerTheTierAndAreValidated() async throws {
        try await withFixture { fixture in
            let owner = try await fixture.account()
            let initial = try #require(try await fixture.client.getLimits(.init(), metadata: owner.metadata).limits)
            #expect(initial.dailyRequestsLimit == -1)
            #expect(initial.effectiveDailyLimit == 10)
            #expect(initial.effectiveConcurrentLimit == 5)
            #expect(initial.alertThreshold == 80)
            #expect(initial.timezone == "UTC")
            #expect(initial.tierLimits?.tier == .free)

            let updated = try #require(
                try await fixture.client.updateLimits(
                    .with {
                        $0.dailyRequestsLimit = 4
                        $0.concurrentRequestsLimit = 50
                        $0.monthlyCostLimitCents = 1500
                        $0.alertThreshold = 90
                        $0.billingEmail = "billing@example.com"
                        $0.timezone = "Europe/Berlin"
                    }, metadata: owner.metadata
                ).limits)
            #expect(updated.effectiveDailyLimit == 4)
            #expect(updated.effectiveConcurrentLimit == 5)
            #expect(updated.monthlyCostLimitCents == 1500)
            #expect(updated.timezone == "Europe/Berlin")
            let cleared = try await fixture.client.updateLimits(
                .with { $0.monthlyCostLimitCents = 0 }, metadata: owner.metadata)
            #expect(cleared.limits?.monthlyCostLimitCents == nil)
            #expect(cleared.limits?.alertThreshold == 90)
            // An empty update changes nothing and writes no audit event.
            _ = try await fixture.client.updateLimits(.init(), metadata: owner.metadata)
            let log = try await fixture.client.listAuditLog(
                .with { $0.actions = [.limitsChanged] }, metadata: owner.metadata)
            #expect(log.events.count == 2)

            for bad in [
                UpdateLimitsRequest.with { $0.dailyRequestsLimit = 0 },
                .with { $0.concurrentRequestsLimit = -2 },
                .with { $0.monthlyCostLimitCents = -1 },
                .with { $0.alertThreshold = 101 },
                .with { $0.alertThreshold = 0 },
                .with { $0.billingEmail = "nope" },
                .with { $0.timezone = "Mars/Olympus" },
            ] {
                #expect(
                    await status { try await fixture.client.updateLimits(bad, metadata: owner.metadata) }
                        == .invalidArgument, "\(bad)")
            }
            // A per-key limit cannot exceed the account's effective limit (now 4).
            #expect(
                await status {
                    try await fixture.client.createAPIKey(
                        .with {
                            $0.name = "x"
                            $0.customDailyLimit = 5
                        }, metadata: owner.metadata)
                } == .invalidArgument)
        }
    }

    @Test func usageHistoryAndExport() async throws {
        try await withFixture { fixture in
            let owner = try await fixture.account()
            let second = try await fixture.secondaryKey(of: owner)
            let today = UTCCalendar.startOfDay(fixture.clock.date)
            func record(_ id: String, key: String, daysAgo: Double, executions: Int, durationMs: Int, errors: Int)
                async throws
            {
                _ = try await fixture.store.recordUsage(
                    UsageEvent(
                        idempotencyKey: id, accountID: owner.accountID, apiKeyID: key,
                        occurredAt: today.addingTimeInterval(-daysAgo * 86_400 + 3600),
                        measures: UsageMeasures(
                            executions: executions, durationMs: durationMs, errors: errors, costCents: executions * 2,
                            costMicroUSD: executions * 1500)))
            }
            try await record("a", key: owner.keyID, daysAgo: 0, executions: 2, durationMs: 3000, errors: 1)
            try await record("b", key: second.keyID, daysAgo: 0, executions: 1, durationMs: 500, errors: 0)
            try await record("c", key: owner.keyID, daysAgo: 2, executions: 4, durationMs: 10_000, errors: 0)
            try await record("d", key: owner.keyID, daysAgo: 40, executions: 9, durationMs: 1, errors: 0)
            // Recording the same event twice counts once.
            try await record("a", key: owner.keyID, daysAgo: 0, executions: 2, durationMs: 3000, errors: 1)

            let week = try await fixture.client.getUsageHistory(.init(), metadata: owner.metadata)
            #expect(week.granularity == .daily)
            #expect(week.buckets.map(\.executions) == [4, 3])
            #expect(week.buckets.last?.date == UTCCalendar.day(today))
            #expect(week.totalExecutions == 7)
            #expect(week.totalErrors == 1)
            #expect(week.totalCostCents == 14)
            #expect(abs(week.totalCostUsd - 0.0105) < 1e-9)
            let perKey = try await fixture.client.getUsageHistory(
                .with { $0.apiKeyId = second.keyID }, metadata: owner.metadata)
            #expect(perKey.buckets.map(\.executions) == [1])
            let hourly = try await fixture.client.getUsageHistory(
                .with { $0.granularity = .hourly }, metadata: owner.metadata)
            #expect(hourly.buckets.isEmpty || hourly.buckets.allSatisfy { $0.date.isEmpty })

            for bad in [
                GetUsageHistoryRequest.with { $0.days = 366 },
                .with {
                    $0.granularity = .hourly
                    $0.days = 32
                },
                .with {
                    $0.startTime = Timestamps.make(fixture.clock.date)
                    $0.endTime = Timestamps.make(fixture.clock.date.addingTimeInterval(-1))
                },
            ] {
                #expect(
                    await status { try await fixture.client.getUsageHistory(bad, metadata: owner.metadata) }
                        == .invalidArgument, "\(bad)")
            }

            func export(_ format: UsageExportFormat, days: UInt32 = 0) async throws -> (String, [ExportUsageResponse]) {
                let messages = try await fixture.client.exportUsage(
                    .with {
                        $0.format = format
                        $0.days = days
                    }, metadata: owner.metadata
                ) { responses in
                    var all: [ExportUsageResponse] = []
                    for try await response in responses { all.append(response) }
                    return all
                }
                return (String(decoding: messages.flatMap(\.data), as: UTF8.self), messages)
            }
            let (csv, csvMessages) = try await export(.csv)
            let day0 = UTCCalendar.day(today)
            let day2 = UTCCalendar.day(today.addingTimeInterval(-2 * 86_400))
            #expect(
                csv == """
                    Date,Executions,Duration (ms),Cost (cents),Errors
                    \(day0),3,3500,6,1
                    \(day2),4,10000,8,0
                    """)
            #expect(csvMessages.first?.contentType == "text/csv; charset=utf-8")
            #expect(csvMessages.first?.filename == "usage-export-\(day0).csv")
            let (json, jsonMessages) = try await export(.unspecified, days: 60)
            #expect(jsonMessages.first?.contentType == "application/json")
            let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
            #expect(rows.map { $0["executions"] as? Int } == [3, 4, 9])
            #expect(rows.first?["date"] as? String == day0)
            #expect(
                Set(rows.first?.keys.map { $0 } ?? []) == ["date", "executions", "duration_ms", "cost_cents", "errors"])

            let other = try await fixture.account()
            let empty = try await fixture.client.exportUsage(.init(), metadata: other.metadata) { responses in
                var data: [UInt8] = []
                for try await response in responses { data += response.data }
                return String(decoding: data, as: UTF8.self)
            }
            #expect(empty == "[]")
        }
    }

    @Test func usageToday() async throws {
        try await withFixture { fixture in
            let owner = try await fixture.account()
            let usage = try await fixture.client.getUsage(.init(), metadata: owner.metadata)
            #expect(usage.tier == .free)
            #expect(usage.sessionsToday == 0)
            #expect(usage.quotaRemaining == 10)
            #expect(usage.limits?.dailyLimit == 10)
            #expect(usage.limits?.maxDurationMs == 60_000)
            #expect(usage.alertThreshold == 80)
            #expect(usage.dayStartedAt.map(Timestamps.date) == UTCCalendar.startOfDay(fixture.clock.date))
            let key = try await fixture.client.createAPIKey(
                .with {
                    $0.name = "small"
                    $0.customDailyLimit = 3
                }, metadata: owner.metadata)
            let perKey = try await fixture.client.getUsage(
                .with { $0.apiKeyId = key.apiKey!.id }, metadata: owner.metadata)
            #expect(perKey.limits?.dailyLimit == 3)
            #expect(perKey.quotaRemaining == 3)
            let admin = try await fixture.account(tier: .enterprise)
            let unlimited = try await fixture.client.getUsage(.init(), metadata: admin.metadata)
            #expect(unlimited.quotaRemaining == -1)
            #expect(unlimited.limits?.rateLimitRps == -1)
        }
    }
}
