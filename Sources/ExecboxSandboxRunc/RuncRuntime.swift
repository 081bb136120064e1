import ExecboxSandbox
import FoundationEssentials
import Glibc

/// The `runc` command line, one process per call. Each command gets `--root` (the backend's own
/// state directory), and the ones tied to a sandbox write runc's log as JSON into its bundle, where
/// an error is read back from. Calls are not interrupted by cancellation: an abandoned runc call
/// would leave a half-created or half-deleted container behind.
struct RuncRuntime: Sendable {
    var path: String
    var stateDirectory: String
    var kind: RuncBackendConfiguration.Runtime = .runc
    /// Global flags after `--root` (runsc's platform, file access and network).
    var flags: [String] = []

    /// runsc's global flags: its platform; no overlay (the root is read-only, and writes from the
    /// host side must be seen inside); the root cached exclusively (nothing changes it), bind
    /// mounts revalidated (the file API writes the workspace from the host). The network flag is
    /// per sandbox (`forSandbox`).
    init(
        path: String, stateDirectory: String, kind: RuncBackendConfiguration.Runtime = .runc,
        platform: String = "ptrace"
    ) {
        self.path = path
        self.stateDirectory = stateDirectory
        self.kind = kind
        if kind == .runsc {
            flags = [
                "--platform=\(platform)", "--overlay2=none", "--file-access=exclusive", "--file-access-mounts=shared",
            ]
        }
    }

    init(_ configuration: RuncBackendConfiguration) {
        self.init(
            path: configuration.runtimePath,
            stateDirectory: configuration.stateDirectory,
            kind: configuration.runtime,
            platform: configuration.runscPlatform
        )
    }

    /// The runtime as one sandbox's commands use it: runsc gets `--network=none` (its kernel's
    /// loopback only) or `--network=host` (the sandbox's kernel uses the network namespace the backend
    /// prepared; this runsc's own network stack refuses every namespace on this kernel).
    func forSandbox(network: NetworkMode) -> RuncRuntime {
        guard kind == .runsc else { return self }
        var runtime = self
        runtime.flags.append(network == .none ? "--network=none" : "--network=host")
        return runtime
    }

    /// runc needs no more than a PATH; nothing of the server's environment reaches it.
    static let environment = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]

    struct Output: Sendable {
        var status: WaitStatus
        var stdout: [UInt8]
        var stderr: [UInt8]

        var succeeded: Bool { status == .exited(0) }
        var stderrText: String { String(decoding: stderr.prefix(4096), as: UTF8.self) }
    }

    func arguments(_ command: [String], log: String? = nil) -> [String] {
        var arguments = [path, "--root", stateDirectory] + flags
        if let log { arguments += ["--log", log, "--log-format", "json"] }
        return arguments + command
    }

    /// Runs a runc command with stdin from /dev/null and collects its output (at most 1 MiB each).
    func run(_ command: [String], log: String? = nil) async throws -> Output {
        let stdout = try Pipe(.fromChild)
        let stderr = try Pipe(.fromChild)
        let child = try ChildProcess.spawn(
            arguments(command, log: log),
            environment: Self.environment,
            stdin: DevNull.fd,
            stdout: stdout.remote,
            stderr: stderr.remote
        )
        // The collector owns (and closes) the local ends from here on.
        let collected = try await OutputCollector.collect(
            stdout: stdout.takeLocal(),
            stderr: stderr.takeLocal(),
            limit: 1 << 20
        )
        let status = try await child.waitIgnoringCancellation()
        return Output(status: status, stdout: collected.stdout, stderr: collected.stderr)
    }

    /// Runs a runc command whose stdio is handed on to the container (`create`, `exec -d`).
    func runHandingOver(_ command: [String], log: String, stdin: Int32, stdout: Int32, stderr: Int32)
        async throws -> WaitStatus
    {
        let child = try ChildProcess.spawn(
            arguments(command, log: log),
            environment: Self.environment,
            stdin: stdin,
            stdout: stdout,
            stderr: stderr
        )
        return try await child.waitIgnoringCancellation()
    }

    func version() async throws -> RuncVersion? {
        let output = try await run(["--version"])
        return RuncVersion(output: String(decoding: output.stdout, as: UTF8.self))
    }

    /// The ids of the containers in the state directory.
    func list() async throws -> [String] {
        let output = try await run(["list", "--quiet"])
        guard output.succeeded else { return [] }
        return String(decoding: output.stdout, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// The last error runc logged, without its timestamp; for logs, never for clients.
    static func lastError(inLog path: String) -> String? {
        struct Line: Decodable {
            var level: String
            var msg: String
        }
        guard let bytes = HostFiles.read(path, limit: 1 << 20) else { return nil }
        let decoder = JSONDecoder()
        for line in bytes.split(separator: UInt8(ascii: "\n")).reversed() {
            if let entry = try? decoder.decode(Line.self, from: Data(line)), entry.level == "error" {
                return entry.msg
            }
        }
        return nil
    }
}

/// `/dev/null`, opened once, as stdin for runtime commands.
enum DevNull {
    static let fd: Int32 = {
        let fd = open("/dev/null", O_RDWR | O_CLOEXEC)
        precondition(fd >= 0, "cannot open /dev/null")
        return fd
    }()
}
