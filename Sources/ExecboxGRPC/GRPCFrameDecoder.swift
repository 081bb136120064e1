import ExecboxRPC
import NIOCore

/// Splits a gRPC body into messages: each is a 1-byte compressed flag, a 4-byte big-endian
/// length, then the bytes. Messages may be split across DATA frames at any point.
struct GRPCFrameDecoder {
    let maxMessageBytes: Int
    private var buffer = ByteBuffer()

    init(maxMessageBytes: Int) {
        self.maxMessageBytes = maxMessageBytes
    }

    mutating func append(_ chunk: ByteBuffer) {
        var chunk = chunk
        buffer.writeBuffer(&chunk)
    }

    /// The next complete message, nil if more bytes are needed.
    mutating func next() throws(RPCError) -> [UInt8]? {
        guard buffer.readableBytes >= 5,
            let flag = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self)
        else { return nil }
        guard flag == 0 else {
            // No grpc-encoding was accepted, so a compressed message is a protocol error.
            throw RPCError(code: .internal, message: "compressed message without a negotiated grpc-encoding")
        }
        guard Int(length) <= maxMessageBytes else {
            throw RPCError(
                code: .resourceExhausted,
                message: "message of \(length) bytes exceeds the \(maxMessageBytes)-byte limit"
            )
        }
        guard buffer.readableBytes >= 5 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 5)
        let message = buffer.readBytes(length: Int(length)) ?? []
        buffer.discardReadBytes()
        return message
    }

    /// Bytes of a message cut short when the body ended.
    var hasPartialMessage: Bool { buffer.readableBytes > 0 }
}
