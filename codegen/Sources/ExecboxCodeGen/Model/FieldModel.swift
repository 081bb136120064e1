package struct FieldModel: Hashable, Sendable {
    package var protoName: String
    package var jsonName: String
    /// The Swift property (or oneof case) name, already escaped where it is a keyword.
    package var swiftName: String
    package var number: Int
    package var type: FieldType
    package var cardinality: Cardinality
    package var comment: String
    /// Index into the message's oneofs, for fields of a (real, not synthetic) oneof.
    package var oneofIndex: Int?
    /// A singular message field on a cycle back to its own message: stored boxed.
    package var isBoxed: Bool

    package init(
        protoName: String, jsonName: String, swiftName: String, number: Int, type: FieldType,
        cardinality: Cardinality, comment: String = "", oneofIndex: Int? = nil, isBoxed: Bool = false
    ) {
        self.protoName = protoName
        self.jsonName = jsonName
        self.swiftName = swiftName
        self.number = number
        self.type = type
        self.cardinality = cardinality
        self.comment = comment
        self.oneofIndex = oneofIndex
        self.isBoxed = isBoxed
    }
}

package enum Cardinality: Hashable, Sendable {
    /// proto3 implicit presence: a plain value, omitted on the wire when it is the default.
    case implicit
    /// Explicit presence (proto3 `optional`, proto2 `optional`, any singular message): a Swift optional.
    case optional
    case repeated(packed: Bool)
    case map(key: FieldType, value: FieldType)
}

package indirect enum FieldType: Hashable, Sendable {
    case double, float, int64, uint64, int32, fixed64, fixed32, bool, string, bytes
    case uint32, sfixed32, sfixed64, sint32, sint64
    /// Qualified Swift type name and the full proto name.
    case message(swiftType: String, fullName: String)
    /// Qualified Swift type name and the Swift name of the value numbered 0 (the default).
    case enumeration(swiftType: String, defaultCase: String)
}
