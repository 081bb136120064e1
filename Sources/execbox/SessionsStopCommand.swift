import ArgumentParser
import ExecboxAPI
import ExecboxWire

/// `execbox sessions stop ID`: a graceful stop; returns when the session is STOPPED.
struct SessionsStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop", abstract: "Stop a session gracefully (SIGTERM, then SIGKILL after the grace period).")

    @OptionGroup var client: ClientOptions
    @Argument(help: "The session's id.") var session: String
    @Option(help: ArgumentHelp("Seconds between SIGTERM and SIGKILL (default 10).", valueName: "seconds"))
    var grace: Int64?

    func run() async throws {
        let session = try await APIClient.with(client) { api in
            try await api.sessions.stopSession(
                .with {
                    $0.sessionId = self.session
                    $0.gracePeriodMs = (grace ?? 0) * 1000
                }
            ).session ?? Session()
        }
        SessionsCommand.printEnded(session, json: client.json)
    }
}
