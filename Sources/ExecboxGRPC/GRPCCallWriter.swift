import ExecboxHTTP2
import ExecboxRPC
import NIOConcurrencyHelpers
import NIOCore

/// The response side of one call: headers go out with the first message; the status goes in
/// trailers, or alone in a Trailers-Only response when no message was sent.
final class GRPCCallWriter: Sendable {
    private let response: HTTP2ResponseWriter
    private let headersSent = NIOLockedValueBox(false)

    init(response: HTTP2ResponseWriter) {
        self.response = response
    }

    private static let responseHeaders: HTTP2Headers = [
        "content-type": "application/grpc", "grpc-accept-encoding": "identity",
    ]

    var messageWriter: RPCWriter<[UInt8]> {
        RPCWriter { [self] message in try await self.write(message) }
    }

    func write(_ message: [UInt8]) async throws {
        let first = headersSent.withLockedValue { sent in
            defer { sent = true }
            return !sent
        }
        if first { try await response.writeHead(status: 200, headers: Self.responseHeaders) }
        var frame = ByteBuffer()
        frame.reserveCapacity(5 + message.count)
        frame.writeInteger(UInt8(0))
        frame.writeInteger(UInt32(message.count))
        frame.writeBytes(message)
        try await response.writeBody(frame)
    }

    /// Ends the call with OK (nil) or the error's status.
    func finish(_ error: RPCError?) async throws {
        var status = HTTP2Headers()
        status.add("grpc-status", String(error?.code.rawValue ?? 0))
        if let error, !error.message.isEmpty {
            status.add("grpc-message", GRPCStatusEncoding.percentEncode(error.message))
        }
        let sent = headersSent.withLockedValue { $0 }
        if sent {
            try await response.finish(trailers: status)
        } else {
            var head = Self.responseHeaders
            for field in status.fields { head.add(field.name, field.value) }
            try await response.writeHead(status: 200, headers: head, endStream: true)
        }
    }
}
