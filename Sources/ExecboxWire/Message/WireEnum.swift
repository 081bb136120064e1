/// A generated proto3 enum. Enums are open: a value this build does not know is kept as
/// `unrecognized(n)` and encoded back unchanged.
public protocol WireEnum: Hashable, Sendable, CaseIterable {
    init(rawValue: Int32)
    var rawValue: Int32 { get }
    /// The value's name in the `.proto`, for JSON; nil for an unrecognised value.
    var protoName: String? { get }
    /// The value with the given `.proto` name, for JSON input.
    init?(protoName: String)
}
