import ArgumentParser
import ExecboxService
import ExecboxStorage
import Foundation
import Logging
import Testing

@testable import execbox_server

/// `--database-url`, `--tiers`, `--log-level` and the storage key: parsing, precedence, and errors
/// that never echo a database URL.
@Suite struct StoreSettingsTests {
    func settings(_ arguments: [String], _ environment: [String: String] = [:]) throws -> ServeSettings {
        try ServeSettings(ServeCommand.parse(arguments), environment: environment)
    }

    @Test func databaseLocations() {
        #expect(DatabaseLocation("sqlite:/var/lib/execbox/x.db") == .sqlite(path: "/var/lib/execbox/x.db"))
        #expect(DatabaseLocation("sqlite:///var/x.db") == .sqlite(path: "/var/x.db"))
        #expect(DatabaseLocation("sqlite:rel.db") == .sqlite(path: "rel.db"))
        #expect(DatabaseLocation("postgres://u:p@db/x") == .postgres(url: "postgres://u:p@db/x"))
        #expect(DatabaseLocation("postgresql://db/x") == .postgres(url: "postgresql://db/x"))
        #expect(DatabaseLocation("postgres://u:secret@db/x")?.description == "PostgreSQL")
        for bad in ["", "sqlite:", "mysql://db", "/var/x.db", "sqlite://"] {
            #expect(DatabaseLocation(bad) == nil, "\(bad)")
        }
    }

    @Test func theDefaultDatabaseIsAFileInTheDataDirectory() throws {
        let defaults = try settings([])
        #expect(defaults.store.database == .sqlite(path: URL(fileURLWithPath: "./execbox-data/execbox.db").path))
        let fromVariable = try settings([], ["EXECBOX_DATA_DIR": "/d", "EXECBOX_DATABASE_URL": "postgres://db/x"])
        #expect(fromVariable.store.database == .postgres(url: "postgres://db/x"))
        #expect(fromVariable.store.storageKeyFile == "/d/storage.key")
        let flag = try settings(["--database-url", "sqlite:/tmp/a.db"], ["EXECBOX_DATABASE_URL": "postgres://db/x"])
        #expect(flag.store.database == .sqlite(path: "/tmp/a.db"))
        #expect(try settings([], ["EXECBOX_STORAGE_KEY": "abc"]).store.storageKey == "abc")
    }

    @Test func aBadDatabaseURLIsNotEchoed() throws {
        let error = #expect(throws: ValidationError.self) {
            try settings(["--database-url", "mysql://root:hunter2@db/x"])
        }
        #expect(error?.message.hasPrefix("--database-url") == true)
        #expect(error?.message.contains("hunter2") == false)
        let fromVariable = #expect(throws: ValidationError.self) {
            try settings([], ["EXECBOX_DATABASE_URL": "nonsense"])
        }
        #expect(fromVariable?.message.hasPrefix("EXECBOX_DATABASE_URL") == true)
    }

    @Test func tiersAndLogLevel() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("tiers-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"tiers": {"free": {"daily_sessions": 42}}}"#.utf8).write(to: file)
        let custom = try settings(["--tiers", file.path, "--log-level", "debug"])
        #expect(custom.tiers.policy(for: .free).dailySessions == 42)
        #expect(custom.logLevel == .debug)
        #expect(try settings([]).tiers == .defaults)
        #expect(try settings([], ["EXECBOX_LOG_LEVEL": "error"]).logLevel == .error)
        try Data(#"{"tiers": {"gold": {}}}"#.utf8).write(to: file)
        let bad = #expect(throws: ValidationError.self) { try settings([], ["EXECBOX_TIERS": file.path]) }
        #expect(bad?.message.hasPrefix("EXECBOX_TIERS") == true)
        #expect(bad?.message.contains("gold") == true)
        #expect(throws: ValidationError.self) { try settings(["--log-level", "loud"]) }
    }
}
