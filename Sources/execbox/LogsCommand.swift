import ArgumentParser
import ExecboxAPI
import ExecboxGateway
import ExecboxRPC
import ExecboxWire
import Synchronization

/// `execbox logs SESSION PROCESS`: a process's output replayed with Attach from an offset; with
/// `--follow`, then live until it exits.
struct LogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print a process's output (re-attaching from an offset).",
        discussion: """
            Prints the output the server still keeps (the last 4 MiB of each stream) from \
            --from-offset on, stdout to stdout and stderr to stderr. Offsets count the bytes of \
            each stream; after a disconnect, pass the number of bytes you already have. \
            Process ids come from `execbox exec -d` and `execbox ps`.

            Examples:
              execbox logs sess_0123… exec-4567…
              execbox logs sess_0123… exec-4567… --follow
              execbox logs sess_0123… exec-4567… --from-offset 1048576
            """
    )

    @OptionGroup var client: ClientOptions
    @Argument(help: "The session's id.") var session: String
    @Argument(help: "The process's id.") var process: String

    @Option(
        help: ArgumentHelp(
            "Start at this byte of stdout and of stderr; -1 for only new output.", valueName: "offset"))
    var fromOffset: Int64 = 0

    @Flag(name: .shortAndLong, help: "Keep printing new output until the process exits.") var follow = false

    func validate() throws {
        if fromOffset < -1 { throw ValidationError("--from-offset is a byte offset, or -1 for only new output") }
    }

    func run() async throws {
        let output = ProcessOutput(live: !client.json)
        let state = try await APIClient.with(client) { api in try await attach(api, output: output) }
        if client.json {
            var object = JSONObject()
            object.add("id", session)
            object.add("process_id", process)
            object.add("stdout", String(decoding: output.stdout, as: UTF8.self))
            object.add("stderr", String(decoding: output.stderr, as: UTF8.self))
            object.add("stdout_offset", state.stdout)
            object.add("stderr_offset", state.stderr)
            object.add("exitCode", ifPresent: state.exit.map { .int(Int64($0.exitCode)) })
            StandardStream.output.writeLine(object.value.rendered(pretty: true))
        }
    }

    /// The next offset of each stream and, when it arrived, the exit.
    struct Position: Sendable {
        var stdout: Int64 = 0
        var stderr: Int64 = 0
        var exit: ExitStatus?
    }

    private func attach(_ api: APIClient, output: ProcessOutput) async throws -> Position {
        // Without --follow, stop at the bytes produced by now; an exited process's stream ends
        // with its exit anyway.
        var end: (Int64, Int64)?
        if !follow {
            let info = try await api.processes.getProcess(
                .with {
                    $0.sessionId = session
                    $0.processId = process
                }
            ).process
            if let info, info.state != .exited { end = (info.stdoutBytes, info.stderrBytes) }
        }
        let stopAt = end
        let start = AttachStart.with {
            $0.sessionId = session
            $0.processId = process
            $0.stdoutOffset = fromOffset
            $0.stderrOffset = fromOffset
        }
        return try await api.processes.attach(
            requests: { writer in try await writer.write(.with { $0.payload = .start(start) }) },
            onResponse: { responses in
                var position = Position()
                func reachedEnd() -> Bool {
                    guard let end = stopAt else { return false }
                    return position.stdout >= end.0 && position.stderr >= end.1
                }
                for try await response in responses {
                    switch response.payload {
                    case .started(let started):
                        position.stdout = started.stdoutOffset
                        position.stderr = started.stderrOffset
                    case .output(let chunk):
                        do {
                            try output.write(chunk)
                        } catch {
                            return position
                        }
                        let next = chunk.offset + Int64(chunk.data.count)
                        if chunk.stream == .stderr { position.stderr = next } else { position.stdout = next }
                    case .exit(let exit):
                        position.exit = exit
                    case .error(let problem):
                        output.note("warning: \(problem.message)")
                    case nil:
                        break
                    }
                    if position.exit == nil && reachedEnd() { return position }
                }
                return position
            }
        )
    }
}
