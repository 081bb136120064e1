import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// read(2) on a descriptor that may block forever (a terminal, a pipe), done on NIO's blocking-I/O
/// thread pool so it never holds a cooperative thread. Cancelling the task returns at once; the
/// abandoned read finishes on its own (the CLI exits soon after anyway).
enum BlockingRead {
    /// Up to `limit` bytes; empty at end of file. A read error counts as end of file.
    static func read(_ fd: Int32, limit: Int = 64 * 1024) async throws -> [UInt8] {
        let resumed = Mutex<CheckedContinuation<[UInt8], any Error>?>(nil)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                resumed.withLock { $0 = continuation }
                if Task.isCancelled {
                    resumed.withLock { $0.take() }?.resume(throwing: CancellationError())
                    return
                }
                NIOThreadPool.singleton.submit { _ in
                    let bytes = readNow(fd, limit: limit)
                    resumed.withLock { $0.take() }?.resume(returning: bytes)
                }
            }
        } onCancel: {
            resumed.withLock { $0.take() }?.resume(throwing: CancellationError())
        }
    }

    /// The same read, in the calling thread.
    static func readNow(_ fd: Int32, limit: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: limit) { buffer, count in
            while true {
                let result = Glibc.read(fd, buffer.baseAddress, limit)
                if result < 0 && errno == EINTR { continue }
                if result < 0 && errno == EAGAIN {
                    var pending = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    _ = poll(&pending, 1, -1)
                    continue
                }
                count = max(0, result)
                return
            }
        }
    }
}
