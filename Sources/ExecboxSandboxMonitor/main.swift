import CExecboxAgent
import Glibc

// The per-sandbox monitor (Debian's conmon is the model): it outlives the server so a sandbox can.
//
//     ExecboxSandboxMonitor <runc> <runc-root> <bundle> <sandbox-id> [runtime flag ...]
//
// (The flags go after `--root`: runsc's platform, network and file access.)
// It becomes a child subreaper in a session of its own, runs `runc create` (the container's stdio is
// /dev/null), prints `created <init pid>` on stdout and closes it, then waits for the container's
// init — its child once `runc create` exited — reaping any other orphan that reaches it, writes the
// init's status to <bundle>/exit (`exited <code>` or `signaled <signal>`, via a rename, so a reader
// never sees half of it), reaps its other children (runsc's gofer and stubs) and exits. If `runc create` fails it prints nothing and exits 1; runc's own
// reason is in <bundle>/runc.log. The server signals the init and watches both processes through
// pidfds, and after a restart reads the exit file instead of a wait status.
//
// It is also the sandbox's descriptor keeper: before saying `created` it listens on
// <bundle>/keeper.sock (SOCK_SEQPACKET, 0600, only its own user's peers), where the server leaves
// duplicates of each running exec's pipes, agent connection, pidfd and staging pipes with the
// exec's record (`keep`), and the record of each ended exec (`end`; see `serveOne`). A server that
// dies leaves them here, so the exec neither gets EPIPE nor loses what it writes (it blocks once a
// pipe is full) and its exit line waits on the agent connection; the next server asks `list`.
// Records live here, in memory, not in files: creating a file costs ~0.6 ms on this host's disk.

func fail(_ message: String) -> Never {
    let bytes = Array("ExecboxSandboxMonitor: \(message)\n".utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(1)
}

/// Listens on <bundle>/keeper.sock and serves it on a thread of its own. (A function, not top-level
/// code: a closure formed there would be the main actor's, and checked to run on the main thread.)
func startKeeper(in bundle: String) {
    guard chdir(bundle) == 0 else { return }
    let listener = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue | SOCK_CLOEXEC.rawValue), 0)
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        for (index, byte) in "keeper.sock".utf8.enumerated() { raw[index] = byte }
    }
    unlink("keeper.sock")
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
        }
    }
    guard listener >= 0, bound == 0, chmod("keeper.sock", 0o600) == 0, listen(listener, 4) == 0 else { return }
    var thread = pthread_t()
    _ = pthread_create(
        &thread, nil,
        { argument in
            keep(listener: Int32(Int(bitPattern: argument)))
            return nil
        }, UnsafeMutableRawPointer(bitPattern: Int(listener)))
}

/// One exec the keeper knows: its descriptors (none once it ended) and the server's record of it.
struct Kept {
    var fds: [Int32]
    var record: [UInt8]
}

/// Serves the keeper socket until the process exits: one connection at a time (there is one
/// server), a new one replacing the old (a server that hangs, or whose socket outlives it for a
/// moment, never keeps the next one waiting).
func keep(listener: Int32) {
    var kept: [String: Kept] = [:]
    var connection: Int32 = -1
    var buffer = [UInt8](repeating: 0, count: maximumMessage + 1)
    while true {
        var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
        if connection >= 0 { fds.append(pollfd(fd: connection, events: Int16(POLLIN), revents: 0)) }
        if poll(&fds, nfds_t(fds.count), -1) < 0 {
            if errno != EINTR { usleep(100_000) }
            continue
        }
        if fds.count > 1, fds[1].revents != 0, !serveOne(connection, &kept, &buffer) {
            close(connection)
            connection = -1
        }
        guard fds[0].revents != 0 else { continue }
        let accepted = accept(listener, nil, nil)
        if accepted < 0 {
            if errno != EINTR, errno != ECONNABORTED, errno != EAGAIN { usleep(100_000) }  // EMFILE and the like
            continue
        }
        _ = fcntl(accepted, F_SETFD, FD_CLOEXEC)
        guard execbox_peer_uid(accepted) == Int(getuid()) else {
            close(accepted)
            continue
        }
        if connection >= 0 { close(connection) }
        connection = accepted
    }
}

/// The largest message (a command, an exec id and a record).
let maximumMessage = 64 << 10

/// Handles one message; false when the connection ended (or failed).
///
///     keep <exec-id> <record>    + descriptors: holds them (replacing what it held for the id)
///     end <exec-id> <record>     the exec ended: its descriptors are closed, its record kept
///     forget <exec-id>           both go
///     list                       answered with `kept <exec-id> <record>` (+ its descriptors, if
///                                any) per exec, then `end`
func serveOne(_ connection: Int32, _ kept: inout [String: Kept], _ buffer: inout [UInt8]) -> Bool {
    var fds = [Int32](repeating: -1, count: Int(EXECBOX_MAX_PASSED_FDS))
    var count: Int32 = 0
    let length = buffer.withUnsafeMutableBytes { raw in
        fds.withUnsafeMutableBufferPointer {
            execbox_receive_with_fds_limit(
                connection, raw.baseAddress, raw.count, $0.baseAddress, EXECBOX_MAX_PASSED_FDS, &count, 0)
        }
    }
    if length < 0, errno == EINTR || errno == EPROTO || errno == EAGAIN { return true }
    guard length > 0 else { return false }
    let received = Array(fds.prefix(Int(count)))
    var taken = false
    defer { if !taken { for fd in received { close(fd) } } }
    // A message that filled the buffer was cut (SOCK_SEQPACKET drops the rest): ignored.
    guard length <= maximumMessage else { return true }
    let message = buffer[0..<length]
    let words = message.split(separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: false)
    let command = String(decoding: words[0], as: UTF8.self)
    let name = words.count >= 2 ? String(decoding: words[1], as: UTF8.self) : ""
    let record = words.count == 3 ? Array(words[2]) : []
    let validName =
        (1...64).contains(name.utf8.count)
        && name.utf8.allSatisfy { $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") || isalnum(Int32($0)) != 0 }
    switch command {
    case "keep" where validName && !received.isEmpty && !record.isEmpty && (kept[name] != nil || kept.count < 4096):
        for fd in kept[name]?.fds ?? [] { close(fd) }
        kept[name] = Kept(fds: received, record: record)
        taken = true
    case "end" where validName && !record.isEmpty && (kept[name] != nil || kept.count < 4096):
        for fd in kept[name]?.fds ?? [] { close(fd) }
        kept[name] = Kept(fds: [], record: record)
    case "forget" where validName:
        for fd in kept.removeValue(forKey: name)?.fds ?? [] { close(fd) }
    case "list" where words.count == 1:
        for (name, entry) in kept {
            let message = Array("kept \(name) ".utf8) + entry.record
            let sent = message.withUnsafeBytes { raw in
                entry.fds.withUnsafeBufferPointer {
                    execbox_send_with_fds(connection, raw.baseAddress, raw.count, $0.baseAddress, Int32($0.count))
                }
            }
            guard sent == 0 else { return false }
        }
        return writeAll(connection, "end")
    default:
        break
    }
    return true
}

func writeAll(_ fd: Int32, _ text: String) -> Bool {
    let bytes = Array(text.utf8)
    var done = 0
    while done < bytes.count {
        let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
        if count < 0, errno == EINTR { continue }
        guard count > 0 else { return false }
        done += count
    }
    return true
}

let arguments = CommandLine.arguments
guard arguments.count >= 5 else {
    fail("usage: ExecboxSandboxMonitor <runc> <runc-root> <bundle> <sandbox-id> [runtime flag ...]")
}
let (runc, root, bundle, id) = (arguments[1], arguments[2], arguments[3], arguments[4])
let flags = Array(arguments.dropFirst(5))

guard execbox_become_child_subreaper() == 0 else { fail("cannot become a child subreaper") }
_ = setsid()
signal(SIGPIPE, SIG_IGN)
// The server may be gone by the time the init ends; nothing here needs a terminal or a signal.
signal(SIGHUP, SIG_IGN)
signal(SIGINT, SIG_IGN)
signal(SIGTERM, SIG_IGN)

let pidFile = "\(bundle)/init.pid"
let command =
    [runc, "--root", root] + flags + [
        "--log", "\(bundle)/runc.log", "--log-format", "json", "create", "--bundle", bundle,
        "--pid-file", pidFile, id,
    ]
let null = open("/dev/null", O_RDWR | O_CLOEXEC)
var actions = posix_spawn_file_actions_t()
posix_spawn_file_actions_init(&actions)
for target in Int32(0)...2 { posix_spawn_file_actions_adddup2(&actions, null, target) }
let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
let environment: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nil]
var runcPid: pid_t = 0
guard posix_spawn(&runcPid, runc, &actions, nil, argv, environment) == 0 else { fail("cannot run \(runc)") }
var status: Int32 = 0
while waitpid(runcPid, &status, 0) < 0, errno == EINTR {}
guard status == 0 else { exit(1) }  // runc's reason is in its log
func readSmallFile(_ path: String) -> String {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return "" }
    defer { close(fd) }
    var buffer = [UInt8](repeating: 0, count: 64)
    let count = read(fd, &buffer, buffer.count)
    return count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self) : ""
}
guard let initPid = pid_t(readSmallFile(pidFile).filter(\.isNumber)) else { fail("runc reported no init pid") }
// The keeper listens before the server hears `created` (a relative path: a bundle's may not fit a
// socket address). Without it the server keeps nothing, and execs die with it as before.
startKeeper(in: bundle)
guard writeAll(1, "created \(initPid)\n") else { fail("the server is gone") }
// The server reads until both pipes close; nothing more is said (failures are in the exit file).
dup2(null, 1)
dup2(null, 2)

// Reap whatever reaches this subreaper until the init itself ends.
var initStatus: Int32 = 0
while true {
    var reaped: Int32 = 0
    let pid = waitpid(-1, &reaped, 0)
    if pid < 0 {
        if errno == EINTR { continue }
        fail("lost the init")
    }
    if pid == initPid {
        initStatus = reaped
        break
    }
}
let exitText: String
if initStatus & 0x7f == 0 {
    exitText = "exited \((initStatus >> 8) & 0xff)\n"
} else {
    exitText = "signaled \(initStatus & 0x7f)\n"
}
let temporary = "\(bundle)/exit.tmp"
let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
if fd >= 0, writeAll(fd, exitText) {
    close(fd)
    rename(temporary, "\(bundle)/exit")
}
// runsc's other processes (its gofer, the ptrace stubs) end with the init and were reparented here:
// reaped, so none is left a zombie that `runsc delete` waits for. At most five seconds.
alarm(5)
while true {
    var reaped: Int32 = 0
    if waitpid(-1, &reaped, 0) < 0, errno != EINTR { break }
}
exit(0)
