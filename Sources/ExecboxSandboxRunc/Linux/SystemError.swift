import Glibc

/// A failed system call: which one and its errno. Only for logs and causes; clients see a curated
/// `SandboxError`.
struct SystemError: Error, Hashable, Sendable, CustomStringConvertible {
    var call: String
    var errno: Int32

    init(_ call: String, errno: Int32 = Glibc.errno) {
        self.call = call
        self.errno = errno
    }

    var description: String { "\(call): \(String(cString: strerror(errno))) (\(errno))" }
}
