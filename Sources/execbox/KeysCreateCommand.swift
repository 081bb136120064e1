import ArgumentParser
import ExecboxAPI
import ExecboxWire

/// `execbox keys create`: a secondary key; the only time its secret is shown.
struct KeysCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a key; prints its secret once.")

    @OptionGroup var client: ClientOptions
    @Option(help: "Display name, 1..100 bytes.") var name: String
    @Option(help: "Free text, up to 500 bytes.") var description: String?
    @Option(help: ArgumentHelp("A tag (repeatable).", valueName: "tag")) var tag: [String] = []
    @Option(help: ArgumentHelp("When it stops working (RFC 3339).", valueName: "time")) var expiresAt: String?
    @Option(help: ArgumentHelp("Sessions it may create per UTC day.", valueName: "n")) var dailyLimit: Int64?
    @Option(help: ArgumentHelp("Sessions it may have at once.", valueName: "n")) var concurrentLimit: Int64?

    func run() async throws {
        let request = try CreateAPIKeyRequest.with {
            $0.name = name
            $0.description = description ?? ""
            $0.tags = tag
            $0.expiresAt = try KeysCommand.timestamp(expiresAt)
            $0.customDailyLimit = dailyLimit
            $0.customConcurrentLimit = concurrentLimit
        }
        let response = try await APIClient.with(client) { api in try await api.accounts.createAPIKey(request) }
        KeysCommand.print(response.apiKey ?? APIKey(), secret: response.secret, json: client.json)
    }
}
