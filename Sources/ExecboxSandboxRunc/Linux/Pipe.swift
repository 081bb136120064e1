import Glibc

/// A pipe whose one end stays in this process (non-blocking, close-on-exec) and whose other end is
/// handed to a child as stdio (blocking, as programs expect).
struct Pipe: ~Copyable {
    /// The end this process keeps.
    let local: Int32
    /// The end the child gets; close it once the child is spawned.
    private(set) var remote: Int32

    enum Direction {
        /// The child writes (stdout, stderr); this process reads.
        case fromChild
        /// This process writes (stdin); the child reads.
        case toChild
    }

    init(_ direction: Direction) throws(SystemError) {
        let pipe = try LinuxCalls.makePipe(O_CLOEXEC)
        (local, remote) = direction == .fromChild ? (pipe.read, pipe.write) : (pipe.write, pipe.read)
        let flags = fcntl(local, F_GETFL)
        _ = fcntl(local, F_SETFL, flags | O_NONBLOCK)
        // 1 MiB buffers: fewer wake-ups for bulk output (the kernel may grant less).
        _ = fcntl(local, 1031 /* F_SETPIPE_SZ */, Int32(1 << 20))
    }

    mutating func closeRemote() {
        if remote >= 0 { close(remote) }
        remote = -1
    }

    /// Hands over the local end; the caller closes it.
    consuming func takeLocal() -> Int32 {
        closeRemote()
        let fd = local
        discard self
        return fd
    }

    deinit {
        if remote >= 0 { close(remote) }
        close(local)
    }
}
