import ArgumentParser
import ExecboxAPI
import ExecboxWire

/// `execbox keys revoke ID`: prints the key, now inactive (the REST call answers 204 without a body).
struct KeysRevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke", abstract: "Revoke a key for good (it stays listed as inactive).")

    @OptionGroup var client: ClientOptions
    @Argument(help: "The key's id.") var id: String
    @Option(help: "Why, for the audit log.") var reason: String?

    func run() async throws {
        let key = try await APIClient.with(client) { api in
            try await api.accounts.revokeAPIKey(
                .with {
                    $0.keyId = id
                    $0.reason = reason ?? ""
                }
            ).apiKey ?? APIKey()
        }
        KeysCommand.print(key, json: client.json)
    }
}
