public import ExecboxWire

/// Maps `/package.Service/Method` paths to handlers working on encoded messages. Typed handlers
/// are registered through the generated server protocols.
public struct RPCRouter: Sendable {
    /// Serves one call: reads requests, writes responses, and returns or throws for the status.
    public typealias Handler =
        @Sendable (
            _ requests: RPCAsyncSequence<[UInt8]>,
            _ responses: RPCWriter<[UInt8]>,
            _ context: ServerContext
        ) async throws -> Void

    public struct Route: Sendable {
        public let method: MethodDescriptor
        public let handler: Handler
    }

    public private(set) var routes: [String: Route] = [:]
    /// Run around every handler, first one outermost; routes registered later are wrapped too.
    public private(set) var interceptors: [any ServerInterceptor] = []

    public init() {}

    public init(services: [any RPCService], interceptors: [any ServerInterceptor] = []) {
        self.interceptors = interceptors
        for service in services { service.registerMethods(with: &self) }
    }

    /// Adds interceptors inside the ones already present, around every route.
    public mutating func intercept(with added: [any ServerInterceptor]) {
        routes = routes.mapValues { route in
            Route(method: route.method, handler: Self.wrap(route.handler, in: added))
        }
        interceptors += added
    }

    private static func wrap(_ handler: @escaping Handler, in interceptors: [any ServerInterceptor]) -> Handler {
        interceptors.reversed().reduce(handler) { next, interceptor in
            { requests, responses, context in
                try await interceptor.intercept(requests: requests, responses: responses, context: context, next: next)
            }
        }
    }

    public func route(forPath path: String) -> Route? {
        routes[path]
    }

    /// The full names of the services served, for reflection.
    public var serviceNames: [String] {
        Array(Set(routes.values.map(\.method.service))).sorted()
    }

    public mutating func register(_ method: MethodDescriptor, handler: @escaping Handler) {
        routes[method.path] = Route(method: method, handler: Self.wrap(handler, in: interceptors))
    }

    public mutating func registerUnary<Request: WireMessage, Response: WireMessage>(
        _ method: MethodDescriptor,
        _ type: (Request.Type, Response.Type),
        handler: @escaping @Sendable (Request, ServerContext) async throws -> Response
    ) {
        register(method) { requests, responses, context in
            let request = try await RPCCodec.single(Request.self, from: requests)
            let response = try await handler(request, context)
            try await responses.write(response.serializedBytes())
        }
    }

    public mutating func registerClientStreaming<Request: WireMessage, Response: WireMessage>(
        _ method: MethodDescriptor,
        _ type: (Request.Type, Response.Type),
        handler: @escaping @Sendable (RPCAsyncSequence<Request>, ServerContext) async throws -> Response
    ) {
        register(method) { requests, responses, context in
            let response = try await handler(RPCCodec.decoding(Request.self, requests), context)
            try await responses.write(response.serializedBytes())
        }
    }

    public mutating func registerServerStreaming<Request: WireMessage, Response: WireMessage>(
        _ method: MethodDescriptor,
        _ type: (Request.Type, Response.Type),
        handler: @escaping @Sendable (Request, RPCWriter<Response>, ServerContext) async throws -> Void
    ) {
        register(method) { requests, responses, context in
            let request = try await RPCCodec.single(Request.self, from: requests)
            try await handler(request, RPCCodec.encoding(Response.self, responses), context)
        }
    }

    public mutating func registerBidirectionalStreaming<Request: WireMessage, Response: WireMessage>(
        _ method: MethodDescriptor,
        _ type: (Request.Type, Response.Type),
        handler:
            @escaping @Sendable (RPCAsyncSequence<Request>, RPCWriter<Response>, ServerContext) async throws -> Void
    ) {
        register(method) { requests, responses, context in
            try await handler(
                RPCCodec.decoding(Request.self, requests),
                RPCCodec.encoding(Response.self, responses),
                context
            )
        }
    }
}
