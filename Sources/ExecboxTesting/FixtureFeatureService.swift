public import ExecboxFixtures
public import ExecboxRPC
public import ExecboxWellKnownTypes
import ExecboxWire

/// The fixtures' FeatureService with answers a test can check, for every transport's tests:
///
/// - Unary: id + 1, name = the `x-greeting` metadata; name "fail" → FAILED_PRECONDITION,
///   "sleep" → sleeps 10 s (deadlines), "crash" → a non-RPC error (UNKNOWN on the wire),
///   "compressed?" → name = whether the request arrived compressed ("true"/"false");
///   metadata `x-echo-initial` / `x-echo-trailing-bin` come back in the response headers /
///   trailers, and `x-compress-response: gzip|deflate` compresses the response
/// - ClientStream: the sum of the ids; ServerStream: ids 0..<request.id; Bidi: each id doubled
public struct FixtureFeatureService: Execbox_Fixtures_V1_FeatureServiceProtocol {
    public typealias Nested = Execbox_Fixtures_V1_Nested

    public static let failureMessage = "asked to fail: fälsch ✓ 100%"

    struct Crash: Error {}

    public init() {}

    public func unary(request: Nested, context: ServerContext) async throws -> Nested {
        Self.echoMetadata(context)
        switch request.name {
        case "fail": throw RPCError(code: .failedPrecondition, message: Self.failureMessage)
        case "sleep": try await Task.sleep(for: .seconds(10))
        case "crash": throw Crash()
        case "compressed?":
            return Nested.with {
                $0.id = request.id + 1
                $0.name = String(context.call.lastRequestMessageWasCompressed)
            }
        default: break
        }
        return Nested.with {
            $0.id = request.id + 1
            $0.name = context.metadata.first("x-greeting") ?? ""
        }
    }

    static func echoMetadata(_ context: ServerContext) {
        for entry in context.metadata {
            switch entry.key {
            case "x-echo-initial": context.call.addInitialMetadata(entry.key, entry.value)
            case "x-echo-trailing-bin": context.call.addTrailingMetadata(entry.key, entry.value)
            default: break
            }
        }
        if let name = context.metadata.first("x-compress-response") {
            context.call.compressResponses(with: CompressionAlgorithm(encoding: name))
        }
    }

    public func clientStream(requests: RPCAsyncSequence<Nested>, context: ServerContext) async throws -> Nested {
        var sum: Int32 = 0
        for try await request in requests { sum &+= request.id }
        return Nested.with { $0.id = sum }
    }

    public func serverStream(request: Nested, responses: RPCWriter<Nested>, context: ServerContext) async throws {
        for i in 0..<request.id { try await responses.write(Nested.with { $0.id = i }) }
    }

    public func bidi(
        requests: RPCAsyncSequence<Nested>,
        responses: RPCWriter<Nested>,
        context: ServerContext
    ) async throws {
        Self.echoMetadata(context)
        for try await request in requests { try await responses.write(Nested.with { $0.id = request.id &* 2 }) }
    }

    public func ping(request: Google_Protobuf_Empty, context: ServerContext) async throws -> Google_Protobuf_Empty {
        request
    }
}
