package import ExecboxDescriptors
internal import ExecboxWire

/// Stage one of the generator: descriptors in, ``FileModel`` out.
package struct ModelBuilder {
    private let index: TypeIndex
    private let files: [String: Google_Protobuf_FileDescriptorProto]
    private let options: GeneratorOptions

    package init(request: Google_Protobuf_Compiler_CodeGeneratorRequest, options: GeneratorOptions) {
        self.index = TypeIndex(files: request.protoFile, options: options)
        self.files = Dictionary(request.protoFile.map { ($0.name ?? "", $0) }, uniquingKeysWith: { a, _ in a })
        self.options = options
    }

    package func build(file name: String) throws(GeneratorError) -> FileModel {
        guard let file = files[name] else { throw .missingFile(name) }
        let package = file.package ?? ""
        let scope = package.isEmpty ? "" : "." + package
        let comments = Comments(file.sourceCodeInfo)
        var model = FileModel(
            protoPath: name,
            package: package,
            isProto3: file.syntax == "proto3",
            imports: importedModules(of: file),
            dependencies: file.dependency,
            descriptor: Self.embeddedDescriptor(file)
        )
        // Top-level types carry the package prefix in their declared name.
        for (i, message) in file.messageType.enumerated() {
            var built = try buildMessage(
                message, fullName: scope + "." + (message.name ?? ""), path: [4, Int32(i)],
                isProto3: model.isProto3, comments: comments)
            built.swiftName = built.qualifiedSwiftName
            model.messages.append(built)
        }
        for (i, enumeration) in file.enumType.enumerated() {
            var built = buildEnum(
                enumeration, fullName: scope + "." + (enumeration.name ?? ""), path: [5, Int32(i)],
                comments: comments)
            built.swiftName = built.qualifiedSwiftName
            model.enums.append(built)
        }
        for (i, service) in file.service.enumerated() {
            model.services.append(
                try buildService(service, scope: scope, path: [6, Int32(i)], comments: comments)
            )
        }
        return model
    }

    /// The descriptor as reflection serves it: everything protoc said but comments and spans.
    static func embeddedDescriptor(_ file: Google_Protobuf_FileDescriptorProto) -> [UInt8] {
        var file = file
        file.sourceCodeInfo = nil
        return file.serializedBytes()
    }

    private func buildMessage(
        _ message: Google_Protobuf_DescriptorProto,
        fullName: String,
        path: [Int32],
        isProto3: Bool,
        comments: Comments
    ) throws(GeneratorError) -> MessageModel {
        let entry = index.messages[fullName]!
        let protoFullName = String(fullName.dropFirst())
        var model = MessageModel(
            fullName: protoFullName,
            swiftName: SwiftNaming.typeName(message.name ?? "", isEnum: false),
            qualifiedSwiftName: entry.swiftName,
            comment: comments[path],
            wellKnown: WellKnownType(rawValue: protoFullName)
        )

        // Real oneofs only: a proto3 `optional` field sits in a synthetic oneof of its own.
        var realOneofIndex: [Int: Int] = [:]
        for (i, oneof) in message.oneofDecl.enumerated() {
            let members = message.field.filter { Int($0.oneofIndex ?? -1) == i }
            if members.allSatisfy({ $0.proto3Optional == true }) { continue }
            realOneofIndex[i] = model.oneofs.count
            let name = oneof.name ?? ""
            var typeName = SwiftNaming.upperCamel(name)
            if message.nestedType.contains(where: { $0.name == typeName })
                || message.enumType.contains(where: { $0.name == typeName })
            {
                typeName += "Oneof"
            }
            let indirect = members.contains { field in
                field.type == .message && index.reaches(from: field.typeName ?? "", to: fullName)
            }
            model.oneofs.append(
                OneofModel(
                    protoName: name,
                    propertyName: SwiftNaming.property(name),
                    typeName: typeName,
                    comment: comments[path + [8, Int32(i)]],
                    isIndirect: indirect
                )
            )
        }

        for (i, field) in message.field.enumerated() {
            model.fields.append(
                try buildField(
                    field, in: fullName, isProto3: isProto3,
                    oneofIndex: field.oneofIndex.flatMap { realOneofIndex[Int($0)] },
                    comment: comments[path + [2, Int32(i)]])
            )
        }

        for (i, nested) in message.nestedType.enumerated() where nested.options?.mapEntry != true {
            model.messages.append(
                try buildMessage(
                    nested, fullName: fullName + "." + (nested.name ?? ""), path: path + [3, Int32(i)],
                    isProto3: isProto3, comments: comments)
            )
        }
        for (i, enumeration) in message.enumType.enumerated() {
            model.enums.append(
                buildEnum(
                    enumeration, fullName: fullName + "." + (enumeration.name ?? ""), path: path + [4, Int32(i)],
                    comments: comments)
            )
        }
        return model
    }

    private func buildField(
        _ field: Google_Protobuf_FieldDescriptorProto,
        in messageName: String,
        isProto3: Bool,
        oneofIndex: Int?,
        comment: String
    ) throws(GeneratorError) -> FieldModel {
        let protoName = field.name ?? ""
        let type = try fieldType(field, from: messageName)
        var cardinality: Cardinality
        if field.label == .repeated {
            if case .message(_, let entryName) = type, let entry = index.messages["." + entryName], entry.isMapEntry {
                let fields = entry.descriptor.field
                guard let key = fields.first(where: { $0.number == 1 }),
                    let value = fields.first(where: { $0.number == 2 })
                else {
                    throw .unsupported("map entry \(entryName) without key and value")
                }
                cardinality = .map(
                    key: try fieldType(key, from: entryName), value: try fieldType(value, from: entryName))
            } else {
                cardinality = .repeated(packed: type.isPackable && (field.options?.packed ?? isProto3))
            }
        } else if oneofIndex != nil || !isProto3 || field.proto3Optional == true {
            cardinality = .optional
        } else if case .message = type {
            cardinality = .optional
        } else {
            cardinality = .implicit
        }
        if field.type == .group { throw .unsupported("group field \(protoName) in \(messageName)") }

        var isBoxed = false
        if case .message(_, let target) = type, field.label != .repeated {
            isBoxed = index.reaches(from: "." + target, to: messageName)
        }
        return FieldModel(
            protoName: protoName,
            jsonName: field.jsonName ?? SwiftNaming.lowerCamel(protoName),
            swiftName: SwiftNaming.property(protoName),
            number: Int(field.number ?? 0),
            type: type,
            cardinality: cardinality,
            comment: comment,
            oneofIndex: oneofIndex,
            isBoxed: isBoxed && oneofIndex == nil
        )
    }

    private func fieldType(
        _ field: Google_Protobuf_FieldDescriptorProto,
        from messageName: String
    ) throws(GeneratorError) -> FieldType {
        switch field.type {
        case .double: return .double
        case .float: return .float
        case .int64: return .int64
        case .uint64: return .uint64
        case .int32: return .int32
        case .fixed64: return .fixed64
        case .fixed32: return .fixed32
        case .bool: return .bool
        case .string: return .string
        case .bytes: return .bytes
        case .uint32: return .uint32
        case .sfixed32: return .sfixed32
        case .sfixed64: return .sfixed64
        case .sint32: return .sint32
        case .sint64: return .sint64
        case .message:
            let name = field.typeName ?? ""
            guard let message = index.messages[name] else { throw .unknownType(name, referencedFrom: messageName) }
            return .message(swiftType: message.swiftName, fullName: String(name.dropFirst()))
        case .enum:
            let name = field.typeName ?? ""
            guard let enumeration = index.enums[name] else { throw .unknownType(name, referencedFrom: messageName) }
            let model = buildEnum(enumeration.descriptor, fullName: name, path: [], comments: Comments(nil))
            return .enumeration(swiftType: enumeration.swiftName, defaultCase: model.defaultCase)
        default:
            throw .unsupported("field \(field.name ?? "") in \(messageName) of type \(String(describing: field.type))")
        }
    }

    private func buildEnum(
        _ enumeration: Google_Protobuf_EnumDescriptorProto,
        fullName: String,
        path: [Int32],
        comments: Comments
    ) -> EnumModel {
        let name = enumeration.name ?? ""
        var model = EnumModel(
            fullName: String(fullName.dropFirst()),
            swiftName: SwiftNaming.typeName(name, isEnum: true),
            qualifiedSwiftName: index.enums[fullName]?.swiftName ?? name,
            comment: comments[path],
            values: []
        )
        var seen: Set<Int32> = []
        for (i, value) in enumeration.value.enumerated() {
            let valueModel = EnumValueModel(
                protoName: value.name ?? "",
                swiftName: SwiftNaming.enumCase(valueName: value.name ?? "", enumName: name),
                number: value.number ?? 0,
                comment: comments[path + [2, Int32(i)]]
            )
            if seen.insert(valueModel.number).inserted {
                model.values.append(valueModel)
            } else {
                model.aliases.append(valueModel)
            }
        }
        return model
    }

    private func buildService(
        _ service: Google_Protobuf_ServiceDescriptorProto,
        scope: String,
        path: [Int32],
        comments: Comments
    ) throws(GeneratorError) -> ServiceModel {
        let name = service.name ?? ""
        var methods: [MethodModel] = []
        for (i, method) in service.method.enumerated() {
            let input = method.inputType ?? ""
            let output = method.outputType ?? ""
            guard let inputType = index.messages[input] else { throw .unknownType(input, referencedFrom: name) }
            guard let outputType = index.messages[output] else { throw .unknownType(output, referencedFrom: name) }
            let protoName = method.name ?? ""
            methods.append(
                MethodModel(
                    protoName: protoName,
                    swiftName: SwiftNaming.escaped(lowerFirst(protoName)),
                    inputType: inputType.swiftName,
                    outputType: outputType.swiftName,
                    clientStreaming: method.clientStreaming ?? false,
                    serverStreaming: method.serverStreaming ?? false,
                    comment: comments[path + [2, Int32(i)]]
                )
            )
        }
        return ServiceModel(
            fullName: String((scope + "." + name).dropFirst()),
            swiftName: name,
            comment: comments[path],
            methods: methods
        )
    }

    /// The modules holding the types this file uses from other files, per `Module.` options.
    private func importedModules(of file: Google_Protobuf_FileDescriptorProto) -> [String] {
        var modules: Set<String> = []
        func visit(_ message: Google_Protobuf_DescriptorProto) {
            for field in message.field {
                if let typeName = field.typeName, let owner = index.file(of: typeName), owner != file.name,
                    let module = options.modules[owner]
                {
                    modules.insert(module)
                }
            }
            message.nestedType.forEach(visit)
        }
        file.messageType.forEach(visit)
        for service in file.service {
            for method in service.method {
                for typeName in [method.inputType, method.outputType].compactMap({ $0 }) {
                    if let owner = index.file(of: typeName), owner != file.name, let module = options.modules[owner] {
                        modules.insert(module)
                    }
                }
            }
        }
        return modules.sorted()
    }

    private func lowerFirst(_ name: String) -> String {
        guard let first = name.first else { return name }
        return first.lowercased() + name.dropFirst()
    }
}

extension FieldType {
    /// Scalars that proto3 packs: everything but strings, bytes and messages.
    var isPackable: Bool {
        switch self {
        case .string, .bytes, .message: false
        default: true
        }
    }
}
