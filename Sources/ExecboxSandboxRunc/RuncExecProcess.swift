import ExecboxSandbox
import Glibc
import Synchronization

/// A process started with `runc exec -d`, adopted as this process's child. Output is read only when
/// the consumer asks (`nextEvent`), alternating between stdout and stderr; the exit comes after both
/// reached end of file, or after `drainGrace` of silence once the process itself ended (a background
/// child may hold the pipes open forever).
final class RuncExecProcess: ExecProcess, Sendable {
    enum Ending: Sendable {
        case none
        case timedOut
        case killed
    }

    private struct State {
        var open: [(fd: Int32, isStdout: Bool)]
        var stdin: Int32?
        var stdinClosed = false
        var exitDelivered = false
        var ending = Ending.none
        var nextFirst = 0
    }

    let pid: Int32?
    private let child: ChildProcess?
    /// The exit of a process that never started (runc exec failed).
    private let startFailure: ProcessExit?
    private let oomKillsAtStart: Int
    private let cgroup: CgroupV1
    private let drainGrace: Duration
    /// A TTY exec: its output arrives as stdout, `stdin` is a duplicate of the pty master (and
    /// the descriptor resizes go to).
    private let terminal: Bool
    private let state: Mutex<State>

    /// `output` are the stdout and stderr pipes, or the pty master alone (as stdout) for a TTY exec,
    /// with a duplicate of it as `stdin`.
    init(
        child: ChildProcess?,
        startFailure: ProcessExit?,
        output: [(fd: Int32, isStdout: Bool)],
        stdin: Int32,
        terminal: Bool,
        cgroup: CgroupV1,
        oomKillsAtStart: Int,
        drainGrace: Duration
    ) throws(SystemError) {
        self.child = child
        self.startFailure = startFailure
        self.cgroup = cgroup
        self.oomKillsAtStart = oomKillsAtStart
        self.drainGrace = drainGrace
        self.terminal = terminal
        self.pid = child.flatMap { Self.namespacePid(of: $0.pid) }
        self.state = Mutex(State(open: output, stdin: stdin))
        let poller = FileDescriptorPoller.shared
        for (fd, _) in output { try poller.register(fd, for: .read) }
        try poller.register(stdin, for: .write)
    }

    /// The innermost pid from `/proc/<pid>/status` (`NSpid:` lists one per pid namespace).
    static func namespacePid(of hostPid: pid_t) -> Int32? {
        guard let bytes = HostFiles.read("/proc/\(hostPid)/status", limit: 1 << 16) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("NSpid:") }) else { return nil }
        return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).last.flatMap { Int32($0) }
    }

    func nextEvent() async throws -> ExecEvent? {
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let open = state.withLock { state -> [(fd: Int32, isStdout: Bool)] in
                guard !state.open.isEmpty else { return [] }
                let first = state.nextFirst % state.open.count
                state.nextFirst += 1
                return Array(state.open[first...] + state.open[..<first])
            }
            for (fd, isStdout) in open {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    let chunk = Array(buffer[0..<count])
                    return isStdout ? .stdout(chunk) : .stderr(chunk)
                }
                // A pty master answers EIO once every slave descriptor is closed: its end of file.
                if count == 0 || (errno != EAGAIN && errno != EINTR) { closeOutput(fd) }
            }
            let stillOpen = state.withLock { $0.open.map(\.fd) }
            if stillOpen.isEmpty {
                let delivered = state.withLock { state -> Bool in
                    defer { state.exitDelivered = true }
                    return state.exitDelivered
                }
                if delivered { return nil }
                return .exit(try await exit())
            }
            guard let child, child.poll() == nil else {
                // The process is gone; whoever still holds the pipes gets `drainGrace` to write.
                if try await waitWithGrace(stillOpen) == nil { for fd in stillOpen { closeOutput(fd) } }
                continue
            }
            _ = try await FileDescriptorPoller.shared.wait(stillOpen + [child.pidfd])
        }
    }

    private func waitWithGrace(_ fds: [Int32]) async throws -> Int32? {
        let grace = drainGrace
        return try await withThrowingTaskGroup(of: Int32?.self) { group in
            group.addTask { try await FileDescriptorPoller.shared.wait(fds) }
            group.addTask {
                try await Task.sleep(for: grace)
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
    }

    private func closeOutput(_ fd: Int32) {
        let owned = state.withLock { state -> Bool in
            guard let index = state.open.firstIndex(where: { $0.fd == fd }) else { return false }
            state.open.remove(at: index)
            return true
        }
        guard owned else { return }
        FileDescriptorPoller.shared.deregister(fd)
        close(fd)
    }

    private func exit() async throws -> ProcessExit {
        if let startFailure { return startFailure }
        guard let child else { return ProcessExit(reason: .lost, code: 255) }
        let status = try await child.waitIgnoringCancellation()
        let ending = state.withLock { $0.ending }
        switch status {
        case .exited(let code):
            if code == 137, cgroup.oomKills > oomKillsAtStart { return ProcessExit(reason: .oomKilled, code: 137) }
            return .exited(code)
        case .signaled(let signal):
            if signal == SIGKILL {
                switch ending {
                case .timedOut: return ProcessExit(reason: .timeout, code: 137, signal: signal)
                case .killed: return ProcessExit(reason: .killed, code: 137, signal: signal)
                case .none:
                    if cgroup.oomKills > oomKillsAtStart {
                        return ProcessExit(reason: .oomKilled, code: 137, signal: signal)
                    }
                }
            }
            return .signaled(signal)
        }
    }

    func writeStdin(_ bytes: [UInt8]) async throws {
        guard let fd = state.withLock({ $0.stdinClosed ? nil : $0.stdin }) else {
            throw SandboxError(code: .failedPrecondition, message: "stdin is closed")
        }
        try await writeAll(bytes, to: fd)
    }

    private func writeAll(_ bytes: [UInt8], to fd: Int32) async throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { raw in write(fd, raw.baseAddress! + offset, raw.count - offset) }
            if written > 0 {
                offset += written
            } else if errno == EAGAIN {
                _ = try await FileDescriptorPoller.shared.wait([fd])
            } else if errno == EPIPE || errno == EIO {
                return  // the process stopped reading (or its terminal closed); like a shell, drop the rest
            } else if errno != EINTR {
                throw SandboxError(code: .internal, message: "writing stdin failed", cause: SystemError("write"))
            }
        }
    }

    /// A pipe is closed. A terminal cannot be closed without hanging up its session, so it gets its
    /// end-of-file character (^D), as typed at a keyboard (after a partial line, a second one is needed).
    func closeStdin() async throws {
        guard terminal else {
            closeStdinDescriptor()
            return
        }
        let fd = state.withLock { state -> Int32? in
            defer { state.stdinClosed = true }
            return state.stdinClosed ? nil : state.stdin
        }
        if let fd { try await writeAll([0x04], to: fd) }
    }

    private func closeStdinDescriptor() {
        guard
            let fd = state.withLock({ state -> Int32? in
                defer {
                    state.stdin = nil
                    state.stdinClosed = true
                }
                return state.stdin
            })
        else { return }
        FileDescriptorPoller.shared.deregister(fd)
        close(fd)
    }

    func signal(_ signal: Int32) async throws {
        guard (1...64).contains(signal) else { throw SandboxError.invalidArgument("no such signal \(signal)") }
        child?.signal(signal)
    }

    func resize(_ size: TerminalSize) async throws {
        guard terminal, let fd = state.withLock({ $0.stdin }) else {
            throw SandboxError(code: .failedPrecondition, message: "the process has no terminal")
        }
        guard size.rows > 0, size.columns > 0 else { throw SandboxError.invalidArgument("empty terminal size") }
        guard LinuxCalls.setWindowSize(fd, rows: size.rows, columns: size.columns) == 0 else {
            throw SandboxError(code: .failedPrecondition, message: "the terminal is gone", cause: SystemError("ioctl"))
        }
    }

    /// Kills the process for a timeout; its exit then reports `timeout`.
    func killForTimeout() {
        state.withLock { $0.ending = .timedOut }
        child?.signal(SIGKILL)
    }

    /// After the caller's body: kill the process if it still runs, reap it, close every descriptor.
    func finish() async {
        if let child, child.poll() == nil {
            state.withLock { if $0.ending == .none { $0.ending = .killed } }
            child.signal(SIGKILL)
            _ = try? await child.waitIgnoringCancellation()
        }
        closeStdinDescriptor()
        for fd in state.withLock({ $0.open.map(\.fd) }) { closeOutput(fd) }
    }
}
