import ExecboxStorage
import ExecboxStorageSQL
import ExecboxStorageSQLite
import Foundation
import Testing

/// Drives `execbox-storage-crash-writer`: starts it, lets it acknowledge writes, and collects
/// the `ACK` lines it printed before it died.
struct CrashWriter {
    let databasePath: String
    let key: StorageKey

    struct Run {
        var acknowledged: [(session: String, usage: String)]
        var status: Int32
        var killedBySignal: Bool
        var errorOutput: String
    }

    static func executable() throws -> String {
        if let path = ProcessInfo.processInfo.environment["EXECBOX_CRASH_WRITER"] { return path }
        return try BuiltTool.path("execbox-storage-crash-writer")
    }

    /// Runs the writer for `runFor`, then SIGKILLs it (or lets it die on its own first).
    func run(id: String, wrappedIn prefix: [String] = [], killAfter runFor: Duration?) async throws -> Run {
        let process = Process()
        let arguments = [try Self.executable(), databasePath, key.base64, id]
        process.executableURL = URL(fileURLWithPath: prefix.isEmpty ? arguments[0] : "/usr/bin/env")
        process.arguments = prefix.isEmpty ? Array(arguments.dropFirst()) : prefix + arguments
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        try process.run()
        // Drain both pipes on threads of their own (a blocking read must not occupy the
        // cooperative pool) so that the writer never blocks on a full pipe.
        async let out = Self.readToEnd(output)
        async let err = Self.readToEnd(errors)
        if let runFor {
            let deadline = ContinuousClock.now + runFor
            while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            if process.isRunning {
                // Under strace the writer is strace's child: kill it too, or it runs on detached.
                for child in Self.descendants(of: process.processIdentifier) { kill(child, SIGKILL) }
                kill(process.processIdentifier, SIGKILL)
            }
        }
        let text = String(decoding: await out, as: UTF8.self)
        let errorText = String(decoding: await err, as: UTF8.self)
        process.waitUntilExit()
        // Only complete lines count: a line cut by the kill was never acknowledged.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let acknowledged = lines.compactMap { line -> (String, String)? in
            let parts = line.split(separator: " ")
            guard parts.count == 3, parts[0] == "ACK" else { return nil }
            return (String(parts[1]), String(parts[2]))
        }
        return Run(
            acknowledged: acknowledged,
            status: process.terminationStatus,
            killedBySignal: process.terminationReason == .uncaughtSignal,
            errorOutput: errorText
        )
    }

    /// Child processes, read from /proc, deepest first.
    private static func descendants(of pid: Int32) -> [Int32] {
        let path = "/proc/\(pid)/task/\(pid)/children"
        let children = ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: " ").compactMap {
            Int32($0)
        }
        return children.flatMap { descendants(of: $0) + [$0] }
    }

    private static func readToEnd(_ pipe: Pipe) async -> Data {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: pipe.fileHandleForReading.readDataToEndOfFile()) }.start()
        }
    }

    /// Every acknowledged record is in the database, and the file passes SQLite's own checks.
    func verify(_ acknowledged: [(session: String, usage: String)]) async throws {
        let problems = try SQLiteIntegrity.problems(path: databasePath)
        #expect(problems == [], "integrity_check / foreign_key_check")
        let store = try await SQLStore.sqlite(path: databasePath, key: key)
        do {
            for (sessionID, usageKey) in acknowledged {
                let session = try await store.session(id: sessionID, accountID: nil)
                #expect(session?.status == .stopped, "acknowledged session \(sessionID) is missing or incomplete")
                #expect(try await store.sessionEnvironment(id: sessionID)["TOKEN"]?.hasPrefix("secret-") == true)
                // Recording the usage again must find it already there.
                let recordedAgain = try await store.recordUsage(
                    UsageEvent(
                        idempotencyKey: usageKey,
                        accountID: "crash-account",
                        apiKeyID: "crash-key",
                        occurredAt: Fixtures.epoch,
                        measures: UsageMeasures(executions: 1)
                    )
                )
                #expect(!recordedAgain, "acknowledged usage \(usageKey) is missing")
            }
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}
