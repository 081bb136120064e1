/// Holds a message field that is on a cycle back to its own type (a struct cannot contain
/// itself). Immutable, so the enclosing struct keeps value semantics: setting replaces the box.
public final class WireBox<Value: Hashable & Sendable>: Hashable, Sendable {
    public let value: Value

    public init(_ value: Value) {
        self.value = value
    }

    public static func == (lhs: WireBox, rhs: WireBox) -> Bool {
        lhs === rhs || lhs.value == rhs.value
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(value)
    }
}
