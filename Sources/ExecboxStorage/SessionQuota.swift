/// The effective limits a session create is checked against, in the same transaction as the
/// insert. nil means unlimited. Concurrent counts sessions in an active state; daily counts
/// sessions created since 00:00 UTC of the new session's creation day.
///
/// With `includesStoredLimits`, the limits given (the tier's) are tightened in that transaction by
/// the account's own limits (`account_limits`, -1 for none) and the creating key's custom limits:
/// the smallest limit set wins. Reading them there costs no round trip, and a limit changed at the
/// same moment cannot fall between the read and the check.
public struct SessionQuota: Hashable, Sendable {
    public var accountConcurrent: Int?
    public var accountDaily: Int?
    public var keyConcurrent: Int?
    public var keyDaily: Int?
    public var includesStoredLimits: Bool

    public init(
        accountConcurrent: Int? = nil, accountDaily: Int? = nil, keyConcurrent: Int? = nil, keyDaily: Int? = nil,
        includesStoredLimits: Bool = false
    ) {
        self.accountConcurrent = accountConcurrent
        self.accountDaily = accountDaily
        self.keyConcurrent = keyConcurrent
        self.keyDaily = keyDaily
        self.includesStoredLimits = includesStoredLimits
    }

    public static let unlimited = SessionQuota()

    /// These limits tightened by stored ones (negative or nil: none); what the store checks.
    public func tightened(
        accountConcurrent storedConcurrent: Int?, accountDaily storedDaily: Int?,
        keyConcurrent storedKeyConcurrent: Int?,
        keyDaily storedKeyDaily: Int?
    ) -> SessionQuota {
        func smallest(_ a: Int?, _ b: Int?) -> Int? {
            let set = [a, b].compactMap { $0 }.filter { $0 >= 0 }
            return set.min()
        }
        return SessionQuota(
            accountConcurrent: smallest(accountConcurrent, storedConcurrent),
            accountDaily: smallest(accountDaily, storedDaily),
            keyConcurrent: smallest(keyConcurrent, storedKeyConcurrent),
            keyDaily: smallest(keyDaily, storedKeyDaily))
    }
}
