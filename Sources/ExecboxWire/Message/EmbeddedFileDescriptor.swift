/// One `.proto` file as protoc described it: a serialized `google.protobuf.FileDescriptorProto`
/// (source info removed), which the generator embeds in each module's registry so that server
/// reflection can hand stock tools the schema without shipping `.proto` files.
public struct EmbeddedFileDescriptor: Hashable, Sendable {
    /// Such as `execbox/v1/session.proto`.
    public let name: String
    /// The files this one imports, by name, in declaration order.
    public let dependencies: [String]
    /// The `FileDescriptorProto`, encoded.
    public let serializedBytes: [UInt8]

    public init(name: String, dependencies: [String], serializedBytes: [UInt8]) {
        self.name = name
        self.dependencies = dependencies
        self.serializedBytes = serializedBytes
    }

    /// From the generator's literal: standard base64, wrapped across lines. A string literal
    /// compiles far faster than an array literal of the same bytes.
    public init(name: String, dependencies: [String], base64: String) {
        let text = base64.filter { !$0.isWhitespace }
        guard let bytes = Base64.decode(text) else {
            preconditionFailure("the embedded descriptor of \(name) is not base64")
        }
        self.init(name: name, dependencies: dependencies, serializedBytes: bytes)
    }
}
