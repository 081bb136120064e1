public import ExecboxHTTP2
public import ExecboxRPC
internal import ExecboxWire
import NIOConcurrencyHelpers
import NIOCore

/// A ``ClientTransport`` speaking gRPC over one ExecboxHTTP2 client connection: the generated
/// clients call any gRPC server through it.
public final class GRPCClientTransport: ClientTransport {
    public let connection: HTTP2ClientConnection

    public init(connection: HTTP2ClientConnection) {
        self.connection = connection
    }

    /// Connects in cleartext (h2c by prior knowledge), or with `tls` over TLS with ALPN h2.
    public static func connect(host: String, port: Int, tls: TLSConfiguration? = nil) async throws
        -> GRPCClientTransport
    {
        GRPCClientTransport(connection: try await HTTP2ClientConnection.connect(host: host, port: port, tls: tls))
    }

    public func call<Result: Sendable>(
        _ method: MethodDescriptor,
        metadata: Metadata,
        options: CallOptions,
        _ body: @Sendable (RPCOutbound, RPCInbound) async throws -> Result
    ) async throws -> Result {
        var headers: HTTP2Headers = [
            "content-type": "application/grpc", "te": "trailers",
            "grpc-accept-encoding": CompressionAlgorithm.acceptEncoding,
        ]
        if let compression = options.compression { headers.add("grpc-encoding", compression.rawValue) }
        if let timeout = options.timeout {
            // grpc-timeout takes at most eight digits: milliseconds cover ~27 hours.
            let ms = max(1, timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
            headers.add("grpc-timeout", "\(min(ms, 99_999_999))m")
        }
        GRPCCallWriter.add(metadata, to: &headers)
        let stream = try await connection.openStream(method: "POST", path: method.path, headers: headers)
        let compressing = NIOLockedValueBox(true)
        let outbound = RPCOutbound(
            messages: RPCWriter { [compression = options.compression] message in
                let compression = compressing.withLockedValue { $0 } ? compression : nil
                try await Self.closedMapped {
                    try await stream.writeBody(GRPCFrameDecoder.frame(message, compression: compression))
                }
            },
            finish: { try await Self.closedMapped { try await stream.finish() } },
            setMessageCompression: { enabled in compressing.withLockedValue { $0 = enabled } }
        )
        let trailing = NIOLockedValueBox(Metadata())
        let inbound = RPCInbound(
            messages: RPCAsyncSequence(
                GRPCResponseMessages(
                    stream: stream,
                    maxMessageBytes: options.maxResponseMessageBytes,
                    trailingMetadata: trailing
                )
            ),
            initialMetadata: {
                GRPCServer.metadata(try await GRPCResponseMessages.mapped { try await stream.response() })
            },
            trailingMetadata: { trailing.withLockedValue { $0 } }
        )
        guard let timeout = options.timeout else {
            return try await Self.resettingOnFailure(stream) { try await body(outbound, inbound) }
        }
        // The deadline: a timer child resets the stream, which fails the call's reads and writes;
        // the failure is then reported as DEADLINE_EXCEEDED.
        let expired = NIOLockedValueBox(false)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await Task.sleep(for: timeout)
                expired.withLockedValue { $0 = true }
                stream.reset()
            }
            defer { group.cancelAll() }
            do {
                return try await Self.resettingOnFailure(stream) { try await body(outbound, inbound) }
            } catch {
                if expired.withLockedValue({ $0 }) {
                    throw RPCError(code: .deadlineExceeded, message: "deadline exceeded")
                }
                throw error
            }
        }
    }

    /// Writing to a stream the server has closed throws ``OutboundClosedError``: the response
    /// side then reports the call's outcome.
    private static func closedMapped(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as HTTP2Error where error.code == .streamClosed || error.code == .connectionClosed {
            throw OutboundClosedError()
        }
    }

    /// A call abandoned by its caller resets its stream, so the server stops its work.
    private static func resettingOnFailure<R>(
        _ stream: HTTP2ClientStream,
        _ body: () async throws -> R
    ) async throws -> R {
        do {
            return try await body()
        } catch {
            stream.reset()
            throw error
        }
    }
}
