public import ExecboxStorage
public import Foundation

/// The tiers as data: the legacy numbers of CONTRACT.md §5.1 by default, each overridable from a
/// JSON file (`--tiers`), plus the per-IP limit of the public calls. docs/service.md has the table.
public struct TierTable: Hashable, Sendable {
    public var policies: [Tier: TierPolicy]
    /// Public calls (JoinWaitlist, RequestQuota) per client IP address.
    public var publicRate: RateLimit

    public init(policies: [Tier: TierPolicy], publicRate: RateLimit) {
        self.policies = policies
        self.publicRate = publicRate
    }

    /// Sessions per day, concurrent sessions, duration and memory as the legacy service enforced
    /// them; CPU caps and request rates added (legacy: 10 requests per second per key, any tier).
    public static let defaults = TierTable(
        policies: [
            .anonymous: TierPolicy(
                dailySessions: 3, concurrentSessions: 1, maxDurationSeconds: 60, maxMemoryMB: 512,
                maxCPUMillicores: 1000, keyRate: RateLimit(requestsPerSecond: 1),
                accountRate: RateLimit(requestsPerSecond: 1)),
            .free: TierPolicy(
                dailySessions: 10, concurrentSessions: 5, maxDurationSeconds: 60, maxMemoryMB: 512,
                maxCPUMillicores: 1000, keyRate: RateLimit(requestsPerSecond: 10),
                accountRate: RateLimit(requestsPerSecond: 20)),
            .starter: TierPolicy(
                dailySessions: 100, concurrentSessions: 10, maxDurationSeconds: 300, maxMemoryMB: 1024,
                maxCPUMillicores: 2000, keyRate: RateLimit(requestsPerSecond: 20),
                accountRate: RateLimit(requestsPerSecond: 50)),
            .pro: TierPolicy(
                dailySessions: 1000, concurrentSessions: 50, maxDurationSeconds: 600, maxMemoryMB: 2048,
                maxCPUMillicores: 4000, keyRate: RateLimit(requestsPerSecond: 50),
                accountRate: RateLimit(requestsPerSecond: 200)),
            .enterprise: TierPolicy(
                dailySessions: -1, concurrentSessions: -1, maxDurationSeconds: -1, maxMemoryMB: -1,
                maxCPUMillicores: -1, keyRate: nil, accountRate: nil),
        ],
        publicRate: RateLimit(perSecond: 0.2, burst: 5)
    )

    /// The policy of `tier`; a tier missing from the table gets `free`'s (the legacy rule for
    /// unknown tiers).
    public func policy(for tier: Tier) -> TierPolicy {
        policies[tier] ?? policies[.free] ?? Self.defaults.policies[.free]!
    }

    /// The bootstrap admin's tier: nothing is limited.
    public static let unlimitedTier = Tier.enterprise
}

extension TierTable {
    /// The defaults with the fields a JSON document sets replaced:
    ///
    ///     {"tiers": {"free": {"daily_sessions": 20, "key_rate": {"per_second": 5, "burst": 10}},
    ///                "enterprise": {"key_rate": null}},
    ///      "public_rate": {"per_second": 1, "burst": 5}}
    ///
    /// A rate of `null` means unlimited. Unknown tiers or fields are refused, so a typo does not
    /// silently leave a default in force.
    public init(json: Data, base: TierTable = .defaults) throws {
        let file = try JSONDecoder().decode(File.self, from: json)
        var table = base
        for (name, override) in file.tiers ?? [:] {
            guard let tier = Tier(rawValue: name) else {
                throw TierTableError(message: "unknown tier '\(name)' (known: \(Tier.allCases.map(\.rawValue)))")
            }
            var policy = table.policy(for: tier)
            override.apply(to: &policy)
            try Self.check(policy, tier: name)
            table.policies[tier] = policy
        }
        if let rate = file.publicRate { table.publicRate = rate }
        self = table
    }

    /// Every number -1 (unlimited) or within what the service can apply: a year of lifetime, the
    /// largest memory and CPU a session may ask for, and counts that fit a quota check.
    static func check(_ policy: TierPolicy, tier: String) throws {
        let ranges: [(String, Int, ClosedRange<Int>)] = [
            ("daily_sessions", policy.dailySessions, 1...100_000_000),
            ("concurrent_sessions", policy.concurrentSessions, 1...1_000_000),
            ("max_duration_seconds", policy.maxDurationSeconds, 1...86400),
            ("max_memory_mb", policy.maxMemoryMB, 128...8192),
            ("max_cpu_millicores", policy.maxCPUMillicores, 100...8000),
        ]
        for (field, value, range) in ranges where value != -1 && !range.contains(value) {
            throw TierTableError(
                message: "tier '\(tier)': \(field) must be -1 (unlimited) or \(range.lowerBound) to \(range.upperBound)"
            )
        }
    }

    public struct TierTableError: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    private struct File: Decodable {
        var tiers: [String: Override]?
        var publicRate: RateLimit?

        enum CodingKeys: String, CodingKey {
            case tiers
            case publicRate = "public_rate"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: AnyKey.self)
            for key in container.allKeys where CodingKeys(rawValue: key.stringValue) == nil {
                throw TierTableError(message: "unknown field '\(key.stringValue)'")
            }
            let known = try decoder.container(keyedBy: CodingKeys.self)
            tiers = try known.decodeIfPresent([String: Override].self, forKey: .tiers)
            publicRate = try known.decodeIfPresent(RateLimit.self, forKey: .publicRate)
        }
    }

    /// Fields present in the JSON replace the base; `"key_rate": null` makes it unlimited.
    private struct Override: Decodable {
        var fields: [String: Int] = [:]
        var rates: [String: RateLimit?] = [:]

        static let integerFields = [
            "daily_sessions", "concurrent_sessions", "max_duration_seconds", "max_memory_mb", "max_cpu_millicores",
        ]
        static let rateFields = ["key_rate", "account_rate"]

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: AnyKey.self)
            for key in container.allKeys {
                if Self.integerFields.contains(key.stringValue) {
                    fields[key.stringValue] = try container.decode(Int.self, forKey: key)
                } else if Self.rateFields.contains(key.stringValue) {
                    rates[key.stringValue] =
                        try container.decodeNil(forKey: key)
                        ? .some(nil) : try container.decode(RateLimit.self, forKey: key)
                } else {
                    throw TierTableError(message: "unknown tier field '\(key.stringValue)'")
                }
            }
        }

        func apply(to policy: inout TierPolicy) {
            if let v = fields["daily_sessions"] { policy.dailySessions = v }
            if let v = fields["concurrent_sessions"] { policy.concurrentSessions = v }
            if let v = fields["max_duration_seconds"] { policy.maxDurationSeconds = v }
            if let v = fields["max_memory_mb"] { policy.maxMemoryMB = v }
            if let v = fields["max_cpu_millicores"] { policy.maxCPUMillicores = v }
            if let v = rates["key_rate"] { policy.keyRate = v }
            if let v = rates["account_rate"] { policy.accountRate = v }
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
