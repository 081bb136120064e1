/// How `.proto` names become Swift names.
package enum SwiftNaming {
    /// `foo_bar` → `fooBar`, as protoc computes JSON names.
    package static func lowerCamel(_ name: String) -> String {
        var result = ""
        var upperNext = false
        for ch in name {
            if ch == "_" {
                upperNext = true
            } else if upperNext {
                result += ch.uppercased()
                upperNext = false
            } else {
                result.append(ch)
            }
        }
        return result
    }

    /// `foo_bar` / `fooBar` → `FooBar`.
    package static func upperCamel(_ name: String) -> String {
        let camel = lowerCamel(name)
        guard let first = camel.first else { return camel }
        return first.uppercased() + camel.dropFirst()
    }

    /// `NOT_SERVING` → `notServing`.
    package static func lowerCamelFromUpperSnake(_ name: String) -> String {
        var result = ""
        var upperNext = false
        for ch in name {
            if ch == "_" {
                upperNext = !result.isEmpty
            } else if upperNext {
                result += ch.uppercased()
                upperNext = false
            } else {
                result += ch.lowercased()
            }
        }
        return result
    }

    /// `SessionStatus` → `SESSION_STATUS`, to strip value prefixes.
    package static func upperSnake(_ name: String) -> String {
        var result = ""
        for (i, ch) in name.enumerated() {
            if ch.isUppercase && i > 0 { result += "_" }
            result += ch.uppercased()
        }
        return result
    }

    /// A nested type name that would mean something else in Swift (`Foo.Type` is a metatype).
    package static func typeName(_ name: String, isEnum: Bool) -> String {
        switch name {
        case "Type", "Protocol", "Self", "Any", "Sendable", "Hashable", "Equatable":
            name + (isEnum ? "Enum" : "Message")
        default:
            name
        }
    }

    /// The Swift case of an enum value: the enum's name prefix stripped, in lowerCamelCase.
    package static func enumCase(valueName: String, enumName: String) -> String {
        let prefix = upperSnake(enumName) + "_"
        var stripped = valueName
        if valueName.hasPrefix(prefix), valueName.count > prefix.count {
            let rest = String(valueName.dropFirst(prefix.count))
            if let first = rest.first, !first.isNumber { stripped = rest }
        }
        var name = lowerCamelFromUpperSnake(stripped)
        if reservedEnumMembers.contains(name) { name += "_" }
        return escaped(name)
    }

    /// A property name, escaped where it is a Swift keyword.
    package static func property(_ protoName: String) -> String {
        var name = lowerCamel(protoName)
        if reservedMessageMembers.contains(name) { name += "_" }
        return escaped(name)
    }

    /// Backticks around Swift keywords.
    package static func escaped(_ name: String) -> String {
        keywords.contains(name) ? "`\(name)`" : name
    }

    /// The name without backticks, for use inside a larger identifier.
    package static func unescaped(_ name: String) -> String {
        name.hasPrefix("`") ? String(name.dropFirst().dropLast()) : name
    }

    /// Names that backticks cannot make usable as members: they get a trailing `_`.
    static let reservedMessageMembers: Set<String> = [
        "unknownFields", "protoMessageName", "serializedBytes", "hashValue", "self", "Self", "Type",
        "Protocol", "init", "super", "with",
    ]

    static let reservedEnumMembers: Set<String> = [
        "unrecognized", "rawValue", "protoName", "allCases", "init", "self", "Self", "Type", "Protocol", "super",
    ]

    static let keywords: Set<String> = [
        "associatedtype", "class", "deinit", "enum", "extension", "fileprivate", "func", "import",
        "init", "inout", "internal", "let", "open", "operator", "private", "precedencegroup",
        "protocol", "public", "rethrows", "static", "struct", "subscript", "typealias", "var",
        "break", "case", "catch", "continue", "default", "defer", "do", "else", "fallthrough",
        "for", "guard", "if", "in", "repeat", "return", "throw", "switch", "where", "while",
        "Any", "as", "await", "false", "is", "nil", "self", "Self", "super", "throws", "true",
        "try", "_", "required", "optional", "package", "some", "any", "consume", "copy", "borrowing",
        "consuming", "isolated", "nonisolated", "Type", "Protocol",
    ]
}
