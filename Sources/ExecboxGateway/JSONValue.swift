/// A JSON document with object keys in the order they were added, so REST bodies (and the CLI's
/// `--json`) keep the legacy field order.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([(String, JSONValue)])

    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        lhs.rendered() == rhs.rendered()
    }

    /// Pretty-printed (two-space indent) or on one line.
    public func rendered(pretty: Bool = false) -> String {
        var out = ""
        write(to: &out, pretty: pretty, indent: "")
        return out
    }

    private func write(to out: inout String, pretty: Bool, indent: String) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .int(let value): out += String(value)
        case .double(let value): out += value.isFinite ? "\(value)" : "null"
        case .string(let value): Self.writeString(value, to: &out)
        case .array(let values):
            guard !values.isEmpty else { return out += "[]" }
            let inner = indent + "  "
            out += "["
            for (index, value) in values.enumerated() {
                if index > 0 { out += "," }
                if pretty { out += "\n" + inner }
                value.write(to: &out, pretty: pretty, indent: inner)
            }
            out += pretty ? "\n" + indent + "]" : "]"
        case .object(let fields):
            guard !fields.isEmpty else { return out += "{}" }
            let inner = indent + "  "
            out += "{"
            for (index, (key, value)) in fields.enumerated() {
                if index > 0 { out += "," }
                if pretty { out += "\n" + inner }
                Self.writeString(key, to: &out)
                out += pretty ? ": " : ":"
                value.write(to: &out, pretty: pretty, indent: inner)
            }
            out += pretty ? "\n" + indent + "}" : "}"
        }
    }

    private static func writeString(_ value: String, to out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}

/// Builds a ``JSONValue/object(_:)`` field by field; optional fields are left out when absent, as
/// the REST API omits them.
public struct JSONObject {
    public private(set) var fields: [(String, JSONValue)] = []

    public mutating func add(_ key: String, _ value: JSONValue) {
        fields.append((key, value))
    }

    public mutating func add(_ key: String, _ value: String) { add(key, .string(value)) }
    public mutating func add(_ key: String, _ value: Int64) { add(key, .int(value)) }
    public mutating func add(_ key: String, _ value: Bool) { add(key, .bool(value)) }

    public mutating func add(_ key: String, ifPresent value: JSONValue?) {
        if let value { add(key, value) }
    }

    public mutating func add(_ key: String, ifNotEmpty value: String) {
        if !value.isEmpty { add(key, .string(value)) }
    }

    public var value: JSONValue { .object(fields) }

    public init() {}
}
