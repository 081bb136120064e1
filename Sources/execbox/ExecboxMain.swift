import ArgumentParser
import ExecboxRPC

#if canImport(Glibc)
    import Glibc
#endif

/// Parses the command line, runs the command and turns every failure into one message on stderr
/// and an exit status: 1 for failed calls and CLI errors, 2 for usage errors, a process's own
/// status for `run` and `exec`.
@main
enum ExecboxMain {
    static func main() async {
        // A closed stdout is an EPIPE from write(2), handled where output is written.
        signal(SIGPIPE, SIG_IGN)
        let status: Int32
        do {
            var command = try ExecboxCommand.parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            status = 0
        } catch {
            status = report(error)
        }
        exit(status)
    }

    static func report(_ error: any Error) -> Int32 {
        switch error {
        case let error as CLIError:
            error.print()
            return error.exitCode
        case let error as RPCError:
            let error = CLIError(rpc: error, config: nil)
            error.print()
            return error.exitCode
        case let code as ExitCode:
            return code.rawValue
        case is CancellationError:
            return 130
        default:
            let code = ExecboxCommand.exitCode(for: error)
            let message = ExecboxCommand.fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { StandardStream.output.writeLine(message) }
                return 0
            }
            if !message.isEmpty { StandardStream.error.writeLine(message) }
            return code == .validationFailure ? 2 : code.rawValue
        }
    }
}
