import NIOCore

/// Counts the length-prefixed gRPC messages in a response body delivered in arbitrary chunks,
/// without copying them.
struct GRPCMessageCounter {
    private var prefixBytesLeft = 5
    private var length = 0
    private var payloadBytesLeft = 0

    /// The number of messages completed by `chunk`; every message must be `expectedLength` bytes.
    mutating func consume(_ chunk: ByteBuffer, expectedLength: Int) throws -> Int {
        var completed = 0
        var index = chunk.readerIndex
        let end = chunk.writerIndex
        while index < end {
            if prefixBytesLeft > 0 {
                // The first prefix byte is the compressed flag; the next four the length (big endian).
                let byte = chunk.getInteger(at: index, as: UInt8.self)!
                if prefixBytesLeft == 5 {
                    guard byte == 0 else { throw LoadError("a compressed message was not asked for") }
                } else {
                    length = length << 8 | Int(byte)
                }
                prefixBytesLeft -= 1
                index += 1
                if prefixBytesLeft == 0 {
                    guard length == expectedLength else {
                        throw LoadError("echo of \(length) bytes, expected \(expectedLength)")
                    }
                    payloadBytesLeft = length
                }
            } else {
                let taken = min(payloadBytesLeft, end - index)
                index += taken
                payloadBytesLeft -= taken
            }
            if prefixBytesLeft == 0 && payloadBytesLeft == 0 {
                completed += 1
                prefixBytesLeft = 5
                length = 0
            }
        }
        return completed
    }
}
