import ArgumentParser
import ExecboxAPI
import ExecboxWire

/// `execbox keys rotate ID`: a new secret for the same key id, shown once.
struct KeysRotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate", abstract: "Give a key a new secret; prints it once.")

    @OptionGroup var client: ClientOptions
    @Argument(help: "The key's id.") var id: String
    @Option(help: ArgumentHelp("Seconds the old secret keeps working (default 0).", valueName: "seconds"))
    var grace: Int64?

    func run() async throws {
        let response = try await APIClient.with(client) { api in
            try await api.accounts.rotateAPIKey(
                .with {
                    $0.keyId = id
                    $0.gracePeriodMs = (grace ?? 0) * 1000
                })
        }
        KeysCommand.print(response.apiKey ?? APIKey(), secret: response.secret, json: client.json)
    }
}
