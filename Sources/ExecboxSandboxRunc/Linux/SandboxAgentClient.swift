import CExecboxAgent
import ExecboxSandbox
import Glibc

/// The backend's side of a sandbox's exec agent (`ExecboxSandboxAgent`, the sandbox's pid 1): one
/// connection per process. See the agent's `main.swift` for the protocol.
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

    struct Request: Sendable {
        var argv: [String]
        var environment: [String]
        var workingDirectory: String
        /// A pty of this size instead of the given pipes.
        var terminal: TerminalSize?

        var encoded: [UInt8] {
            var fields = [terminal == nil ? "pipes" : "tty"]
            fields += [String(terminal?.rows ?? 0), String(terminal?.columns ?? 0), workingDirectory]
            fields += [String(argv.count)] + argv + [String(environment.count)] + environment
            var body: [UInt8] = []
            for field in fields {
                body += field.utf8
                body.append(0)
            }
            let length = UInt32(body.count)
            return [UInt8(length & 0xff), UInt8(length >> 8 & 0xff), UInt8(length >> 16 & 0xff), UInt8(length >> 24)]
                + body
        }
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
    static func connect(directory: String) throws(SystemError) -> Int32 {
        let directoryFD = execbox_open_path_directory(directory)
        guard directoryFD >= 0 else { throw SystemError("open \(directory)") }
        defer { close(directoryFD) }
        let socketFile = execbox_open_path_nofollow(directoryFD, socketName)
        guard socketFile >= 0 else { throw SystemError("open \(socketName)") }
        defer { close(socketFile) }
        var info = stat()
        guard fstat(socketFile, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else {
            throw SystemError("\(socketName) is not a socket", errno: ENOTSOCK)
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket") }
        // Bounds a connect to a full backlog and the request's send (the agent reads at once).
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let path = Array("/proc/self/fd/\(socketFile)".utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.enumerated() { raw[index] = byte }
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
    static func start(_ request: Request, stdio: [Int32], on connection: Int32) async throws(SystemError) -> Outcome {
        var handedOver = false
        defer { if !handedOver { close(connection) } }
        let bytes = request.encoded
        let sent = bytes.withUnsafeBytes { raw in
            stdio.withUnsafeBufferPointer {
                execbox_send_with_fds(connection, raw.baseAddress, raw.count, $0.baseAddress, Int32($0.count))
            }
        }
        guard sent == 0 else { throw SystemError("sending to the sandbox's agent") }
        _ = fcntl(connection, F_SETFL, fcntl(connection, F_GETFL) | O_NONBLOCK)
        try FileDescriptorPoller.shared.register(connection, for: .read)
        var registered = true
        defer { if registered { FileDescriptorPoller.shared.deregister(connection) } }

        var line: [UInt8] = []
        var fds: [Int32] = []
        defer { if !handedOver { for fd in fds { close(fd) } } }
        let deadline = ContinuousClock.now + replyTimeout
        while !line.contains(UInt8(ascii: "\n")) {
            var buffer = [UInt8](repeating: 0, count: 512)
            var received: [Int32] = [-1, -1, -1]
            var count: Int32 = 0
            let result = buffer.withUnsafeMutableBytes { raw in
                received.withUnsafeMutableBufferPointer {
                    execbox_receive_with_fds(connection, raw.baseAddress, raw.count, $0.baseAddress, &count)
                }
            }
            fds += received.prefix(Int(count))
            if result > 0 {
                line += buffer[0..<result]
                guard line.count <= 4096 else { throw SystemError("the sandbox's agent", errno: EPROTO) }
                continue
            }
            if result == 0 { throw SystemError("the sandbox's agent closed the connection", errno: EPIPE) }
            guard errno == EAGAIN || errno == EWOULDBLOCK else { throw SystemError("reading from the sandbox's agent") }
            guard ContinuousClock.now < deadline else { throw SystemError("the sandbox's agent", errno: ETIMEDOUT) }
            try await waitReadable(connection, until: deadline)
        }
        let text = String(decoding: line.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
        if text.hasPrefix("failed ") { return .failed(String(text.dropFirst("failed ".count))) }
        let words = text.split(separator: " ")
        // Whatever follows the line (nothing should) is left for the exit reader, which parses strictly.
        guard words.first == "started", fds.count == (request.terminal == nil ? 1 : 2) else {
            throw SystemError("the sandbox's agent said \(text.prefix(80).debugDescription)", errno: EPROTO)
        }
        FileDescriptorPoller.shared.deregister(connection)
        registered = false
        handedOver = true
        return .started(
            Started(
                pidfd: fds[0],
                pid: words.count > 1 ? Int32(words[1]).flatMap { $0 > 0 ? $0 : nil } : nil,
                master: fds.count > 1 ? fds[1] : nil,
                connection: connection
            )
        )
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
        let words = String(decoding: line, as: UTF8.self).split(separator: " ")
        guard words.count == 2, let value = Int32(words[1]) else { return nil }
        switch words[0] {
        case "exited" where (0...255).contains(value): return .exited(value)
        case "signaled" where (1...64).contains(value): return .signaled(value)
        default: return nil
        }
    }
}
