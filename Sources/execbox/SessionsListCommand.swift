import ArgumentParser
import ExecboxAPI
import ExecboxGateway
import ExecboxWire

/// `execbox sessions ls`: the account's sessions, newest first, read page by page up to --limit.
struct SessionsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List your sessions, newest first.")

    @OptionGroup var client: ClientOptions

    @Option(help: ArgumentHelp("Only sessions in this state (repeatable).", valueName: "status"))
    var status: [String] = []

    @Option(help: "At most this many sessions.") var limit = 50

    func run() async throws {
        let statuses = try status.map(SessionsCommand.status)
        let sessions = try await APIClient.with(client) { api in
            var sessions: [Session] = []
            var token = ""
            repeat {
                let page = try await api.sessions.listSessions(
                    .with {
                        $0.statuses = statuses
                        $0.page = .with {
                            $0.pageSize = UInt32(min(max(limit - sessions.count, 1), 1000))
                            $0.pageToken = token
                        }
                    })
                sessions += page.sessions
                token = page.page?.nextPageToken ?? ""
            } while !token.isEmpty && sessions.count < limit
            return Array(sessions.prefix(limit))
        }
        if client.json {
            let object = JSONValue.object([("sessions", .array(sessions.map(LegacyJSON.session)))])
            return StandardStream.output.writeLine(object.rendered(pretty: true))
        }
        var table = TextTable("ID", "STATUS", "IMAGE", "CREATED", "EXIT")
        for session in sessions {
            table.add(
                session.id, SessionsCommand.statusText(session.status), session.image,
                SessionsCommand.time(session.createdAt) ?? "", session.exit.map { String($0.exitCode) } ?? "")
        }
        table.print()
    }
}
