import ExecboxHTTP2
import ExecboxRPC
import NIOConcurrencyHelpers
import NIOCore

/// The response messages of a call; ends normally on `grpc-status: 0` and throws the status as
/// an ``RPCError`` otherwise (from the trailers, or from a Trailers-Only head).
struct GRPCResponseMessages: AsyncSequence, Sendable {
    typealias Element = [UInt8]
    typealias Failure = any Error

    let stream: HTTP2ClientStream
    let maxMessageBytes: Int
    /// Set when the status arrives: the metadata sent with it (trailers, or a Trailers-Only head).
    let trailingMetadata: NIOLockedValueBox<Metadata>

    /// Stream failures become the status `code(for:)` gives them.
    static func mapped<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as HTTP2Error {
            throw RPCError(code: code(for: error), message: error.message, cause: error)
        }
    }

    /// gRPC's status for an HTTP/2 failure (PROTOCOL-HTTP2.md, "Errors"): a stream reset by its
    /// RST_STREAM code — REFUSED_STREAM (not processed: safe to retry) UNAVAILABLE, CANCEL
    /// CANCELLED, ENHANCE_YOUR_CALM RESOURCE_EXHAUSTED, INADEQUATE_SECURITY PERMISSION_DENIED, any
    /// other (NO_ERROR included: the call ended without a status) INTERNAL; a lost connection
    /// UNAVAILABLE.
    static func code(for error: HTTP2Error) -> RPCError.Code {
        guard error.code == .streamClosed, let resetCode = error.resetCode else { return .unavailable }
        switch resetCode {
        case 0x7: return .unavailable
        case 0x8: return .cancelled
        case 0xb: return .resourceExhausted
        case 0xc: return .permissionDenied
        default: return .internal
        }
    }

    func makeAsyncIterator() -> Iterator {
        Iterator(
            stream: stream,
            decoder: GRPCFrameDecoder(maxMessageBytes: maxMessageBytes),
            trailingMetadata: trailingMetadata
        )
    }

    struct Iterator: AsyncIteratorProtocol {
        let stream: HTTP2ClientStream
        var decoder: GRPCFrameDecoder
        let trailingMetadata: NIOLockedValueBox<Metadata>
        var body: HTTP2InboundBody.AsyncIterator?
        var done = false

        mutating func next() async throws -> [UInt8]? {
            guard !done else { return nil }
            if body == nil {
                let head = try await GRPCResponseMessages.mapped { try await stream.response() }
                if let status = head["grpc-status"] {
                    // Trailers-Only: the status is in the head and no body follows.
                    done = true
                    trailingMetadata.withLockedValue { $0 = GRPCServer.metadata(head) }
                    try Self.check(
                        status: status, message: head["grpc-message"], metadata: trailingMetadata.withLockedValue { $0 }
                    )
                    return nil
                }
                guard head[":status"] == "200" else {
                    done = true
                    throw RPCError(
                        code: Self.code(httpStatus: head[":status"]),
                        message: "HTTP status \(head[":status"] ?? "none")")
                }
                if let encoding = head["grpc-encoding"], encoding != "identity" {
                    guard let known = CompressionAlgorithm(encoding: encoding) else {
                        done = true
                        throw RPCError(code: .internal, message: "the server used unknown grpc-encoding \(encoding)")
                    }
                    decoder.encoding = known
                }
                body = stream.body.makeAsyncIterator()
            }
            while true {
                if let message = try decoder.next() { return message.bytes }
                guard let chunk = try await GRPCResponseMessages.mapped({ try await body!.next() }) else {
                    done = true
                    guard !decoder.hasPartialMessage else {
                        throw RPCError(code: .internal, message: "the response ended inside a message")
                    }
                    let trailers = stream.body.trailers
                    if let trailers { trailingMetadata.withLockedValue { $0 = GRPCServer.metadata(trailers) } }
                    guard let status = trailers?["grpc-status"] else {
                        throw RPCError(code: .internal, message: "the response ended without grpc-status")
                    }
                    try Self.check(
                        status: status, message: trailers?["grpc-message"],
                        metadata: trailingMetadata.withLockedValue { $0 })
                    return nil
                }
                decoder.append(chunk)
            }
        }

        /// A non-OK status as an error carrying the trailing metadata (error details such as
        /// `execbox-error-bin` or `retry-after-ms` live there).
        private static func check(status: String, message: String?, metadata: Metadata) throws {
            guard let code = Int(status) else { throw RPCError(code: .internal, message: "malformed grpc-status") }
            guard code != 0 else { return }
            let text = GRPCStatusEncoding.percentDecode(message ?? "")
            throw RPCError(code: RPCError.Code(rawValue: code), message: text, metadata: metadata)
        }

        /// PROTOCOL-HTTP2's mapping for responses that are not gRPC.
        private static func code(httpStatus: String?) -> RPCError.Code {
            switch httpStatus {
            case "400": .internal
            case "401": .unauthenticated
            case "403": .permissionDenied
            case "404": .unimplemented
            case "429", "502", "503", "504": .unavailable
            default: .unknown
            }
        }
    }
}
