/// Writes one message: the struct, its oneof enums, nested types, then its coding extension.
struct MessageRenderer {
    let message: MessageModel

    func renderDeclaration(into w: inout CodeWriter) {
        w.docComment(message.comment)
        w.block("public struct \(message.swiftName): WireMessage") { w in
            for field in message.plainFields {
                renderProperty(field, into: &w)
            }
            for (i, oneof) in message.oneofs.enumerated() {
                w.docComment(oneof.comment)
                w.line("public var \(oneof.propertyName): \(oneof.typeName)? = nil")
                w.line()
                renderOneofEnum(oneof, members: message.fields.filter { $0.oneofIndex == i }, into: &w)
            }
            w.line("public var unknownFields = UnknownFields()")
            w.line()
            w.line("public init() {}")
            for nested in message.enums {
                w.line()
                EnumRenderer(enumeration: nested).render(into: &w)
            }
            for nested in message.messages {
                w.line()
                MessageRenderer(message: nested).renderDeclaration(into: &w)
            }
        }
    }

    private func renderProperty(_ field: FieldModel, into w: inout CodeWriter) {
        w.docComment(field.comment)
        let type = field.type.swiftType
        switch field.cardinality {
        case .implicit:
            w.line("public var \(field.swiftName): \(type) = \(field.type.defaultValue)")
        case .optional where field.isBoxed:
            let storage = "_" + SwiftNaming.unescaped(field.swiftName)
            w.block("public var \(field.swiftName): \(type)?") { w in
                w.line("get { \(storage)?.value }")
                w.line("set { \(storage) = newValue.map(WireBox.init) }")
            }
            w.line("private var \(storage): WireBox<\(type)>? = nil")
        case .optional:
            w.line("public var \(field.swiftName): \(type)? = nil")
        case .repeated:
            w.line("public var \(field.swiftName): [\(type)] = []")
        case .map(let key, let value):
            w.line("public var \(field.swiftName): [\(key.swiftType): \(value.swiftType)] = [:]")
        }
        w.line()
    }

    private func renderOneofEnum(_ oneof: OneofModel, members: [FieldModel], into w: inout CodeWriter) {
        let indirect = oneof.isIndirect ? "indirect " : ""
        w.block("public \(indirect)enum \(oneof.typeName): Hashable, Sendable") { w in
            for field in members {
                w.docComment(field.comment)
                w.line("case \(field.swiftName)(\(field.type.swiftType))")
            }
        }
        w.line()
    }

    func renderCoding(into w: inout CodeWriter) {
        w.block("extension \(message.qualifiedSwiftName)") { w in
            w.line("public static let protoMessageName = \"\(message.fullName)\"")
            w.line()
            renderDecode(into: &w)
            w.line()
            renderSize(into: &w)
            w.line()
            renderEncode(into: &w)
            w.line()
            renderJSONEncode(into: &w)
            w.line()
            renderJSONDecode(into: &w)
        }
        for nested in message.messages {
            w.line()
            MessageRenderer(message: nested).renderCoding(into: &w)
        }
    }

    /// Fields in field-number order: the canonical order of the binary encoding.
    var fieldsByNumber: [FieldModel] {
        message.fields.sorted { $0.number < $1.number }
    }

    func oneof(of field: FieldModel) -> OneofModel? {
        field.oneofIndex.map { message.oneofs[$0] }
    }
}
