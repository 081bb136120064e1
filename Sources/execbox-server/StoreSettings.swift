import ArgumentParser
import ExecboxStorage
import ExecboxStoragePostgres
import ExecboxStorageSQL
import ExecboxStorageSQLite
import Foundation

/// The data directory, the database and the storage key, resolved from flags, then `EXECBOX_…`
/// variables, then defaults.
struct StoreSettings: Sendable {
    static let defaultDataDirectory = "./execbox-data"
    static let storageKeyFileName = "storage.key"

    var dataDirectory: String
    var database: DatabaseLocation
    /// Base64 storage key from `EXECBOX_STORAGE_KEY`; nil: the key file in the data directory.
    var storageKey: String?

    init(_ options: StoreOptions, environment: [String: String]) throws {
        func value(_ flag: String?, _ variable: String, _ name: String) -> (text: String, source: String)? {
            if let flag { return (flag, "--" + name) }
            if let text = environment[variable], !text.isEmpty { return (text, variable) }
            return nil
        }
        dataDirectory = value(options.dataDir, "EXECBOX_DATA_DIR", "data-dir")?.text ?? Self.defaultDataDirectory
        if let (text, source) = value(options.databaseURL, "EXECBOX_DATABASE_URL", "database-url") {
            guard let location = DatabaseLocation(text) else {
                // Never echo the value: it may be a URL with a password in it.
                throw ValidationError("\(source): expected sqlite:PATH or a postgres:// URL")
            }
            database = location
        } else {
            database = .sqlite(
                path: URL(fileURLWithPath: dataDirectory).appendingPathComponent(DatabaseLocation.defaultFileName).path)
        }
        storageKey = environment["EXECBOX_STORAGE_KEY"].flatMap { $0.isEmpty ? nil : $0 }
    }

    var storageKeyFile: String {
        URL(fileURLWithPath: dataDirectory).appendingPathComponent(Self.storageKeyFileName).path
    }

    /// Creates the data directory (mode 0700) if it is missing; refuses a file in its place.
    func prepareDataDirectory() throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: dataDirectory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw ValidationError("data directory \(dataDirectory) exists and is not a directory")
            }
            return
        }
        try FileManager.default.createDirectory(
            atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    /// Opens (and migrates) the store.
    func openStore() async throws -> SQLStore {
        let key = try storageKey.map { try StorageKey(base64: $0) } ?? StorageKey.loadOrCreate(at: storageKeyFile)
        switch database {
        case .sqlite(let path): return try await SQLStore.sqlite(path: path, key: key)
        case .postgres(let url): return try await SQLStore.postgres(settings: PostgresSettings(url: url), key: key)
        }
    }
}
