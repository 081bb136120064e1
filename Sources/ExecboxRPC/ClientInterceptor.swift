/// Runs around every call made through an ``InterceptedTransport``: it may change the metadata
/// and options (credentials, request ids), observe the outcome (logging, metrics), or fail the
/// call before it starts.
public protocol ClientInterceptor: Sendable {
    func intercept<Result: Sendable>(
        method: MethodDescriptor,
        metadata: Metadata,
        options: CallOptions,
        next: (Metadata, CallOptions) async throws -> Result
    ) async throws -> Result
}

/// A transport that runs interceptors, first one outermost, before the calls reach `base`.
public struct InterceptedTransport<Base: ClientTransport>: ClientTransport {
    public let base: Base
    public let interceptors: [any ClientInterceptor]

    public init(_ base: Base, interceptors: [any ClientInterceptor]) {
        self.base = base
        self.interceptors = interceptors
    }

    public func call<Result: Sendable>(
        _ method: MethodDescriptor,
        metadata: Metadata,
        options: CallOptions,
        _ body: @Sendable (RPCOutbound, RPCInbound) async throws -> Result
    ) async throws -> Result {
        try await call(from: interceptors[...], method, metadata: metadata, options: options, body)
    }

    private func call<Result: Sendable>(
        from remaining: ArraySlice<any ClientInterceptor>,
        _ method: MethodDescriptor,
        metadata: Metadata,
        options: CallOptions,
        _ body: @Sendable (RPCOutbound, RPCInbound) async throws -> Result
    ) async throws -> Result {
        guard let interceptor = remaining.first else {
            return try await base.call(method, metadata: metadata, options: options, body)
        }
        return try await interceptor.intercept(method: method, metadata: metadata, options: options) {
            metadata, options in
            try await call(from: remaining.dropFirst(), method, metadata: metadata, options: options, body)
        }
    }
}
