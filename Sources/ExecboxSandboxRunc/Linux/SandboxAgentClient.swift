import CExecboxAgent
import ExecboxSandbox
import ExecboxSandboxAgentProtocol
import Glibc

/// The backend's side of a sandbox's exec agent (`ExecboxSandboxAgent`, the sandbox's pid 1): one
/// connection per process, in the wire format of `AgentRequest` and `AgentReply`.
///
/// Everything the agent says is the sandbox's word: the socket is reached through a descriptor of the
/// socket file itself (opened without following a symlink the sandbox may have put there, in a
/// directory only the backend names), the reply is bounded and parsed strictly, and the process is
/// signalled only through the pidfd the agent sent, which can name no process outside its sandbox.
enum SandboxAgentClient {
    /// The socket's name in the sandbox's agent directory.
    static let socketName = "agent.sock"
    /// Where the agent directory is bind-mounted inside a sandbox, and the agent binary.
    static let directoryInSandbox = "/dev/.execbox"
    static let binaryInSandbox = "/dev/.execbox-agent"
    /// How long the agent may take to accept, read and answer one request.
    static let replyTimeout: Duration = .seconds(5)

    /// Makes a sandbox's agent directory: a tiny tmpfs of its own (the sandbox can write there, and
    /// must not fill the host's `/run`), mode 0700, owned by the sandbox user's host ids.
    static func makeDirectory(_ path: String, uid: UInt32, gid: UInt32) throws(SystemError) {
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw SystemError("mkdir \(path)") }
        let flags = UInt(MS_NOSUID) | UInt(MS_NODEV) | UInt(MS_NOEXEC)
        guard mount("tmpfs", path, "tmpfs", flags, "size=16k,nr_inodes=16,mode=0700,uid=\(uid),gid=\(gid)") == 0 else {
            throw SystemError("mount tmpfs on \(path)")
        }
    }

    /// Detaches a bundle's agent directory mount (before the bundle is removed).
    static func removeDirectory(bundle: String) {
        MountCalls.detach("\(bundle)/agent")
    }

    /// A started process: its pidfd, its pid inside the sandbox, the pty master for a terminal, and
    /// the connection on which its exit will arrive (non-blocking).
    struct Started {
        var pidfd: Int32
        var pid: Int32?
        var master: Int32?
        var connection: Int32
    }

    enum Outcome {
        case started(Started)
        /// The agent could not start it: its reason, worded as runc words the same failures.
        case failed(String)
    }

    /// Connects to the agent whose socket is in `directory` (a host path the backend made); throws
    /// when it does not answer there (an older sandbox without one, its socket removed from inside).
    /// Non-blocking: an agent that stopped accepting (its backlog full) fails the connect at once
    /// (EAGAIN), and the caller uses `runc exec`; no thread waits on the sandbox.
    static func connect(directory: String) throws(SystemError) -> Int32 {
        try connectUnixSocket(
            directory: directory, name: socketName,
            type: Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue))
    }

    /// Connects a socket of `type` to the Unix socket `name` in `directory`, a host path, never
    /// following a symlink planted there: the socket file is opened `O_PATH | O_NOFOLLOW` and
    /// connected through `/proc/self/fd/N` (which also keeps a long directory within a socket
    /// address's 108 bytes).
    static func connectUnixSocket(directory: String, name: String, type: Int32) throws(SystemError) -> Int32 {
        let directoryFD = execbox_open_path_directory(directory)
        guard directoryFD >= 0 else { throw SystemError("open \(directory)") }
        defer { close(directoryFD) }
        let socketFile = execbox_open_path_nofollow(directoryFD, name)
        guard socketFile >= 0 else { throw SystemError("open \(name)") }
        defer { close(socketFile) }
        var info = stat()
        guard fstat(socketFile, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else {
            throw SystemError("\(name) is not a socket", errno: ENOTSOCK)
        }
        let fd = socket(AF_UNIX, type, 0)
        guard fd >= 0 else { throw SystemError("socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in "/proc/self/fd/\(socketFile)".utf8.enumerated() { raw[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let error = SystemError("connect")
            close(fd)
            throw error
        }
        return fd
    }

    /// Sends `request` with `stdio` (three descriptors, or none for a terminal) on `connection` and
    /// waits for the answer. Consumes `connection`: it is closed unless it comes back in `Started`.
    static func start(_ request: AgentRequest, stdio: [Int32], on connection: Int32) async throws(SystemError)
        -> Outcome
    {
        var handedOver = false
        defer { if !handedOver { close(connection) } }
        let bytes = request.encoded
        // The whole request fits in the socket's buffer, so the non-blocking send completes at once
        // whether or not the agent reads (SO_SNDBUFFORCE: root may exceed wmem_max).
        var size = Int32(2 * bytes.count + 65536)
        setsockopt(connection, SOL_SOCKET, 32 /* SO_SNDBUFFORCE */, &size, socklen_t(MemoryLayout<Int32>.size))
        let sent = bytes.withUnsafeBytes { raw in
            stdio.withUnsafeBufferPointer {
                execbox_send_with_fds(connection, raw.baseAddress, raw.count, $0.baseAddress, Int32($0.count))
            }
        }
        guard sent == 0 else { throw SystemError("sending to the sandbox's agent") }
        try FileDescriptorPoller.shared.register(connection, for: .read)
        var registered = true
        defer { if registered { FileDescriptorPoller.shared.deregister(connection) } }

        var line: [UInt8] = []
        var fds: [Int32] = []
        defer {
            if !handedOver {
                // A process the agent started that nobody will watch must not run on: SIGKILL
                // through what came as its pidfd (a no-op for any other descriptor).
                if fds.count == 0 { fds = receive(connection).fds }
                if let pidfd = fds.first { _ = LinuxCalls.pidfdSendSignal(pidfd, SIGKILL) }
                for fd in fds { close(fd) }
            }
        }
        let deadline = ContinuousClock.now + replyTimeout
        while !line.contains(UInt8(ascii: "\n")) {
            let (result, bytes, received) = receive(connection)
            fds += received
            // A pidfd and a pty master at most; anything more is not the agent's answer.
            guard fds.count <= 2 else { throw SystemError("the sandbox's agent", errno: EPROTO) }
            if result > 0 {
                line += bytes
                guard line.count <= AgentReply.maximumLine else {
                    throw SystemError("the sandbox's agent", errno: EPROTO)
                }
                continue
            }
            if result == 0 { throw SystemError("the sandbox's agent closed the connection", errno: EPIPE) }
            guard errno == EAGAIN || errno == EWOULDBLOCK else { throw SystemError("reading from the sandbox's agent") }
            guard ContinuousClock.now < deadline else { throw SystemError("the sandbox's agent", errno: ETIMEDOUT) }
            try await waitReadable(connection, until: deadline)
        }
        let end = line.firstIndex(of: UInt8(ascii: "\n"))!
        // Whatever follows the line (nothing should) is left for the exit reader, which parses strictly.
        let pid: Int32?
        switch AgentReply(line: line[..<end]) {
        case .failed(let reason): return .failed(reason)
        case .started(let started) where fds.count == (request.terminal == nil ? 1 : 2): pid = started
        default:
            let text = String(decoding: line[..<end].prefix(80), as: UTF8.self)
            throw SystemError("the sandbox's agent said \(text.debugDescription)", errno: EPROTO)
        }
        FileDescriptorPoller.shared.deregister(connection)
        registered = false
        handedOver = true
        return .started(
            Started(
                pidfd: fds[0],
                pid: pid,
                master: fds.count > 1 ? fds[1] : nil,
                connection: connection
            )
        )
    }

    /// One non-blocking read of up to 512 bytes and the descriptors that came with them; `result`
    /// is `recvmsg`'s (0 at end of file, -1 with errno set).
    private static func receive(_ connection: Int32) -> (result: Int, bytes: ArraySlice<UInt8>, fds: [Int32]) {
        var buffer = [UInt8](repeating: 0, count: 512)
        var received: [Int32] = [-1, -1, -1]
        var count: Int32 = 0
        let result = buffer.withUnsafeMutableBytes { raw in
            received.withUnsafeMutableBufferPointer {
                execbox_receive_with_fds(connection, raw.baseAddress, raw.count, $0.baseAddress, &count)
            }
        }
        return (result, buffer[0..<max(0, result)], Array(received.prefix(Int(count))))
    }

    private static func waitReadable(_ fd: Int32, until deadline: ContinuousClock.Instant) async throws(SystemError) {
        let ready = await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await FileDescriptorPoller.shared.wait([fd])) != nil }
            group.addTask {
                try? await Task.sleep(until: deadline)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        guard ready else { throw SystemError("the sandbox's agent", errno: ETIMEDOUT) }
    }

    /// The exit line the agent writes when the process ends: `exited <code>` or `signaled <signal>`.
    static func parseExit(_ line: [UInt8]) -> WaitStatus? {
        switch AgentReply(line: line[...]) {
        case .exited(let code): .exited(code)
        case .signaled(let signal): .signaled(signal)
        default: nil
        }
    }
}
