import ExecboxStorage
import ExecboxStoragePostgres
import ExecboxStorageSQL
import Foundation
import Synchronization
import Testing

/// TESTPLAN 96: PostgreSQL restarted and its backends killed under load.
@Suite("PostgreSQL resilience", .serialized)
struct PostgresResilienceTests {
    @Test(
        "restarts and killed backends give retryable errors; retries with the same keys give no duplicates",
        arguments: StoreBackend.postgresOnly
    )
    func restartUnderLoad(backend: StoreBackend) async throws {
        let server = try await Blocking.run { try PrivatePostgres() }
        let store = try await SQLStore.postgres(
            settings: PostgresSettings(url: server.url, poolSize: 4), key: .random())
        let owner = try await Fixtures.account(in: store)
        let retryable = RetryCounter()
        // The chaos is paced by the load, not by the clock, so that it lands while operations
        // are in flight however slow the machine is; the load runs until the chaos is over.
        let chaos = Task {
            for round in 1...3 {
                await retryable.waitForCompleted(40 * round)
                try await Blocking.run { try server.killBackends() }
            }
            await retryable.waitForCompleted(160)
            try await Blocking.run { try server.restart() }
            await retryable.waitForCompleted(retryable.completed + 40)
            retryable.finish()
        }
        let completed = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<6 {
                group.addTask {
                    var done = 0
                    while !retryable.finished {
                        let id = "sess_w\(worker)_\(done)"
                        let claim = IdempotencyClaim(key: id, requestDigest: "d", expiresAt: Fixtures.at(86_400))
                        let created = try await retryable.untilDone {
                            try await store.createSession(
                                Fixtures.session(owner, id: id, at: Double(done)),
                                environment: ["K": "v"],
                                quota: .unlimited,
                                idempotency: claim
                            )
                        }
                        #expect(created.session.id == id)
                        let event = UsageEvent(
                            idempotencyKey: "\(id):end",
                            accountID: owner.account.id,
                            apiKeyID: owner.key.id,
                            sessionID: id,
                            occurredAt: Fixtures.at(Double(done)),
                            measures: UsageMeasures(executions: 1, durationMs: 100)
                        )
                        _ = try await retryable.untilDone { try await store.recordUsage(event) }
                        done += 1
                        retryable.completedOne()
                    }
                    return done
                }
            }
            return try await group.reduce(0, +)
        }
        try await chaos.value
        print("restart under load: \(completed) operations, \(retryable.count) retryable errors, no duplicates")
        #expect(retryable.count > 0, "the chaos should have been noticed")
        #expect(completed > 0)

        let sessions = try await retryable.untilDone {
            try await store.database.perform(.read) { connection in
                var row = try connection.query("SELECT COUNT(*), COUNT(DISTINCT idempotency_key) FROM sessions", [])[0]
                return [try row.int(), try row.int()]
            }
        }
        #expect(sessions == [completed, completed])
        let usage = try await retryable.untilDone {
            try await store.usage(
                UsageQuery(
                    accountID: owner.account.id,
                    granularity: .daily,
                    from: Fixtures.at(-86_400),
                    until: Fixtures.at(86_400)
                )
            )
        }
        #expect(usage.reduce(0) { $0 + $1.measures.executions } == completed)
        await store.close()
    }

    @Test("LISTEN/NOTIFY delivers between connections and survives a restart", arguments: StoreBackend.postgresOnly)
    func listenNotify(backend: StoreBackend) async throws {
        let server = try await Blocking.run { try PrivatePostgres() }
        let listener = PostgresListener(settings: PostgresSettings(url: server.url))
        let sender = PostgresListener(settings: PostgresSettings(url: server.url))
        let events = try await listener.subscribe("session_events")
        var iterator = events.makeAsyncIterator()
        try await sender.notify("session_events", payload: "sess_1:running")
        #expect(await iterator.next() == PostgresNotification(channel: "session_events", payload: "sess_1:running"))

        try await Blocking.run { try server.restart() }
        // The listener reconnects and listens again; keep sending until one arrives.
        let received = try await withThrowingTaskGroup(of: PostgresNotification?.self) { group in
            group.addTask {
                var iterator = events.makeAsyncIterator()
                return await iterator.next()
            }
            group.addTask {
                for attempt in 0..<100 {
                    try? await sender.notify("session_events", payload: "after-restart-\(attempt)")
                    try await Task.sleep(for: .milliseconds(100))
                }
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        #expect(received?.payload.hasPrefix("after-restart-") == true)
        #expect(listener.reconnections >= 1)
        await listener.close()
        await sender.close()
    }
}

/// Counts retryable errors while repeating operations until they succeed, and completed
/// operations, which pace the chaos.
final class RetryCounter: Sendable {
    private let retries = Atomic<Int>(0)
    private let done = Atomic<Int>(0)
    private let over = Atomic<Bool>(false)

    var count: Int { retries.load(ordering: .relaxed) }
    var completed: Int { done.load(ordering: .relaxed) }
    var finished: Bool { over.load(ordering: .relaxed) }

    func completedOne() { done.add(1, ordering: .relaxed) }
    func finish() { over.store(true, ordering: .relaxed) }

    func waitForCompleted(_ target: Int) async {
        while completed < target { try? await Task.sleep(for: .milliseconds(5)) }
    }

    /// Repeats one logical operation until it succeeds; only retryable errors may occur.
    func untilDone<T: Sendable>(_ operation: () async throws -> T) async throws -> T {
        while true {
            do {
                return try await operation()
            } catch let error as StorageError where error.isRetryable {
                retries.add(1, ordering: .relaxed)
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }
}
