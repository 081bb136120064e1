package struct MessageModel: Hashable, Sendable {
    /// Such as `execbox.v1.Session.Port`.
    package var fullName: String
    /// The name inside its parent, such as `Port`.
    package var swiftName: String
    /// The qualified Swift name, such as `Session.Port`.
    package var qualifiedSwiftName: String
    package var comment: String
    package var fields: [FieldModel]
    package var oneofs: [OneofModel]
    package var messages: [MessageModel]
    package var enums: [EnumModel]
    /// Timestamp, Duration and friends have a JSON form of their own.
    package var wellKnown: WellKnownType?

    package init(
        fullName: String, swiftName: String, qualifiedSwiftName: String, comment: String = "",
        fields: [FieldModel] = [], oneofs: [OneofModel] = [], messages: [MessageModel] = [],
        enums: [EnumModel] = [], wellKnown: WellKnownType? = nil
    ) {
        self.fullName = fullName
        self.swiftName = swiftName
        self.qualifiedSwiftName = qualifiedSwiftName
        self.comment = comment
        self.fields = fields
        self.oneofs = oneofs
        self.messages = messages
        self.enums = enums
        self.wellKnown = wellKnown
    }

    /// Fields that are not part of a oneof, in declaration order.
    package var plainFields: [FieldModel] { fields.filter { $0.oneofIndex == nil } }
}

package enum WellKnownType: String, Hashable, Sendable {
    case timestamp = "google.protobuf.Timestamp"
    case duration = "google.protobuf.Duration"
}

package struct OneofModel: Hashable, Sendable {
    package var protoName: String
    /// The property, such as `kind`.
    package var propertyName: String
    /// The enum type, such as `Kind`.
    package var typeName: String
    package var comment: String
    /// A case refers to a message that can contain this one: the enum must be `indirect`.
    package var isIndirect: Bool
}
