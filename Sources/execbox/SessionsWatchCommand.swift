import ArgumentParser
import ExecboxAPI
import ExecboxGateway
import ExecboxRPC
import ExecboxWire

/// `execbox sessions watch ID`: WatchSession's events, one line each, until the session ends.
struct SessionsWatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print a session's lifecycle events until it ends.",
        discussion: "With --json, one JSON object per line (a snapshot first)."
    )

    @OptionGroup var client: ClientOptions
    @Argument(help: "The session's id.") var session: String

    func run() async throws {
        let json = client.json
        try await APIClient.with(client) { api in
            try await api.sessions.watchSession(.with { $0.sessionId = self.session }) { events in
                for try await event in events {
                    let type = LegacyJSON.name(event.type, prefix: "SESSION_EVENT_TYPE_", unspecified: "unknown")
                    let status = event.session?.status ?? .unspecified
                    if json {
                        var object = JSONObject()
                        object.add("type", type)
                        object.add("sequence", Int64(event.sequence))
                        object.add("occurred_at", ifPresent: LegacyJSON.time(event.occurredAt))
                        object.add("previous_status", LegacyJSON.status(event.previousStatus))
                        object.add("session", event.session.map(LegacyJSON.session) ?? .null)
                        object.add("message", ifNotEmpty: event.message)
                        StandardStream.output.writeLine(object.value.rendered())
                    } else {
                        var line = "\(SessionsCommand.time(event.occurredAt) ?? "-") \(type) "
                        if event.type == .statusChanged {
                            line += "\(SessionsCommand.statusText(event.previousStatus)) → "
                        }
                        line += SessionsCommand.statusText(status)
                        if !event.message.isEmpty { line += " (\(event.message))" }
                        StandardStream.output.writeLine(line)
                    }
                }
            }
        }
    }
}
