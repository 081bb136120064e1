import ExecboxStorage
import ExecboxStorageSQL
import ExecboxStorageSQLite
import Foundation
import Testing

/// TESTPLAN 94 and 95 for SQLite: a full data disk, and that only SQLite opens the files.
@Suite("SQLite disk behaviour", .serialized)
struct DiskTests {
    @Test(
        "a full disk refuses writes with storageFull, never corrupts, and recovers when space is freed",
        .enabled(if: getuid() == 0, "needs root to mount a small tmpfs"))
    func diskFull() async throws {
        let directory = try TemporaryDirectory()
        try Shell.run("mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", directory.path])
        defer { _ = try? Shell.run("umount", [directory.path]) }
        let path = directory.path + "/execbox.db"
        let key = StorageKey.random()
        let store = try await SQLStore.sqlite(path: path, key: key)
        let owner = try await Fixtures.account(in: store)
        // Fill the disk, then give back 256 KiB for the test to use up.
        let filler = directory.path + "/filler"
        _ = try? Shell.run("dd", ["if=/dev/zero", "of=\(filler)", "bs=64k"])
        let size = try #require(try FileManager.default.attributesOfItem(atPath: filler)[.size] as? Int)
        #expect(truncate(filler, off_t(size - 256 * 1024)) == 0)
        let payload = String(repeating: "x", count: 4_000)
        var written = 0
        var failure: StorageError?
        while failure == nil && written < 10_000 {
            do {
                _ = try await store.createSession(
                    Fixtures.session(owner, id: "sess_\(written)"),
                    environment: ["PAYLOAD": payload],
                    quota: .unlimited,
                    idempotency: nil
                )
                written += 1
            } catch let error as StorageError {
                failure = error
            }
        }
        #expect(failure?.code == .storageFull, "got \(String(describing: failure))")
        #expect(written > 0)
        try FileManager.default.removeItem(atPath: filler)
        // Same store, no reopen: space is back, so writes succeed again.
        _ = try await store.createSession(
            Fixtures.session(owner, id: "sess_after"),
            environment: ["PAYLOAD": payload],
            quota: .unlimited,
            idempotency: nil
        )
        let page = try await store.listSessions(
            SessionQuery(accountID: owner.account.id, page: PageRequest(limit: 1000)))
        #expect(page.items.count == written + 1)
        await store.close()
        #expect(try SQLiteIntegrity.problems(path: path) == [])
    }

    @Test("only SQLite opens the files: the database, its WAL and its shm once per connection or process")
    func lockHygiene() async throws {
        let directory = try TemporaryDirectory()
        let trace = directory.path + "/trace"
        let writer = CrashWriter(databasePath: directory.path + "/hygiene.db", key: .random())
        let run = try await writer.run(
            id: "h",
            wrappedIn: ["strace", "-f", "-qq", "-e", "trace=open,openat,openat2", "-o", trace],
            killAfter: .milliseconds(800)
        )
        #expect(!run.acknowledged.isEmpty)
        let opens = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
            .filter { $0.contains("hygiene.db") && !$0.contains("ENOENT") }
        // The database and its WAL once per connection (the writer's and at most two readers'),
        // the shared memory once per process (SQLite shares it between connections). A helper
        // that read the file itself would add an open of the database file alone.
        let counts = ["hygiene.db\"", "hygiene.db-wal\"", "hygiene.db-shm\""].map { suffix in
            opens.filter { $0.contains(suffix) }.count
        }
        #expect(counts[0] == counts[1] && (1...3).contains(counts[0]) && counts[2] == 1, "opens per file: \(counts)")
    }
}
