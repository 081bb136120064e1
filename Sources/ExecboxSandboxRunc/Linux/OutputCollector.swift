import Glibc

/// Reads two non-blocking pipes to end of file (a runtime command's stdout and stderr), keeping at
/// most `limit` bytes of each. Closes both.
enum OutputCollector {
    static func collect(stdout: Int32, stderr: Int32, limit: Int) async throws -> (stdout: [UInt8], stderr: [UInt8]) {
        let poller = FileDescriptorPoller.shared
        try poller.register(stdout, for: .read)
        try poller.register(stderr, for: .read)
        var open: [Int32] = [stdout, stderr]
        var collected: [Int32: [UInt8]] = [stdout: [], stderr: []]
        defer {
            for fd in [stdout, stderr] {
                poller.deregister(fd)
                close(fd)
            }
        }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty {
            var progressed = false
            for fd in open {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count > 0 {
                    if collected[fd, default: []].count < limit { collected[fd]!.append(contentsOf: buffer[0..<count]) }
                    progressed = true
                } else if count == 0 {
                    open.removeAll { $0 == fd }
                    progressed = true
                } else if errno != EAGAIN && errno != EINTR {
                    throw SystemError("read")
                }
            }
            if !progressed { _ = try await poller.waitIgnoringCancellation(open) }
        }
        return (collected[stdout]!, collected[stderr]!)
    }
}
