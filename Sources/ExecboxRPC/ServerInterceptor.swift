/// Runs around every call a router serves (authentication, logging, metrics, rate limits): it
/// sees the call's context and encoded messages, and calls `next` to continue, or throws an
/// ``RPCError`` to end the call with that status without reaching the handler.
public protocol ServerInterceptor: Sendable {
    func intercept(
        requests: RPCAsyncSequence<[UInt8]>,
        responses: RPCWriter<[UInt8]>,
        context: ServerContext,
        next: RPCRouter.Handler
    ) async throws
}
