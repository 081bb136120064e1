import Glibc

/// Any process (a child or not) held through a pidfd: signals never reach a recycled pid, and its
/// end is seen as the pidfd becoming readable. Used for a sandbox's init and monitor, which are not
/// this process's children once a restarted server adopted them.
final class ProcessHandle: Sendable {
    let pid: pid_t
    let pidfd: Int32

    /// nil if the process is gone (or `pid` was never valid).
    init?(_ pid: pid_t) {
        let pidfd = LinuxCalls.pidfdOpen(pid)
        guard pidfd >= 0 else { return nil }
        do {
            try FileDescriptorPoller.shared.register(pidfd, for: .read)
        } catch {
            close(pidfd)
            return nil
        }
        self.pid = pid
        self.pidfd = pidfd
    }

    deinit {
        FileDescriptorPoller.shared.deregister(pidfd)
        close(pidfd)
    }

    /// Whether it has ended (a zombie counts as ended).
    var hasExited: Bool {
        var entry = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) == 1
    }

    @discardableResult
    func signal(_ signal: Int32) -> Bool {
        LinuxCalls.pidfdSendSignal(pidfd, signal) == 0
    }

    /// Returns once it has ended; never interrupted by cancellation.
    func waitForExit() async {
        while !hasExited {
            _ = try? await FileDescriptorPoller.shared.waitIgnoringCancellation([pidfd])
        }
    }

    /// Reaps it if it is this process's child (a zombie otherwise stays with its real parent).
    func reapIfChild() {
        var info = siginfo_t()
        _ = waitid(LinuxCalls.pidfdType, id_t(pidfd), &info, WEXITED | WNOHANG)
    }

    /// The start time in clock ticks since boot (`/proc/<pid>/stat` field 22), to tell a process
    /// from a later one with the same pid.
    static func startTime(of pid: pid_t) -> UInt64? {
        guard let bytes = HostFiles.read("/proc/\(pid)/stat", limit: 4096) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        // The command name (field 2) may hold spaces and parentheses; fields resume after the last ')'.
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state), so field 22 is fields[19].
        return fields.count > 19 ? UInt64(fields[19]) : nil
    }
}
