/// What claiming an idempotency key found.
public enum IdempotencyOutcome: Hashable, Sendable {
    /// The key was free and is now recorded for `resourceID`.
    case claimed
    /// The key was used before with the same request for this resource.
    case replay(resourceID: String)
}
