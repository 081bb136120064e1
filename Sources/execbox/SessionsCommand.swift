import ArgumentParser
import ExecboxAPI
import ExecboxGateway
import ExecboxWellKnownTypes

/// `execbox sessions ls|get|stop|kill|watch`.
struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "List, inspect, stop, kill and watch sessions.",
        discussion: """
            Examples:
              execbox sessions ls --status running
              execbox sessions get sess_0123…
              execbox sessions stop sess_0123… --grace 2
              execbox sessions kill sess_0123…
              execbox sessions watch sess_0123…
            """,
        subcommands: [
            SessionsListCommand.self, SessionsGetCommand.self, SessionsStopCommand.self, SessionsKillCommand.self,
            SessionsWatchCommand.self,
        ]
    )

    static func status(_ text: String) throws -> SessionStatus {
        guard let status = SessionStatus(protoName: "SESSION_STATUS_" + text.uppercased()), status != .unspecified
        else {
            throw ValidationError(
                "unknown status '\(text)': one of pending, building, running, stopping, stopped, failed, killed")
        }
        return status
    }

    /// The status as the text output shows it (STOPPING stays `stopping`).
    static func statusText(_ status: SessionStatus) -> String {
        LegacyJSON.name(status, prefix: "SESSION_STATUS_", unspecified: "unknown")
    }

    static func time(_ timestamp: Google_Protobuf_Timestamp?) -> String? {
        timestamp.map(LegacyJSON.rfc3339)
    }
}

extension SessionsCommand {
    /// Stop and kill print the REST bodies `{"status": "stopped"}` / `{"status": "killed"}`, with the id.
    static func printEnded(_ session: Session, json: Bool) {
        if json {
            let object = JSONValue.object([
                ("id", .string(session.id)), ("status", .string(LegacyJSON.status(session.status))),
            ])
            StandardStream.output.writeLine(object.rendered(pretty: true))
        } else {
            StandardStream.output.writeLine("\(session.id) \(statusText(session.status))")
        }
    }
}
