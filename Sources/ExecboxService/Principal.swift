import ExecboxRPC
public import ExecboxStorage

/// Who a call acts for, as the auth interceptor established it. Handlers read ``current``: the
/// interceptor binds it around `next`, because `ServerContext` is fixed by the transport.
public struct Principal: Hashable, Sendable {
    public var accountID: String
    public var keyID: String
    public var role: KeyRole
    public var tier: Tier

    public init(accountID: String, keyID: String, role: KeyRole, tier: Tier) {
        self.accountID = accountID
        self.keyID = keyID
        self.role = role
        self.tier = tier
    }

    /// The authenticated caller of the call this task serves; nil on public calls made without a key.
    @TaskLocal public static var current: Principal?

    /// ``current``, or UNAUTHENTICATED when a handler that needs a caller runs without one.
    public static func required() throws -> Principal {
        guard let current else { throw AuthInterceptor.unauthenticated }
        return current
    }
}
