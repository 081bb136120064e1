import ExecboxStorage
import ExecboxStorageSQL
import Foundation
import Testing

@Suite("Limits, alerts, webhooks, images, quota requests, audit, idempotency keys")
struct AccountFeatureTests {
    @Test("limits update and record old and new values", arguments: StoreBackend.all)
    func limits(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let owner = try await Fixtures.account(in: test.store)
            let updated = try await test.store.updateAccountLimits(
                accountID: owner.account.id,
                AccountLimitsUpdate(
                    concurrentRequestsLimit: 3, monthlyCostLimitCents: .some(5_000), timezone: "Europe/Berlin"),
                audit: Fixtures.audit(at: 9)
            )
            #expect(updated.concurrentRequestsLimit == 3 && updated.dailyRequestsLimit == 100)
            #expect(updated.monthlyCostLimitCents == 5_000 && updated.timezone == "Europe/Berlin")
            #expect(try await test.store.accountLimits(accountID: owner.account.id) == updated)
            let removed = try await test.store.updateAccountLimits(
                accountID: owner.account.id,
                AccountLimitsUpdate(monthlyCostLimitCents: .some(nil)),
                audit: Fixtures.audit(at: 10)
            )
            #expect(removed.monthlyCostLimitCents == nil)
            let events = try await test.store.auditEvents(
                AuditQuery(accountID: owner.account.id, actions: [.limitsChanged]))
            #expect(events.items.count == 2)
            #expect(events.items[1].details["concurrent_requests_limit.old"] == "5")
            #expect(events.items[1].details["concurrent_requests_limit.new"] == "3")
            let invalid = await #expect(throws: StorageError.self) {
                try await test.store.updateAccountLimits(
                    accountID: owner.account.id,
                    AccountLimitsUpdate(alertThreshold: 101),
                    audit: Fixtures.audit()
                )
            }
            #expect(invalid?.code == .invalidArgument)
        }
    }

    @Test("alert rules: list, fire once per cooldown, delete", arguments: StoreBackend.all)
    func alerts(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)
            let rule = AlertRule(
                id: "alr_1",
                accountID: owner.account.id,
                name: "budget",
                metric: .monthlyCostPercent,
                threshold: 80.5,
                webhookIDs: ["whk_1"],
                notifyEmail: true,
                cooldownMs: 60_000,
                createdAt: Fixtures.epoch
            )
            _ = try await store.createAlertRule(rule, audit: Fixtures.audit())
            #expect(try await store.listAlertRules(accountID: owner.account.id, page: PageRequest()).items == [rule])
            #expect(try await store.countAlertRules(accountID: owner.account.id) == 1)
            #expect(try await store.fireAlertRule(id: "alr_1", at: Fixtures.at(0)))
            #expect(try await !store.fireAlertRule(id: "alr_1", at: Fixtures.at(59)))
            #expect(try await store.fireAlertRule(id: "alr_1", at: Fixtures.at(60)))
            let other = try await Fixtures.account(in: store)
            let wrongOwner = await #expect(throws: StorageError.self) {
                try await store.deleteAlertRule(id: "alr_1", accountID: other.account.id, audit: Fixtures.audit())
            }
            #expect(wrongOwner?.code == .notFound)
            try await store.deleteAlertRule(id: "alr_1", accountID: owner.account.id, audit: Fixtures.audit())
            #expect(try await store.countAlertRules(accountID: owner.account.id) == 0)
        }
    }

    @Test("webhooks: secret sealed, deliveries queued once, attempts recorded", arguments: StoreBackend.all)
    func webhooks(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)
            let secret = "whsec_" + String(repeating: "ab", count: 32)
            let webhook = Webhook(
                id: "whk_1",
                accountID: owner.account.id,
                url: "https://hooks.example.com/execbox",
                events: ["session_ended"],
                secretPreview: "whsec_abab",
                createdAt: Fixtures.epoch
            )
            _ = try await store.createWebhook(webhook, signingSecret: secret, audit: Fixtures.audit())
            #expect(try await store.webhookSigningSecret(id: "whk_1") == secret)
            #expect(try await store.webhook(id: "whk_1", accountID: owner.account.id) == webhook)
            let raw = try await store.database.perform(.read) { connection in
                try connection.query("SELECT * FROM webhooks", []).flatMap(\.values).map { value -> String in
                    if case .blob(let bytes) = value { return String(decoding: bytes, as: UTF8.self) }
                    return "\(value)"
                }.joined()
            }
            #expect(!raw.contains(secret))

            let delivery = WebhookDelivery(
                webhookID: "whk_1",
                accountID: owner.account.id,
                event: "session_ended",
                payload: #"{"session":"sess_1"}"#,
                idempotencyKey: "sess_1:ended:whk_1",
                nextAttemptAt: Fixtures.at(0),
                createdAt: Fixtures.at(0)
            )
            let queued = try await store.enqueueDelivery(delivery)
            #expect(try await store.enqueueDelivery(delivery).id == queued.id)
            #expect(try await store.dueDeliveries(now: Fixtures.at(1), limit: 10).map(\.id) == [queued.id])
            let id = try #require(queued.id)
            let retry = try await store.recordDeliveryAttempt(
                id: id,
                DeliveryAttempt(
                    at: Fixtures.at(1), statusCode: 503, error: "unavailable", succeeded: false,
                    retryAt: Fixtures.at(31))
            )
            #expect(retry.state == .pending && retry.attempts == 1 && retry.nextAttemptAt == Fixtures.at(31))
            #expect(try await store.dueDeliveries(now: Fixtures.at(30), limit: 10).isEmpty)
            let done = try await store.recordDeliveryAttempt(
                id: id,
                DeliveryAttempt(at: Fixtures.at(31), statusCode: 200, succeeded: true)
            )
            #expect(done.state == .succeeded && done.attempts == 2)
            let stats = try await store.webhook(id: "whk_1", accountID: owner.account.id)
            #expect(stats?.lastDeliveryStatus == 200 && stats?.consecutiveFailures == 0)
            #expect(stats?.lastDeliveryAt == Fixtures.at(31))
            try await store.deleteWebhook(id: "whk_1", accountID: owner.account.id, audit: Fixtures.audit())
            #expect(try await store.countWebhooks(accountID: owner.account.id) == 0)
        }
    }

    @Test("image cache: save once, count hits, evict unused", arguments: StoreBackend.all)
    func images(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let image = CachedImage(
                hash: "sha256:" + String(repeating: "d", count: 64),
                legacyHash: "ddd87a64371229b3",
                baseImage: "python:3.12",
                imageRef: "execbox/ddd87a64371229b3",
                createdAt: Fixtures.epoch,
                buildDurationMs: 12_000
            )
            #expect(try await store.saveCachedImage(image) == image)
            var other = image
            other.imageRef = "different"
            #expect(try await store.saveCachedImage(other) == image)
            #expect(try await store.cachedImage(hash: image.hash, touchAt: nil)?.hits == 0)
            let hit = try await store.cachedImage(hash: image.hash, touchAt: Fixtures.at(100))
            #expect(hit?.hits == 1 && hit?.lastUsedAt == Fixtures.at(100))
            #expect(try await store.evictCachedImages(lastUsedBefore: Fixtures.at(100)).isEmpty)
            #expect(try await store.evictCachedImages(lastUsedBefore: Fixtures.at(101)).map(\.hash) == [image.hash])
            #expect(try await store.cachedImage(hash: image.hash, touchAt: nil) == nil)
        }
    }

    @Test("quota requests are stored, listed by status and answered", arguments: StoreBackend.all)
    func quotaRequests(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)
            let anonymous = try await store.createQuotaRequest(
                QuotaRequest(email: "lead@example.com", company: "ACME", createdAt: Fixtures.epoch),
                audit: nil
            )
            let keyed = try await store.createQuotaRequest(
                QuotaRequest(
                    email: owner.account.email,
                    useCase: "CI",
                    currentTier: .free,
                    apiKeyID: owner.key.id,
                    accountID: owner.account.id,
                    createdAt: Fixtures.at(1)
                ),
                audit: Fixtures.audit(owner.key.id, at: 1)
            )
            #expect(anonymous.id != nil && keyed.currentTier == .free && keyed.status == .pending)
            let answered = try await store.setQuotaRequestStatus(
                id: try #require(anonymous.id), status: .contacted, at: Fixtures.at(5))
            #expect(answered.status == .contacted && answered.respondedAt == Fixtures.at(5))
            let pending = try await store.listQuotaRequests(status: .pending, page: PageRequest())
            #expect(pending.items.map(\.id) == [keyed.id])
            let audit = try await store.auditEvents(AuditQuery(accountID: owner.account.id, actions: [.quotaRequested]))
            #expect(audit.items.map(\.targetID) == [String(try #require(keyed.id))])
        }
    }

    @Test("audit log pages newest first and filters by time", arguments: StoreBackend.all)
    func audit(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            for index in 0..<5 {
                _ = try await store.appendAuditEvent(
                    AuditEvent(
                        accountID: "acct",
                        action: .webhookCreated,
                        targetType: "webhook",
                        targetID: "whk_\(index)",
                        details: ["n": "\(index)"],
                        context: Fixtures.audit(at: Double(index))
                    )
                )
            }
            let first = try await store.auditEvents(AuditQuery(accountID: "acct", page: PageRequest(limit: 2)))
            #expect(first.items.map(\.targetID) == ["whk_4", "whk_3"])
            let second = try await store.auditEvents(
                AuditQuery(accountID: "acct", page: PageRequest(limit: 2, cursor: first.nextCursor))
            )
            #expect(second.items.map(\.targetID) == ["whk_2", "whk_1"])
            let window = try await store.auditEvents(
                AuditQuery(accountID: "acct", from: Fixtures.at(1), until: Fixtures.at(3)))
            #expect(window.items.map(\.targetID) == ["whk_2", "whk_1"])
            #expect(window.items.first?.details == ["n": "2"] && window.items.first?.sourceIP == "127.0.0.1")
        }
    }

    @Test("idempotency keys: claim, replay, conflict, expiry, purge", arguments: StoreBackend.all)
    func idempotencyKeys(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            func claim(
                _ account: String, _ digest: String, _ resource: String, at seconds: Double, expires: Double = 100
            )
                async throws -> IdempotencyOutcome
            {
                try await store.claimIdempotencyKey(
                    accountID: account,
                    scope: "exec",
                    IdempotencyClaim(key: "k", requestDigest: digest, expiresAt: Fixtures.at(expires)),
                    resourceID: resource,
                    at: Fixtures.at(seconds)
                )
            }
            let first = try await claim("a", "d1", "r1", at: 0)
            let replay = try await claim("a", "d1", "r2", at: 1)
            let otherAccount = try await claim("b", "d1", "r3", at: 1)
            #expect(first == .claimed && replay == .replay(resourceID: "r1") && otherAccount == .claimed)
            let conflict = await #expect(throws: StorageError.self) { try await claim("a", "d2", "r4", at: 2) }
            #expect(conflict?.code == .alreadyExists)
            // Once expired, the key can be claimed for a new request.
            let renewed = try await claim("a", "d2", "r5", at: 100, expires: 300)
            #expect(renewed == .claimed)
            #expect(try await store.purgeIdempotencyKeys(expiredBefore: Fixtures.at(200)) == 1)
        }
    }
}
