/// A client transport that serves calls from an ``RPCRouter`` in the same process, through the
/// router's interceptors: the generated clients and services meet without sockets. The REST gateway
/// calls the services this way (so every business rule is the gRPC one), and unit tests use it
/// as `InProcessTransport`. A failed call's ``RPCError`` carries the call's trailing metadata, as a
/// network client's would.
public struct RouterTransport: ClientTransport {
    public let router: RPCRouter
    /// What the handlers see as the caller (``ServerContext/peer``): the REST client's address.
    public let peer: String
    /// Called with each call's response headers (initial metadata) once its handler returned.
    public let onResponseHeaders: (@Sendable (Metadata) -> Void)?

    public init(
        router: RPCRouter, peer: String = "in-process", onResponseHeaders: (@Sendable (Metadata) -> Void)? = nil
    ) {
        self.router = router
        self.peer = peer
        self.onResponseHeaders = onResponseHeaders
    }

    public init(services: [any RPCService]) {
        self.init(router: RPCRouter(services: services))
    }

    public func call<Result: Sendable>(
        _ method: MethodDescriptor,
        metadata: Metadata,
        options: CallOptions,
        _ body: @Sendable (RPCOutbound, RPCInbound) async throws -> Result
    ) async throws -> Result {
        let (requests, requestSink) = AsyncThrowingStream.makeStream(of: [UInt8].self)
        let (responses, responseSink) = AsyncThrowingStream.makeStream(of: [UInt8].self)
        let outbound = RPCOutbound(
            messages: RPCWriter { bytes in
                if case .terminated = requestSink.yield(bytes) { throw OutboundClosedError() }
            },
            finish: { requestSink.finish() }
        )
        let call = ServerCallState(requestEncoding: options.compression, acceptedEncodings: [])
        let inbound = RPCInbound(
            messages: RPCAsyncSequence(responses),
            initialMetadata: { call.takeInitialMetadata() },
            trailingMetadata: { call.trailingMetadata }
        )

        guard let route = router.route(forPath: method.path) else {
            responseSink.finish(throwing: RPCError(code: .unimplemented, message: "method \(method.path) not found"))
            return try await body(outbound, inbound)
        }
        let context = ServerContext(method: route.method, metadata: metadata, peer: peer, call: call)

        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                do {
                    try await route.handler(
                        RPCAsyncSequence(requests),
                        RPCWriter { bytes in
                            if case .terminated = responseSink.yield(bytes) {
                                throw RPCError(code: .cancelled, message: "the client has finished the call")
                            }
                        },
                        context
                    )
                    responseSink.finish()
                } catch var error as RPCError {
                    for (key, value) in call.trailingMetadata { error.metadata.add(key, value) }
                    responseSink.finish(throwing: error)
                } catch is CancellationError {
                    responseSink.finish(throwing: RPCError(code: .cancelled, message: "call cancelled"))
                } catch {
                    responseSink.finish(throwing: RPCError(code: .unknown, message: "handler failed", cause: error))
                }
                requestSink.finish()
                onResponseHeaders?(call.takeInitialMetadata())
            }
            do {
                let result = try await body(outbound, inbound)
                requestSink.finish()
                try await group.waitForAll()
                return result
            } catch {
                // The client side failed: the handler must see a failed request stream, never a
                // clean end (a client-streamed upload cut short would otherwise be committed).
                requestSink.finish(throwing: RPCError(code: .cancelled, message: "the client abandoned the call"))
                group.cancelAll()
                throw error
            }
        }
    }
}
