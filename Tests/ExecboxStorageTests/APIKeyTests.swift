import ExecboxStorage
import ExecboxStorageSQL
import Foundation
import Testing

@Suite("Accounts and API keys")
struct APIKeyTests {
    @Test("an account, its primary key and limits are created together", arguments: StoreBackend.all)
    func createAccount(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)
            #expect(try await store.account(id: owner.account.id) == owner.account)
            let found = try await store.apiKey(secretHash: APIKeyHash(secret: owner.secret), now: Fixtures.epoch)
            #expect(found == owner.key)
            #expect(found?.isPrimary == true)
            #expect(found?.preview.count == 14)
            #expect(try await store.accountLimits(accountID: owner.account.id)?.concurrentRequestsLimit == 5)
            let audit = try await store.auditEvents(AuditQuery(accountID: owner.account.id))
            #expect(audit.items.map(\.action) == [.accountCreated])
            #expect(
                try await store.apiKey(secretHash: APIKeyHash(secret: owner.secret + "x"), now: Fixtures.epoch) == nil)
        }
    }

    @Test("the secret is stored only as its SHA-256", arguments: StoreBackend.all)
    func noSecretInClear(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let owner = try await Fixtures.account(in: test.store)
            let dump = try await test.store.database.perform(.read) { connection in
                try connection.query("SELECT * FROM api_keys", []).flatMap(\.values).map { "\($0)" }.joined()
            }
            #expect(!dump.contains(owner.secret))
            #expect(!dump.contains(String(owner.secret.dropFirst(3))))
        }
    }

    @Test("an email can be made unique per account", arguments: StoreBackend.all)
    func uniqueEmail(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            _ = try await Fixtures.account(in: test.store, email: "Ada@Example.com", uniqueEmail: true)
            let error = await #expect(throws: StorageError.self) {
                try await Fixtures.account(in: test.store, email: "ada@example.com", uniqueEmail: true)
            }
            #expect(error?.code == .alreadyExists)
            // Without the rule (imported duplicates) the same email is accepted.
            _ = try await Fixtures.account(in: test.store, email: "ada@example.com", uniqueEmail: false)
        }
    }

    @Test("secondary keys: list in pages, update with audit details, revoke", arguments: StoreBackend.all)
    func keyLifecycle(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)
            var created: [APIKeyRecord] = []
            for index in 0..<5 {
                let key = APIKeyRecord(
                    id: UUID().uuidString.lowercased(),
                    accountID: owner.account.id,
                    parentKeyID: owner.key.id,
                    secret: APIKeySecret.generate(),
                    name: "ci-\(index)",
                    tags: ["ci", "team:\(index)"],
                    createdAt: Fixtures.at(Double(index + 1)),
                    createdBy: owner.key.id
                )
                created.append(try await store.createAPIKey(key, audit: Fixtures.audit(owner.key.id)))
            }
            var listed: [APIKeyRecord] = []
            var cursor: String?
            repeat {
                let page = try await store.listAPIKeys(
                    accountID: owner.account.id,
                    activeOnly: false,
                    now: Fixtures.epoch,
                    page: PageRequest(limit: 2, cursor: cursor)
                )
                #expect(page.items.count <= 2)
                listed += page.items
                cursor = page.nextCursor
            } while cursor != nil
            #expect(listed == [owner.key] + created)
            #expect(try await store.countActiveAPIKeys(accountID: owner.account.id) == 6)

            let updated = try await store.updateAPIKey(
                id: created[0].id,
                accountID: owner.account.id,
                APIKeyUpdate(name: "renamed", expiresAt: .some(Fixtures.at(3600)), customDailyLimit: .some(7)),
                audit: Fixtures.audit(owner.key.id, at: 10)
            )
            #expect(updated.name == "renamed")
            #expect(updated.customDailyLimit == 7)
            #expect(updated.expiresAt == Fixtures.at(3600))
            #expect(updated.updatedAt == Fixtures.at(10))
            #expect(try await store.apiKey(id: created[0].id, accountID: owner.account.id) == updated)
            let cleared = try await store.updateAPIKey(
                id: created[0].id,
                accountID: owner.account.id,
                APIKeyUpdate(expiresAt: .some(nil), customDailyLimit: .some(nil)),
                audit: Fixtures.audit(owner.key.id, at: 11)
            )
            #expect(cleared.expiresAt == nil && cleared.customDailyLimit == nil && cleared.name == "renamed")

            let primaryError = await #expect(throws: StorageError.self) {
                try await store.revokeAPIKey(
                    id: owner.key.id, accountID: owner.account.id, reason: "", audit: Fixtures.audit())
            }
            #expect(primaryError?.code == .failedPrecondition)
            #expect(primaryError?.message == "cannot delete the primary API key")
            let revoked = try await store.revokeAPIKey(
                id: created[1].id,
                accountID: owner.account.id,
                reason: "leaked",
                audit: Fixtures.audit(owner.key.id, at: 20)
            )
            #expect(!revoked.isActive && revoked.revokeReason == "leaked" && revoked.revokedAt == Fixtures.at(20))
            // Revoking again changes nothing; updating a revoked key is refused.
            #expect(
                try await store.revokeAPIKey(
                    id: created[1].id, accountID: owner.account.id, reason: "x", audit: Fixtures.audit())
                    == revoked
            )
            let updateRevoked = await #expect(throws: StorageError.self) {
                try await store.updateAPIKey(
                    id: created[1].id,
                    accountID: owner.account.id,
                    APIKeyUpdate(name: "y"),
                    audit: Fixtures.audit()
                )
            }
            #expect(updateRevoked?.code == .failedPrecondition)
            let active = try await store.listAPIKeys(
                accountID: owner.account.id,
                activeOnly: true,
                now: Fixtures.epoch,
                page: PageRequest()
            )
            #expect(!active.items.contains { $0.id == created[1].id })

            let events = try await store.auditEvents(
                AuditQuery(accountID: owner.account.id, actions: [.apiKeyUpdated], targetID: created[0].id)
            )
            #expect(events.items.count == 2)
            #expect(events.items.last?.details["name.old"] == "ci-0")
            #expect(events.items.last?.details["name.new"] == "renamed")
            #expect(events.items.first?.details["custom_daily_limit.old"] == "7")
            #expect(events.items.first?.details["custom_daily_limit.new"] == "")
            #expect(events.items.first?.requestID == "req-1")
        }
    }

    @Test("another account's key is not found", arguments: StoreBackend.all)
    func otherAccount(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let alice = try await Fixtures.account(in: test.store)
            let bob = try await Fixtures.account(in: test.store)
            #expect(try await test.store.apiKey(id: alice.key.id, accountID: bob.account.id) == nil)
            let error = await #expect(throws: StorageError.self) {
                try await test.store.updateAPIKey(
                    id: alice.key.id,
                    accountID: bob.account.id,
                    APIKeyUpdate(name: "mine"),
                    audit: Fixtures.audit()
                )
            }
            #expect(error?.code == .notFound)
        }
    }

    @Test("rotation replaces the secret; the old one works only during the grace period", arguments: StoreBackend.all)
    func rotation(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)
            let newSecret = APIKeySecret.generate()
            let rotated = try await store.rotateAPIKey(
                id: owner.key.id,
                accountID: owner.account.id,
                newSecret: newSecret,
                previousValidUntil: Fixtures.at(60),
                audit: Fixtures.audit(at: 0)
            )
            #expect(rotated.id == owner.key.id)
            #expect(rotated.preview == APIKeySecret.preview(of: newSecret))
            let newHash = APIKeyHash(secret: newSecret)
            let oldHash = APIKeyHash(secret: owner.secret)
            #expect(try await store.apiKey(secretHash: newHash, now: Fixtures.at(1))?.id == owner.key.id)
            #expect(try await store.apiKey(secretHash: oldHash, now: Fixtures.at(59))?.id == owner.key.id)
            #expect(try await store.apiKey(secretHash: oldHash, now: Fixtures.at(60)) == nil)
            // Rotating again without grace drops the previous secret at once.
            _ = try await store.rotateAPIKey(
                id: owner.key.id,
                accountID: owner.account.id,
                newSecret: APIKeySecret.generate(),
                previousValidUntil: nil,
                audit: Fixtures.audit(at: 2)
            )
            #expect(try await store.apiKey(secretHash: newHash, now: Fixtures.at(3)) == nil)
            #expect(try await store.apiKey(secretHash: oldHash, now: Fixtures.at(3)) == nil)
        }
    }

    @Test("a key and its account are read together, as the separate reads give them", arguments: StoreBackend.all)
    func keyAndAccount(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)
            let other = try await Fixtures.account(in: store)
            let oldHash = APIKeyHash(secret: owner.secret)
            let found = try await store.apiKeyAndAccount(secretHash: oldHash, now: Fixtures.epoch)
            #expect(found?.key == owner.key && found?.account == owner.account)
            #expect(
                try await store.apiKeyAndAccount(secretHash: APIKeyHash(secret: other.secret), now: Fixtures.epoch)?
                    .account.id == other.account.id)
            #expect(
                try await store.apiKeyAndAccount(
                    secretHash: APIKeyHash(secret: owner.secret + "x"), now: Fixtures.epoch)
                    == nil)
            // Nothing is kept between reads: a tier change shows on the next one.
            let upgraded = try await store.updateTier(
                accountID: owner.account.id, tier: .enterprise, expiresAt: nil, audit: Fixtures.audit(at: 1))
            #expect(try await store.apiKeyAndAccount(secretHash: oldHash, now: Fixtures.at(1))?.account == upgraded)
            // The previous secret during the rotation's grace period, and not after.
            let newSecret = APIKeySecret.generate()
            _ = try await store.rotateAPIKey(
                id: owner.key.id, accountID: owner.account.id, newSecret: newSecret,
                previousValidUntil: Fixtures.at(60), audit: Fixtures.audit(at: 2))
            let newHash = APIKeyHash(secret: newSecret)
            #expect(try await store.apiKeyAndAccount(secretHash: newHash, now: Fixtures.at(3))?.key.id == owner.key.id)
            #expect(try await store.apiKeyAndAccount(secretHash: oldHash, now: Fixtures.at(59))?.key.id == owner.key.id)
            #expect(try await store.apiKeyAndAccount(secretHash: oldHash, now: Fixtures.at(60)) == nil)
            // A revoked key is still found: whether it may authenticate is the caller's check.
            let second = APIKeyRecord(
                id: UUID().uuidString.lowercased(), accountID: other.account.id, parentKeyID: other.key.id,
                secret: APIKeySecret.generate(), createdAt: Fixtures.epoch, createdBy: other.key.id)
            _ = try await store.createAPIKey(second, audit: Fixtures.audit())
            _ = try await store.revokeAPIKey(
                id: second.id, accountID: other.account.id, reason: "", audit: Fixtures.audit(at: 4))
            let revoked = try await store.apiKeyAndAccount(secretHash: second.secretHash, now: Fixtures.at(5))
            #expect(revoked?.key.isActive == false && revoked?.key.canAuthenticate(at: Fixtures.at(5)) == false)
        }
    }

    @Test("last use is written at most once per interval", arguments: StoreBackend.all)
    func touch(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let owner = try await Fixtures.account(in: test.store)
            #expect(try await test.store.touchAPIKey(id: owner.key.id, at: Fixtures.at(0), minimumInterval: 60))
            #expect(try await !test.store.touchAPIKey(id: owner.key.id, at: Fixtures.at(30), minimumInterval: 60))
            #expect(try await test.store.touchAPIKey(id: owner.key.id, at: Fixtures.at(61), minimumInterval: 60))
            let key = try await test.store.apiKey(id: owner.key.id, accountID: owner.account.id)
            #expect(key?.lastUsedAt == Fixtures.at(61))
        }
    }

    @Test("tier changes are audited", arguments: StoreBackend.all)
    func tier(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let owner = try await Fixtures.account(in: test.store)
            let account = try await test.store.updateTier(
                accountID: owner.account.id,
                tier: .starter,
                expiresAt: Fixtures.at(86_400),
                audit: Fixtures.audit(at: 5)
            )
            #expect(account.tier == .starter && account.tierExpiresAt == Fixtures.at(86_400))
            #expect(account.tierUpdatedAt == Fixtures.at(5))
            let events = try await test.store.auditEvents(
                AuditQuery(accountID: owner.account.id, actions: [.tierChanged]))
            #expect(events.items.first?.details == ["tier.old": "free", "tier.new": "starter"])
        }
    }
}
