import ExecboxStorage
import ExecboxStoragePostgres
import ExecboxStorageSQL
import ExecboxStorageSQLite
import Foundation
import Testing

/// The stores the contract suite runs against. PostgreSQL runs whenever
/// `EXECBOX_TEST_POSTGRES_URL` is set (scripts/with-postgres sets it), and always under CI,
/// where a missing server fails the test instead of skipping it.
enum StoreBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case sqlite, postgres

    var testDescription: String { rawValue }

    static var postgresURL: String? { ProcessInfo.processInfo.environment["EXECBOX_TEST_POSTGRES_URL"] }

    static var all: [StoreBackend] {
        let required = ProcessInfo.processInfo.environment["CI"].map { !$0.isEmpty } ?? false
        return postgresURL != nil || required ? [.sqlite, .postgres] : [.sqlite]
    }

    static var postgresOnly: [StoreBackend] { all.filter { $0 == .postgres } }

    /// A store over a fresh database: a new SQLite file, or a new PostgreSQL database.
    func makeStore(key: StorageKey = .random(), poolSize: Int = 4) async throws -> TestStore {
        switch self {
        case .sqlite:
            let directory = try TemporaryDirectory()
            let path = directory.path + "/execbox.db"
            return TestStore(
                store: try await SQLStore.sqlite(path: path, key: key), location: path, directory: directory)
        case .postgres:
            let url = try await Blocking.run { try Self.freshPostgresDatabase() }
            return TestStore(
                store: try await SQLStore.postgres(settings: PostgresSettings(url: url, poolSize: poolSize), key: key),
                location: url,
                directory: nil
            )
        }
    }

    /// Reopens the database of `store` (the same file or PostgreSQL database).
    func reopen(_ store: TestStore, key: StorageKey) async throws -> SQLStore {
        switch self {
        case .sqlite: try await SQLStore.sqlite(path: store.location, key: key)
        case .postgres: try await SQLStore.postgres(settings: PostgresSettings(url: store.location), key: key)
        }
    }

    static func freshPostgresDatabase() throws -> String {
        guard let url = postgresURL else {
            throw StorageError(
                code: .configuration,
                message: "EXECBOX_TEST_POSTGRES_URL is not set under CI: run the tests through scripts/with-postgres"
            )
        }
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try Shell.run("psql", ["-q", "-v", "ON_ERROR_STOP=1", url, "-c", "CREATE DATABASE \(name)"])
        guard let slash = url.lastIndex(of: "/") else { throw StorageError(code: .configuration, message: "bad URL") }
        return String(url[..<slash]) + "/" + name
    }
}

/// A store under test and where its data lives.
struct TestStore: Sendable {
    let store: SQLStore
    let location: String
    let directory: TemporaryDirectory?
}

/// A temporary directory, removed when the last copy is gone.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        path =
            FileManager.default.temporaryDirectory.appendingPathComponent("execbox-storage-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs a helper program and fails on a non-zero exit. posix_spawn and waitpid rather than
/// Foundation's Process, whose waitUntilExit can hang once the child has started a daemon
/// (pg_ctl start).
enum Shell {
    @discardableResult
    static func run(_ program: String, _ arguments: [String]) throws -> String {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw StorageError(code: .internal, message: "pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        posix_spawn_file_actions_addclose(&actions, fds[1])
        let argv: [UnsafeMutablePointer<CChar>?] = (["/usr/bin/env", program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/usr/bin/env", &actions, nil, argv, environ)
        close(fds[1])
        guard spawned == 0 else {
            close(fds[0])
            throw StorageError(code: .internal, message: "cannot start \(program)")
        }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fds[0], &buffer, buffer.count)
            if count > 0 {
                output += buffer[..<count]
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        close(fds[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = String(decoding: output, as: UTF8.self)
        guard status == 0 else { throw StorageError(code: .internal, message: "\(program) failed: \(text)") }
        return text
    }
}

extension StoreBackend {
    /// Runs `body` with a fresh store and closes it afterwards, also when `body` throws.
    func withStore<T>(
        key: StorageKey = .random(),
        poolSize: Int = 4,
        _ body: (TestStore) async throws -> T
    ) async throws -> T {
        let store = try await makeStore(key: key, poolSize: poolSize)
        do {
            let result = try await body(store)
            await store.store.close()
            return result
        } catch {
            await store.store.close()
            throw error
        }
    }
}
