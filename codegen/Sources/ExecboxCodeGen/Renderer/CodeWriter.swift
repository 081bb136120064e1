/// Accumulates indented Swift source.
struct CodeWriter {
    private(set) var text = ""
    private var indent = ""

    mutating func line(_ s: String = "") {
        if s.isEmpty {
            text += "\n"
        } else {
            text += indent + s + "\n"
        }
    }

    /// `header {`, the body one level in, then `}` (or `opener` and `footer`).
    mutating func block(
        _ header: String,
        opener: String = "{",
        footer: String = "}",
        _ body: (inout CodeWriter) -> Void
    ) {
        line(header + " " + opener)
        indent += "    "
        body(&self)
        indent.removeLast(4)
        line(footer)
    }

    /// `switch … {` with its cases at the switch's own indentation, as Swift style has it.
    mutating func switchBlock(_ header: String, _ body: (inout CodeWriter) -> Void) {
        line(header + " {")
        body(&self)
        line("}")
    }

    /// The body one level in, with no braces (a `case` body).
    mutating func indented(_ body: (inout CodeWriter) -> Void) {
        indent += "    "
        body(&self)
        indent.removeLast(4)
    }

    /// A `///` comment from `.proto` comment text, trimmed of blank edges.
    mutating func docComment(_ comment: String) {
        var lines = comment.split(separator: "\n", omittingEmptySubsequences: false).map {
            String($0.hasPrefix(" ") ? $0.dropFirst() : $0[...])
        }
        while lines.first?.allSatisfy(\.isWhitespace) == true { lines.removeFirst() }
        while lines.last?.allSatisfy(\.isWhitespace) == true { lines.removeLast() }
        for l in lines {
            let trimmed = String(l.reversed().drop(while: \.isWhitespace).reversed())
            line(trimmed.isEmpty ? "///" : "/// " + trimmed)
        }
    }
}
