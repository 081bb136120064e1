import ExecboxStorage
import Foundation
import Testing

@testable import ExecboxService

/// The tier table: legacy defaults and JSON overrides.
@Suite struct TierTableTests {
    @Test func defaultsAreTheLegacyNumbers() {
        let table = TierTable.defaults
        let expected: [(Tier, Int, Int, Int, Int)] = [
            (.anonymous, 3, 1, 60, 512), (.free, 10, 5, 60, 512), (.starter, 100, 10, 300, 1024),
            (.pro, 1000, 50, 600, 2048), (.enterprise, -1, -1, -1, -1),
        ]
        for (tier, daily, concurrent, duration, memory) in expected {
            let policy = table.policy(for: tier)
            #expect(policy.dailySessions == daily, "\(tier)")
            #expect(policy.concurrentSessions == concurrent, "\(tier)")
            #expect(policy.maxDurationSeconds == duration, "\(tier)")
            #expect(policy.maxMemoryMB == memory, "\(tier)")
        }
        #expect(table.policy(for: .free).keyRate == RateLimit(perSecond: 10, burst: 10))
        #expect(table.policy(for: TierTable.unlimitedTier).keyRate == nil)
        #expect(table.policy(for: TierTable.unlimitedTier).accountRate == nil)
    }

    @Test func jsonOverridesOnlyWhatItNames() throws {
        let json = """
            {"tiers": {"free": {"daily_sessions": 20, "key_rate": {"per_second": 2, "burst": 3}},
                       "pro": {"account_rate": null}},
             "public_rate": {"per_second": 1, "burst": 2}}
            """
        let table = try TierTable(json: Data(json.utf8))
        #expect(table.policy(for: .free).dailySessions == 20)
        #expect(table.policy(for: .free).concurrentSessions == 5)
        #expect(table.policy(for: .free).keyRate == RateLimit(perSecond: 2, burst: 3))
        #expect(table.policy(for: .pro).accountRate == nil)
        #expect(table.policy(for: .pro).keyRate == RateLimit(requestsPerSecond: 50))
        #expect(table.publicRate == RateLimit(perSecond: 1, burst: 2))
    }

    @Test func typosAreRefused() {
        for json in [
            #"{"tier": {}}"#, #"{"tiers": {"gold": {}}}"#, #"{"tiers": {"free": {"daily": 1}}}"#,
            #"{"tiers": {"free": {"key_rate": {"per_second": 0, "burst": 1}}}}"#,
            #"{"public_rate": {"per_second": 1, "burst": 0.5}}"#, "[]",
        ] {
            #expect(throws: (any Error).self, "\(json)") { try TierTable(json: Data(json.utf8)) }
        }
    }

    @Test func effectiveLimits() {
        #expect(EffectiveLimits.combine(-1, -1) == -1)
        #expect(EffectiveLimits.combine(-1, 10) == 10)
        #expect(EffectiveLimits.combine(100, 10, nil) == 10)
        #expect(EffectiveLimits.combine(5, 10, 7) == 5)
        #expect(EffectiveLimits.combine(nil, nil) == -1)
    }

    @Test func outOfRangeNumbersAreRefused() throws {
        for (field, value) in [
            ("max_duration_seconds", 0), ("max_duration_seconds", 86401), ("max_memory_mb", 64),
            ("max_cpu_millicores", 9000), ("daily_sessions", 0), ("concurrent_sessions", -2),
        ] {
            let json = Data(#"{"tiers": {"pro": {"\#(field)": \#(value)}}}"#.utf8)
            let error = #expect(throws: TierTable.TierTableError.self) { try TierTable(json: json) }
            #expect(error?.message.contains(field) == true, "\(field) \(value)")
        }
        let unlimited = try TierTable(json: Data(#"{"tiers": {"pro": {"max_duration_seconds": -1}}}"#.utf8))
        #expect(unlimited.policy(for: .pro).maxDurationSeconds == -1)
    }
}
