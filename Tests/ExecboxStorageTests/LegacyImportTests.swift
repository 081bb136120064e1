import ExecboxStorage
import ExecboxStoragePostgres
import ExecboxStorageSQL
import ExecboxStorageSQLite
import Foundation
import Testing

@Suite("Legacy import")
struct LegacyImportTests {
    /// The legacy database is PostgreSQL; the import target is each store in turn.
    @Test(
        "a legacy database imports; legacy keys keep working; a second run adds nothing",
        arguments: StoreBackend.postgresOnly)
    func importLegacy(backend: StoreBackend) async throws {
        let legacyURL = try await Blocking.run { try StoreBackend.freshPostgresDatabase() }
        try Shell.run("psql", ["-q", "-v", "ON_ERROR_STOP=1", legacyURL, "-c", LegacySchema.schema])
        try Shell.run("psql", ["-q", "-v", "ON_ERROR_STOP=1", legacyURL, "-c", LegacySchema.data])
        let source = try await PostgresLegacySource.connect(url: legacyURL)
        for target in StoreBackend.all {
            try await target.withStore { test in
                let store = test.store
                let importer = LegacyImporter(source: source, store: store)
                let now = Date(timeIntervalSince1970: 1_800_000_000)
                let report = try await importer.run(now: now)
                #expect(report.accounts == 2 && report.keys == 3 && report.sessions == 3)
                #expect(report.sessionsEndedOnImport == 1 && report.quotaRequests == 2)
                // The hourly row and the usage_metrics day without hourly rows; the covered day is left out.
                #expect(report.usageRows == 2)
                try await Self.check(store, now: now)
                let again = try await importer.run(now: now)
                #expect(again.accounts == 0 && again.sessions == 0 && again.usageRows == 0 && again.quotaRequests == 0)
                try await Self.check(store, now: now)
            }
        }
        await source.close()
    }

    @Test(
        "execbox-import-legacy imports into a SQLite file and keeps its key beside it",
        arguments: StoreBackend.postgresOnly)
    func command(backend: StoreBackend) async throws {
        let legacyURL = try await Blocking.run { try StoreBackend.freshPostgresDatabase() }
        try Shell.run("psql", ["-q", "-v", "ON_ERROR_STOP=1", legacyURL, "-c", LegacySchema.schema])
        try Shell.run("psql", ["-q", "-v", "ON_ERROR_STOP=1", legacyURL, "-c", LegacySchema.data])
        let directory = try TemporaryDirectory()
        let database = directory.path + "/execbox.db"
        let tool = try BuiltTool.path("execbox-import-legacy")
        let first = try await Blocking.run { try Shell.run(tool, ["--from", legacyURL, "--to", "sqlite:" + database]) }
        #expect(
            first.contains(
                "imported: 2 accounts, 3 keys, 3 sessions (1 ended on import), 2 usage rows, 2 quota requests"))
        let second = try await Blocking.run {
            try Shell.run(tool, ["--from", legacyURL, "--to", "sqlite:" + database])
        }
        #expect(second.contains("imported: 0 accounts, 0 keys, 0 sessions"))
        let key = try StorageKey.loadOrCreate(at: directory.path + "/storage.key")
        let store = try await SQLStore.sqlite(path: database, key: key)
        let found = try await store.apiKey(secretHash: APIKeyHash(secret: LegacySchema.keyA), now: Date())
        #expect(found?.id == LegacySchema.primaryA)
        #expect(try await store.sessionEnvironment(id: "sess_0a1b2c3d4e5f") == ["TOKEN": "legacy-secret"])
        await store.close()
        let refused = #expect(throws: StorageError.self) {
            try Shell.run(tool, ["--from", legacyURL, "--to", "mysql://nope"])
        }
        #expect(refused?.message.contains("--to must be") == true)
    }

    static func check(_ store: SQLStore, now: Date) async throws {
        let a = LegacySchema.primaryA
        let account = try #require(try await store.account(id: a))
        #expect(account.email == "ada@example.com" && account.tier == .pro && account.primaryKeyID == a)
        #expect(account.createdAt == ISO8601DateFormatter().date(from: "2025-01-02T03:04:05Z"))

        // Legacy secrets authenticate by their hash; the hand-made key too.
        let primary = try #require(try await store.apiKey(secretHash: APIKeyHash(secret: LegacySchema.keyA), now: now))
        #expect(primary.id == a && primary.isPrimary && primary.preview == "sk_a20b...fc3e")
        #expect(primary.canAuthenticate(at: now))
        let secondary = try #require(
            try await store.apiKey(secretHash: APIKeyHash(secret: LegacySchema.keySecondaryA), now: now)
        )
        #expect(!secondary.isPrimary && secondary.parentKeyID == a && !secondary.isActive)
        #expect(secondary.customDailyLimit == 50 && secondary.rateLimitRPS == 10 && secondary.name == "ci")
        let handMade = try #require(try await store.apiKey(secretHash: APIKeyHash(secret: LegacySchema.keyB), now: now))
        #expect(
            handMade.accountID == LegacySchema.primaryB && handMade.isActive && handMade.preview == "sk_test..._key")
        let dump = try await store.database.perform(.read) { connection in
            try connection.query("SELECT * FROM api_keys", []).flatMap(\.values).map { "\($0)" }.joined()
        }
        #expect(!dump.contains(LegacySchema.keyA) && !dump.contains(LegacySchema.keyB))

        let limits = try #require(try await store.accountLimits(accountID: a))
        #expect(
            limits.monthlyCostLimitCents == 1_234 && limits.concurrentRequestsLimit == 50 && limits.alertThreshold == 90
        )
        #expect(try await store.accountLimits(accountID: LegacySchema.primaryB)?.dailyRequestsLimit == -1)

        let stopped = try #require(try await store.session(id: "sess_0a1b2c3d4e5f", accountID: a))
        #expect(stopped.status == .stopped && stopped.exit?.code == 0 && stopped.backendID == "machine-1")
        #expect(
            stopped.spec.command == ["python", "-c", "print(1)"] && stopped.spec.ports.map(\.containerPort) == [8080])
        #expect(stopped.usage.durationMs == 10_000 && stopped.usage.costCents == 53)
        #expect(try await store.sessionEnvironment(id: "sess_0a1b2c3d4e5f") == ["TOKEN": "legacy-secret"])
        let wasRunning = try #require(try await store.session(id: "sess_111111111111", accountID: a))
        #expect(wasRunning.status == .failed && wasRunning.endedAt == now)
        // Sessions move to the account (the legacy account_id column held the key id).
        #expect(try await store.session(id: "sess_222222222222", accountID: a)?.apiKeyID == LegacySchema.secondaryA)
        let counts = try await store.sessionCounts(accountID: a, apiKeyID: nil, since: Date(timeIntervalSince1970: 0))
        #expect(counts == SessionCounts(active: 0, createdSince: 3))

        let requests = try await store.listQuotaRequests(status: nil, page: PageRequest())
        #expect(requests.items.map(\.email) == ["ada@example.com", "lead@example.com"])
        #expect(requests.items[0].accountID == a && requests.items[0].status == .contacted)
        #expect(requests.items[0].useCase == "CI\n\nNotes: call me")

        let usage = try await store.usage(
            UsageQuery(
                accountID: a,
                granularity: .daily,
                from: Date(timeIntervalSince1970: 1_735_689_600),
                until: Date(timeIntervalSince1970: 1_738_368_000)
            )
        )
        #expect(usage.map(\.measures.executions) == [3, 2])
        #expect(usage.last?.measures.errors == 1 && usage.last?.measures.costCents == 106)
    }
}
