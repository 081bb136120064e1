internal import ExecboxDescriptors

/// Every message and enum of a request by full name (`.pkg.Outer.Inner`), with its Swift name.
struct TypeIndex {
    struct Message {
        var swiftName: String
        var descriptor: Google_Protobuf_DescriptorProto
        var isMapEntry: Bool
        var file: String
    }

    struct Enumeration {
        var swiftName: String
        var descriptor: Google_Protobuf_EnumDescriptorProto
        var file: String
    }

    private(set) var messages: [String: Message] = [:]
    private(set) var enums: [String: Enumeration] = [:]

    init(files: [Google_Protobuf_FileDescriptorProto], options: GeneratorOptions) {
        for file in files {
            let package = file.package ?? ""
            let scope = package.isEmpty ? "" : "." + package
            let prefix = options.prefix(forPackage: package)
            for message in file.messageType {
                add(message, scope: scope, swiftParent: nil, prefix: prefix, file: file.name ?? "")
            }
            for enumeration in file.enumType {
                let name = enumeration.name ?? ""
                enums[scope + "." + name] = Enumeration(
                    swiftName: prefix + SwiftNaming.typeName(name, isEnum: true),
                    descriptor: enumeration,
                    file: file.name ?? ""
                )
            }
        }
    }

    private mutating func add(
        _ message: Google_Protobuf_DescriptorProto,
        scope: String,
        swiftParent: String?,
        prefix: String,
        file: String
    ) {
        let name = message.name ?? ""
        let fullName = scope + "." + name
        let local = SwiftNaming.typeName(name, isEnum: false)
        let swiftName = swiftParent.map { $0 + "." + local } ?? prefix + local
        messages[fullName] = Message(
            swiftName: swiftName,
            descriptor: message,
            isMapEntry: message.options?.mapEntry ?? false,
            file: file
        )
        for nested in message.nestedType {
            add(nested, scope: fullName, swiftParent: swiftName, prefix: prefix, file: file)
        }
        for enumeration in message.enumType {
            let enumName = enumeration.name ?? ""
            enums[fullName + "." + enumName] = Enumeration(
                swiftName: swiftName + "." + SwiftNaming.typeName(enumName, isEnum: true),
                descriptor: enumeration,
                file: file
            )
        }
    }

    /// The `.proto` file that defines a message or enum.
    func file(of fullName: String) -> String? {
        messages[fullName]?.file ?? enums[fullName]?.file
    }

    /// Whether `from` can reach `to` through singular message fields (a cycle needs a box).
    func reaches(from: String, to: String) -> Bool {
        var seen: Set<String> = []
        var stack = [from]
        while let current = stack.popLast() {
            if current == to { return true }
            guard seen.insert(current).inserted, let message = messages[current] else { continue }
            for field in message.descriptor.field
            where field.label != .repeated && field.type == .message {
                if let typeName = field.typeName { stack.append(typeName) }
            }
        }
        return false
    }
}
