/// Choices that change the JSON a message encodes to.
public struct JSONEncodingOptions: Sendable, Hashable {
    /// Keys are the lowerCamelCase JSON names by default, as proto3 JSON prescribes; the `.proto`
    /// snake_case names are for clients that were written against those.
    public var preserveProtoFieldNames: Bool

    public init(preserveProtoFieldNames: Bool = false) {
        self.preserveProtoFieldNames = preserveProtoFieldNames
    }
}
