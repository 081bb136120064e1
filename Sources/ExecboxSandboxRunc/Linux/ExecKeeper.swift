import CExecboxAgent
import Glibc
import Synchronization

/// The server's side of a sandbox monitor's descriptor keeper (`<bundle>/keeper.sock`; the
/// protocol is described in ExecboxSandboxMonitor): duplicates of a running exec's output
/// descriptors, agent connection and pidfd are left with the monitor, so that when this server dies
/// the exec keeps its pipes and its exit line, and the next server takes them back with `list`.
///
/// One connection per sandbox, opened at the first use. The keeper also holds each exec's record
/// (`ExecRecord`, JSON), in memory: a file per exec would cost ~0.6 ms to create on this host's
/// disk. A send waits at most 100 ms for a monitor that stopped reading (the exec is then not kept). Not having a keeper (no monitor, a monitor of an older build)
/// is not an error: the exec runs as before and dies with this server.
final class ExecKeeper: Sendable {
    static let socketName = "keeper.sock"

    private let bundle: String
    /// The connection (-1 before the first use, -2 once connecting failed).
    private let connection = Mutex<Int32>(-1)

    init(bundle: String) {
        self.bundle = bundle
    }

    deinit {
        connection.withLock { if $0 >= 0 { close($0) } }
    }

    /// The largest message the keeper takes (ExecboxSandboxMonitor's `maximumMessage`).
    static let maximumMessage = 64 << 10

    /// What the keeper holds for one exec: its descriptors (none once it ended) and its record.
    struct Entry {
        var fds: [Int32]
        var record: [UInt8]
    }

    /// Leaves duplicates of `fds` and `record` with the keeper under `name` (replacing what it held).
    /// False when there is no keeper or it did not take them.
    @discardableResult
    func keep(_ name: String, _ fds: [Int32], record: [UInt8]) -> Bool {
        precondition(!fds.isEmpty && fds.count <= Int(EXECBOX_MAX_PASSED_FDS))
        return send(Array("keep \(name) ".utf8) + record, fds)
    }

    /// The exec ended: the keeper closes its descriptors and keeps `record` instead.
    @discardableResult
    func end(_ name: String, record: [UInt8]) -> Bool {
        send(Array("end \(name) ".utf8) + record, [])
    }

    /// The keeper forgets `name` (descriptors and record).
    func forget(_ name: String) {
        _ = send(Array("forget \(name)".utf8), [])
    }

    /// Closes the connection (the sandbox is gone, or left to a next server, which needs the
    /// keeper's one connection).
    func disconnect() {
        connection.withLock { connection in
            if connection >= 0 { close(connection) }
            connection = -2
        }
    }

    private func send(_ bytes: [UInt8], _ fds: [Int32]) -> Bool {
        guard bytes.count <= Self.maximumMessage else { return false }
        return connection.withLock { connection in
            if connection == -1 { connection = Self.connect(bundle) ?? -2 }
            guard connection >= 0 else { return false }
            let sent = bytes.withUnsafeBytes { raw in
                fds.withUnsafeBufferPointer {
                    execbox_send_with_fds(connection, raw.baseAddress, raw.count, $0.baseAddress, Int32($0.count))
                }
            }
            return sent == 0
        }
    }

    /// What the keeper holds, by exec id (the descriptors now this process's, close-on-exec). Nil
    /// when there is no keeper or it did not answer completely (2 s per message): the caller then
    /// knows nothing of what it holds, which is not the same as "nothing".
    func list() -> [String: Entry]? {
        connection.withLock { connection -> [String: Entry]? in
            if connection == -1 { connection = Self.connect(bundle) ?? -2 }
            guard connection >= 0 else { return nil }
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            defer {
                var none = timeval()
                if connection >= 0 {
                    setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &none, socklen_t(MemoryLayout<timeval>.size))
                }
            }
            let request = Array("list".utf8)
            let sent = request.withUnsafeBytes { execbox_send_with_fds(connection, $0.baseAddress, $0.count, nil, 0) }
            var kept: [String: Entry] = [:]
            func cutShort() -> [String: Entry]? {
                for entry in kept.values { for fd in entry.fds { close(fd) } }
                // Whatever follows on this connection would be out of step with the next request.
                close(connection)
                connection = -2
                return nil
            }
            guard sent == 0 else { return cutShort() }
            var buffer = [UInt8](repeating: 0, count: Self.maximumMessage + 64)
            var fds = [Int32](repeating: -1, count: Int(EXECBOX_MAX_PASSED_FDS))
            while true {
                var count: Int32 = 0
                let length = buffer.withUnsafeMutableBytes { raw in
                    fds.withUnsafeMutableBufferPointer {
                        execbox_receive_with_fds_limit(
                            connection, raw.baseAddress, raw.count, $0.baseAddress, EXECBOX_MAX_PASSED_FDS, &count, 0)
                    }
                }
                let received = Array(fds.prefix(Int(count)))
                guard length > 0 else {
                    for fd in received { close(fd) }
                    return cutShort()
                }
                let words = buffer[0..<length].split(
                    separator: UInt8(ascii: " "), maxSplits: 2, omittingEmptySubsequences: false)
                if words.count == 1, words[0].elementsEqual("end".utf8) { return kept }
                let name = words.count == 3 ? String(decoding: words[1], as: UTF8.self) : ""
                guard words.count == 3, words[0].elementsEqual("kept".utf8), kept[name] == nil else {
                    for fd in received { close(fd) }
                    continue
                }
                kept[name] = Entry(fds: received, record: Array(words[2]))
            }
        }
    }

    private static func connect(_ bundle: String) -> Int32? {
        let type = Int32(SOCK_SEQPACKET.rawValue | SOCK_CLOEXEC.rawValue)
        guard let fd = try? SandboxAgentClient.connectUnixSocket(directory: bundle, name: socketName, type: type)
        else { return nil }
        // Sends never wait long on a monitor that stopped reading (the list's reads have their timeout).
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        guard setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size)) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }
}
