import ArgumentParser
import ExecboxHTTP2
import ExecboxSandboxRunc
import ExecboxService
import Foundation
import Logging

/// What `serve` runs with: each setting from its flag, else its `EXECBOX_…` variable, else the
/// default; checked before anything is bound.
struct ServeSettings: Sendable {
    static let defaultListen = ListenAddress(host: "127.0.0.1", port: 8080)
    static let defaultDataDirectory = StoreSettings.defaultDataDirectory
    static let bootstrapKeyFileName = "bootstrap-admin.key"

    var listen: ListenAddress
    var store: StoreSettings
    var bootstrapKeyFile: String
    var tls: TLSConfiguration?
    var reflection: ReflectionMode
    var tiers: TierTable
    var logLevel: Logger.Level
    var backend: BackendSettings
    /// Origins allowed by the REST gateway's CORS (`*` for any); empty: off.
    var corsOrigins: [String]

    var dataDirectory: String { store.dataDirectory }
    var reflectionEnabled: Bool { reflection.isEnabled(listeningOn: listen) }

    init(_ command: ServeCommand, environment: [String: String]) throws {
        func value(_ flag: String?, _ variable: String) -> (text: String, source: String)? {
            if let flag { return (flag, "--" + Self.flagName(variable)) }
            if let text = environment[variable], !text.isEmpty { return (text, variable) }
            return nil
        }
        if let (text, source) = value(command.listen, "EXECBOX_LISTEN") {
            guard let address = ListenAddress(text) else {
                throw ValidationError("\(source): expected HOST:PORT or [IPv6]:PORT (port 0-65535), got '\(text)'")
            }
            listen = address
        } else {
            listen = Self.defaultListen
        }
        store = try StoreSettings(command.store, environment: environment)
        bootstrapKeyFile =
            value(command.bootstrapKeyFile, "EXECBOX_BOOTSTRAP_KEY_FILE")?.text
            ?? URL(fileURLWithPath: store.dataDirectory).appendingPathComponent(Self.bootstrapKeyFileName).path
        switch (value(command.tlsCert, "EXECBOX_TLS_CERT"), value(command.tlsKey, "EXECBOX_TLS_KEY")) {
        case (nil, nil):
            tls = nil
        case (let cert?, let key?):
            tls = .server(certificateChainFile: cert.text, privateKeyFile: key.text)
        case (let one?, nil), (nil, let one?):
            throw ValidationError("\(one.source) needs its pair: TLS takes both --tls-cert and --tls-key")
        }
        if let (text, source) = value(command.reflection?.rawValue, "EXECBOX_REFLECTION") {
            guard let mode = ReflectionMode(rawValue: text) else {
                throw ValidationError("\(source): expected auto, on or off, got '\(text)'")
            }
            reflection = mode
        } else {
            reflection = .auto
        }
        if let (path, source) = value(command.tiers, "EXECBOX_TIERS") {
            do {
                tiers = try TierTable(json: Data(contentsOf: URL(fileURLWithPath: path)))
            } catch {
                throw ValidationError("\(source): cannot use the tier table \(path): \(error)")
            }
        } else {
            tiers = .defaults
        }
        let kind: BackendSettings.Kind
        if let (text, source) = value(command.backend, "EXECBOX_BACKEND") {
            guard let parsed = BackendSettings.Kind(rawValue: text) else {
                throw ValidationError("\(source): expected runc or none, got '\(text)'")
            }
            kind = parsed
        } else {
            kind = .runc
        }
        var prices = PriceTable.defaults
        if let (path, source) = value(command.prices, "EXECBOX_PRICES") {
            do {
                prices = try JSONDecoder().decode(PriceTable.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
                    .validate()
            } catch {
                throw ValidationError("\(source): cannot use the price table \(path): \(error)")
            }
        }
        var maxUploadBytes = 100 << 20
        if let (text, source) = value(command.maxUploadBytes, "EXECBOX_MAX_UPLOAD_BYTES") {
            guard let bytes = Int(text), bytes > 0 else {
                throw ValidationError("\(source): expected a positive number of bytes, got '\(text)'")
            }
            maxUploadBytes = bytes
        }
        corsOrigins =
            value(command.corsOrigins, "EXECBOX_CORS_ORIGINS")?.text.split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } ?? []
        var runtime = RuncBackendConfiguration.Runtime.runc
        if let (text, source) = value(command.runtime, "EXECBOX_RUNTIME") {
            guard let parsed = RuncBackendConfiguration.Runtime(rawValue: text) else {
                throw ValidationError("\(source): expected runc or runsc, got '\(text)'")
            }
            runtime = parsed
        }
        let namespace = value(command.sandboxNamespace, "EXECBOX_SANDBOX_NAMESPACE")
        do {
            backend = try BackendSettings(
                kind: kind, namespace: namespace?.text ?? BackendSettings.defaultNamespace, runtime: runtime,
                prices: prices, maxUploadBytes: maxUploadBytes)
        } catch let error as ValidationError {
            throw ValidationError("\(namespace?.source ?? "--sandbox-namespace"): \(error.message)")
        }
        if let (text, source) = value(command.pool, "EXECBOX_POOL") {
            do {
                backend.poolSizes = try BackendSettings.poolSizes(text)
            } catch let error as ValidationError {
                throw ValidationError("\(source): \(error.message)")
            }
            if !backend.poolSizes.isEmpty, runtime != .runc {
                throw ValidationError("\(source): only the runc runtime keeps a pool")
            }
        }
        backend.imageStore = value(command.store.imageStore, "EXECBOX_IMAGE_STORE").map {
            URL(fileURLWithPath: $0.text).standardizedFileURL.path
        }
        if let (text, source) = value(command.logLevel, "EXECBOX_LOG_LEVEL") {
            guard let level = Logger.Level(rawValue: text) else {
                let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError("\(source): expected one of \(levels), got '\(text)'")
            }
            logLevel = level
        } else {
            logLevel = .info
        }
    }

    /// The environment over the config file's `EXECBOX_…=value` lines (blank lines and `#` comments
    /// allowed): a variable that is set wins over the file.
    static func environment(_ environment: [String: String], configFile flag: String?) throws -> [String: String] {
        guard let path = flag ?? environment["EXECBOX_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            return environment
        }
        let text: String
        do {
            text = try String(contentsOf: URL(fileURLWithPath: path), encoding: .utf8)
        } catch {
            throw ValidationError("config file \(path) cannot be read: \(error.localizedDescription)")
        }
        var merged = environment
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let equals = trimmed.firstIndex(of: "="), trimmed.hasPrefix("EXECBOX_") else {
                throw ValidationError("config file \(path):\(number + 1): expected EXECBOX_NAME=value")
            }
            let name = String(trimmed[..<equals]).trimmingCharacters(in: .whitespaces)
            let value = String(trimmed[trimmed.index(after: equals)...]).trimmingCharacters(in: .whitespaces)
            if merged[name]?.isEmpty ?? true { merged[name] = value }
        }
        return merged
    }

    /// `EXECBOX_DATA_DIR` → `data-dir`.
    private static func flagName(_ variable: String) -> String {
        variable.dropFirst("EXECBOX_".count).lowercased().replacingOccurrences(of: "_", with: "-")
    }

    /// Creates the data directory (mode 0700) if it is missing; refuses a file in its place.
    func prepareDataDirectory() throws {
        try store.prepareDataDirectory()
    }

    /// The first start writes the admin key there: its directory must exist, and an existing file
    /// must be a regular file only its owner can read.
    func checkBootstrapKeyFile() throws {
        let url = URL(fileURLWithPath: bootstrapKeyFile)
        var isDirectory: ObjCBool = false
        let parent = url.deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("bootstrap key file \(bootstrapKeyFile): directory \(parent) does not exist")
        }
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { return }
        guard !isDirectory.boolValue else {
            throw ValidationError("bootstrap key file \(bootstrapKeyFile) is a directory")
        }
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue ?? 0
        guard mode & 0o077 == 0 else {
            throw ValidationError(
                "bootstrap key file \(bootstrapKeyFile) is readable by others (mode \(String(mode, radix: 8)));"
                    + " chmod 600 it")
        }
    }
}
