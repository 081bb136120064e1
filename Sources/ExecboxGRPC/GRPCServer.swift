public import ExecboxHTTP2
public import ExecboxRPC
internal import ExecboxWire
import NIOConcurrencyHelpers
import NIOCore

/// Serves an ``RPCRouter`` as gRPC over ExecboxHTTP2: length-prefixed messages, status in
/// trailers (or Trailers-Only), `grpc-timeout` deadlines, custom and `-bin` metadata.
/// Requests may be gzip- or deflate-compressed; responses are when the handler asks and the
/// client accepts (``ServerCallState/compressResponses(with:)``).
public struct GRPCServer: Sendable {
    public let router: RPCRouter
    /// Largest request message accepted; larger ones fail the call with RESOURCE_EXHAUSTED.
    public let maxReceiveMessageBytes: Int

    public init(router: RPCRouter, maxReceiveMessageBytes: Int = 4 << 20) {
        self.router = router
        self.maxReceiveMessageBytes = maxReceiveMessageBytes
    }

    /// The HTTP/2 handler: pass this to `HTTP2Server.run(handler:)`.
    public var handler: HTTP2Server.Handler {
        { request, response in try await serve(request, response) }
    }

    func serve(_ request: HTTP2ServerRequest, _ response: HTTP2ResponseWriter) async throws {
        let contentType = request.headers["content-type"] ?? ""
        guard
            contentType == "application/grpc" || contentType.hasPrefix("application/grpc+")
                || contentType.hasPrefix("application/grpc;")
        else {
            // PROTOCOL-HTTP2: a non-gRPC content type gets HTTP 415.
            try await response.writeHead(status: 415, headers: ["content-type": "text/plain"], endStream: true)
            return
        }
        // grpc-encoding: identity or absent means uncompressed; an unknown one is UNIMPLEMENTED,
        // and the response names the ones supported (PROTOCOL-HTTP2).
        var requestEncoding: CompressionAlgorithm?
        if let encoding = request.headers["grpc-encoding"], encoding != "identity" {
            guard let known = CompressionAlgorithm(encoding: encoding) else {
                try await GRPCCallWriter(response: response, call: ServerCallState()).finish(
                    RPCError(code: .unimplemented, message: "grpc-encoding \(encoding) is not supported")
                )
                return
            }
            requestEncoding = known
        }
        let state = ServerCallState(
            requestEncoding: requestEncoding,
            acceptedEncodings: Self.acceptedEncodings(request.headers["grpc-accept-encoding"])
        )
        let call = GRPCCallWriter(response: response, call: state)
        guard request.method == "POST" else {
            try await call.finish(RPCError(code: .unimplemented, message: "gRPC calls use POST"))
            return
        }
        guard let route = router.route(forPath: request.path) else {
            try await call.finish(RPCError(code: .unimplemented, message: "method \(request.path) not found"))
            return
        }
        var timeout: Duration?
        if let value = request.headers["grpc-timeout"] {
            guard let parsed = GRPCStatusEncoding.parseTimeout(value) else {
                try await call.finish(RPCError(code: .invalidArgument, message: "malformed grpc-timeout"))
                return
            }
            guard parsed > .zero else {
                // A deadline already passed: the handler does not run (no race with a zero sleep).
                try await call.finish(RPCError(code: .deadlineExceeded, message: "deadline exceeded"))
                return
            }
            timeout = parsed
        }
        let context = ServerContext(
            method: route.method,
            metadata: Self.metadata(request.headers),
            peer: request.peer,
            call: state
        )
        let requests = RPCAsyncSequence(
            GRPCRequestMessages(body: request.body, maxMessageBytes: maxReceiveMessageBytes, call: state)
        )
        let outcome = await Self.run(timeout: timeout) {
            try await route.handler(requests, call.messageWriter, context)
        }
        try await call.finish(outcome)
    }

    /// Runs the handler, bounded by the deadline; any failure becomes an RPCError.
    private static func run(
        timeout: Duration?,
        _ body: @escaping @Sendable () async throws -> Void
    ) async -> RPCError? {
        do {
            if let timeout {
                try await withThrowingTaskGroup(of: Bool.self) { group in
                    group.addTask {
                        try await body()
                        return true
                    }
                    group.addTask {
                        try await Task.sleep(for: timeout)
                        return false
                    }
                    let finished = try await group.next() ?? false
                    group.cancelAll()
                    if !finished { throw RPCError(code: .deadlineExceeded, message: "deadline exceeded") }
                }
            } else {
                try await body()
            }
            return nil
        } catch let error as RPCError {
            return error
        } catch is CancellationError {
            return RPCError(code: .cancelled, message: "call cancelled")
        } catch {
            return RPCError(code: .unknown, message: "handler failed", cause: error)
        }
    }

    /// Header names that are not metadata: pseudo-headers, `grpc-*`, and HTTP's own.
    public static func isReserved(_ name: String) -> Bool {
        name.hasPrefix(":") || name.hasPrefix("grpc-") || name == "te" || name == "content-type"
    }

    /// The algorithms named in `grpc-accept-encoding` that this side supports.
    public static func acceptedEncodings(_ value: String?) -> Set<CompressionAlgorithm> {
        guard let value else { return [] }
        var accepted = Set<CompressionAlgorithm>()
        for name in value.split(separator: ",") {
            let trimmed = name.trimmingPrefix(while: { $0 == " " })
            if let algorithm = CompressionAlgorithm(encoding: String(trimmed.prefix { $0 != " " })) {
                accepted.insert(algorithm)
            }
        }
        return accepted
    }

    /// Request headers minus reserved names; `-bin` values base64-decoded (an undecodable one is
    /// dropped rather than failing the call).
    public static func metadata(_ headers: HTTP2Headers) -> Metadata {
        var metadata = Metadata()
        // Reserved fields are left out as bytes, before their values are made into Strings.
        headers.forEachField(where: { !isReserved($0) }) { name, value in
            if name.hasSuffix("-bin") {
                if let bytes = Base64.decode(value) { metadata.add(name, .binary(bytes)) }
            } else {
                metadata.add(name, .string(value))
            }
        }
        return metadata
    }

    /// `isReserved` on a name's bytes.
    static func isReserved(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        func starts(with prefix: StaticString) -> Bool {
            name.count >= prefix.utf8CodeUnitCount
                && name.prefix(prefix.utf8CodeUnitCount).elementsEqual(
                    UnsafeBufferPointer(start: prefix.utf8Start, count: prefix.utf8CodeUnitCount))
        }
        func equals(_ literal: StaticString) -> Bool {
            name.count == literal.utf8CodeUnitCount && starts(with: literal)
        }
        return starts(with: ":") || starts(with: "grpc-") || equals("te") || equals("content-type")
    }
}
