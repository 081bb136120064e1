public import ExecboxSandbox
import ExecboxSandboxAgentProtocol
import FoundationEssentials
import Glibc
import Logging

extension RuncBackend {
    /// `runc exec --detach` with the exec's own pipes (or a pty) as its stdio; the process becomes
    /// this process's child once runc exits and is waited for through a pidfd, so its exit status is
    /// exact (a signal death is not folded into 128+n as `runc exec` would). The exec's pump runs in
    /// this call's task group; `body` is the exec's first client, attached from offset 0.
    public func exec<Result: Sendable>(
        _ id: SandboxID,
        _ spec: ExecSpec,
        _ body: (any ExecProcess) async throws -> Result
    ) async throws -> Result {
        try spec.validate()
        let sandbox = try runningSandbox(id)
        let exec = try await launch(spec, in: sandbox)
        let attachment: RuncExecAttachment
        do {
            attachment = try RuncExecAttachment(exec, from: 0)
        } catch {
            exec.kill(for: .killed)
            await exec.pump()
            throw error
        }
        let outcome = await withTaskGroup(of: Void.self) { group -> Swift.Result<Result, any Error> in
            // Off the caller's executor (an HTTP/2 server runs handlers on the connection's event
            // loop): the pump's pipe reads and spool writes must not hold up a connection's I/O.
            group.addTask(executorPreference: globalConcurrentExecutor) { await exec.pump() }
            let outcome: Swift.Result<Result, any Error>
            do {
                outcome = .success(try await body(attachment))
            } catch {
                outcome = .failure(error)
            }
            attachment.detach()
            // Still running when the body is done: killed and reaped before `exec` returns.
            exec.kill(for: .killed)
            await group.waitForAll()
            return outcome
        }
        sandbox.ended(exec)
        return try outcome.get()
    }

    public func startExec(_ id: SandboxID, _ spec: ExecSpec) async throws -> ExecInfo {
        try spec.validate()
        let sandbox = try runningSandbox(id)
        let exec = try await launch(spec, in: sandbox, background: true)
        runJob {
            await exec.pump()
            sandbox.ended(exec)
        }
        return exec.info
    }

    public func attachExec<Result: Sendable>(
        _ id: SandboxID,
        _ execID: ExecID,
        from offset: UInt64,
        _ body: (any ExecProcess) async throws -> Result
    ) async throws -> Result {
        let sandbox = try lookup(id)
        guard let exec = sandbox.exec(execID) else { throw SandboxError.notFound(execID, in: id) }
        let attachment = try RuncExecAttachment(exec, from: offset)
        sandbox.activity(started: true)
        defer {
            attachment.detach()
            sandbox.activity(started: false)
        }
        return try await body(attachment)
    }

    public func execInfo(_ id: SandboxID, _ execID: ExecID) async throws -> ExecInfo {
        let sandbox = try lookup(id)
        guard let exec = sandbox.exec(execID) else { throw SandboxError.notFound(execID, in: id) }
        return exec.info
    }

    public func listExecs(_ id: SandboxID) async throws -> [ExecInfo] {
        try lookup(id).execs.map(\.info)
    }

    private func runningSandbox(_ id: SandboxID) throws(SandboxError) -> RuncSandbox {
        let sandbox = try lookup(id)
        guard sandbox.info.state == .running else {
            throw SandboxError(code: .failedPrecondition, message: "sandbox \(id) is not running")
        }
        return sandbox
    }

    /// Starts the process and registers the exec with its sandbox; its pump is the caller's to run.
    /// The main exec (`main` hooks given) takes no exec slot and is not registered.
    func launch(
        _ spec: ExecSpec, in sandbox: RuncSandbox, main hooks: RuncExec.Hooks? = nil, background: Bool = false
    ) async throws -> RuncExec {
        let execID = ExecID.random()
        if hooks == nil { try sandbox.reserveExec(limit: configuration.maxRunningExecs) }
        var registered = hooks != nil
        defer { if !registered { sandbox.releaseExec() } }
        let prefix = "\(sandbox.bundle)/\(execID.rawValue)"
        var processSpec = sandbox.baseProcess
        processSpec.args = spec.argv
        processSpec.env = OCIConfigBuilder.environment(sandbox.spec.environment, overrides: spec.environment)
        processSpec.cwd = spec.workingDirectory.isEmpty ? sandbox.spec.workingDirectory : spec.workingDirectory
        if spec.tty {
            processSpec.terminal = true
            let size = spec.terminalSize ?? TerminalSize(columns: 80, rows: 24)
            processSpec.consoleSize = OCIConfig.ConsoleSize(height: size.rows, width: size.columns)
        }
        let oomKills = sandbox.cgroup.oomKills
        let runsc = sandbox.runtime.kind == .runsc
        let command = ["exec", "--detach", "--process", "\(prefix).json", "--pid-file", "\(prefix).pid"]
        // The files `runc exec` and runsc leave, read below.
        defer {
            for suffix in [".json", ".pid", ".ipid", ".log", ".sock"] { unlink(prefix + suffix) }
        }
        let launch: Launch
        if !runsc, let started = try await launchWithAgent(processSpec, in: sandbox) {
            launch = started
        } else {
            do {
                try BundleWriter.writeFile("\(prefix).json", Array(try JSONEncoder().encode(processSpec)), mode: 0o600)
            } catch {
                throw SandboxError(code: .internal, message: "cannot prepare the process", cause: error)
            }
            if runsc {
                launch = try await launchRunsc(sandbox: sandbox, prefix: prefix, terminal: processSpec.consoleSize)
            } else if spec.tty {
                launch = try await launchWithTerminal(command, sandbox: sandbox, prefix: prefix)
            } else {
                launch = try await launchWithPipes(command, sandbox: sandbox, prefix: prefix)
            }
        }
        var child: ChildProcess?
        var startFailure: ProcessExit?
        if launch.started, let started = launch.child {
            child = started
        } else if launch.started, let pid = Self.readPid("\(prefix).pid") {
            child = try ChildProcess(adopting: pid)
        } else {
            let message = launch.failure ?? RuncRuntime.lastError(inLog: "\(prefix).log") ?? ""
            logger.debug("exec in \(sandbox.id) did not start: \(message)")
            // As a shell reports it: 126 found but not executable, 127 not found.
            let lowercased = message.lowercased()
            let notExecutable = lowercased.contains("permission denied") || lowercased.contains("is a directory")
            startFailure = ProcessExit(reason: .startFailed, code: notExecutable ? 126 : 127)
        }
        var runscProcess: RuncExec.Runsc?
        if runsc, child != nil, let internalPid = Self.readPid("\(prefix).ipid") {
            runscProcess = RuncExec.Runsc(
                internalPid: internalPid,
                signal: { signal in self.signalInside(sandbox, pid: internalPid, signal) },
                sandboxGone: { sandbox.initProcess?.hasExited ?? true }
            )
        }
        let exec = try RuncExec(
            id: execID,
            sandboxID: sandbox.id,
            spec: spec,
            child: child,
            startFailure: startFailure,
            launch: launch,
            cgroup: sandbox.cgroup,
            oomKillsAtStart: oomKills,
            settings: RuncExec.Settings(
                spoolPath: "\(sandbox.spoolDirectory)/\(execID.rawValue)",
                spoolLimit: configuration.execSpoolLimit,
                window: configuration.execReadWindow,
                drainGrace: configuration.outputDrainGrace,
                runsc: runscProcess,
                keeper: monitorPath != nil ? sandbox.keeper : nil,
                main: hooks != nil,
                leaveOnCancel: background && monitorPath != nil && configuration.keepSandboxesOnShutdown
            ),
            hooks: hooks ?? RuncExec.Hooks()
        )
        exec.keepForNextServer()
        if hooks == nil { sandbox.register(exec) }
        registered = true
        return exec
    }

    /// What `runc exec --detach` left this process: whether it started the process, and the
    /// descriptors of its stdio; `child` when the process waited for is this process's own child
    /// (runsc's `exec`, run without `--detach`).
    struct Launch {
        var started: Bool
        var output: [(fd: Int32, isStdout: Bool)]
        var stdin: Int32
        var terminal: Bool
        var child: ChildProcess? = nil
        /// Why the process did not start, when the agent said (runc's reason is in its log).
        var failure: String? = nil
    }

    /// Starts the process through the sandbox's exec agent: nil when the sandbox has none that
    /// answers (the caller then uses `runc exec`). The agent's child inherits the init's namespaces,
    /// cgroup, seccomp filter, capabilities, `no_new_privs`, rlimits and user — the same as the
    /// process spec `runc exec` would apply, which differs from the init's only in the command,
    /// environment, working directory and terminal given here.
    private func launchWithAgent(_ process: OCIConfig.Process, in sandbox: RuncSandbox) async throws -> Launch? {
        guard let directory = sandbox.agentDirectory, access(directory, F_OK) == 0 else { return nil }
        let request = AgentRequest(
            arguments: process.args,
            environment: process.env,
            workingDirectory: process.cwd,
            terminal: process.terminal
                ? AgentRequest.Terminal(
                    rows: process.consoleSize?.height ?? 24, columns: process.consoleSize?.width ?? 80)
                : nil
        )
        // A command line and environment past the agent's limit go through `runc exec` instead.
        guard request.encoded.count - 4 <= AgentRequest.maximumLength else { return nil }
        let connection: Int32
        do {
            connection = try SandboxAgentClient.connect(directory: directory)
        } catch {
            logger.debug("sandbox \(sandbox.id): its exec agent does not answer (\(error)); using runc exec")
            return nil
        }
        func unavailable(_ error: any Error) -> SandboxError {
            SandboxError(code: .unavailable, message: "the sandbox's exec agent did not answer", cause: error)
        }
        if request.terminal != nil {
            let outcome: SandboxAgentClient.Outcome
            do {
                outcome = try await SandboxAgentClient.start(request, stdio: [], on: connection)
            } catch {
                throw unavailable(error)
            }
            switch outcome {
            case .failed(let reason):
                return Launch(
                    started: false,
                    output: [(Self.closedPipeEnd(keeping: 0), true)],
                    stdin: Self.closedPipeEnd(keeping: 1),
                    terminal: false,
                    failure: reason
                )
            case .started(let started):
                // The reply's check guarantees the master for a terminal request.
                guard let master = started.master else { throw unavailable(SystemError("no terminal", errno: EPROTO)) }
                _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
                let child: ChildProcess
                do {
                    child = try ChildProcess(agentStarted: started)
                } catch {
                    close(master)
                    throw error
                }
                return Launch(started: true, output: [(master, true)], stdin: dup(master), terminal: true, child: child)
            }
        }
        var handedOver = false
        defer { if !handedOver { close(connection) } }
        let stdin = try Pipe(.toChild)
        let stdout = try Pipe(.fromChild)
        let stderr = try Pipe(.fromChild)
        let outcome: SandboxAgentClient.Outcome
        handedOver = true  // `start` closes it or hands it to the process
        do {
            outcome = try await SandboxAgentClient.start(
                request, stdio: [stdin.remote, stdout.remote, stderr.remote], on: connection)
        } catch {
            throw unavailable(error)
        }
        let output = [(stdout.takeLocal(), true), (stderr.takeLocal(), false)]
        switch outcome {
        case .failed(let reason):
            return Launch(started: false, output: output, stdin: stdin.takeLocal(), terminal: false, failure: reason)
        case .started(let started):
            let child: ChildProcess
            do {
                child = try ChildProcess(agentStarted: started)
            } catch {
                for (fd, _) in output { close(fd) }
                throw error
            }
            return Launch(started: true, output: output, stdin: stdin.takeLocal(), terminal: false, child: child)
        }
    }

    private func launchWithPipes(_ command: [String], sandbox: RuncSandbox, prefix: String) async throws -> Launch {
        let stdin = try Pipe(.toChild)
        let stdout = try Pipe(.fromChild)
        let stderr = try Pipe(.fromChild)
        let status = try await sandbox.runtime.runHandingOver(
            command + [sandbox.container],
            log: "\(prefix).log",
            stdin: stdin.remote,
            stdout: stdout.remote,
            stderr: stderr.remote
        )
        return Launch(
            started: status == .exited(0),
            output: [(stdout.takeLocal(), true), (stderr.takeLocal(), false)],
            stdin: stdin.takeLocal(),
            terminal: false
        )
    }

    /// runc makes a pty whose slave becomes the process's stdio and sends its master over the console
    /// socket; runc itself gets /dev/null. The master is the output (as stdout) and, duplicated, stdin.
    private func launchWithTerminal(_ command: [String], sandbox: RuncSandbox, prefix: String) async throws
        -> Launch
    {
        let console: ConsoleSocket
        do {
            console = try ConsoleSocket(path: "\(prefix).sock")
        } catch {
            throw SandboxError(code: .internal, message: "cannot prepare the terminal", cause: error)
        }
        let status = try await sandbox.runtime.runHandingOver(
            command + ["--tty", "--console-socket", console.path, sandbox.container],
            log: "\(prefix).log",
            stdin: DevNull.fd,
            stdout: DevNull.fd,
            stderr: DevNull.fd
        )
        guard let master = try console.receiveMaster() else {
            // A process that never started still gets descriptors that read end of file at once.
            return Launch(
                started: false,
                output: [(Self.closedPipeEnd(keeping: 0), true)],
                stdin: Self.closedPipeEnd(keeping: 1),
                terminal: false
            )
        }
        return Launch(started: status == .exited(0), output: [(master, true)], stdin: dup(master), terminal: true)
    }

    /// One end (0 read, 1 write) of a pipe whose other end is closed: reads end of file, writes fail
    /// with EPIPE. For the stdio of a process that never started.
    static func closedPipeEnd(keeping end: Int) -> Int32 {
        guard let pipe = try? LinuxCalls.makePipe(O_CLOEXEC | O_NONBLOCK) else { return -1 }
        close(end == 0 ? pipe.write : pipe.read)
        return end == 0 ? pipe.read : pipe.write
    }
}
