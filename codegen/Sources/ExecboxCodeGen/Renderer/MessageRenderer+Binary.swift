/// The binary coding of a message: decode, size pass, write pass.
extension MessageRenderer {
    func renderDecode(into w: inout CodeWriter) {
        w.block("public mutating func decodeMessage(from r: inout WireReader) throws(WireDecodingError)") { w in
            guard !message.fields.isEmpty else {
                w.block("while let tag = try r.nextTag()") { w in
                    w.line("try r.skipField(tag, into: &unknownFields)")
                }
                return
            }
            w.block("while let tag = try r.nextTag()") { w in
                w.switchBlock("switch tag.rawValue") { w in
                    for field in fieldsByNumber {
                        renderDecodeCases(field, into: &w)
                    }
                    w.line("default:")
                    w.line("    try r.skipField(tag, into: &unknownFields)")
                }
            }
        }
    }

    private func renderDecodeCases(_ field: FieldModel, into w: inout CodeWriter) {
        let name = "self." + field.swiftName
        let caseName = field.swiftName
        let type = field.type
        let n = field.number
        if let oneof = oneof(of: field) {
            w.line("case \(tag(n, type.wireType)):")
            if case .message(let swiftType, _) = type {
                w.line("    var value = \(swiftType)()")
                w.line("    if case .\(caseName)(let existing)? = self.\(oneof.propertyName) { value = existing }")
                w.line("    try r.readMessage(into: &value)")
                w.line("    self.\(oneof.propertyName) = .\(caseName)(value)")
            } else {
                w.line("    self.\(oneof.propertyName) = .\(caseName)(\(type.read(field: n)))")
            }
            return
        }
        switch field.cardinality {
        case .implicit:
            w.line("case \(tag(n, type.wireType)):")
            w.line("    \(name) = \(type.read(field: n))")
        case .optional:
            w.line("case \(tag(n, type.wireType)):")
            if case .message(let swiftType, _) = type {
                w.line("    var value = \(name) ?? \(swiftType)()")
                w.line("    try r.readMessage(into: &value)")
                w.line("    \(name) = value")
            } else {
                w.line("    \(name) = \(type.read(field: n))")
            }
        case .repeated:
            w.line("case \(tag(n, type.wireType)):")
            if case .message = type {
                // Growing 0 → 1 → 2 → 4 costs three allocations for a handful of children.
                w.line("    if \(name).isEmpty { \(name).reserveCapacity(4) }")
            }
            w.line("    \(name).append(\(type.read(field: n)))")
            if type.isPackable {
                w.line("case \(tag(n, 2)):")
                w.line("    try r.readPacked(field: \(n)) { (r: inout WireReader) throws(WireDecodingError) in")
                w.line("        \(name).append(\(type.read(field: n)))")
                w.line("    }")
            }
        case .map(let key, let value):
            w.line("case \(tag(n, 2)):")
            w.line("    var key: \(key.swiftType) = \(key.defaultValue)")
            if case .message(let swiftType, _) = value {
                w.line("    var value: \(swiftType)? = nil")
            } else {
                w.line("    var value: \(value.swiftType) = \(value.defaultValue)")
            }
            w.line("    try r.withNested { (r: inout WireReader) throws(WireDecodingError) in")
            w.line("        while let tag = try r.nextTag() {")
            w.line("            switch tag.rawValue {")
            w.line("            case \(tag(1, key.wireType)): key = \(key.read(field: n))")
            if case .message(let swiftType, _) = value {
                w.line("            case \(tag(2, 2)):")
                w.line("                var message = value ?? \(swiftType)()")
                w.line("                try r.readMessage(into: &message)")
                w.line("                value = message")
            } else {
                w.line("            case \(tag(2, value.wireType)): value = \(value.read(field: n))")
            }
            w.line("            default: try r.skip(tag)")
            w.line("            }")
            w.line("        }")
            w.line("    }")
            if case .message(let swiftType, _) = value {
                w.line("    \(name)[key] = value ?? \(swiftType)()")
            } else {
                w.line("    \(name)[key] = value")
            }
        }
    }

    // The size and write passes work through a pointer to the message (`m`): walking children
    // by pointer, not by copying each element out of its array, keeps deep and wide messages
    // from paying a copy of every node per pass.

    func renderSize(into w: inout CodeWriter) {
        w.block("public func _computeSize(_ cache: inout WireSizeCache) -> Int") { w in
            w.line("withUnsafePointer(to: self) { Self._computeSize(of: $0, &cache) }")
        }
        w.line()
        w.block("public static func _computeSize(of m: UnsafePointer<Self>, _ cache: inout WireSizeCache) -> Int") {
            w in
            w.line("\(message.fields.isEmpty ? "let" : "var") size = m.pointee.unknownFields.count")
            for field in fieldsByNumber {
                renderFieldSize(field, into: &w)
            }
            w.line("return size")
        }
    }

    func renderEncode(into w: inout CodeWriter) {
        w.block("public func _encode(to w: inout WireWriter, _ cache: inout WireSizeCache)") { w in
            w.line("withUnsafePointer(to: self) { Self._encode(of: $0, to: &w, &cache) }")
        }
        w.line()
        w.block(
            "public static func _encode(of m: UnsafePointer<Self>, to w: inout WireWriter, _ cache: inout WireSizeCache)"
        ) { w in
            for field in fieldsByNumber {
                renderFieldWrite(field, into: &w)
            }
            w.line("m.pointee.unknownFields.encode(to: &w)")
        }
    }

    /// `if …` that holds when a singular field is to be written, and the statement binding `v`
    /// to its value inside (nil when the condition binds it already).
    private func singularCondition(
        _ field: FieldModel,
        bindsValue: Bool = true
    ) -> (condition: String, binding: String?)? {
        if let oneof = oneof(of: field) {
            let pattern = bindsValue ? "(let v)" : ""
            return ("if case .\(field.swiftName)\(pattern)? = m.pointee.\(oneof.propertyName)", nil)
        }
        switch field.cardinality {
        case .implicit:
            return (
                "if \(field.type.isNonDefault("m.pointee." + field.swiftName))",
                bindsValue ? "let v = m.pointee.\(field.swiftName)" : nil
            )
        case .optional:
            return (
                bindsValue ? "if let v = m.pointee.\(field.swiftName)" : "if m.pointee.\(field.swiftName) != nil", nil
            )
        default:
            return nil
        }
    }

    private func renderFieldSize(_ field: FieldModel, into w: inout CodeWriter) {
        let type = field.type
        let ts = tagSize(field.number)
        if let (condition, binding) = singularCondition(field, bindsValue: type.fixedSize == nil) {
            w.block(condition) { w in
                if let binding { w.line(binding) }
                if case .message = type {
                    w.line("let slot = cache.reserve()")
                    w.line("let n = v._computeSize(&cache)")
                    w.line("cache.set(slot, n)")
                    w.line("size += \(ts) + WireSize.lengthDelimited(n)")
                } else {
                    w.line("size += \(ts) + \(type.size("v"))")
                }
            }
            return
        }
        let name = "m.pointee." + field.swiftName
        switch field.cardinality {
        case .repeated(let packed) where packed:
            w.block("if !\(name).isEmpty") { w in
                if let fixed = type.fixedSize {
                    w.line("let n = \(name).count * \(fixed)")
                } else {
                    w.line("let slot = cache.reserve()")
                    w.line("var n = 0")
                    w.line("for v in \(name) { n += \(type.size("v")) }")
                    w.line("cache.set(slot, n)")
                }
                w.line("size += \(ts) + WireSize.lengthDelimited(n)")
            }
        case .repeated:
            if case .message(let swiftType, _) = type {
                w.block("\(name).withUnsafeBufferPointer", opener: "{ elements in") { w in
                    w.block("for i in elements.indices") { w in
                        w.line("let slot = cache.reserve()")
                        w.line("let n = \(swiftType)._computeSize(of: elements.baseAddress! + i, &cache)")
                        w.line("cache.set(slot, n)")
                        w.line("size += \(ts) + WireSize.lengthDelimited(n)")
                    }
                }
            } else if let fixed = type.fixedSize {
                w.line("size += \(name).count * \(ts + fixed)")
            } else {
                w.line("for v in \(name) { size += \(ts) + \(type.size("v")) }")
            }
        case .map(let key, let value):
            if let keySize = key.fixedSize, let valueSize = value.fixedSize {
                let entry = 2 + keySize + valueSize  // under 128: a one-byte length
                w.line("size += \(name).count * \(ts + 1 + entry)")
                return
            }
            let pattern = "(\(key.fixedSize == nil ? "k" : "_"), \(value.fixedSize == nil ? "v" : "_"))"
            w.block("for \(pattern) in \(name)") { w in
                if case .message = value {
                    w.line("let slot = cache.reserve()")
                    w.line("let n = v._computeSize(&cache)")
                    w.line("cache.set(slot, n)")
                    w.line("let entry = \(1 + 1) + \(key.size("k")) + WireSize.lengthDelimited(n)")
                } else {
                    w.line("let entry = \(1 + 1) + \(key.size("k")) + \(value.size("v"))")
                }
                w.line("size += \(ts) + WireSize.lengthDelimited(entry)")
            }
        default:
            break
        }
    }

    private func renderFieldWrite(_ field: FieldModel, into w: inout CodeWriter) {
        let type = field.type
        let t = tag(field.number, type.wireType)
        if let (condition, binding) = singularCondition(field) {
            w.block(condition) { w in
                if let binding { w.line(binding) }
                w.line("w.writeRawTag(\(t))")
                if case .message = type {
                    w.line("w.writeVarint(cache.next())")
                    w.line("v._encode(to: &w, &cache)")
                } else {
                    w.line(type.write("v"))
                }
            }
            return
        }
        let name = "m.pointee." + field.swiftName
        switch field.cardinality {
        case .repeated(let packed) where packed:
            w.block("if !\(name).isEmpty") { w in
                w.line("w.writeRawTag(\(tag(field.number, 2)))")
                if let fixed = type.fixedSize {
                    w.line("w.writeVarint(\(name).count * \(fixed))")
                } else {
                    w.line("w.writeVarint(cache.next())")
                }
                w.line("for v in \(name) { \(type.write("v")) }")
            }
        case .repeated:
            if case .message(let swiftType, _) = type {
                w.block("\(name).withUnsafeBufferPointer", opener: "{ elements in") { w in
                    w.block("for i in elements.indices") { w in
                        w.line("w.writeRawTag(\(t))")
                        w.line("w.writeVarint(cache.next())")
                        w.line("\(swiftType)._encode(of: elements.baseAddress! + i, to: &w, &cache)")
                    }
                }
            } else {
                w.block("for v in \(name)") { w in
                    w.line("w.writeRawTag(\(t))")
                    w.line(type.write("v"))
                }
            }
        case .map(let key, let value):
            w.block("for (k, v) in \(name)") { w in
                w.line("w.writeRawTag(\(tag(field.number, 2)))")
                if case .message = value {
                    w.line("let n = cache.next()")
                    w.line("w.writeVarint(\(1 + 1) + \(key.size("k")) + WireSize.lengthDelimited(n))")
                    w.line("w.writeRawTag(\(tag(1, key.wireType)))")
                    w.line(key.write("k"))
                    w.line("w.writeRawTag(\(tag(2, 2)))")
                    w.line("w.writeVarint(n)")
                    w.line("v._encode(to: &w, &cache)")
                } else {
                    w.line("w.writeVarint(\(1 + 1) + \(key.size("k")) + \(value.size("v")))")
                    w.line("w.writeRawTag(\(tag(1, key.wireType)))")
                    w.line(key.write("k"))
                    w.line("w.writeRawTag(\(tag(2, value.wireType)))")
                    w.line(value.write("v"))
                }
            }
        default:
            break
        }
    }
}
