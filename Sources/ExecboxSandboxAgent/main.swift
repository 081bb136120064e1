import CExecboxAgent
import ExecboxSandboxAgentProtocol
import Glibc

// The in-sandbox exec agent: pid 1 of every runc sandbox, in place of `catatonit -P`, and what
// starts the sandbox's processes so an exec does not pay a `runc exec` (two Go runtimes and the
// container's setup again, ~17 ms here) but a `posix_spawn` (well under a millisecond).
//
//     ExecboxSandboxAgent <socket path>
//
// As an init it does what `catatonit -P` does: every signal but the ones the kernel raises for a
// fault is blocked and read from a signalfd; SIGTERM or SIGINT ends it with status 0 (which ends
// the sandbox), SIGCHLD reaps, anything else is ignored (outside a pid namespace's pid 1 it makes
// itself a child subreaper so orphans still reach it).
//
// It listens on a Unix socket at <socket path> (a directory the backend bind-mounts in). Its
// processes inherit everything runc gave the init — namespaces, cgroup, seccomp filter, capability
// sets, `no_new_privs`, rlimits, user — so nothing about isolation is decided here. Whoever can
// reach the socket can already run processes with the same rights (it is inside the sandbox), so
// the agent trusts no caller more than the sandbox's own code; the backend in turn trusts nothing
// the agent says beyond its own sandbox (it reaches the socket through a descriptor it checked, and
// signals only through the pidfd it gets).
//
// One connection per process; the wire format is `AgentRequest` and `AgentReply`
// (ExecboxSandboxAgentProtocol): a request with the process's stdio descriptors (or a terminal
// size), the answer `started <pid>` with its pidfd (and a pty master) or `failed <reason>`, and
// `exited <code>` or `signaled <signal>` when it ends.

func log(_ message: String) {
    let bytes = Array("ExecboxSandboxAgent: \(message)\n".utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func writeAll(_ fd: Int32, _ text: String) {
    let bytes = Array(text.utf8)
    var done = 0
    while done < bytes.count {
        let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
        if count < 0, errno == EINTR { continue }
        guard count > 0 else { return }
        done += count
    }
}

func errorText(_ code: Int32) -> String { String(cString: strerror(code)) }

// MARK: Signals

let signals = execbox_block_signals()
guard signals >= 0 else {
    log("cannot block signals")
    exit(1)
}
if getpid() != 1, execbox_become_child_subreaper() != 0 {
    log("cannot become a child subreaper")
    exit(1)
}
_ = chdir("/")
// A reader gone from a pipe or the connection must not end the sandbox's init.
signal(SIGPIPE, SIG_IGN)

// MARK: The socket

guard CommandLine.arguments.count == 2 else {
    log("usage: ExecboxSandboxAgent <socket path>")
    exit(1)
}
let socketPath = CommandLine.arguments[1]
let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue), 0)
do {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    guard listener >= 0 else {
        log("cannot make a socket: \(errorText(errno))")
        exit(1)
    }
    // Bound under another name and renamed once it listens: a client that finds the socket can connect.
    let unready = socketPath + ".new"
    let unreadyPath = Array(unready.utf8)
    guard unreadyPath.count < MemoryLayout.size(ofValue: address.sun_path) else {
        log("cannot make a socket at \(socketPath)")
        exit(1)
    }
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in unreadyPath.enumerated() { raw[index] = byte }
    }
    unlink(unready)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    guard bound == 0, chmod(unready, 0o600) == 0, listen(listener, 64) == 0, rename(unready, socketPath) == 0 else {
        log("cannot listen at \(socketPath): \(errorText(errno))")
        exit(1)
    }
}

// MARK: Requests

/// Reads one request (and the descriptors that came with it) from a new connection, which has a
/// receive timeout: a caller that connects and says nothing cannot hold the agent up.
func readRequest(_ connection: Int32) -> (AgentRequest, [Int32])? {
    // One deadline for the whole request: a caller that trickles bytes cannot hold the agent longer.
    var deadline = timespec()
    clock_gettime(CLOCK_MONOTONIC, &deadline)
    deadline.tv_sec += 2
    func armTimeout() -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let left = (deadline.tv_sec - now.tv_sec) * 1_000_000 + (deadline.tv_nsec - now.tv_nsec) / 1000
        guard left > 0 else { return false }
        var timeout = timeval(tv_sec: left / 1_000_000, tv_usec: left % 1_000_000)
        return setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) == 0
    }
    var buffer = [UInt8](repeating: 0, count: 64 << 10)
    var fds: [Int32] = [-1, -1, -1]
    var count: Int32 = 0
    guard armTimeout() else { return nil }
    let first = buffer.withUnsafeMutableBytes { raw in
        fds.withUnsafeMutableBufferPointer {
            execbox_receive_with_fds(connection, raw.baseAddress, raw.count, $0.baseAddress, &count)
        }
    }
    let received = Array(fds.prefix(Int(count)))
    func fail() -> (AgentRequest, [Int32])? {
        for fd in received { close(fd) }
        return nil
    }
    guard first >= 4 else { return fail() }
    var bytes = Array(buffer[0..<first])
    guard let length = AgentRequest.bodyLength(bytes[...]) else { return fail() }
    while bytes.count < 4 + length {
        guard armTimeout() else { return fail() }
        let wanted = min(buffer.count, 4 + length - bytes.count)
        let count = buffer.withUnsafeMutableBytes { read(connection, $0.baseAddress, wanted) }
        if count < 0, errno == EINTR { continue }
        guard count > 0 else { return fail() }
        bytes += buffer[0..<count]
    }
    guard bytes.count == 4 + length, let request = AgentRequest(body: bytes.dropFirst(4)) else { return fail() }
    return (request, received)
}

/// The executable `name` names: a path as it is, else the first match in the process's own PATH
/// (as `runc exec` looks it up). A file found but not executable is remembered for the error.
func resolve(_ name: String, environment: [String], workingDirectory: String) -> (path: String?, error: Int32) {
    if name.contains("/") { return (name, 0) }
    let searchPath =
        environment.last { $0.hasPrefix("PATH=") }.map { String($0.dropFirst(5)) }
        ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    var error = ENOENT
    for directory in searchPath.split(separator: ":", omittingEmptySubsequences: false) {
        // A relative entry (or an empty one, meaning ".") is relative to the process's directory.
        let entry = directory.isEmpty ? "." : String(directory)
        let candidate = (entry.hasPrefix("/") ? entry : workingDirectory + "/" + entry) + "/" + name
        var info = stat()
        guard stat(candidate, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
        if access(candidate, X_OK) == 0 { return (candidate, 0) }
        error = EACCES
    }
    return (nil, error)
}

/// Starts the request's process. Returns its pid and, for a tty, the pty master; or why not.
func spawn(_ request: AgentRequest, stdio: [Int32]) -> Result<(pid: pid_t, master: Int32?), SpawnFailure> {
    var directory = stat()
    guard stat(request.workingDirectory, &directory) == 0 else {
        return .failure(SpawnFailure("chdir to cwd (\"\(request.workingDirectory)\"): \(errorText(errno))"))
    }
    guard directory.st_mode & S_IFMT == S_IFDIR else {
        return .failure(SpawnFailure("chdir to cwd (\"\(request.workingDirectory)\"): \(errorText(ENOTDIR))"))
    }
    guard access(request.workingDirectory, X_OK) == 0 else {
        return .failure(SpawnFailure("chdir to cwd (\"\(request.workingDirectory)\"): \(errorText(errno))"))
    }
    let name = request.arguments[0]
    let (found, searchError) = resolve(
        name, environment: request.environment, workingDirectory: request.workingDirectory)
    guard let path = found else {
        return .failure(
            SpawnFailure("exec: \"\(name)\": executable file not found in $PATH: \(errorText(searchError))"))
    }

    var master: Int32?
    var terminal: String?
    if let size = request.terminal {
        var name = [CChar](repeating: 0, count: 128)
        let fd = execbox_open_pty(&name, name.count)
        guard fd >= 0 else { return .failure(SpawnFailure("cannot open a terminal: \(errorText(errno))")) }
        terminal = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        _ = execbox_set_window_size(fd, size.rows, size.columns)
        master = fd
    }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    if let terminal {
        // posix_spawn runs setsid before the file actions: opening the slave makes it the controlling
        // terminal.
        posix_spawn_file_actions_addopen(&actions, 0, terminal, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)
    } else {
        for (target, fd) in stdio.enumerated() { posix_spawn_file_actions_adddup2(&actions, fd, Int32(target)) }
    }
    execbox_spawn_add_chdir(&actions, request.workingDirectory)

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var none = sigset_t()
    sigemptyset(&none)
    var all = sigset_t()
    sigfillset(&all)
    posix_spawnattr_setsigmask(&attributes, &none)
    posix_spawnattr_setsigdefault(&attributes, &all)
    let setsid: Int32 = 0x80  // POSIX_SPAWN_SETSID
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | setsid))

    let argv = request.arguments.map { strdup($0) } + [nil]
    let envp = request.environment.map { strdup($0) } + [nil]
    defer {
        for pointer in argv { free(pointer) }
        for pointer in envp { free(pointer) }
    }
    var pid: pid_t = 0
    let result = posix_spawn(&pid, path, &actions, &attributes, argv, envp)
    guard result == 0 else {
        if let master { close(master) }
        return .failure(SpawnFailure("exec \"\(path)\": \(errorText(result))"))
    }
    return .success((pid, master))
}

struct SpawnFailure: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// Serves one connection: reads its request, starts the process, answers. Returns the process to
/// watch (and the connection that waits for its end), or nil when the connection is done.
func serve(_ connection: Int32) -> pid_t? {
    var timeout = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    guard let (request, fds) = readRequest(connection) else {
        writeAll(connection, AgentReply.failed(reason: "malformed request").line)
        return nil
    }
    defer { for fd in fds { close(fd) } }
    guard request.terminal != nil || fds.count == 3 else {
        writeAll(connection, AgentReply.failed(reason: "expected three descriptors").line)
        return nil
    }
    switch spawn(request, stdio: fds) {
    case .failure(let failure):
        // As `runc exec` does, the reason also goes to the process's stderr (never blocking: a
        // full pipe just misses it).
        if fds.count == 3 {
            _ = fcntl(fds[2], F_SETFL, fcntl(fds[2], F_GETFL) | O_NONBLOCK)
            writeAll(fds[2], "\(failure.message)\n")
        }
        writeAll(connection, AgentReply.failed(reason: failure.message).line)
        return nil
    case .success(let (pid, master)):
        defer { if let master { close(master) } }
        let pidfd = execbox_pidfd_open(pid)
        var carried = [pidfd]
        if let master { carried.append(master) }
        let reply = Array(AgentReply.started(pid: pid).line.utf8)
        let sent = reply.withUnsafeBytes { bytes in
            carried.withUnsafeBufferPointer {
                execbox_send_with_fds(connection, bytes.baseAddress, bytes.count, $0.baseAddress, Int32($0.count))
            }
        }
        if pidfd >= 0 { close(pidfd) }
        guard pidfd >= 0, sent == 0 else {
            // Nobody will hear of this process: it must not run unwatched.
            kill(pid, SIGKILL)
            return pid
        }
        return pid
    }
}

// MARK: The loop

/// Reaps every child that ended; tells the connection waiting for it (by pid) how.
func reap(_ waiting: inout [pid_t: Int32]) {
    while true {
        var status: Int32 = 0
        let pid = waitpid(-1, &status, WNOHANG)
        if pid < 0, errno == EINTR { continue }
        guard pid > 0 else { return }
        guard let connection = waiting.removeValue(forKey: pid) else { continue }
        let signal = status & 0x7f
        writeAll(
            connection, (signal == 0 ? AgentReply.exited(code: (status >> 8) & 0xff) : .signaled(signal: signal)).line)
        close(connection)
    }
}

/// Connections waiting for their process's end, by pid.
var waiting: [pid_t: Int32] = [:]
var polled = [
    pollfd(fd: signals, events: Int16(POLLIN), revents: 0), pollfd(fd: listener, events: Int16(POLLIN), revents: 0),
]
while true {
    if poll(&polled, nfds_t(polled.count), -1) < 0 {
        if errno == EINTR { continue }
        log("poll: \(errorText(errno))")
        exit(1)
    }
    if polled[0].revents != 0 {
        while case let signal = execbox_next_signal(signals), signal > 0 {
            switch signal {
            case SIGTERM, SIGINT: exit(0)
            case SIGCHLD: reap(&waiting)
            default: break
            }
        }
    }
    if polled[1].revents != 0 {
        while true {
            // Single-threaded: nothing is spawned between the accept and the close-on-exec flag.
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                // Out of descriptors (code inside may lower this process's limit): pause rather than
                // spin on a listener that stays readable.
                if errno == EMFILE || errno == ENFILE { usleep(10_000) }
                break
            }
            _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
            if let pid = serve(connection) {
                waiting[pid] = connection
            } else {
                close(connection)
            }
        }
    }
    // A child that ended before its connection was recorded is reaped now.
    reap(&waiting)
}
