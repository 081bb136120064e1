import Glibc

/// The listening end of runc's `--console-socket`: runc connects and sends the master of the exec's
/// new pty with SCM_RIGHTS (and the slave's name as data). runc sends before it exits, so the
/// connection waits in the backlog and is accepted afterwards without a task of its own.
struct ConsoleSocket: ~Copyable {
    let path: String
    private let fd: Int32

    /// Binds a fresh socket at `path` (replacing nothing: the path must not exist).
    init(path: String) throws(SystemError) {
        guard path.utf8.count < 108 else { throw SystemError("console socket path too long", errno: ENAMETOOLONG) }
        let socketType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        let fd = socket(AF_UNIX, socketType, 0)
        guard fd >= 0 else { throw SystemError("socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard bound == 0, listen(fd, 1) == 0 else {
            let error = SystemError("bind/listen \(path)")
            close(fd)
            throw error
        }
        self.path = path
        self.fd = fd
    }

    deinit {
        close(fd)
        unlink(path)
    }

    /// The pty master runc sent (close-on-exec, non-blocking), or nil if runc never connected.
    func receiveMaster() throws(SystemError) -> Int32? {
        let connection = accept(fd, nil, nil)
        guard connection >= 0 else {
            if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
            throw SystemError("accept")
        }
        defer { close(connection) }
        _ = fcntl(connection, F_SETFD, FD_CLOEXEC)
        _ = fcntl(connection, F_SETFL, fcntl(connection, F_GETFL) | O_NONBLOCK)
        // struct cmsghdr { size_t len; int level; int type; } followed by one int, padded to 8.
        let headerSize = MemoryLayout<Int>.size + 8
        var control = [UInt8](repeating: 0, count: headerSize + 8)
        var name = [UInt8](repeating: 0, count: 4096)
        let received = name.withUnsafeMutableBytes { nameBuffer in
            control.withUnsafeMutableBytes { controlBuffer in
                var vector = iovec(iov_base: nameBuffer.baseAddress, iov_len: nameBuffer.count)
                return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                    var message = msghdr()
                    message.msg_iov = vectorPointer
                    message.msg_iovlen = 1
                    message.msg_control = controlBuffer.baseAddress
                    message.msg_controllen = controlBuffer.count
                    return recvmsg(connection, &message, Int32(MSG_CMSG_CLOEXEC))
                }
            }
        }
        guard received >= 0 else {
            // runc connected but died before sending (it sends before it exits).
            if errno == EAGAIN || errno == EWOULDBLOCK { return nil }
            throw SystemError("recvmsg")
        }
        let length = control.withUnsafeBytes { $0.load(fromByteOffset: 0, as: Int.self) }
        let level = control.withUnsafeBytes { $0.load(fromByteOffset: MemoryLayout<Int>.size, as: Int32.self) }
        let type = control.withUnsafeBytes { $0.load(fromByteOffset: MemoryLayout<Int>.size + 4, as: Int32.self) }
        guard length >= headerSize + 4, level == SOL_SOCKET, type == 1 /* SCM_RIGHTS */ else {
            throw SystemError("recvmsg: no descriptor", errno: EPROTO)
        }
        let master = control.withUnsafeBytes { $0.load(fromByteOffset: headerSize, as: Int32.self) }
        let flags = fcntl(master, F_GETFL)
        _ = fcntl(master, F_SETFL, flags | O_NONBLOCK)
        return master
    }
}
