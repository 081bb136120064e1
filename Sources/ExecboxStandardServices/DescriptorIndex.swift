internal import ExecboxDescriptors
internal import ExecboxWire

/// The files reflection can serve, and which file defines each symbol: services, methods,
/// messages (nested ones too), fields, oneofs, enums and enum values, by full name.
struct DescriptorIndex: Sendable {
    enum SymbolKind: Sendable {
        case service, method, message, field, oneof, enumeration, enumValue
    }

    private var files: [String: EmbeddedFileDescriptor] = [:]
    private var symbols: [String: (file: String, kind: SymbolKind)] = [:]

    /// Decodes every file once; a file that does not decode is a generator bug.
    init(files: some Sequence<EmbeddedFileDescriptor>) throws(WireDecodingError) {
        for embedded in files {
            let file = try Google_Protobuf_FileDescriptorProto(serializedBytes: embedded.serializedBytes)
            add(embedded, file)
            if let alias = ReflectionV1Alpha.alias(of: file) {
                add(
                    EmbeddedFileDescriptor(
                        name: alias.name ?? "", dependencies: alias.dependency, serializedBytes: alias.serializedBytes()
                    ),
                    alias)
            }
        }
    }

    private mutating func add(_ embedded: EmbeddedFileDescriptor, _ file: Google_Protobuf_FileDescriptorProto) {
        files[embedded.name] = embedded
        let scope = file.package ?? ""
        func record(_ name: String, _ kind: SymbolKind, in scope: String) {
            symbols[scope.isEmpty ? name : scope + "." + name] = (embedded.name, kind)
        }
        func visit(_ enumeration: Google_Protobuf_EnumDescriptorProto, in scope: String) {
            record(enumeration.name ?? "", .enumeration, in: scope)
            // Enum values are siblings of their enum in protobuf's scoping (C++ rules).
            for value in enumeration.value { record(value.name ?? "", .enumValue, in: scope) }
        }
        func visit(_ message: Google_Protobuf_DescriptorProto, in scope: String) {
            record(message.name ?? "", .message, in: scope)
            let inner = scope.isEmpty ? (message.name ?? "") : scope + "." + (message.name ?? "")
            for field in message.field { record(field.name ?? "", .field, in: inner) }
            for oneof in message.oneofDecl { record(oneof.name ?? "", .oneof, in: inner) }
            for nested in message.nestedType { visit(nested, in: inner) }
            for enumeration in message.enumType { visit(enumeration, in: inner) }
        }
        for message in file.messageType { visit(message, in: scope) }
        for enumeration in file.enumType { visit(enumeration, in: scope) }
        for service in file.service {
            record(service.name ?? "", .service, in: scope)
            let inner = scope.isEmpty ? (service.name ?? "") : scope + "." + (service.name ?? "")
            for method in service.method { record(method.name ?? "", .method, in: inner) }
        }
    }

    /// The file defining `symbol`, or nil.
    func file(containing symbol: String) -> String? {
        symbols[symbol]?.file
    }

    func kind(of symbol: String) -> SymbolKind? {
        symbols[symbol]?.kind
    }

    /// `name` first, then every file it imports, directly or not, each once; nil for an unknown
    /// file. Imports missing from the index are left out (the caller's set is expected closed).
    func fileWithDependencies(_ name: String) -> [EmbeddedFileDescriptor]? {
        guard let root = files[name] else { return nil }
        var result: [EmbeddedFileDescriptor] = []
        var seen: Set<String> = [name]
        var pending = [root]
        while !pending.isEmpty {
            let file = pending.removeFirst()
            result.append(file)
            for dependency in file.dependencies where seen.insert(dependency).inserted {
                if let next = files[dependency] { pending.append(next) }
            }
        }
        return result
    }

    /// Imports of indexed files that are not indexed themselves.
    var missingDependencies: Set<String> {
        Set(files.values.flatMap(\.dependencies)).subtracting(files.keys)
    }
}
