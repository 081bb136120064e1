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

    public static func connect(host: String, port: Int) async throws -> GRPCClientTransport {
        GRPCClientTransport(connection: try await HTTP2ClientConnection.connect(host: host, port: port))
    }

    public func call<Result: Sendable>(
        _ method: MethodDescriptor,
        metadata: Metadata,
        options: CallOptions,
        _ body: @Sendable (RPCOutbound, RPCInbound) async throws -> Result
    ) async throws -> Result {
        var headers: HTTP2Headers = ["content-type": "application/grpc", "te": "trailers"]
        if let timeout = options.timeout {
            // grpc-timeout takes at most eight digits: milliseconds cover ~27 hours.
            let ms = max(1, timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
            headers.add("grpc-timeout", "\(min(ms, 99_999_999))m")
        }
        for entry in metadata {
            switch entry.value {
            case .string(let value): headers.add(entry.key, value)
            case .binary(let bytes): headers.add(entry.key, Base64.encode(bytes))
            }
        }
        let stream = try await connection.openStream(method: "POST", path: method.path, headers: headers)
        let outbound = RPCOutbound(
            messages: RPCWriter { message in
                var frame = ByteBuffer()
                frame.reserveCapacity(5 + message.count)
                frame.writeInteger(UInt8(0))
                frame.writeInteger(UInt32(message.count))
                frame.writeBytes(message)
                try await stream.writeBody(frame)
            },
            finish: { try await stream.finish() }
        )
        let inbound = RPCInbound(
            messages: RPCAsyncSequence(
                GRPCResponseMessages(stream: stream, maxMessageBytes: options.maxResponseMessageBytes)
            )
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
