import ArgumentParser
import ExecboxAPI
import ExecboxWire

/// How a command runs: `-i`, `-t`, its environment and working directory, and the command itself
/// after `--`. Shared by `run` and `exec`.
struct ProcessOptions: ParsableArguments {
    @Flag(
        name: .shortAndLong,
        help: "Keep stdin open and send it to the command (also the default when stdin is not a terminal).")
    var interactive = false

    @Flag(name: .shortAndLong, help: "Give the command a terminal; with -i on a terminal, yours goes into raw mode.")
    var tty = false

    @Option(
        name: [.customShort("e"), .long],
        help: ArgumentHelp("Set an environment variable (repeatable).", valueName: "name=value"))
    var env: [String] = []

    @Option(name: [.customShort("w"), .long], help: ArgumentHelp("Working directory (absolute).", valueName: "dir"))
    var workdir: String?

    @Argument(parsing: .postTerminator, help: "The command and its arguments, after `--`.")
    var command: [String] = []

    func validate() throws {
        guard !command.isEmpty else {
            throw ValidationError("give the command after `--`, e.g. -- python3 -c 'print(6*7)'")
        }
        _ = try environment()
    }

    func environment() throws -> [String: String] {
        var environment: [String: String] = [:]
        for entry in env {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else {
                throw ValidationError("--env takes NAME=VALUE, got '\(entry)'")
            }
            environment[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
        return environment
    }

    /// Stdin is sent with -i, or whenever it is not a terminal (a pipe or a file); a terminal
    /// without -i is left alone, so a command that reads stdin sees it closed instead of waiting.
    var forwardsStdin: Bool {
        interactive || !StandardStream.input.isTerminal
    }

    /// The Exec start message for `session`.
    func start(session: String, environment: [String: String]) -> ExecStart {
        ExecStart.with {
            $0.sessionId = session
            $0.argv = command
            $0.env = environment
            $0.workDir = workdir ?? ""
            $0.tty = tty
            if tty, let size = Terminal.size() ?? Terminal.size(StandardStream.input.fd) {
                $0.terminalSize = size
            }
        }
    }
}
