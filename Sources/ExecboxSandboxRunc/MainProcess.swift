import Glibc

/// A sandbox's init as the backend sees it. Without a monitor it is this process's child (adopted
/// when `runc create` exits) and its wait status is exact. With a monitor (`ExecboxSandboxMonitor`)
/// it is the monitor's child: the backend signals it and sees it end through a pidfd, and reads its
/// status from the file the monitor writes once it reaped it — which also works after a restart,
/// when neither process is this one's child.
final class MainProcess: Sendable {
    enum Kind: Sendable {
        case child(ChildProcess)
        case monitored(initProcess: ProcessHandle, monitor: ProcessHandle, exitFile: String)
    }

    let kind: Kind

    init(_ kind: Kind) {
        self.kind = kind
    }

    var pid: pid_t {
        switch kind {
        case .child(let child): child.pid
        case .monitored(let initProcess, _, _): initProcess.pid
        }
    }

    private var pidfd: Int32 {
        switch kind {
        case .child(let child): child.pidfd
        case .monitored(let initProcess, _, _): initProcess.pidfd
        }
    }

    @discardableResult
    func signal(_ signal: Int32) -> Bool {
        switch kind {
        case .child(let child): child.signal(signal)
        case .monitored(let initProcess, _, _): initProcess.signal(signal)
        }
    }

    /// Whether it ended (reaping it if it is this process's child).
    var hasExited: Bool {
        switch kind {
        case .child(let child): child.poll() != nil
        case .monitored(let initProcess, _, _): initProcess.hasExited
        }
    }

    /// Waits until it ended, or until `detach` (a descriptor registered with the poller) is readable
    /// (then nil, without touching the process); never interrupted by cancellation. The status is
    /// nil when it cannot be known (the monitor died without recording it).
    func waitForExit(detach: Int32) async -> (status: WaitStatus?, detached: Bool) {
        while !hasExited {
            let ready = try? await FileDescriptorPoller.shared.waitIgnoringCancellation([pidfd, detach])
            // A descriptor counts as ready when first registered: only a byte in the pipe detaches.
            var byte: UInt8 = 0
            if ready == detach, read(detach, &byte, 1) == 1 { return (nil, true) }
        }
        switch kind {
        case .child(let child):
            return (child.poll(), false)
        case .monitored(_, let monitor, let exitFile):
            // The monitor writes the file right after reaping the init, then exits.
            await monitor.waitForExit()
            monitor.reapIfChild()
            return (Self.readExitFile(exitFile), false)
        }
    }

    /// `exited <code>` or `signaled <signal>`, as the monitor writes it.
    static func readExitFile(_ path: String) -> WaitStatus? {
        guard let bytes = HostFiles.read(path, limit: 64) else { return nil }
        let fields = String(decoding: bytes, as: UTF8.self).split(whereSeparator: \.isWhitespace)
        guard fields.count == 2, let value = Int32(fields[1]) else { return nil }
        switch fields[0] {
        case "exited": return .exited(value)
        case "signaled": return .signaled(value)
        default: return nil
        }
    }
}
