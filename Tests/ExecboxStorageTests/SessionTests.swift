import ExecboxStorage
import ExecboxStorageSQL
import Foundation
import Testing

@Suite("Sessions")
struct SessionTests {
    @Test("a session round-trips; its environment is encrypted at rest", arguments: StoreBackend.all)
    func roundTrip(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)
            let session = Fixtures.session(owner, labels: ["team": "ml", "env": "ci"])
            let created = try await store.createSession(
                session,
                environment: ["API_TOKEN": "hunter2-very-secret"],
                quota: .unlimited,
                idempotency: nil
            )
            #expect(!created.replayed)
            #expect(try await store.session(id: session.id, accountID: owner.account.id) == session)
            #expect(try await store.session(id: session.id, accountID: nil) == session)
            #expect(try await store.session(id: session.id, accountID: "other") == nil)
            #expect(try await store.sessionEnvironment(id: session.id) == ["API_TOKEN": "hunter2-very-secret"])
            let raw = try await store.database.perform(.read) { connection in
                try connection.query("SELECT * FROM sessions", []).flatMap(\.values).map { value -> String in
                    if case .blob(let bytes) = value { return String(decoding: bytes, as: UTF8.self) }
                    return "\(value)"
                }.joined()
            }
            #expect(raw.contains("API_TOKEN"))
            #expect(!raw.contains("hunter2"))
        }
    }

    @Test("another storage key cannot read the environment", arguments: StoreBackend.all)
    func wrongKey(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let owner = try await Fixtures.account(in: test.store)
            let session = Fixtures.session(owner)
            _ = try await test.store.createSession(
                session, environment: ["A": "1"], quota: .unlimited, idempotency: nil)
            let other = try await backend.reopen(test, key: .random())
            let error = await #expect(throws: StorageError.self) { try await other.sessionEnvironment(id: session.id) }
            #expect(error?.code == .dataCorrupted)
            await other.close()
        }
    }

    @Test("a sealed environment copied to another row does not open", arguments: StoreBackend.all)
    func boundToRow(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let owner = try await Fixtures.account(in: test.store)
            let a = Fixtures.session(owner, id: "sess_a")
            let b = Fixtures.session(owner, id: "sess_b")
            _ = try await test.store.createSession(a, environment: ["A": "1"], quota: .unlimited, idempotency: nil)
            _ = try await test.store.createSession(b, environment: ["B": "2"], quota: .unlimited, idempotency: nil)
            try await test.store.database.perform(.write) { connection in
                _ = try connection.query(
                    "UPDATE sessions SET env_sealed = (SELECT env_sealed FROM sessions WHERE id = 'sess_a') WHERE id = 'sess_b'",
                    []
                )
            }
            let error = await #expect(throws: StorageError.self) {
                try await test.store.sessionEnvironment(id: "sess_b")
            }
            #expect(error?.code == .dataCorrupted)
        }
    }

    @Test("list filters by status, labels and key, newest first, in pages", arguments: StoreBackend.all)
    func list(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)
            let other = try await Fixtures.account(in: store)
            var sessions: [SessionRecord] = []
            for index in 0..<7 {
                let session = Fixtures.session(
                    owner,
                    id: "sess_\(index)",
                    at: Double(index / 2),
                    labels: index % 2 == 0 ? ["team": "ml"] : ["team": "web"]
                )
                _ = try await store.createSession(session, environment: [:], quota: .unlimited, idempotency: nil)
                sessions.append(session)
            }
            _ = try await store.createSession(
                Fixtures.session(other), environment: [:], quota: .unlimited, idempotency: nil)
            _ = try await store.updateSession(
                id: "sess_3",
                accountID: owner.account.id,
                allowedFrom: nil,
                SessionChange(status: .running)
            )

            var all: [String] = []
            var cursor: String?
            repeat {
                let page = try await store.listSessions(
                    SessionQuery(accountID: owner.account.id, page: PageRequest(limit: 3, cursor: cursor))
                )
                all += page.items.map(\.id)
                cursor = page.nextCursor
            } while cursor != nil
            // Newest first: created_at descending, then id descending.
            #expect(all == ["sess_6", "sess_5", "sess_4", "sess_3", "sess_2", "sess_1", "sess_0"])

            let ml = try await store.listSessions(SessionQuery(accountID: owner.account.id, labels: ["team": "ml"]))
            #expect(ml.items.map(\.id) == ["sess_6", "sess_4", "sess_2", "sess_0"])
            let running = try await store.listSessions(SessionQuery(accountID: owner.account.id, statuses: [.running]))
            #expect(running.items.map(\.id) == ["sess_3"])
            let both = try await store.listSessions(
                SessionQuery(accountID: owner.account.id, statuses: [.pending], labels: ["team": "web"])
            )
            #expect(both.items.map(\.id) == ["sess_5", "sess_1"])
            let byKey = try await store.listSessions(SessionQuery(accountID: owner.account.id, apiKeyID: "nobody"))
            #expect(byKey.items.isEmpty)
            let badCursor = await #expect(throws: StorageError.self) {
                try await store.listSessions(SessionQuery(accountID: owner.account.id, page: PageRequest(cursor: "x")))
            }
            #expect(badCursor?.code == .invalidArgument)
        }
    }

    @Test("updates apply, transitions are checked, terminal states are sticky", arguments: StoreBackend.all)
    func transitions(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)
            let session = Fixtures.session(owner)
            _ = try await store.createSession(session, environment: [:], quota: .unlimited, idempotency: nil)
            let network = NetworkInfo(
                mode: .exposed,
                host: "127.0.0.1",
                ports: [.init(containerPort: 8080, hostPort: 31_000, url: "http://127.0.0.1:31000")]
            )
            let running = try await store.updateSession(
                id: session.id,
                accountID: owner.account.id,
                allowedFrom: [.pending],
                SessionChange(
                    status: .running,
                    backendID: "ctr-1",
                    nodeID: "node-a",
                    network: network,
                    startedAt: Fixtures.at(1),
                    expiresAt: Fixtures.at(61)
                )
            )
            #expect(running.status == .running && running.backendID == "ctr-1" && running.network == network)
            #expect(running.startedAt == Fixtures.at(1) && running.nodeID == "node-a")
            let wrongState = await #expect(throws: StorageError.self) {
                try await store.updateSession(
                    id: session.id,
                    accountID: owner.account.id,
                    allowedFrom: [.pending],
                    SessionChange(status: .running)
                )
            }
            #expect(wrongState?.code == .failedPrecondition)
            let usage = SessionUsage(durationMs: 10_000, cpuTimeMs: 2_500, memoryPeakMB: 300, costCents: 53)
            let exit = ExitStatus(code: -9, signal: 9, reason: .oomKilled, oomKilled: true)
            let failed = try await store.updateSession(
                id: session.id,
                accountID: nil,
                allowedFrom: SessionStatus.active,
                SessionChange(
                    status: .failed, endedAt: Fixtures.at(11), exit: exit, statusMessage: "out of memory", usage: usage)
            )
            #expect(failed.exit == exit && failed.usage == usage && failed.statusMessage == "out of memory")
            let revive = await #expect(throws: StorageError.self) {
                try await store.updateSession(
                    id: session.id, accountID: nil, allowedFrom: nil, SessionChange(status: .running))
            }
            #expect(revive?.code == .failedPrecondition)
            // Kill of a terminal session is allowed (KillSession is idempotent).
            let killed = try await store.updateSession(
                id: session.id,
                accountID: nil,
                allowedFrom: nil,
                SessionChange(status: .killed)
            )
            #expect(killed.status == .killed && killed.exit == exit)
            let missing = await #expect(throws: StorageError.self) {
                try await store.updateSession(
                    id: "nope", accountID: nil, allowedFrom: nil, SessionChange(status: .killed))
            }
            #expect(missing?.code == .notFound)
            #expect(try await store.activeSessions(page: PageRequest()).items.isEmpty)
        }
    }

    @Test("counts of active and today's sessions", arguments: StoreBackend.all)
    func counts(backend: StoreBackend) async throws {
        try await backend.withStore { test in
            let owner = try await Fixtures.account(in: test.store)
            for index in 0..<3 {
                _ = try await test.store.createSession(
                    Fixtures.session(owner, id: "sess_\(index)", at: Double(index) * 100),
                    environment: [:],
                    quota: .unlimited,
                    idempotency: nil
                )
            }
            _ = try await test.store.updateSession(
                id: "sess_0", accountID: nil, allowedFrom: nil, SessionChange(status: .stopped))
            let counts = try await test.store.sessionCounts(
                accountID: owner.account.id, apiKeyID: nil, since: Fixtures.at(50))
            #expect(counts == SessionCounts(active: 2, createdSince: 2))
            let keyCounts = try await test.store.sessionCounts(
                accountID: owner.account.id,
                apiKeyID: "other",
                since: Fixtures.epoch
            )
            #expect(keyCounts == SessionCounts(active: 0, createdSince: 0))
        }
    }

    @Test(
        "an update with deferred durability is committed at once; only its transaction skips the sync",
        arguments: StoreBackend.all)
    func deferredDurability(backend: StoreBackend) async throws {
        let key = StorageKey.random()
        // One connection: a setting that outlived its transaction would show in the next one.
        try await backend.withStore(key: key, poolSize: 1) { test in
            let store = test.store
            let owner = try await Fixtures.account(in: store)
            /// The database's sync setting inside a transaction of `kind`: SQLite's `synchronous`
            /// (1 NORMAL, 2 FULL) or PostgreSQL's `synchronous_commit`.
            func syncSetting(_ kind: TransactionKind) async throws -> String {
                try await store.database.perform(kind) { connection in
                    let sql =
                        backend == .sqlite ? "PRAGMA synchronous" : "SELECT current_setting('synchronous_commit')"
                    guard var row = try connection.queryFirst(sql, []) else { throw SQLRow.corrupt("no row") }
                    return backend == .sqlite ? String(try row.int()) : try row.string()
                }
            }
            let (deferred, synced) = backend == .sqlite ? ("1", "2") : ("off", "on")
            #expect(try await syncSetting(.write) == synced)
            #expect(try await syncSetting(.writeDeferringSync) == deferred)
            #expect(try await syncSetting(.write) == synced)
            // A failing deferred transaction leaves the next one synced too.
            let failed = await #expect(throws: StorageError.self) {
                try await store.database.perform(.writeDeferringSync) { _ in
                    throw StorageError(code: .failedPrecondition, message: "rolled back")
                }
            }
            #expect(failed?.code == .failedPrecondition)
            #expect(try await syncSetting(.write) == synced)

            let created = try await store.createSession(
                Fixtures.session(owner, id: "sess_deferred"), environment: ["K": "v"], quota: .unlimited,
                idempotency: nil)
            let running = try await store.updateSession(
                id: created.session.id, accountID: nil, allowedFrom: [.pending],
                SessionChange(status: .running, startedAt: Fixtures.at(1)), durability: .deferred)
            #expect(running.status == .running && running.startedAt == Fixtures.at(1))
            #expect(try await store.session(id: "sess_deferred", accountID: nil) == running)
            // Committed, not merely visible to this store: another store on the database sees it.
            let other = try await backend.reopen(test, key: key)
            #expect(try await other.session(id: "sess_deferred", accountID: nil)?.status == .running)
            await other.close()
            // A deferred update that fails its precondition leaves the next write synced.
            let refused = await #expect(throws: StorageError.self) {
                try await store.updateSession(
                    id: "sess_deferred", accountID: nil, allowedFrom: [.pending], SessionChange(status: .running),
                    durability: .deferred)
            }
            #expect(refused?.code == .failedPrecondition)
            #expect(try await syncSetting(.write) == synced)
        }
    }
}
