public import Foundation

/// Idempotency keys of writes other than session creation (which claims its key itself).
public protocol IdempotencyStore: Sendable {
    /// Records `claim` for `resourceID`, or reports the earlier use of the key. The same key with
    /// another digest fails with `.alreadyExists`. An expired key is claimed afresh.
    func claimIdempotencyKey(
        accountID: String,
        scope: String,
        _ claim: IdempotencyClaim,
        resourceID: String,
        at: Date
    ) async throws -> IdempotencyOutcome

    /// Deletes keys expired before `now`; returns how many.
    func purgeIdempotencyKeys(expiredBefore now: Date) async throws -> Int
}
