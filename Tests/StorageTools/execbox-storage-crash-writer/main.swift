// Writes records to a SQLite store in a loop and prints `ACK <session id> <usage key>` after each
// one is committed, until it is killed. The crash-loop test (TESTPLAN 91) SIGKILLs it at random
// points and then checks that every acknowledged record is present and the file is sound.
//
//   execbox-storage-crash-writer <database path> <storage key, base64> <run id>
import ExecboxStorage
import ExecboxStorageSQL
import ExecboxStorageSQLite
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 4 else {
    FileHandle.standardError.write(Data("usage: execbox-storage-crash-writer DB KEY RUN\n".utf8))
    exit(2)
}
let (path, run) = (arguments[1], arguments[3])

/// A failed write ends the process with a message and status 1, never with a crash report.
func orExit<T>(_ body: () async throws -> T) async -> T {
    do {
        return try await body()
    } catch {
        FileHandle.standardError.write(Data("crash-writer: \(error)\n".utf8))
        exit(1)
    }
}

func writeUntilKilled() async throws {
    let store = try await SQLStore.sqlite(path: path, key: try StorageKey(base64: arguments[2]))
    let accountID = "crash-account"
    let keyID = "crash-key"
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let audit = AuditContext(performedBy: "system: crash test", at: now)

    if try await store.account(id: accountID) == nil {
        let key = APIKeyRecord(
            id: keyID, accountID: accountID, parentKeyID: nil, secret: "sk_crash", createdAt: now, createdBy: "test")
        _ = try await store.createAccount(
            Account(id: accountID, email: "crash@example.com", tier: .pro, createdAt: now, primaryKeyID: keyID),
            primaryKey: key,
            limits: AccountLimits(accountID: accountID, updatedAt: now),
            waitlist: nil,
            uniqueEmail: false,
            audit: audit
        )
    }

    var sequence = 0
    while true {
        sequence += 1
        let id = "sess_\(run)_\(sequence)"
        let created = now.addingTimeInterval(Double(sequence))
        _ = try await store.createSession(
            SessionRecord(
                id: id, accountID: accountID, apiKeyID: keyID,
                spec: SessionSpec(image: "alpine:3.19", envKeys: ["TOKEN"]),
                createdAt: created),
            environment: ["TOKEN": "secret-\(sequence)"],
            quota: .unlimited,
            idempotency: nil
        )
        _ = try await store.updateSession(
            id: id,
            accountID: accountID,
            allowedFrom: [.pending],
            SessionChange(status: .stopped, endedAt: created, exit: ExitStatus(code: 0, reason: .exited))
        )
        let usageKey = "usage_\(run)_\(sequence)"
        _ = try await store.recordUsage(
            UsageEvent(
                idempotencyKey: usageKey,
                accountID: accountID,
                apiKeyID: keyID,
                sessionID: id,
                occurredAt: created,
                measures: UsageMeasures(executions: 1, durationMs: 1000)
            )
        )
        // Acknowledged only after all three writes returned (each committed with synchronous=FULL).
        FileHandle.standardOutput.write(Data("ACK \(id) \(usageKey)\n".utf8))
    }
}

await orExit { try await writeUntilKilled() }
