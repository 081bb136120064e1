import ArgumentParser
import ExecboxAPI
import ExecboxWire

/// `execbox keys get ID`.
struct KeysGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Show one key.")

    @OptionGroup var client: ClientOptions
    @Argument(help: "The key's id.") var id: String

    func run() async throws {
        let key = try await APIClient.with(client) { api in
            try await api.accounts.getAPIKey(.with { $0.keyId = id }).apiKey ?? APIKey()
        }
        KeysCommand.print(key, json: client.json)
    }
}
