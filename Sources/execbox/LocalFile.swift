import Crypto

#if canImport(Glibc)
    import Glibc
#endif

/// A file on the caller's machine, read with pread(2) or written through a temporary name.
final class LocalFile: Sendable {
    let path: String
    let fd: Int32
    let size: Int64
    /// Permission bits, sent with an upload so an executable stays executable.
    let mode: UInt32

    /// Opens a regular file for reading.
    init(openForReading path: String) throws(CLIError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CLIError("cannot open \(path): \(Self.reason())") }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            Glibc.close(fd)
            throw CLIError("cannot read \(path): \(Self.reason())")
        }
        guard status.st_mode & S_IFMT == S_IFREG else {
            Glibc.close(fd)
            throw CLIError("\(path) is not a regular file", hint: "cp copies one file at a time")
        }
        self.path = path
        self.fd = fd
        self.size = Int64(status.st_size)
        self.mode = UInt32(status.st_mode & 0o777)
    }

    /// Creates `.NAME.execbox-PID` next to `destination`, mode 0600 until committed.
    init(creatingTemporaryNextTo destination: String) throws(CLIError) {
        let slash = destination.lastIndex(of: "/")
        let directory = slash.map { String(destination[...$0]) } ?? ""
        let name = slash.map { String(destination[destination.index(after: $0)...]) } ?? destination
        let path = "\(directory).\(name).execbox-\(getpid())"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CLIError("cannot create \(path): \(Self.reason())") }
        self.path = path
        self.fd = fd
        self.size = 0
        self.mode = 0o600
    }

    static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
    }

    /// Up to `count` bytes at `offset`; empty at the end.
    func read(at offset: Int64, count: Int) throws(CLIError) -> [UInt8] {
        var failed = false
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, filled in
            while true {
                let result = pread(fd, buffer.baseAddress, count, off_t(offset))
                if result < 0 && errno == EINTR { continue }
                failed = result < 0
                filled = max(0, result)
                return
            }
        }
        if failed { throw CLIError("cannot read \(path): \(Self.reason())") }
        return bytes
    }

    /// Lowercase hex SHA-256 of the whole file.
    func sha256() throws(CLIError) -> String {
        var hasher = SHA256()
        var offset: Int64 = 0
        while true {
            let chunk = try read(at: offset, count: FileTransfer.chunkSize)
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            offset += Int64(chunk.count)
        }
        return FileTransfer.hex(hasher.finalize())
    }

    func write(_ bytes: [UInt8]) throws(CLIError) {
        let failed = bytes.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let result = Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset)
                if result < 0 && errno == EINTR { continue }
                if result < 0 { return true }
                offset += result
            }
            return false
        }
        if failed { throw CLIError("cannot write \(path): \(Self.reason())") }
    }

    /// Gives the file its mode, flushes it and renames it to `destination`.
    func commit(to destination: String, mode: UInt32) throws(CLIError) {
        guard fchmod(fd, mode_t(mode)) == 0, fsync(fd) == 0 else {
            let reason = Self.reason()
            discard()
            throw CLIError("cannot write \(path): \(reason)")
        }
        Glibc.close(fd)
        guard rename(path, destination) == 0 else {
            let reason = Self.reason()
            unlink(path)
            throw CLIError("cannot write \(destination): \(reason)")
        }
    }

    func discard() {
        Glibc.close(fd)
        unlink(path)
    }

    func close() {
        Glibc.close(fd)
    }

    private static func reason() -> String {
        String(cString: strerror(errno))
    }
}
