import Glibc
import Synchronization

/// How a process ended, as `waitid` reports it.
enum WaitStatus: Hashable, Sendable {
    case exited(Int32)
    case signaled(Int32)
}

/// A child of this process (spawned, or adopted after its parent exited because this process is a
/// child subreaper), held through a pidfd: signals and the wait can never reach a recycled pid.
///
/// Or a process a sandbox's agent started (`init(agentStarted:)`): the agent's child, not this
/// process's, so its exit arrives as a line on the agent's connection (what waiters then wait on);
/// the agent's pidfd still signals it.
final class ChildProcess: Sendable {
    /// In this process's pid namespace; 0 if unknown (an agent's process that already ended).
    let pid: pid_t
    let pidfd: Int32
    /// An agent's process: its pid inside the sandbox, as the agent said.
    let namespacePid: Int32?
    /// An agent's process: the connection its exit line arrives on (non-blocking).
    private let exitConnection: Int32?
    private let status = Mutex<WaitStatus?>(nil)
    /// An agent's process: the part of the exit line read so far.
    private let exitLine = Mutex<[UInt8]>([])

    /// An agent's process: its connection and pidfd (what a next server needs to learn of its end).
    var agentDescriptors: [Int32]? { exitConnection.map { [$0, pidfd] } }

    /// What a wait for the process's end waits on.
    var waitDescriptor: Int32 { exitConnection ?? pidfd }

    /// Takes `pid`, which must be a child of this process not yet reaped (a zombie is fine).
    init(adopting pid: pid_t) throws(SystemError) {
        let pidfd = LinuxCalls.pidfdOpen(pid)
        guard pidfd >= 0 else { throw SystemError("pidfd_open(\(pid))") }
        do {
            try FileDescriptorPoller.shared.register(pidfd, for: .read)
        } catch {
            close(pidfd)
            throw error
        }
        self.pid = pid
        self.pidfd = pidfd
        self.namespacePid = nil
        self.exitConnection = nil
    }

    /// Takes over what the agent sent for a process it started (the pidfd and the connection).
    init(agentStarted started: SandboxAgentClient.Started) throws(SystemError) {
        do {
            try FileDescriptorPoller.shared.register(started.connection, for: .read)
        } catch {
            // Nobody could learn of its end: it must not run on.
            _ = LinuxCalls.pidfdSendSignal(started.pidfd, SIGKILL)
            close(started.connection)
            close(started.pidfd)
            throw error
        }
        self.pidfd = started.pidfd
        self.exitConnection = started.connection
        self.namespacePid = started.pid
        self.pid = Self.pidOfPidfd(started.pidfd) ?? 0
    }

    deinit {
        if let exitConnection {
            FileDescriptorPoller.shared.deregister(exitConnection)
            close(exitConnection)
        } else {
            FileDescriptorPoller.shared.deregister(pidfd)
        }
        close(pidfd)
    }

    /// The pid a pidfd refers to, from its `fdinfo` (`Pid:`; -1 once the process was reaped, and
    /// absent when the descriptor is not a pidfd).
    static func pidOfPidfd(_ pidfd: Int32) -> pid_t? {
        guard let bytes = HostFiles.read("/proc/self/fdinfo/\(pidfd)", limit: 4096) else { return nil }
        let line = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("Pid:") }
        return line.flatMap { pid_t($0.dropFirst("Pid:".count).trimmingPrefix(while: { $0 == " " || $0 == "\t" })) }
            .flatMap { $0 > 0 ? $0 : nil }
    }

    /// Starts `arguments[0]` (an absolute path) with the given descriptors as its stdin, stdout and
    /// stderr and nothing else open, default signal handling, an empty signal mask and its own session.
    /// With `terminal` (a pty slave's path) the child opens it as its stdio instead, after `setsid`,
    /// so the terminal becomes its controlling terminal.
    static func spawn(
        _ arguments: [String],
        environment: [String],
        stdin: Int32,
        stdout: Int32,
        stderr: Int32,
        terminal: String? = nil
    ) throws(SystemError) -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let terminal {
            // glibc's posix_spawn runs setsid before the file actions: this open takes the terminal.
            posix_spawn_file_actions_addopen(&actions, 0, terminal, O_RDWR, 0)
            posix_spawn_file_actions_adddup2(&actions, 0, 1)
            posix_spawn_file_actions_adddup2(&actions, 0, 2)
        } else {
            posix_spawn_file_actions_adddup2(&actions, stdin, 0)
            posix_spawn_file_actions_adddup2(&actions, stdout, 1)
            posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        }
        guard LinuxCalls.addCloseFrom(&actions, 3) else {
            throw SystemError("posix_spawn_file_actions_addclosefrom_np")
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        let setsid: Int32 = 0x80  // POSIX_SPAWN_SETSID (glibc 2.26)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | setsid))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else { throw SystemError("posix_spawn \(arguments[0])", errno: result) }
        do {
            return try ChildProcess(adopting: pid)
        } catch {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            throw error
        }
    }

    /// The exit status if the process ended (reaping it then), nil while it runs.
    func poll() -> WaitStatus? {
        status.withLock { status in
            if let status { return status }
            if let exitConnection {
                status = readExitLine(exitConnection)
                return status
            }
            var info = siginfo_t()
            let result = waitid(LinuxCalls.pidfdType, id_t(pidfd), &info, WEXITED | WNOHANG)
            guard result == 0, info._sifields._sigchld.si_pid != 0 else { return nil }
            let value = info._sifields._sigchld.si_status
            status = info.si_code == 1 ? .exited(value) : .signaled(value)  // CLD_EXITED, else KILLED/DUMPED
            return status
        }
    }

    /// The agent's exit line once it is complete; SIGKILL if the agent closed the connection without
    /// one (the agent is the sandbox's init: when it is gone, so is every process of the sandbox).
    /// A whole line is only peeked at, never taken off the connection: the sandbox monitor keeps a
    /// duplicate of it, so if this server dies before the exec's record holds the exit, the next
    /// server reads the same line (`ExecKeeper`). Only a line that arrives in pieces is consumed.
    private func readExitLine(_ connection: Int32) -> WaitStatus? {
        exitLine.withLock { line in
            var buffer = [UInt8](repeating: 0, count: 64)
            while true {
                let peeked = buffer.withUnsafeMutableBytes {
                    recv(connection, $0.baseAddress, $0.count, Int32(MSG_PEEK))
                }
                if peeked > 0, let end = buffer[0..<peeked].firstIndex(of: UInt8(ascii: "\n")) {
                    let whole = line + buffer[..<end]
                    return whole.count <= 64
                        ? SandboxAgentClient.parseExit(whole) ?? .signaled(SIGKILL) : .signaled(SIGKILL)
                }
                let count =
                    peeked > 0 ? buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, peeked, 0) } : peeked
                if count > 0 {
                    line += buffer[0..<count]
                    if line.count > 64 { return .signaled(SIGKILL) }
                    continue
                }
                if count < 0, errno == EINTR { continue }
                if count < 0, errno == EAGAIN || errno == EWOULDBLOCK { return nil }
                return .signaled(SIGKILL)
            }
        }
    }

    /// Waits for the process to end and reaps it. Only one task may wait at a time.
    func wait() async throws -> WaitStatus {
        while true {
            if let status = poll() { return status }
            _ = try await FileDescriptorPoller.shared.wait([waitDescriptor])
        }
    }

    /// Like `wait`, but cancellation does not interrupt it.
    func waitIgnoringCancellation() async throws -> WaitStatus {
        while true {
            if let status = poll() { return status }
            _ = try await FileDescriptorPoller.shared.waitIgnoringCancellation([waitDescriptor])
        }
    }

    /// False once the process is gone.
    @discardableResult
    func signal(_ signal: Int32) -> Bool {
        status.withLock { $0 == nil } && LinuxCalls.pidfdSendSignal(pidfd, signal) == 0
    }
}
