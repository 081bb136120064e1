import ArgumentParser
import ExecboxAPI
import ExecboxGateway
import ExecboxRPC
import ExecboxWellKnownTypes
import ExecboxWire

/// `execbox exec SESSION -- CMD…`: a command in a running session, in the foreground (exits
/// with its status) or detached (`-d`, prints its process id for `execbox logs`).
struct ExecCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command in a running session.",
        discussion: """
            With -it on a terminal, yours goes into raw mode: every key reaches the session \
            (Ctrl-C interrupts the command there), window resizes follow, and the terminal is \
            restored when the command ends. Without a terminal, stdin and stdout are plain \
            pipes and Ctrl-C is sent to the command as SIGINT (three times gives up on it).

            Examples:
              execbox exec sess_0123… -it -- sh
              execbox exec sess_0123… -- ls -l /tmp
              tar c src | execbox exec sess_0123… -- tar x -C /workspace
              execbox exec sess_0123… -d -- python3 server.py     # prints the process id
              execbox logs sess_0123… exec-4567…
            """
    )

    @OptionGroup var client: ClientOptions

    @Argument(help: "The session's id.") var session: String

    @Flag(name: .shortAndLong, help: "Start the command in the background, print its process id and return.")
    var detach = false

    @OptionGroup var process: ProcessOptions

    func validate() throws {
        if client.json && process.tty { throw ValidationError("--json cannot be combined with -t") }
        if detach && (process.tty || process.interactive) {
            throw ValidationError("-d cannot be combined with -i or -t")
        }
    }

    func run() async throws {
        let start = process.start(session: session, environment: try process.environment())
        if detach {
            try await runDetached(start)
            return
        }
        let status = try await SignalRelay.trapping { relay in
            try await APIClient.with(client) { api in
                do {
                    let (result, output) = try await ForegroundProcess.run(
                        api, relay: relay, start: start, forwardStdin: process.forwardsStdin, json: client.json)
                    if client.json {
                        let json = ForegroundProcess.json(session: session, result: result, output: output)
                        StandardStream.output.writeLine(json.rendered(pretty: true))
                    }
                    return result.exitCode
                } catch {
                    guard let status = ForegroundProcess.exitStatus(for: error) else { throw error }
                    return status
                }
            }
        }
        if status != 0 { throw ExitCode(status) }
    }

    /// A background exec: the call ends as soon as the process runs, which leaves it running.
    private func runDetached(_ start: ExecStart) async throws {
        var background = start
        background.background = true
        let start = background
        let started = try await APIClient.with(client) { api in
            try await api.processes.exec(
                requests: { writer in
                    try await writer.write(.with { $0.payload = .start(start) })
                    try await writer.write(.with { $0.payload = .closeStdin(Google_Protobuf_Empty()) })
                },
                onResponse: { responses in
                    for try await response in responses {
                        if case .started(let started) = response.payload { return started }
                    }
                    throw CLIError("the server ended the call before the process started")
                }
            )
        }
        if client.json {
            var object = JSONObject()
            object.add("id", session)
            object.add("process_id", started.processId)
            object.add("pid", Int64(started.pid))
            StandardStream.output.writeLine(object.value.rendered(pretty: true))
        } else {
            StandardStream.output.writeLine(started.processId)
        }
    }
}
