import ArgumentParser
import ExecboxAPI
import ExecboxGateway
import ExecboxWellKnownTypes
import ExecboxWire
import Foundation

/// `execbox keys create|ls|get|update|revoke|rotate`: the account's API keys. Secrets are shown
/// once, by create and rotate.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the account's API keys.",
        discussion: """
            Examples:
              execbox keys create --name ci --expires-at 2030-01-31T00:00:00Z
              execbox keys create --name ci --json | jq -r .key
              execbox keys ls
              execbox keys update 5f0c… --daily-limit 20
              execbox keys rotate 5f0c…
              execbox keys revoke 5f0c… --reason "left the team"
            """,
        subcommands: [
            KeysCreateCommand.self, KeysListCommand.self, KeysGetCommand.self, KeysUpdateCommand.self,
            KeysRevokeCommand.self, KeysRotateCommand.self,
        ]
    )

    static func timestamp(_ text: String?) throws -> Google_Protobuf_Timestamp? {
        guard let text else { return nil }
        guard let date = try? Date(text, strategy: .iso8601) else {
            throw ValidationError("expected an RFC 3339 time such as 2030-01-31T00:00:00Z, got '\(text)'")
        }
        return .with { $0.seconds = Int64(date.timeIntervalSince1970) }
    }

    static func print(_ key: APIKey, secret: String? = nil, json: Bool) {
        if json {
            return StandardStream.output.writeLine(LegacyJSON.apiKey(key, secret: secret).rendered(pretty: true))
        }
        var fields = FieldList()
        fields.add("id", key.id)
        fields.add("name", key.name)
        fields.add("description", key.description)
        fields.add("preview", key.keyPreview)
        fields.add("role", key.isPrimary ? "primary" : "secondary")
        fields.add("active", key.isActive ? "yes" : "no (revoked)")
        fields.add("tags", key.tags.joined(separator: ", "))
        fields.add("created", key.createdAt.map(LegacyJSON.rfc3339))
        fields.add("expires", key.expiresAt.map(LegacyJSON.rfc3339))
        fields.add("last used", key.lastUsedAt.map(LegacyJSON.rfc3339))
        fields.add("daily limit", key.customDailyLimit.map { String($0) })
        fields.add("concurrent limit", key.customConcurrentLimit.map { String($0) })
        fields.add("key", secret)
        fields.print()
        if secret != nil {
            StandardStream.error.writeLine("execbox: the key is shown only this once; store it now")
        }
    }
}
