import Glibc

/// A loopback TCP port held by a bound (never listening) socket for as long as an exposed sandbox
/// port is DNATed from it, so no host program can take it meanwhile.
final class PortReservation: Sendable {
    let port: Int
    private let fd: Int32

    /// A free port chosen by the kernel, or `port` (0 for any).
    init(port: Int = 0) throws(SystemError) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        address.sin_port = UInt16(port).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            let error = SystemError("bind 127.0.0.1:0")
            close(fd)
            throw error
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(fd) }
}
