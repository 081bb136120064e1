// The storage benchmark driver behind scripts/bench-storage: concurrent clients run
// create-session + get + list cycles through the real SQLStore against SQLite or PostgreSQL,
// and one RESULT line reports throughput and per-operation p99 latency.
//
//   execbox-storage-bench sqlite <path> <cycles> <clients>
//   execbox-storage-bench postgres <url> <cycles> <clients>
import ExecboxStorage
import ExecboxStoragePostgres
import ExecboxStorageSQL
import ExecboxStorageSQLite
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 5, let cycles = Int(arguments[3]), let clients = Int(arguments[4]) else {
    FileHandle.standardError.write(Data("usage: execbox-storage-bench sqlite|postgres LOCATION CYCLES CLIENTS\n".utf8))
    exit(2)
}

let store: SQLStore
switch arguments[1] {
case "sqlite": store = try await SQLStore.sqlite(path: arguments[2], key: .random())
case "postgres":
    store = try await SQLStore.postgres(
        settings: PostgresSettings(url: arguments[2], poolSize: clients), key: .random())
default: exit(2)
}

let now = Date(timeIntervalSince1970: 1_800_000_000)
let accountID = UUID().uuidString.lowercased()
let keyID = UUID().uuidString.lowercased()
_ = try await store.createAccount(
    Account(id: accountID, email: "bench@example.com", tier: .enterprise, createdAt: now, primaryKeyID: keyID),
    primaryKey: APIKeyRecord(
        id: keyID,
        accountID: accountID,
        parentKeyID: nil,
        secret: APIKeySecret.generate(),
        createdAt: now,
        createdBy: "bench"
    ),
    limits: AccountLimits(accountID: accountID, updatedAt: now),
    waitlist: nil,
    uniqueEmail: false,
    audit: AuditContext(performedBy: "bench", at: now)
)

/// Latencies in microseconds of one client's creates, gets and lists.
struct Samples: Sendable {
    var create: [Double] = []
    var get: [Double] = []
    var list: [Double] = []
}

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

let clock = ContinuousClock()
let started = clock.now
let samples = try await withThrowingTaskGroup(of: Samples.self) { group in
    for client in 0..<clients {
        group.addTask {
            var samples = Samples()
            for cycle in stride(from: client, to: cycles, by: clients) {
                let id = "sess_bench_\(cycle)"
                let session = SessionRecord(
                    id: id,
                    accountID: accountID,
                    apiKeyID: keyID,
                    spec: SessionSpec(
                        image: "python:3.12", command: ["python", "-c", "print(1)"], envKeys: ["TOKEN"],
                        labels: ["client": "\(client)"]),
                    backend: "runc",
                    createdAt: now.addingTimeInterval(Double(cycle) / 1000)
                )
                var start = clock.now
                _ = try await store.createSession(
                    session,
                    environment: ["TOKEN": "secret"],
                    quota: SessionQuota(accountConcurrent: 1_000_000, accountDaily: 1_000_000),
                    idempotency: nil
                )
                samples.create.append(microseconds(clock.now - start))
                start = clock.now
                guard try await store.session(id: id, accountID: accountID) != nil else { fatalError("lost \(id)") }
                samples.get.append(microseconds(clock.now - start))
                start = clock.now
                _ = try await store.listSessions(SessionQuery(accountID: accountID, page: PageRequest(limit: 20)))
                samples.list.append(microseconds(clock.now - start))
            }
            return samples
        }
    }
    var all = Samples()
    for try await part in group {
        all.create += part.create
        all.get += part.get
        all.list += part.list
    }
    return all
}
let elapsed = microseconds(clock.now - started) / 1e6
await store.close()

func p99(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty
        ? 0 : sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.99).rounded(.up)) - 1)] / 1000
}

print(
    String(
        format: "RESULT cycles_per_s=%.1f create_p99_ms=%.3f get_p99_ms=%.3f list_p99_ms=%.3f",
        Double(cycles) / elapsed,
        p99(samples.create),
        p99(samples.get),
        p99(samples.list)
    )
)
