public import ExecboxWire

/// Turns encoded message streams into typed ones, mapping decode failures to RPC errors.
public enum RPCCodec {
    public static func decode<M: WireMessage>(_ type: M.Type, _ bytes: [UInt8]) throws(RPCError) -> M {
        do {
            return try M(serializedBytes: bytes)
        } catch {
            throw RPCError(
                code: .internal,
                message: "failed to decode \(M.protoMessageName): \(error)",
                cause: error
            )
        }
    }

    public static func decoding<M: WireMessage>(
        _ type: M.Type,
        _ messages: RPCAsyncSequence<[UInt8]>
    ) -> RPCAsyncSequence<M> {
        messages.map { bytes in try decode(M.self, bytes) }
    }

    public static func encoding<M: WireMessage>(_ type: M.Type, _ writer: RPCWriter<[UInt8]>) -> RPCWriter<M> {
        writer.map { message in message.serializedBytes() }
    }

    /// Exactly one message, as a unary side of a call must send; another count is a cardinality
    /// violation, UNIMPLEMENTED by gRPC's status-code table.
    public static func single<M: WireMessage>(
        _ type: M.Type,
        from messages: RPCAsyncSequence<[UInt8]>
    ) async throws -> M {
        var iterator = messages.makeAsyncIterator()
        guard let first = try await iterator.next() else {
            throw RPCError(code: .unimplemented, message: "expected one \(M.protoMessageName), received none")
        }
        guard try await iterator.next() == nil else {
            throw RPCError(code: .unimplemented, message: "expected one \(M.protoMessageName), received more")
        }
        return try decode(M.self, first)
    }
}
