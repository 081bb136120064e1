package struct EnumModel: Hashable, Sendable {
    package var fullName: String
    package var swiftName: String
    package var qualifiedSwiftName: String
    package var comment: String
    /// Distinct numbers, in declaration order; aliases are in `aliases`.
    package var values: [EnumValueModel]
    package var aliases: [EnumValueModel]

    package init(
        fullName: String, swiftName: String, qualifiedSwiftName: String, comment: String = "",
        values: [EnumValueModel], aliases: [EnumValueModel] = []
    ) {
        self.fullName = fullName
        self.swiftName = swiftName
        self.qualifiedSwiftName = qualifiedSwiftName
        self.comment = comment
        self.values = values
        self.aliases = aliases
    }

    /// The case for 0, which proto3 requires first; a proto2 enum may lack it.
    package var defaultCase: String {
        values.first(where: { $0.number == 0 })?.swiftName ?? values.first?.swiftName ?? "unrecognized(0)"
    }
}

package struct EnumValueModel: Hashable, Sendable {
    package var protoName: String
    package var swiftName: String
    package var number: Int32
    package var comment: String

    package init(protoName: String, swiftName: String, number: Int32, comment: String = "") {
        self.protoName = protoName
        self.swiftName = swiftName
        self.number = number
        self.comment = comment
    }
}
