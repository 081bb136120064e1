/// One `.proto` file, resolved into the names and shapes the renderer writes. Independent of
/// descriptor types, so the renderer can be tested from hand-built models.
package struct FileModel: Hashable, Sendable {
    package var protoPath: String
    package var package: String
    package var isProto3: Bool
    /// Modules the generated file imports besides ExecboxWire (and ExecboxRPC when it has services).
    package var imports: [String]
    package var messages: [MessageModel]
    package var enums: [EnumModel]
    package var services: [ServiceModel]
    /// The files this one imports, by `.proto` path.
    package var dependencies: [String]
    /// The file's `FileDescriptorProto` without source info, encoded: embedded in the registry
    /// for server reflection (comments stay out, so editing them does not change it).
    package var descriptor: [UInt8]

    package init(
        protoPath: String, package: String, isProto3: Bool, imports: [String] = [],
        messages: [MessageModel] = [], enums: [EnumModel] = [], services: [ServiceModel] = [],
        dependencies: [String] = [], descriptor: [UInt8] = []
    ) {
        self.protoPath = protoPath
        self.package = package
        self.isProto3 = isProto3
        self.imports = imports
        self.messages = messages
        self.enums = enums
        self.services = services
        self.dependencies = dependencies
        self.descriptor = descriptor
    }
}
