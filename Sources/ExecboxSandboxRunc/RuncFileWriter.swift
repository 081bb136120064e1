import ExecboxSandbox
import Glibc
import Synchronization

/// What a streaming `writeFile` hands its body: appends to the open file (the temporary one, or the
/// target in append mode). Writes need no borrowed identity: the file is already open. The
/// descriptor is forgotten when the body ends, so a writer kept past it fails rather than writing to a
/// reused descriptor number; writes from several tasks are serialised.
final class RuncFileWriter: SandboxFileWriter {
    private let fd: Mutex<Int32?>
    private let path: String

    init(fd: Int32, path: String) {
        self.fd = Mutex(fd)
        self.path = path
    }

    func write(_ bytes: [UInt8]) async throws {
        let path = path
        try fd.withLock { fd throws(SandboxError) in
            guard let fd else { throw SandboxError(code: .failedPrecondition, message: "the write of \(path) ended") }
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { raw in
                    Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                }
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { throw SandboxRoot.error(path, written < 0 ? errno : ENOSPC, call: "write") }
                offset += written
            }
        }
    }

    /// The body returned or threw: no more writes (waits for one in progress).
    func end() {
        fd.withLock { $0 = nil }
    }
}
