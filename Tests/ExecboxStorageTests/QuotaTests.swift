import ExecboxStorage
import ExecboxStorageSQL
import Foundation
import Testing

@Suite("Quota-safe session creation")
struct QuotaTests {
    @Test("concurrent limit, then daily limit, with the legacy messages", arguments: StoreBackend.all)
    func limits(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)
            let quota = SessionQuota(accountConcurrent: 2, accountDaily: 3)
            for index in 0..<2 {
                _ = try await store.createSession(
                    Fixtures.session(owner, id: "sess_\(index)"),
                    environment: [:],
                    quota: quota,
                    idempotency: nil
                )
            }
            let concurrent = await #expect(throws: StorageError.self) {
                try await store.createSession(
                    Fixtures.session(owner, id: "sess_x"), environment: [:], quota: quota, idempotency: nil)
            }
            #expect(concurrent?.code == .quotaExceeded)
            #expect(concurrent?.message == "concurrent session limit reached (2/2)")
            #expect(concurrent?.quota?.scope == .accountConcurrent)
            _ = try await store.updateSession(
                id: "sess_0", accountID: nil, allowedFrom: nil, SessionChange(status: .stopped))
            _ = try await store.createSession(
                Fixtures.session(owner, id: "sess_2"), environment: [:], quota: quota, idempotency: nil)
            _ = try await store.updateSession(
                id: "sess_1", accountID: nil, allowedFrom: nil, SessionChange(status: .killed))
            let daily = await #expect(throws: StorageError.self) {
                try await store.createSession(
                    Fixtures.session(owner, id: "sess_y"), environment: [:], quota: quota, idempotency: nil)
            }
            #expect(daily?.message == "daily session limit reached (3/3)")
            // The next UTC day starts a new count.
            _ = try await store.createSession(
                Fixtures.session(owner, id: "sess_tomorrow", at: 86_400),
                environment: [:],
                quota: quota,
                idempotency: nil
            )
            #expect(try await store.session(id: "sess_x", accountID: nil) == nil)
        }
    }

    @Test("per-key limits count only that key's sessions", arguments: StoreBackend.all)
    func keyLimits(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)
            let second = APIKeyRecord(
                id: UUID().uuidString.lowercased(),
                accountID: owner.account.id,
                parentKeyID: owner.key.id,
                secret: APIKeySecret.generate(),
                createdAt: Fixtures.epoch,
                createdBy: owner.key.id
            )
            _ = try await store.createAPIKey(second, audit: Fixtures.audit())
            let quota = SessionQuota(accountConcurrent: 10, keyConcurrent: 1)
            _ = try await store.createSession(
                Fixtures.session(owner, id: "sess_a"), environment: [:], quota: quota, idempotency: nil)
            _ = try await store.createSession(
                Fixtures.session(owner, id: "sess_b", keyID: second.id),
                environment: [:],
                quota: quota,
                idempotency: nil
            )
            let error = await #expect(throws: StorageError.self) {
                try await store.createSession(
                    Fixtures.session(owner, id: "sess_c"), environment: [:], quota: quota, idempotency: nil)
            }
            #expect(error?.quota == StorageError.QuotaViolation(scope: .keyConcurrent, current: 1, limit: 1))
        }
    }

    @Test("many concurrent creates never exceed the limit", arguments: StoreBackend.all)
    func concurrentCreates(backend: StoreBackend) async throws {
        let limit = 5
        try await backend.withStore(poolSize: 8) { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        do {
                            _ = try await store.createSession(
                                Fixtures.session(owner, id: "sess_\(index)"),
                                environment: ["N": "\(index)"],
                                quota: SessionQuota(accountConcurrent: limit),
                                idempotency: nil
                            )
                            return true
                        } catch let error as StorageError where error.code == .quotaExceeded {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == limit)
            let counts = try await store.sessionCounts(
                accountID: owner.account.id, apiKeyID: nil, since: Fixtures.epoch)
            #expect(counts.active == limit)
        }
    }

    @Test(
        "stored account and key limits tighten the given ones, read in the insert's transaction",
        arguments: StoreBackend.all)
    func storedLimits(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)  // stored: 5 concurrent, 100 a day
            let second = APIKeyRecord(
                id: UUID().uuidString.lowercased(), accountID: owner.account.id, parentKeyID: owner.key.id,
                secret: APIKeySecret.generate(), customDailyLimit: 2, customConcurrentLimit: 1,
                createdAt: Fixtures.epoch, createdBy: owner.key.id)
            _ = try await store.createAPIKey(second, audit: Fixtures.audit())
            // The tier would allow 10 at once; the account's own limit is 3.
            _ = try await store.updateAccountLimits(
                accountID: owner.account.id, AccountLimitsUpdate(concurrentRequestsLimit: 3), audit: Fixtures.audit())
            let tier = SessionQuota(accountConcurrent: 10, includesStoredLimits: true)
            func create(_ id: String, key: String? = nil, _ quota: SessionQuota = tier) async throws {
                _ = try await store.createSession(
                    Fixtures.session(owner, id: id, keyID: key), environment: [:], quota: quota, idempotency: nil)
            }
            try await create("sess_k1", key: second.id)
            let key = await #expect(throws: StorageError.self) { try await create("sess_k2", key: second.id) }
            #expect(key?.quota == StorageError.QuotaViolation(scope: .keyConcurrent, current: 1, limit: 1))
            try await create("sess_a1")
            try await create("sess_a2")
            let account = await #expect(throws: StorageError.self) { try await create("sess_a3") }
            #expect(account?.quota == StorageError.QuotaViolation(scope: .accountConcurrent, current: 3, limit: 3))
            // Without includesStoredLimits only the given limits count (the old contract).
            try await create("sess_given", SessionQuota(accountConcurrent: 10))
            // A tier limit below the stored one wins.
            let tighter = await #expect(throws: StorageError.self) {
                try await create("sess_t", SessionQuota(accountConcurrent: 2, includesStoredLimits: true))
            }
            #expect(tighter?.quota == StorageError.QuotaViolation(scope: .accountConcurrent, current: 4, limit: 2))
            // A change of the stored limit applies to the next create; -1 means none.
            _ = try await store.updateAccountLimits(
                accountID: owner.account.id, AccountLimitsUpdate(concurrentRequestsLimit: -1), audit: Fixtures.audit())
            try await create("sess_a4", SessionQuota(includesStoredLimits: true))
            // The key's daily limit: its second session today (the first one ended) is its last.
            _ = try await store.updateSession(
                id: "sess_k1", accountID: nil, allowedFrom: nil, SessionChange(status: .stopped))
            try await create("sess_k3", key: second.id)
            _ = try await store.updateSession(
                id: "sess_k3", accountID: nil, allowedFrom: nil, SessionChange(status: .stopped))
            let daily = await #expect(throws: StorageError.self) { try await create("sess_k4", key: second.id) }
            #expect(daily?.quota == StorageError.QuotaViolation(scope: .keyDaily, current: 2, limit: 2))
        }
    }

    @Test("concurrent creates at a stored concurrent limit admit exactly that many", arguments: StoreBackend.all)
    func concurrentCreatesAtAStoredLimit(backend: StoreBackend) async throws {
        let limit = 4
        try await backend.withStore(poolSize: 8) { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)
            _ = try await store.updateAccountLimits(
                accountID: owner.account.id, AccountLimitsUpdate(concurrentRequestsLimit: limit),
                audit: Fixtures.audit())
            let admitted = try await withThrowingTaskGroup(of: Bool.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        do {
                            _ = try await store.createSession(
                                Fixtures.session(owner, id: "sess_\(index)"), environment: [:],
                                quota: SessionQuota(includesStoredLimits: true), idempotency: nil)
                            return true
                        } catch let error as StorageError where error.code == .quotaExceeded {
                            return false
                        }
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(admitted == limit)
            let counts = try await store.sessionCounts(
                accountID: owner.account.id, apiKeyID: nil, since: Fixtures.epoch)
            #expect(counts.active == limit)
        }
    }

    @Test("a retried create with the same idempotency key returns the first session", arguments: StoreBackend.all)
    func idempotentCreate(backend: StoreBackend) async throws {
        try await backend.withStore(poolSize: 8) { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)
            let claim = IdempotencyClaim(key: "retry-1", requestDigest: "digest-a", expiresAt: Fixtures.at(86_400))
            let first = try await store.createSession(
                Fixtures.session(owner, id: "sess_first"),
                environment: [:],
                quota: SessionQuota(accountConcurrent: 1),
                idempotency: claim
            )
            #expect(!first.replayed && first.session.idempotencyKey == "retry-1")
            // The replay is answered even though the concurrent limit is now reached.
            let again = try await store.createSession(
                Fixtures.session(owner, id: "sess_second"),
                environment: [:],
                quota: SessionQuota(accountConcurrent: 1),
                idempotency: claim
            )
            #expect(again.replayed && again.session.id == "sess_first")
            let conflict = await #expect(throws: StorageError.self) {
                try await store.createSession(
                    Fixtures.session(owner, id: "sess_third"),
                    environment: [:],
                    quota: .unlimited,
                    idempotency: IdempotencyClaim(
                        key: "retry-1", requestDigest: "digest-b", expiresAt: Fixtures.at(86_400))
                )
            }
            #expect(conflict?.code == .alreadyExists)

            // Concurrent retries of one request create one session.
            let claim2 = IdempotencyClaim(key: "retry-2", requestDigest: "d", expiresAt: Fixtures.at(86_400))
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        try await store.createSession(
                            Fixtures.session(owner, id: "sess_race_\(index)"),
                            environment: [:],
                            quota: .unlimited,
                            idempotency: claim2
                        ).session.id
                    }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
            let all = try await store.listSessions(
                SessionQuery(accountID: owner.account.id, page: PageRequest(limit: 100)))
            #expect(all.items.filter { $0.id.hasPrefix("sess_race_") }.count == 1)
        }
    }
}
