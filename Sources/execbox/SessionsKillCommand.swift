import ArgumentParser
import ExecboxAPI
import ExecboxWire

/// `execbox sessions kill ID`: kills and destroys the sandbox; works in every state.
struct SessionsKillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kill", abstract: "Kill a session at once and destroy its sandbox.")

    @OptionGroup var client: ClientOptions
    @Argument(help: "The session's id.") var session: String

    func run() async throws {
        let session = try await APIClient.with(client) { api in
            try await api.sessions.killSession(.with { $0.sessionId = self.session }).session ?? Session()
        }
        SessionsCommand.printEnded(session, json: client.json)
    }
}
