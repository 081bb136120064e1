/// What a bearer token looks like before the store is asked: an Execbox key (its embedded id and
/// role, checksum verified) or a legacy key (any other printable string, `sk_` + 64 hex in practice).
public enum PresentedKey: Hashable, Sendable {
    case execbox(role: KeyRole, keyID: String)
    case legacy
}
