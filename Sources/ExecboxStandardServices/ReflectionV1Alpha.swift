internal import ExecboxDescriptors

/// `grpc.reflection.v1alpha` is wire-identical to `v1`; older tools know only the former. The
/// v1 file renamed is what a v1alpha `.proto` would describe, so both services can be listed
/// and described.
enum ReflectionV1Alpha {
    static let v1Package = "grpc.reflection.v1"
    static let package = "grpc.reflection.v1alpha"
    static let service = package + ".ServerReflection"

    /// The v1alpha twin of the v1 reflection file; nil for any other file.
    static func alias(of file: Google_Protobuf_FileDescriptorProto) -> Google_Protobuf_FileDescriptorProto? {
        guard file.package == v1Package, file.service.contains(where: { $0.name == "ServerReflection" }) else {
            return nil
        }
        var alias = file
        alias.name = "grpc/reflection/v1alpha/reflection.proto"
        alias.package = package
        alias.messageType = alias.messageType.map(renamed)
        for s in alias.service.indices {
            for m in alias.service[s].method.indices {
                alias.service[s].method[m].inputType = alias.service[s].method[m].inputType.map(renamed)
                alias.service[s].method[m].outputType = alias.service[s].method[m].outputType.map(renamed)
            }
        }
        return alias
    }

    private static func renamed(_ message: Google_Protobuf_DescriptorProto) -> Google_Protobuf_DescriptorProto {
        var message = message
        for f in message.field.indices { message.field[f].typeName = message.field[f].typeName.map(renamed) }
        message.nestedType = message.nestedType.map(renamed)
        return message
    }

    private static func renamed(_ typeName: String) -> String {
        let prefix = "." + v1Package + "."
        guard typeName.hasPrefix(prefix) else { return typeName }
        return "." + package + "." + typeName.dropFirst(prefix.count)
    }
}
