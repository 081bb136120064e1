import ArgumentParser
import ExecboxAPI
import ExecboxGateway
import Foundation

/// `execbox login`: checks an API key against the server and saves both in the config file.
struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Save the server URL and an API key in the config file.",
        discussion: """
            Reads the key from stdin (on a terminal, after a prompt and without echo), checks it \
            with the server, and writes ~/.config/execbox/config.json with mode 0600. \
            EXECBOX_URL and EXECBOX_API_KEY, when set, still win over the file.

            Examples:
              execbox login --url http://127.0.0.1:8080
              execbox login --url https://execbox.example.com < key.txt
              execbox login --url https://execbox.internal:8443 --ca-file ca.pem
            """
    )

    @OptionGroup var client: ClientOptions

    func run() async throws {
        guard let key = Terminal.readSecretLine(prompt: "API key: ")?.trimmingCharacters(in: .whitespacesAndNewlines),
            !key.isEmpty
        else {
            throw CLIError(
                "no API key was given", hint: "type it at the prompt, or pipe it in: execbox login < key.txt")
        }
        let (config, account) = try await APIClient.with(client, apiKey: key) { api in
            (api.config, try await api.accounts.getAccount(GetAccountRequest()))
        }
        let path = ConfigFile.path
        try ConfigFile(url: "\(config.url)", apiKey: key, caFile: config.caFile).save(to: path)
        if client.json {
            StandardStream.output.writeLine(LegacyJSON.account(account).rendered(pretty: true))
        }
        let tier = LegacyJSON.tier(account.account?.tier ?? .unspecified)
        StandardStream.error.writeLine(
            "execbox: logged in to \(config.url) as account \(account.account?.id ?? "?") (tier \(tier)); saved \(path)"
        )
    }
}
