/// The effective limits a session create is checked against, in the same transaction as the
/// insert. nil means unlimited. Concurrent counts sessions in an active state; daily counts
/// sessions created since 00:00 UTC of the new session's creation day.
public struct SessionQuota: Hashable, Sendable {
    public var accountConcurrent: Int?
    public var accountDaily: Int?
    public var keyConcurrent: Int?
    public var keyDaily: Int?

    public init(
        accountConcurrent: Int? = nil, accountDaily: Int? = nil, keyConcurrent: Int? = nil, keyDaily: Int? = nil
    ) {
        self.accountConcurrent = accountConcurrent
        self.accountDaily = accountDaily
        self.keyConcurrent = keyConcurrent
        self.keyDaily = keyDaily
    }

    public static let unlimited = SessionQuota()
}
