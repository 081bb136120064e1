import ArgumentParser
import ExecboxAPI
import ExecboxGateway
import ExecboxWire

/// `execbox sessions get ID`: one session, refreshed from the backend by the server.
struct SessionsGetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Show one session.")

    @OptionGroup var client: ClientOptions
    @Argument(help: "The session's id.") var session: String

    func run() async throws {
        let session = try await APIClient.with(client) { api in
            try await api.sessions.getSession(.with { $0.sessionId = self.session }).session ?? Session()
        }
        if client.json { return StandardStream.output.writeLine(LegacyJSON.session(session).rendered(pretty: true)) }
        var fields = FieldList()
        fields.add("id", session.id)
        fields.add("status", SessionsCommand.statusText(session.status))
        fields.add("image", session.image)
        fields.add("created", SessionsCommand.time(session.createdAt))
        fields.add("started", SessionsCommand.time(session.startedAt))
        fields.add("expires", SessionsCommand.time(session.expiresAt))
        fields.add("ended", SessionsCommand.time(session.endedAt))
        if let exit = session.exit {
            let reason = LegacyJSON.name(exit.reason, prefix: "EXIT_REASON_", unspecified: "unknown")
            fields.add("exit", "\(exit.exitCode) (\(reason))")
        }
        fields.add("message", session.statusMessage)
        if let resources = session.resources {
            fields.add(
                "resources",
                "\(resources.cpuMillicores) millicores, \(resources.memoryMb) MiB, "
                    + "timeout \(resources.timeoutMs / 1000) s")
        }
        fields.add("network", LegacyJSON.name(session.networkMode, prefix: "NETWORK_MODE_", unspecified: "outgoing"))
        for port in session.network?.ports ?? [] {
            fields.add("port \(port.containerPort)", port.url.isEmpty ? "not bound" : port.url)
        }
        if let usage = session.usage {
            fields.add(
                "usage",
                "\(usage.cpuTimeMs) ms CPU, \(usage.memoryPeakMb) MiB peak, $\(usage.costUsd) (\(usage.costCents) ¢)")
        }
        fields.print()
    }
}
