public import ExecboxSandbox
import Glibc
import Logging

/// The sandbox's main process: the init only pauses, and the command runs as an exec the backend
/// owns (started right after `runc start`, before the sandbox counts as running). Its output is
/// spooled like a background exec's, so clients attach at any time from the oldest byte kept; its
/// exact wait status ends the sandbox and is the sandbox's exit (a stop the backend caused rewritten
/// as the state machine records it), which is also the exit its clients get, after the output.
extension RuncBackend {
    public func attach<Result: Sendable>(_ id: SandboxID, _ body: (any ExecProcess) async throws -> Result)
        async throws -> Result
    {
        let sandbox = try lookup(id)
        _ = await sandbox.wait { $0.state != .creating }
        if let main = sandbox.mainExec {
            let attachment = try RuncExecAttachment(main, from: nil)
            sandbox.activity(started: true)
            defer {
                attachment.detach()
                sandbox.activity(started: false)
            }
            return try await body(attachment)
        }
        // No command (the pause init is the main process), or a main exec that outlived a restart.
        sandbox.activity(started: true)
        defer { sandbox.activity(started: false) }
        return try await body(RuncIdleMainAttachment(sandbox) { self.signalMain(sandbox, $0) })
    }

    public func mainExecInfo(_ id: SandboxID) async throws -> ExecInfo? {
        let sandbox = try lookup(id)
        _ = await sandbox.wait { $0.state != .creating }
        return sandbox.mainExec?.info
    }

    /// Launches the command as the main exec (not counted as a running exec: it neither keeps the
    /// sandbox busy nor takes an exec slot) and records its pid for the next server. Its pump is the
    /// caller's to start, once the sandbox is `running`.
    func startMain(_ sandbox: RuncSandbox) async throws -> RuncExec {
        let terminal = sandbox.spec.terminal
        let exec = try await launch(
            ExecSpec(argv: sandbox.spec.command, tty: terminal != nil, terminalSize: terminal), in: sandbox,
            main: mainHooks(sandbox)
        )
        sandbox.mainExec = exec
        if monitorPath != nil, var record = SandboxRecord.read(from: sandbox.bundle), let child = exec.child {
            record.mainPid = child.pid
            record.mainStartTime = ProcessHandle.startTime(of: child.pid)
            if sandbox.runtime.kind == .runsc { record.mainInternalPid = exec.pid }
            do {
                try record.write(to: sandbox.bundle)
            } catch {
                logger.warning("sandbox \(sandbox.id): cannot record its main process: \(error)")
            }
        }
        return exec
    }

    /// What makes an exec the sandbox's main one: its end ends the sandbox, whose recorded exit is the
    /// one its clients get.
    func mainHooks(_ sandbox: RuncSandbox) -> RuncExec.Hooks {
        RuncExec.Hooks(
            processEnded: { exit in sandbox.inbox.send(.event(.mainExited(exit))) },
            recordedExit: { exit in
                // What the state machine recorded (a kill or timeout rewrites a signal death), once
                // the sandbox is destroyed.
                await sandbox.waitUnlessCancelled { $0.state.isTerminal }.map { $0.exit ?? exit }
            },
            killOnCancel: false
        )
    }

    /// A main exec that a dead server started and that still runs: its end ends the sandbox. Its
    /// exit status went with that server (it is not this process's child), so the exit is `lost`.
    static func watchAdoptedMain(_ main: ProcessHandle, of sandbox: RuncSandbox) async {
        guard sandbox.adoption?.mainLost != true else { return }
        while !main.hasExited {
            guard (try? await FileDescriptorPoller.shared.wait([main.pidfd])) != nil else { return }
        }
        main.reapIfChild()
        sandbox.inbox.send(.event(.mainExited(ProcessExit(reason: .lost, code: 255))))
    }

    /// Where a graceful stop's SIGTERM goes: the main process (the pause init would end at once
    /// and take the command with it), or the init when there is no command. Under runsc the host
    /// processes are runsc's (the main exec's waiter, gVisor's kernel as the init), so a signal for a
    /// process inside goes through `runsc kill`; SIGKILL to the kernel still ends the whole sandbox.
    func signalMain(_ sandbox: RuncSandbox, _ signal: Int32) {
        let runsc = sandbox.runtime.kind == .runsc
        if let main = sandbox.mainExec {
            try? main.signal(signal)
        } else if let main = sandbox.adoption?.main {
            if !runsc {
                main.signal(signal)
            } else if let pid = sandbox.adoption?.mainInternalPid {
                signalInside(sandbox, pid: pid, signal)
            }
        } else if runsc, signal != SIGKILL {
            signalInside(sandbox, pid: nil, signal)
        } else {
            sandbox.initProcess?.signal(signal)
        }
    }

    /// runsc: `runsc kill [--pid <pid inside>] <id> <signal>` (the init without a pid), run as a job
    /// of `run()` so callers need not wait for it.
    func signalInside(_ sandbox: RuncSandbox, pid: Int32?, _ signal: Int32) {
        let command = ["kill"] + (pid.map { ["--pid", String($0)] } ?? []) + [sandbox.container, String(signal)]
        let runtime = sandbox.runtime
        runJob { _ = try? await runtime.run(command) }
    }
}
