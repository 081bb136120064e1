import ArgumentParser
import ExecboxAPI
import ExecboxGateway
import ExecboxWire

/// `execbox ps SESSION`: the processes started through the API, for `execbox logs`.
struct ProcessesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ps",
        abstract: "List a session's processes.",
        discussion: """
            Examples:
              execbox ps sess_0123…
              execbox ps sess_0123… --all --json
            """
    )

    @OptionGroup var client: ClientOptions
    @Argument(help: "The session's id.") var session: String
    @Flag(name: .shortAndLong, help: "Include processes that have exited.") var all = false

    func run() async throws {
        let processes = try await APIClient.with(client) { api in
            try await api.processes.listProcesses(
                .with {
                    $0.sessionId = session
                    $0.includeExited = all
                }
            ).processes
        }
        if client.json {
            let object = JSONValue.object([("processes", .array(processes.map(Self.json)))])
            return StandardStream.output.writeLine(object.rendered(pretty: true))
        }
        var table = TextTable("PROCESS", "PID", "STATE", "EXIT", "STARTED", "COMMAND")
        for process in processes {
            table.add(
                process.processId, String(process.pid), Self.state(process),
                process.exit.map { String($0.exitCode) } ?? "",
                process.startedAt.map(LegacyJSON.rfc3339) ?? "", process.argv.joined(separator: " "))
        }
        table.print()
    }

    static func state(_ process: ProcessInfo) -> String {
        LegacyJSON.name(process.state, prefix: "PROCESS_STATE_", unspecified: "unknown")
    }

    static func json(_ process: ProcessInfo) -> JSONValue {
        var object = JSONObject()
        object.add("process_id", process.processId)
        object.add("pid", Int64(process.pid))
        object.add("argv", .array(process.argv.map { .string($0) }))
        object.add("state", state(process))
        object.add("is_main", process.isMain)
        object.add("tty", process.tty)
        object.add("background", process.background)
        object.add("started_at", ifPresent: LegacyJSON.time(process.startedAt))
        object.add("exitCode", ifPresent: process.exit.map { .int(Int64($0.exitCode)) })
        object.add("stdout_bytes", process.stdoutBytes)
        object.add("stderr_bytes", process.stderrBytes)
        return object.value
    }
}
