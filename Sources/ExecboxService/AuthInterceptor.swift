public import ExecboxRPC

/// `authorization: Bearer <key>` on every call except health, reflection and the public
/// AccountService calls. Binds ``Principal/current`` around the rest of the call. On streaming
/// calls it checks the key again every `revalidateEvery` and ends the call with UNAUTHENTICATED
/// once the key was revoked, rotated or expired.
public struct AuthInterceptor: ServerInterceptor {
    public let authenticator: Authenticator
    public let revalidateEvery: Duration

    /// One message for every failure, so a caller learns nothing about which check failed.
    public static let unauthenticated = RPCError(
        code: .unauthenticated, message: "missing or invalid API key (send 'authorization: Bearer <key>')")

    public init(authenticator: Authenticator, revalidateEvery: Duration = .seconds(2)) {
        self.authenticator = authenticator
        self.revalidateEvery = revalidateEvery
    }

    /// Calls that need no key. A key sent anyway on a public call is used when valid (RequestQuota
    /// records it) and ignored otherwise.
    public static func isPublic(_ method: MethodDescriptor) -> Bool {
        method.service.hasPrefix("grpc.health.") || method.service.hasPrefix("grpc.reflection.")
            || PublicMethods.paths.contains(method.path)
    }

    public func intercept(
        requests: RPCAsyncSequence<[UInt8]>,
        responses: RPCWriter<[UInt8]>,
        context: ServerContext,
        next: RPCRouter.Handler
    ) async throws {
        let token = Self.bearerToken(context.metadata)
        if Self.isPublic(context.method) {
            let principal = try await token.asyncFlatMap { try await authenticator.authenticate(token: $0) }
            RequestInfo.current?.attribution.current = principal
            try await Principal.$current.withValue(principal) { try await next(requests, responses, context) }
            return
        }
        guard let token, let principal = try await authenticator.authenticate(token: token) else {
            throw Self.unauthenticated
        }
        RequestInfo.current?.attribution.current = principal
        try await Principal.$current.withValue(principal) {
            if context.method.kind == .unary {
                try await next(requests, responses, context)
            } else {
                // The group below ends before this call returns, so `next` does not outlive it.
                try await withoutActuallyEscaping(next) { next in
                    try await withRevalidation(token: token, principal: principal) {
                        try await next(requests, responses, context)
                    }
                }
            }
        }
    }

    /// Runs `body` while a second task re-authenticates the key periodically.
    private func withRevalidation(
        token: String, principal: Principal, _ body: @escaping @Sendable () async throws -> Void
    ) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await body() }
            group.addTask {
                while true {
                    try await Task.sleep(for: revalidateEvery)
                    let again = try await authenticator.authenticate(token: token)
                    guard again?.keyID == principal.keyID else { throw Self.unauthenticated }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// The token of `authorization: Bearer <token>` (scheme case-insensitive, RFC 6750).
    /// `Bearer <key>` exactly as the legacy server took it: the scheme as written, one space, a key
    /// with no whitespace. Anything else (another case, two spaces, a trailing space) is the same
    /// uniform UNAUTHENTICATED as a wrong key (TESTPLAN 70), over gRPC and REST alike.
    static func bearerToken(_ metadata: Metadata) -> String? {
        guard let value = metadata.first("authorization"), value.hasPrefix("Bearer ") else { return nil }
        let token = value.dropFirst("Bearer ".count)
        guard !token.isEmpty, !token.contains(where: \.isWhitespace) else { return nil }
        return String(token)
    }
}

extension Optional {
    fileprivate func asyncFlatMap<T>(_ transform: (Wrapped) async throws -> T?) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
