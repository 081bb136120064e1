import ExecboxHTTP2
import ExecboxRPC
internal import ExecboxWire
import NIOConcurrencyHelpers
import NIOCore

/// The response side of one call: headers (with the handler's initial metadata) go out with the
/// first message; the status and trailing metadata go in trailers, or all in one Trailers-Only
/// response when no message was sent.
final class GRPCCallWriter: Sendable {
    private let response: HTTP2ResponseWriter
    private let call: ServerCallState
    /// Nil until the headers are sent; then the response `grpc-encoding` they announced.
    private let sentEncoding = NIOLockedValueBox<CompressionAlgorithm??>(nil)

    init(response: HTTP2ResponseWriter, call: ServerCallState) {
        self.response = response
        self.call = call
    }

    var messageWriter: RPCWriter<[UInt8]> {
        RPCWriter { [self] message in try await self.write(message) }
    }

    private func head(encoding: CompressionAlgorithm?) -> HTTP2Headers {
        let metadata = call.takeInitialMetadata()
        var head = HTTP2Headers()
        head.reserveCapacity(3 + metadata.entries.count + 3)  // room for a Trailers-Only status
        head.addLowercased("content-type", "application/grpc")
        head.addLowercased("grpc-accept-encoding", CompressionAlgorithm.acceptEncoding)
        if let encoding { head.addLowercased("grpc-encoding", encoding.rawValue) }
        Self.add(metadata, to: &head)
        return head
    }

    func write(_ message: [UInt8]) async throws {
        let wanted = call.responseCompression
        let (first, encoding) = sentEncoding.withLockedValue { sent -> (Bool, CompressionAlgorithm?) in
            if let announced = sent { return (false, announced) }
            sent = .some(wanted)
            return (true, wanted)
        }
        if first { try await response.writeHead(status: 200, headers: head(encoding: encoding)) }
        // A message is compressed only with the encoding the headers announced.
        let compression = wanted != nil && wanted == encoding ? encoding : nil
        try await response.writeBody(GRPCFrameDecoder.frame(message, compression: compression))
    }

    /// Ends the call with OK (nil) or the error's status.
    func finish(_ error: RPCError?) async throws {
        let trailing = call.trailingMetadata
        var status = HTTP2Headers()
        status.reserveCapacity(2 + trailing.entries.count)
        status.addLowercased("grpc-status", String(error?.code.rawValue ?? 0))
        if let error, !error.message.isEmpty {
            status.addLowercased("grpc-message", GRPCStatusEncoding.percentEncode(error.message))
        }
        Self.add(trailing, to: &status)
        let sent = sentEncoding.withLockedValue { $0 != nil }
        if sent {
            try await response.finish(trailers: status)
        } else {
            var head = head(encoding: nil)
            for field in status { head.add(field.name, field.value) }
            try await response.writeHead(status: 200, headers: head, endStream: true)
        }
    }

    /// Metadata as header fields, `-bin` values base64-encoded; reserved names are dropped.
    static func add(_ metadata: Metadata, to headers: inout HTTP2Headers) {
        for entry in metadata where !GRPCServer.isReserved(entry.key) {
            switch entry.value {
            case .string(let value): headers.add(entry.key, value)
            case .binary(let bytes): headers.add(entry.key, Base64.encode(bytes))
            }
        }
    }
}
