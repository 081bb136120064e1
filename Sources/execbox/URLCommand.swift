import ArgumentParser
import ExecboxAPI
import ExecboxGateway
import ExecboxWire

/// `execbox url SESSION PORT`: where an exposed port of a session is reached.
struct URLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "url",
        abstract: "Print the URL of a session's exposed port.",
        discussion: """
            The session needs --network exposed and the port declared with --port.

            Examples:
              execbox run --network exposed --port 8000 --keep -- python3 -m http.server 8000 &
              curl "$(execbox url sess_0123… 8000)"
            """
    )

    @OptionGroup var client: ClientOptions
    @Argument(help: "The session's id.") var session: String
    @Argument(help: "The port inside the session.") var port: UInt32

    func run() async throws {
        let response = try await APIClient.with(client) { api in
            try await api.network.getPortURL(
                .with {
                    $0.sessionId = session
                    $0.containerPort = port
                })
        }
        if client.json {
            StandardStream.output.writeLine(LegacyJSON.portURL(response).rendered(pretty: true))
        } else {
            StandardStream.output.writeLine(response.url)
        }
    }
}
