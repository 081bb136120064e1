import Foundation

/// The settings a call uses, each from the first place that has it: a flag, the environment
/// (`EXECBOX_URL`, `EXECBOX_API_KEY`, `EXECBOX_CA_FILE`), the config file, the default.
struct ClientConfig: Sendable {
    /// Where the API key came from, so an UNAUTHENTICATED answer can say which key to fix.
    enum KeySource: Sendable, Equatable {
        case environment
        case configFile(String)
        case none
    }

    static let defaultURL = "http://127.0.0.1:8080"

    var url: ServerURL
    var apiKey: String?
    var keySource: KeySource
    var caFile: String?

    static func resolve(
        _ options: ClientOptions,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        configPath: String = ConfigFile.path
    ) throws(CLIError) -> ClientConfig {
        let file = try ConfigFile.load(from: configPath)
        let urlText = options.url ?? nonEmpty(environment["EXECBOX_URL"]) ?? file.url ?? defaultURL
        var apiKey: String?
        var source = KeySource.none
        if let key = nonEmpty(environment["EXECBOX_API_KEY"]) {
            apiKey = key
            source = .environment
        } else if let key = nonEmpty(file.apiKey) {
            apiKey = key
            source = .configFile(configPath)
        }
        return ClientConfig(
            url: try ServerURL(parsing: urlText),
            apiKey: apiKey?.trimmingCharacters(in: .whitespacesAndNewlines),
            keySource: source,
            caFile: options.caFile ?? nonEmpty(environment["EXECBOX_CA_FILE"]) ?? file.caFile
        )
    }

    private static func nonEmpty(_ value: String?) -> String? {
        guard let value, !value.isEmpty else { return nil }
        return value
    }
}
