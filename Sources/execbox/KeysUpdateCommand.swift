import ArgumentParser
import ExecboxAPI
import ExecboxWire

/// `execbox keys update ID`: only the settings given change.
struct KeysUpdateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update", abstract: "Change a key's settings; the others keep their values.")

    @OptionGroup var client: ClientOptions
    @Argument(help: "The key's id.") var id: String
    @Option(help: "New display name.") var name: String?
    @Option(help: "New description.") var description: String?
    @Option(help: ArgumentHelp("Replace the tags (repeatable).", valueName: "tag")) var tag: [String] = []
    @Flag(help: "Remove every tag.") var clearTags = false
    @Option(help: ArgumentHelp("New expiry (RFC 3339).", valueName: "time")) var expiresAt: String?
    @Flag(help: "Remove the expiry.") var noExpiry = false
    @Option(help: ArgumentHelp("Sessions per UTC day; 0 removes the limit.", valueName: "n")) var dailyLimit: Int64?
    @Option(help: ArgumentHelp("Sessions at once; 0 removes the limit.", valueName: "n")) var concurrentLimit: Int64?

    func validate() throws {
        if expiresAt != nil && noExpiry { throw ValidationError("--expires-at and --no-expiry exclude each other") }
        if !tag.isEmpty && clearTags { throw ValidationError("--tag and --clear-tags exclude each other") }
    }

    func run() async throws {
        let request = try UpdateAPIKeyRequest.with {
            $0.keyId = id
            $0.name = name
            $0.description = description
            if !tag.isEmpty || clearTags { $0.tags = .with { $0.tags = tag } }
            $0.expiresAt = try KeysCommand.timestamp(expiresAt)
            $0.clearExpiresAt = noExpiry
            $0.customDailyLimit = dailyLimit
            $0.customConcurrentLimit = concurrentLimit
        }
        let key = try await APIClient.with(client) { api in
            try await api.accounts.updateAPIKey(request).apiKey ?? APIKey()
        }
        KeysCommand.print(key, json: client.json)
    }
}
