/// What a key may do to the account's other keys: the primary key (one per account, created with
/// it) cannot be revoked, and only the primary key may rotate or change itself.
public enum KeyRole: String, Hashable, Sendable {
    case primary
    case secondary

    /// The `<kind>` letter of an Execbox key string.
    var kindLetter: Character {
        switch self {
        case .primary: "p"
        case .secondary: "s"
        }
    }

    init?(kindLetter: Character) {
        switch kindLetter {
        case "p": self = .primary
        case "s": self = .secondary
        default: return nil
        }
    }
}
