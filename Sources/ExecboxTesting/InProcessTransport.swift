public import ExecboxRPC

/// A client transport that serves calls from an ``RPCRouter`` in the same process: the generated
/// clients and services meet without sockets, for fast unit tests of handlers.
public struct InProcessTransport: ClientTransport {
    public let router: RPCRouter

    public init(router: RPCRouter) {
        self.router = router
    }

    public init(services: [any RPCService]) {
        self.router = RPCRouter(services: services)
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
        let context = ServerContext(method: route.method, metadata: metadata, peer: "in-process", call: call)

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
                } catch let error as RPCError {
                    responseSink.finish(throwing: error)
                } catch is CancellationError {
                    responseSink.finish(throwing: RPCError(code: .cancelled, message: "call cancelled"))
                } catch {
                    responseSink.finish(throwing: RPCError(code: .unknown, message: "handler failed", cause: error))
                }
                requestSink.finish()
            }
            do {
                let result = try await body(outbound, inbound)
                requestSink.finish()
                try await group.waitForAll()
                return result
            } catch {
                group.cancelAll()
                requestSink.finish()
                throw error
            }
        }
    }
}
