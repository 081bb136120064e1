import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes a file that holds a secret: created private (0600) under a temporary name, written,
/// fsynced, renamed into place and its directory fsynced, so the path never holds a partial or
/// world-readable secret.
public enum SecretFile {
    public struct WriteError: Error, CustomStringConvertible {
        public var path: String
        public var errno: Int32
        public var description: String { "cannot write \(path): \(String(cString: strerror(errno)))" }
    }

    public static func write(_ contents: String, to path: String) throws {
        let temporary = path + ".tmp-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw WriteError(path: path, errno: errno) }
        let bytes = Array(contents.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        let synced = written == bytes.count && fsync(fd) == 0
        let failure = errno
        close(fd)
        guard synced, rename(temporary, path) == 0 else {
            let error = WriteError(path: path, errno: synced ? errno : failure)
            unlink(temporary)
            throw error
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            close(dirFD)
        }
    }
}
