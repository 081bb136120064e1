internal import COpenSSL

/// ALPN wire format: each name prefixed with its length.
func encodeALPN(_ protocols: [String]) -> [UInt8] {
    protocols.flatMap { name in [UInt8(name.utf8.count)] + Array(name.utf8) }
}

/// The server's ALPN preference order, reached from the C callback through its `arg`.
final class ALPNPreference: Sendable {
    let protocols: [[UInt8]]

    init(_ encoded: [UInt8]) {
        var protocols: [[UInt8]] = []
        var index = 0
        while index < encoded.count {
            let length = Int(encoded[index])
            protocols.append(Array(encoded[(index + 1)..<(index + 1 + length)]))
            index += 1 + length
        }
        self.protocols = protocols
    }
}

/// Picks the server's most preferred protocol the client offers; none in common means no ALPN
/// (the connection then speaks HTTP/1.1). `out` points into the client's list, as OpenSSL
/// requires memory that outlives the callback.
func alpnSelect(
    _ ssl: OpaquePointer?,
    _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
    _ outLength: UnsafeMutablePointer<UInt8>?,
    _ offered: UnsafePointer<UInt8>?,
    _ offeredLength: UInt32,
    _ arg: UnsafeMutableRawPointer?
) -> Int32 {
    guard let arg, let offered, let out, let outLength else { return SSL_TLSEXT_ERR_NOACK }
    let preference = Unmanaged<ALPNPreference>.fromOpaque(arg).takeUnretainedValue()
    let client = UnsafeBufferPointer(start: offered, count: Int(offeredLength))
    for wanted in preference.protocols {
        var index = 0
        while index < client.count {
            let length = Int(client[index])
            let start = index + 1
            guard start + length <= client.count else { break }
            if length == wanted.count && client[start..<(start + length)].elementsEqual(wanted) {
                out.pointee = offered + start
                outLength.pointee = UInt8(length)
                return SSL_TLSEXT_ERR_OK
            }
            index = start + length
        }
    }
    return SSL_TLSEXT_ERR_NOACK
}
