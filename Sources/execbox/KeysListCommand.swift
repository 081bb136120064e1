import ArgumentParser
import ExecboxAPI
import ExecboxGateway
import ExecboxWire

/// `execbox keys ls`: every key of the account, revoked ones included unless --active.
struct KeysListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List the account's keys, oldest first.")

    @OptionGroup var client: ClientOptions
    @Flag(help: "Leave out revoked and expired keys.") var active = false

    func run() async throws {
        let keys = try await APIClient.with(client) { api in
            var keys: [APIKey] = []
            var token = ""
            repeat {
                let page = try await api.accounts.listAPIKeys(
                    .with {
                        $0.activeOnly = active
                        $0.page = .with {
                            $0.pageSize = 1000
                            $0.pageToken = token
                        }
                    })
                keys += page.keys
                token = page.page?.nextPageToken ?? ""
            } while !token.isEmpty
            return keys
        }
        if client.json {
            let object = JSONValue.object([("keys", .array(keys.map { LegacyJSON.apiKey($0) }))])
            return StandardStream.output.writeLine(object.rendered(pretty: true))
        }
        var table = TextTable("ID", "NAME", "PREVIEW", "ROLE", "ACTIVE", "CREATED", "LAST USED")
        for key in keys {
            table.add(
                key.id, key.name, key.keyPreview, key.isPrimary ? "primary" : "secondary", key.isActive ? "yes" : "no",
                key.createdAt.map(LegacyJSON.rfc3339) ?? "", key.lastUsedAt.map(LegacyJSON.rfc3339) ?? "never")
        }
        table.print()
    }
}
