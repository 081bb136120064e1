import ExecboxSandbox
import Glibc

extension RuncBackend {
    /// runsc's `exec` without `--detach`: the runsc process started here is the one that waits for
    /// the process inside (with `--detach` runsc only starts such a process and exits — one more Go
    /// program start per exec). It writes the internal pid, then its own pid to the pid files once
    /// the process runs, or exits (128, its reason in the log) when it cannot start it.
    ///
    /// A TTY exec gets a pty made here (runsc's own, through `--console-socket`, ignores the initial
    /// size): the size is set before runsc starts, and the slave is runsc's stdio and controlling
    /// terminal, so the line discipline's signals (^C) and SIGWINCH reach runsc, which passes them to
    /// the foreground process inside.
    func launchRunsc(sandbox: RuncSandbox, prefix: String, terminal size: OCIConfig.ConsoleSize?) async throws
        -> Launch
    {
        let arguments = sandbox.runtime.arguments(
            [
                "exec", "--process", "\(prefix).json", "--pid-file", "\(prefix).pid", "--internal-pid-file",
                "\(prefix).ipid", sandbox.container,
            ],
            log: "\(prefix).log"
        )
        var launch: Launch
        let child: ChildProcess
        if let size {
            let (master, slave) = try Self.openTerminal()
            _ = LinuxCalls.setWindowSize(master, rows: size.height, columns: size.width)
            do {
                child = try ChildProcess.spawn(
                    arguments, environment: RuncRuntime.environment, stdin: DevNull.fd, stdout: DevNull.fd,
                    stderr: DevNull.fd, terminal: slave)
            } catch {
                close(master)
                throw error
            }
            launch = Launch(started: false, output: [(master, true)], stdin: dup(master), terminal: true)
        } else {
            let stdin = try Pipe(.toChild)
            let stdout = try Pipe(.fromChild)
            let stderr = try Pipe(.fromChild)
            child = try ChildProcess.spawn(
                arguments, environment: RuncRuntime.environment, stdin: stdin.remote, stdout: stdout.remote,
                stderr: stderr.remote)
            launch = Launch(
                started: false,
                output: [(stdout.takeLocal(), true), (stderr.takeLocal(), false)],
                stdin: stdin.takeLocal(),
                terminal: false
            )
        }
        // Started once the pid file names runsc itself (a process that ended at once has it too);
        // runsc ended without it: not started.
        while true {
            let ended = child.poll() != nil
            if Self.readPid("\(prefix).pid") == child.pid {
                launch.started = true
                break
            }
            if ended { break }
            try? await Task.sleep(for: .milliseconds(1))
        }
        if launch.started {
            launch.child = child
        } else {
            _ = try? await child.waitIgnoringCancellation()
        }
        return launch
    }

    /// A new pty: the master (close-on-exec, non-blocking) and the slave's path.
    static func openTerminal() throws(SandboxError) -> (master: Int32, slave: String) {
        guard let (master, slave) = LinuxCalls.openPseudoTerminal() else {
            throw SandboxError(code: .internal, message: "cannot prepare the terminal", cause: SystemError("/dev/ptmx"))
        }
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
        return (master, slave)
    }
}
