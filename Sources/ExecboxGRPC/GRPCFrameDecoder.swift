public import ExecboxRPC
public import NIOCore

/// Splits a gRPC body into messages: each is a 1-byte compressed flag, a 4-byte big-endian
/// length, then the bytes. Messages may be split across DATA frames at any point. A length over
/// the limit fails before any of its bytes are buffered; a compressed message is inflated with
/// the call's `grpc-encoding`, bounded by the same limit.
public struct GRPCFrameDecoder: Sendable {
    public struct Message: Sendable, Hashable {
        public var bytes: [UInt8]
        /// The message arrived with the compressed flag set.
        public var compressed: Bool
    }

    public let maxMessageBytes: Int
    /// The peer's `grpc-encoding`; nil for identity.
    public var encoding: CompressionAlgorithm?
    private var buffer = ByteBuffer()

    public init(maxMessageBytes: Int, encoding: CompressionAlgorithm? = nil) {
        self.maxMessageBytes = maxMessageBytes
        self.encoding = encoding
    }

    public mutating func append(_ chunk: ByteBuffer) {
        // Nothing pending (the usual case: messages arrive whole): take the chunk as it is,
        // without copying it.
        if buffer.readableBytes == 0 {
            buffer = chunk
            return
        }
        var chunk = chunk
        buffer.writeBuffer(&chunk)
    }

    /// The next complete message, nil if more bytes are needed.
    public mutating func next() throws(RPCError) -> Message? {
        guard buffer.readableBytes >= 5,
            let flag = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
            let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self)
        else { return nil }
        guard flag <= 1 else {
            throw RPCError(code: .internal, message: "invalid message flag \(flag)")
        }
        guard flag == 0 || encoding != nil else {
            // PROTOCOL-HTTP2: a compressed message with identity (or no) grpc-encoding is an error.
            throw RPCError(code: .internal, message: "compressed message without a grpc-encoding")
        }
        guard Int(length) <= maxMessageBytes else {
            throw RPCError(
                code: .resourceExhausted,
                message: "message of \(length) bytes exceeds the \(maxMessageBytes)-byte limit"
            )
        }
        guard buffer.readableBytes >= 5 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 5)
        let bytes = buffer.readBytes(length: Int(length)) ?? []
        buffer.discardReadBytes()
        guard flag == 1, let encoding else { return Message(bytes: bytes, compressed: false) }
        return Message(
            bytes: try GRPCCompression.decompress(bytes, with: encoding, limit: maxMessageBytes),
            compressed: true
        )
    }

    /// Bytes of a message cut short when the body ended.
    public var hasPartialMessage: Bool { buffer.readableBytes > 0 }

    /// One message framed for the wire, compressed when `compression` is set.
    public static func frame(_ message: [UInt8], compression: CompressionAlgorithm?) -> ByteBuffer {
        let payload = compression.map { GRPCCompression.compress(message, with: $0) } ?? message
        var frame = ByteBuffer()
        frame.reserveCapacity(5 + payload.count)
        frame.writeInteger(UInt8(compression == nil ? 0 : 1))
        frame.writeInteger(UInt32(payload.count))
        frame.writeBytes(payload)
        return frame
    }
}
