import ExecboxRPC

/// The interop spec's metadata echo, on every method: `x-grpc-test-echo-initial` comes back in
/// the response headers and `x-grpc-test-echo-trailing-bin` in the trailers (custom_metadata).
struct EchoMetadataInterceptor: ServerInterceptor {
    static let initialKey = "x-grpc-test-echo-initial"
    static let trailingKey = "x-grpc-test-echo-trailing-bin"

    func intercept(
        requests: RPCAsyncSequence<[UInt8]>,
        responses: RPCWriter<[UInt8]>,
        context: ServerContext,
        next: RPCRouter.Handler
    ) async throws {
        for entry in context.metadata {
            switch entry.key {
            case Self.initialKey: context.call.addInitialMetadata(entry.key, entry.value)
            case Self.trailingKey: context.call.addTrailingMetadata(entry.key, entry.value)
            default: break
            }
        }
        try await next(requests, responses, context)
    }
}
