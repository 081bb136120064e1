public import ExecboxSandbox
import FoundationEssentials
import Glibc
import Logging

extension RuncBackend {
    /// `runc exec --detach` with the exec's own pipes as its stdio; the process becomes this process's
    /// child once runc exits and is waited for through a pidfd, so its exit status is exact (a signal
    /// death is not folded into 128+n as `runc exec` would).
    public func exec<Result: Sendable>(
        _ id: SandboxID,
        _ spec: ExecSpec,
        _ body: (any ExecProcess) async throws -> Result
    ) async throws -> Result {
        try spec.validate()
        guard !spec.tty else {
            throw SandboxError(code: .unimplemented, message: "TTY execs are not available yet")
        }
        let sandbox = try lookup(id)
        guard sandbox.info.state == .running else {
            throw SandboxError(code: .failedPrecondition, message: "sandbox \(id) is not running")
        }
        let (process, number) = try await startExec(spec, in: sandbox)
        defer { sandbox.untrack(exec: number) }
        do {
            let result = try await withThrowingTaskGroup(of: Void.self) { group in
                if let timeout = spec.timeout {
                    group.addTask {
                        try await Task.sleep(for: timeout)
                        process.killForTimeout()
                    }
                }
                defer { group.cancelAll() }
                return try await body(process)
            }
            await process.finish()
            return result
        } catch {
            await process.finish()
            throw error
        }
    }

    private func startExec(_ spec: ExecSpec, in sandbox: RuncSandbox) async throws -> (RuncExecProcess, Int) {
        let number = sandbox.nextExecNumber()
        let prefix = "\(sandbox.bundle)/exec-\(number)"
        var processSpec = sandbox.baseProcess
        processSpec.args = spec.argv
        processSpec.env = OCIConfigBuilder.environment(sandbox.spec.environment, overrides: spec.environment)
        processSpec.cwd = spec.workingDirectory.isEmpty ? sandbox.spec.workingDirectory : spec.workingDirectory
        defer {
            for suffix in [".json", ".pid", ".log"] { unlink(prefix + suffix) }
        }
        do {
            try BundleWriter.writeFile("\(prefix).json", Array(try JSONEncoder().encode(processSpec)), mode: 0o600)
        } catch {
            throw SandboxError(code: .internal, message: "cannot prepare the process", cause: error)
        }
        let stdin = try Pipe(.toChild)
        let stdout = try Pipe(.fromChild)
        let stderr = try Pipe(.fromChild)
        let oomKills = sandbox.cgroup.oomKills
        let status = try await runtime.runHandingOver(
            [
                "exec", "--detach", "--process", "\(prefix).json", "--pid-file", "\(prefix).pid",
                sandbox.id.rawValue,
            ],
            log: "\(prefix).log",
            stdin: stdin.remote,
            stdout: stdout.remote,
            stderr: stderr.remote
        )
        var child: ChildProcess?
        var startFailure: ProcessExit?
        if status == .exited(0), let pid = Self.readPid("\(prefix).pid") {
            let adopted = try ChildProcess(adopting: pid)
            sandbox.track(exec: number, adopted)
            child = adopted
        } else {
            let message = RuncRuntime.lastError(inLog: "\(prefix).log") ?? ""
            logger.debug("exec in \(sandbox.id) did not start: \(message)")
            // As a shell reports it: 126 found but not executable, 127 not found.
            let notExecutable = message.contains("permission denied") || message.contains("is a directory")
            startFailure = ProcessExit(reason: .startFailed, code: notExecutable ? 126 : 127)
        }
        let process = try RuncExecProcess(
            child: child,
            startFailure: startFailure,
            stdout: stdout.takeLocal(),
            stderr: stderr.takeLocal(),
            stdin: stdin.takeLocal(),
            cgroup: sandbox.cgroup,
            oomKillsAtStart: oomKills,
            drainGrace: configuration.outputDrainGrace
        )
        return (process, number)
    }
}
