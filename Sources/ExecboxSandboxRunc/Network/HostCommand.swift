import Glibc

/// A host tool (`ip`, `nft`, `nsenter`) run to completion, with stdin from /dev/null, the runtime's
/// two-entry environment and its output collected; never interrupted by cancellation (an abandoned
/// `ip` call would leave half a network).
enum HostCommand {
    struct Failure: Error, Sendable, CustomStringConvertible {
        var command: String
        var output: String
        var description: String { "\(command): \(output)" }
    }

    /// Runs `arguments` (the first an absolute path) and throws with its stderr unless it exits 0.
    @discardableResult
    static func run(_ arguments: [String]) async throws -> [UInt8] {
        let stdout = try Pipe(.fromChild)
        let stderr = try Pipe(.fromChild)
        let child = try ChildProcess.spawn(
            arguments,
            environment: RuncRuntime.environment,
            stdin: DevNull.fd,
            stdout: stdout.remote,
            stderr: stderr.remote
        )
        let collected = try await OutputCollector.collect(
            stdout: stdout.takeLocal(),
            stderr: stderr.takeLocal(),
            limit: 1 << 20
        )
        let status = try await child.waitIgnoringCancellation()
        guard status == .exited(0) else {
            throw Failure(
                command: arguments.prefix(4).joined(separator: " "),
                output: String(decoding: collected.stderr.prefix(2048), as: UTF8.self)
            )
        }
        return collected.stdout
    }

    /// The first of `candidates` that is executable.
    static func find(_ candidates: [String]) -> String? {
        candidates.first { access($0, X_OK) == 0 }
    }
}
