/// The canonical proto3 JSON coding of a message.
extension MessageRenderer {
    func renderJSONEncode(into w: inout CodeWriter) {
        w.block("public func encodeJSON(to w: inout JSONWriter)") { w in
            switch message.wellKnown {
            case .timestamp:
                w.line("w.timestamp(seconds: seconds, nanos: nanos)")
                return
            case .duration:
                w.line("w.duration(seconds: seconds, nanos: nanos)")
                return
            case nil:
                break
            }
            w.line("w.beginObject()")
            for field in fieldsByNumber {
                renderJSONFieldWrite(field, into: &w)
            }
            w.line("w.endObject()")
        }
    }

    private func fieldName(_ field: FieldModel) -> String {
        "w.field(json: \"\(field.jsonName)\", proto: \"\(field.protoName)\")"
    }

    private func renderJSONFieldWrite(_ field: FieldModel, into w: inout CodeWriter) {
        let type = field.type
        let name = "self." + field.swiftName
        let caseName = field.swiftName
        if let oneof = oneof(of: field) {
            w.block("if case .\(caseName)(let v)? = self.\(oneof.propertyName)") { w in
                w.line(fieldName(field))
                w.line(type.jsonWrite("v"))
            }
            return
        }
        switch field.cardinality {
        case .implicit:
            w.block("if \(type.isNonDefault(name))") { w in
                w.line(fieldName(field))
                w.line(type.jsonWrite(name))
            }
        case .optional:
            w.block("if let v = \(name)") { w in
                w.line(fieldName(field))
                w.line(type.jsonWrite("v"))
            }
        case .repeated:
            w.block("if !\(name).isEmpty") { w in
                w.line(fieldName(field))
                w.line("w.beginArray()")
                w.line("for v in \(name) { \(type.jsonWrite("v")) }")
                w.line("w.endArray()")
            }
        case .map(let key, let value):
            w.block("if !\(name).isEmpty") { w in
                w.line(fieldName(field))
                w.line("w.beginObject()")
                w.block("for (k, v) in \(name)") { w in
                    w.line("w.key(\(key.jsonKey("k")))")
                    w.line(value.jsonWrite("v"))
                }
                w.line("w.endObject()")
            }
        }
    }

    func renderJSONDecode(into w: inout CodeWriter) {
        w.block("public mutating func decodeJSON(from s: inout JSONScanner) throws(JSONDecodingError)") { w in
            switch message.wellKnown {
            case .timestamp:
                w.line("(seconds, nanos) = try s.readTimestamp()")
                return
            case .duration:
                w.line("(seconds, nanos) = try s.readDuration()")
                return
            case nil:
                break
            }
            w.line("try s.beginObject()")
            w.block("while let key = try s.nextKey()") { w in
                guard !message.fields.isEmpty else {
                    w.line("try s.skipUnknownField(key)")
                    return
                }
                w.switchBlock("switch key") { w in
                    for field in message.fields {
                        let labels =
                            field.jsonName == field.protoName
                            ? "\"\(field.jsonName)\""
                            : "\"\(field.jsonName)\", \"\(field.protoName)\""
                        w.line("case \(labels):")
                        w.indented { w in renderJSONFieldRead(field, into: &w) }
                    }
                    w.line("default:")
                    w.line("    try s.skipUnknownField(key)")
                }
            }
        }
    }

    /// Statements that read one value of `type` and hand it to `assign` (an expression with `$`).
    private func readValue(_ type: FieldType, assign: (String) -> String, into w: inout CodeWriter) {
        switch type {
        case .enumeration(let swiftType, _):
            w.line("if let value = try s.readEnum(\(swiftType).self) { \(assign("value")) }")
        case .message(let swiftType, _):
            w.line("var value = \(swiftType)()")
            w.line("try value.decodeJSON(from: &s)")
            w.line(assign("value"))
        default:
            w.line(assign(type.jsonRead))
        }
    }

    private func renderJSONFieldRead(_ field: FieldModel, into w: inout CodeWriter) {
        let type = field.type
        let name = "self." + field.swiftName
        let caseName = field.swiftName
        // JSON null resets a field to its default (a oneof member: leaves the oneof as it is).
        var footer = "}"
        if oneof(of: field) == nil {
            switch field.cardinality {
            case .implicit: footer = "} else { \(name) = \(type.defaultValue) }"
            case .optional: footer = "} else { \(name) = nil }"
            case .repeated: footer = "} else { \(name) = [] }"
            case .map: footer = "} else { \(name) = [:] }"
            }
        }
        w.block("if try !s.readNull()", footer: footer) { w in
            if let oneof = oneof(of: field) {
                readValue(type, assign: { "self.\(oneof.propertyName) = .\(caseName)(\($0))" }, into: &w)
                return
            }
            switch field.cardinality {
            case .implicit, .optional:
                if case .message(let swiftType, _) = type {
                    w.line("var value = \(name) ?? \(swiftType)()")
                    w.line("try value.decodeJSON(from: &s)")
                    w.line("\(name) = value")
                } else {
                    readValue(type, assign: { "\(name) = \($0)" }, into: &w)
                }
            case .repeated:
                w.line("try s.beginArray()")
                w.block("while try s.nextArrayElement()") { w in
                    readValue(type, assign: { "\(name).append(\($0))" }, into: &w)
                }
            case .map(let key, let value):
                w.line("try s.beginObject()")
                w.block("while let k = try s.nextKey()") { w in
                    w.line("let mapKey = \(key.jsonKeyParse("k"))")
                    readValue(value, assign: { "\(name)[mapKey] = \($0)" }, into: &w)
                }
            }
        }
    }
}
