import ExecboxStorage
import ExecboxStorageSQL
import ExecboxStorageSQLite
import Foundation
import Testing

/// TESTPLAN 91 and 93: a writer killed at random points, and a writer whose fsyncs fail.
@Suite("Crash safety (SQLite)", .serialized)
struct CrashSafetyTests {
    /// CI-sized by default; scripts/soak sets EXECBOX_CRASH_ITERATIONS higher.
    static let iterations = Int(ProcessInfo.processInfo.environment["EXECBOX_CRASH_ITERATIONS"] ?? "") ?? 10

    @Test("SIGKILL at random points loses no acknowledged write and never corrupts the file")
    func killLoop() async throws {
        let directory = try TemporaryDirectory()
        let writer = CrashWriter(databasePath: directory.path + "/crash.db", key: .random())
        var acknowledged: [(session: String, usage: String)] = []
        var killed = 0
        for iteration in 0..<Self.iterations {
            let run = try await writer.run(
                id: "r\(iteration)",
                killAfter: .milliseconds(Int.random(in: 150...700))
            )
            #expect(run.killedBySignal, "the writer stopped on its own: \(run.errorOutput)")
            if run.killedBySignal { killed += 1 }
            acknowledged += run.acknowledged
            // Each check re-records every usage event (an fsync apiece), so checking everything
            // after every kill grows quadratically: check this round's writes each time, and
            // every write acknowledged so far every 25th round and after the last.
            let checkAll = (iteration + 1) % 25 == 0 || iteration == Self.iterations - 1
            try await writer.verify(checkAll ? acknowledged : run.acknowledged)
        }
        #expect(killed == Self.iterations)
        // The loop must have exercised writes, not just start-ups.
        #expect(acknowledged.count >= Self.iterations)
    }

    @Test("a failed fsync stops the writer instead of acknowledging; nothing acknowledged is lost")
    func fsyncFailure() async throws {
        let directory = try TemporaryDirectory()
        let writer = CrashWriter(databasePath: directory.path + "/fsync.db", key: .random())
        // Let it create the schema and some records first.
        let first = try await writer.run(id: "a", killAfter: .milliseconds(400))
        // Then every fsync/fdatasync after the 20th fails with EIO.
        let failing = try await writer.run(
            id: "b",
            wrappedIn: ["strace", "-f", "-qq", "-o", "/dev/null", "-e", "inject=fsync,fdatasync:error=EIO:when=20+"],
            killAfter: .seconds(20)
        )
        #expect(!failing.killedBySignal && failing.status != 0, "the writer must fail-stop on EIO")
        #expect(failing.errorOutput.contains("io_failure") || failing.errorOutput.contains("I/O"))
        #expect(!failing.acknowledged.isEmpty)
        try await writer.verify(first.acknowledged + failing.acknowledged)
    }
}
