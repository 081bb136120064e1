#if canImport(Glibc)
    import Glibc
#endif

/// stdin, stdout or stderr; output is written with write(2) and no buffering, so a process's
/// output reaches the terminal as it arrives and the CLI's messages interleave with it in order.
struct StandardStream: Sendable {
    let fd: Int32

    static let output = StandardStream(fd: STDOUT_FILENO)
    static let error = StandardStream(fd: STDERR_FILENO)
    static let input = StandardStream(fd: STDIN_FILENO)

    /// Thrown when the reader of the stream went away (EPIPE).
    struct Closed: Error {}

    var isTerminal: Bool { isatty(fd) == 1 }

    /// Writes every byte, waiting out EINTR and EAGAIN (a non-blocking descriptor inherited from
    /// the caller); throws ``Closed`` on EPIPE and gives up silently on other errors.
    func write(_ bytes: [UInt8]) throws(Closed) {
        if let failure = bytes.withUnsafeBytes({ write(buffer: $0) }) { throw failure }
    }

    private func write(buffer: UnsafeRawBufferPointer) -> Closed? {
        var offset = 0
        while offset < buffer.count {
            let written = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if written >= 0 {
                offset += written
                continue
            }
            switch errno {
            case EINTR: continue
            case EAGAIN:
                var pending = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&pending, 1, -1)
            case EPIPE: return Closed()
            default: return nil
            }
        }
        return nil
    }

    func write(_ text: String) {
        try? write(Array(text.utf8))
    }

    func writeLine(_ text: String) {
        write(text + "\n")
    }
}
