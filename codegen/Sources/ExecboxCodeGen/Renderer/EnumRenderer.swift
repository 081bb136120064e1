/// Writes an open enum: one case per distinct number plus `unrecognized`.
struct EnumRenderer {
    let enumeration: EnumModel

    func render(into w: inout CodeWriter) {
        let e = enumeration
        w.docComment(e.comment)
        w.block("public enum \(e.swiftName): WireEnum") { w in
            for value in e.values {
                w.docComment(value.comment)
                w.line("case \(value.swiftName)")
            }
            w.line("/// A value this build does not know, kept so it is sent back unchanged.")
            w.line("case unrecognized(Int32)")
            for alias in e.aliases {
                let target = e.values.first { $0.number == alias.number }!
                w.line("public static let \(alias.swiftName): Self = .\(target.swiftName)")
            }
            w.line()
            w.line(
                "public static let allCases: [Self] = [\(e.values.map { "." + $0.swiftName }.joined(separator: ", "))]")
            w.line()
            w.block("public init()") { w in
                w.line("self = .\(e.defaultCase)")
            }
            w.line()
            w.block("public init(rawValue: Int32)") { w in
                w.switchBlock("switch rawValue") { w in
                    for value in e.values {
                        w.line("case \(value.number): self = .\(value.swiftName)")
                    }
                    w.line("default: self = .unrecognized(rawValue)")
                }
            }
            w.line()
            w.block("public var rawValue: Int32") { w in
                w.switchBlock("switch self") { w in
                    for value in e.values {
                        w.line("case .\(value.swiftName): \(value.number)")
                    }
                    w.line("case .unrecognized(let value): value")
                }
            }
            w.line()
            w.block("public var protoName: String?") { w in
                w.switchBlock("switch self") { w in
                    for value in e.values {
                        w.line("case .\(value.swiftName): \"\(value.protoName)\"")
                    }
                    w.line("case .unrecognized: nil")
                }
            }
            w.line()
            w.block("public init?(protoName: String)") { w in
                w.switchBlock("switch protoName") { w in
                    for value in e.values + e.aliases {
                        let target = e.values.first { $0.number == value.number }!
                        w.line("case \"\(value.protoName)\": self = .\(target.swiftName)")
                    }
                    w.line("default: return nil")
                }
            }
        }
    }
}
