import ArgumentParser
import ExecboxHTTP2
import Foundation

/// What `serve` runs with: each setting from its flag, else its `EXECBOX_…` variable, else the
/// default; checked before anything is bound.
struct ServeSettings: Sendable {
    static let defaultListen = ListenAddress(host: "127.0.0.1", port: 8080)
    static let defaultDataDirectory = "./execbox-data"
    static let bootstrapKeyFileName = "bootstrap-admin.key"

    var listen: ListenAddress
    var dataDirectory: String
    var bootstrapKeyFile: String
    var tls: TLSConfiguration?
    var reflection: ReflectionMode

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
        dataDirectory = value(command.dataDir, "EXECBOX_DATA_DIR")?.text ?? Self.defaultDataDirectory
        bootstrapKeyFile =
            value(command.bootstrapKeyFile, "EXECBOX_BOOTSTRAP_KEY_FILE")?.text
            ?? URL(fileURLWithPath: dataDirectory).appendingPathComponent(Self.bootstrapKeyFileName).path
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
    }

    /// `EXECBOX_DATA_DIR` → `data-dir`.
    private static func flagName(_ variable: String) -> String {
        variable.dropFirst("EXECBOX_".count).lowercased().replacingOccurrences(of: "_", with: "-")
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

    /// The service layer writes the first admin key there; until then the path is only checked:
    /// its directory must exist, and an existing file must be a regular file only its owner can read.
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
