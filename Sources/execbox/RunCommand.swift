import ArgumentParser
import ExecboxAPI
import ExecboxGateway
import ExecboxRPC
import ExecboxWire
import Foundation

/// `execbox run`: a new session, files uploaded, one command run in it with the caller's stdin
/// and terminal, the session killed afterwards (unless --keep); exits with the command's status.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a command in a new session.",
        discussion: """
            Creates a session, uploads the --upload files, runs the command with your stdin \
            (a pipe or file is sent as is; a terminal only with -i), streams its stdout and \
            stderr to yours as they arrive, kills the session, and exits with the command's \
            status (128+N when signal N ended it). Everything execbox itself says goes to stderr.

            Examples:
              execbox run -- python3 -c 'print(6*7)'
              echo hi | execbox run -- cat
              execbox run -it -- sh
              execbox run --upload main.py:/workspace/ -e MODE=1 -- python3 /workspace/main.py
              execbox run --memory 1024 --cpu 2000 --timeout 120 --network none -- ls
              execbox run --network exposed --port 8000 --keep -- python3 -m http.server
              execbox run --json -- sh -c 'echo out; echo err >&2; exit 3'
            """
    )

    @OptionGroup var client: ClientOptions

    @Option(help: "Image to run.") var image = "default"

    @Option(help: ArgumentHelp("Memory limit in MiB.", valueName: "mb")) var memory: UInt32?

    @Option(help: ArgumentHelp("CPU limit in millicores (1000 = one core).", valueName: "millicores"))
    var cpu: UInt32?

    @Option(help: ArgumentHelp("Lifetime of the session in seconds.", valueName: "seconds")) var timeout: Int64?

    @Option(help: "Network: none, outgoing or exposed.") var network: NetworkChoice?

    @Option(
        name: .customLong("port"),
        help: ArgumentHelp(
            "A port to expose with --network exposed (repeatable); see `execbox url`.", valueName: "port"))
    var ports: [UInt32] = []

    @Option(
        help: ArgumentHelp("Upload a file before running (repeatable).", valueName: "local:/path"))
    var upload: [String] = []

    @Flag(help: "Keep the session afterwards (its id is printed on stderr).") var keep = false

    @OptionGroup var process: ProcessOptions

    func validate() throws {
        if client.json && process.tty { throw ValidationError("--json cannot be combined with -t") }
        _ = try uploads()
    }

    func run() async throws {
        let status = try await SignalRelay.trapping { relay in
            try await APIClient.with(client) { api in try await run(api, relay: relay) }
        }
        if status != 0 { throw ExitCode(status) }
    }

    private func run(_ api: APIClient, relay: SignalRelay) async throws -> Int32 {
        let uploads = try uploads()
        // A missing local file is reported before a session exists.
        for (local, _) in uploads { try LocalFile(openForReading: local).close() }
        let setupSignals = relay.signals()
        let session = try await api.sessions.createSession(createRequest()).session ?? Session()
        var failure: (any Error)?
        var status: Int32 = 0
        do {
            for (local, remote) in uploads {
                _ = try await ForegroundProcess.interruptible(setupSignals) {
                    try await FileTransfer.upload(
                        api, local: local, session: session.id, remote: remote, quiet: client.json)
                }
            }
            if relay.takeInterrupted() { throw ForegroundProcess.Interrupted() }
            let start = process.start(session: session.id, environment: [:])
            let (result, output) = try await ForegroundProcess.run(
                api, relay: relay, start: start, forwardStdin: process.forwardsStdin, json: client.json)
            if client.json {
                let json = ForegroundProcess.json(session: session.id, result: result, output: output)
                StandardStream.output.writeLine(json.rendered(pretty: true))
            }
            status = result.exitCode
        } catch {
            if let exit = ForegroundProcess.exitStatus(for: error) { status = exit } else { failure = error }
        }
        relay.stopListening()
        if keep {
            StandardStream.error.writeLine(
                "execbox: kept session \(session.id); end it with `execbox sessions kill \(session.id)`")
        } else {
            do {
                _ = try await api.sessions.killSession(.with { $0.sessionId = session.id })
            } catch {
                let reason = (error as? RPCError).map { CLIError(rpc: $0, config: api.config).message } ?? "\(error)"
                StandardStream.error.writeLine(
                    "execbox: warning: could not kill session \(session.id) (\(reason)); "
                        + "end it with `execbox sessions kill \(session.id)`")
            }
        }
        if let failure { throw failure }
        return status
    }

    private func createRequest() throws -> CreateSessionRequest {
        let environment = try process.environment()
        return CreateSessionRequest.with {
            $0.image = image
            $0.env = environment
            $0.resources = Resources.with {
                $0.memoryMb = memory ?? 0
                $0.cpuMillicores = cpu ?? 0
                $0.timeoutMs = (timeout ?? 0) * 1000
            }
            $0.network = network?.mode ?? .unspecified
            $0.ports = ports.map { port in PortSpec.with { $0.containerPort = port } }
        }
    }

    /// `--upload LOCAL:/PATH` pairs; the last `:/` separates them, so local names may hold colons.
    private func uploads() throws -> [(String, String)] {
        try upload.map { spec in
            guard let separator = spec.range(of: ":/", options: .backwards), separator.lowerBound != spec.startIndex
            else {
                throw ValidationError("--upload takes LOCAL:/ABSOLUTE/PATH, got '\(spec)'")
            }
            let local = String(spec[..<separator.lowerBound])
            var remote = String(spec[spec.index(after: separator.lowerBound)...])
            if remote.hasSuffix("/") { remote += FileTransfer.basename(local) }
            return (local, remote)
        }
    }
}
