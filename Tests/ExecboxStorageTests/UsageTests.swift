import ExecboxStorage
import ExecboxStorageSQL
import Foundation
import Testing

@Suite("Usage ledger and roll-ups")
struct UsageTests {
    @Test("an event retried with the same key counts once", arguments: StoreBackend.all)
    func exactlyOnce(backend: StoreBackend) async throws {
        try await backend.withStore(poolSize: 8) { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)
            let event = UsageEvent(
                idempotencyKey: "sess_1:end",
                accountID: owner.account.id,
                apiKeyID: owner.key.id,
                sessionID: "sess_1",
                occurredAt: Fixtures.at(30),
                measures: UsageMeasures(executions: 1, durationMs: 10_000, cpuTimeMs: 2_000, errors: 1, costCents: 53)
            )
            #expect(try await store.recordUsage(event))
            // Concurrent retries of the same event, as after a crash between commit and ack.
            let again = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<10 { group.addTask { try await store.recordUsage(event) } }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(again.allSatisfy { !$0 })
            let daily = try await store.usage(
                UsageQuery(
                    accountID: owner.account.id, granularity: .daily, from: Fixtures.at(-86_400),
                    until: Fixtures.at(86_400))
            )
            #expect(daily.count == 1)
            #expect(daily.first?.measures == event.measures)
        }
    }

    @Test("hourly and daily buckets sum events per account or per key", arguments: StoreBackend.all)
    func buckets(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)
            let dayStart = Date(timeIntervalSince1970: Double(1_800_000_000 - 1_800_000_000 % 86_400))
            let one = UsageMeasures(
                executions: 1,
                durationMs: 1_000,
                cpuTimeMs: 500,
                memoryMBSeconds: 256,
                bytesIn: 10,
                bytesOut: 20,
                errors: 0,
                costCents: 6,
                costMicroUSD: 1_050
            )
            let times: [(Double, String)] = [(0, "a"), (60, "a"), (3_600, "b"), (7_300, "a"), (86_400, "a")]
            for (index, (offset, key)) in times.enumerated() {
                #expect(
                    try await store.recordUsage(
                        UsageEvent(
                            idempotencyKey: "event-\(index)",
                            accountID: owner.account.id,
                            apiKeyID: key,
                            occurredAt: dayStart.addingTimeInterval(offset),
                            measures: one
                        )
                    )
                )
            }
            let hourly = try await store.usage(
                UsageQuery(
                    accountID: owner.account.id,
                    granularity: .hourly,
                    from: dayStart,
                    until: dayStart.addingTimeInterval(86_400)
                )
            )
            #expect(hourly.map(\.start) == [0, 3_600, 7_200].map { dayStart.addingTimeInterval($0) })
            #expect(hourly.map(\.measures.executions) == [2, 1, 1])
            #expect(hourly[0].measures == one + one)
            let daily = try await store.usage(
                UsageQuery(
                    accountID: owner.account.id, granularity: .daily, from: dayStart,
                    until: dayStart.addingTimeInterval(2 * 86_400))
            )
            #expect(daily.map(\.measures.executions) == [4, 1])
            #expect(daily[0].measures.costMicroUSD == 4 * 1_050)
            let keyB = try await store.usage(
                UsageQuery(
                    accountID: owner.account.id, apiKeyID: "b", granularity: .daily, from: dayStart,
                    until: dayStart.addingTimeInterval(86_400))
            )
            #expect(keyB.map(\.measures) == [one])
        }
    }
}
