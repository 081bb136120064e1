/// `name: value` lines, aligned: the text form of one object.
struct FieldList {
    private var fields: [(String, String)] = []

    mutating func add(_ name: String, _ value: String?) {
        if let value, !value.isEmpty { fields.append((name, value)) }
    }

    func print() {
        let width = fields.map(\.0.count).max() ?? 0
        for (name, value) in fields {
            StandardStream.output.writeLine(name + ":" + String(repeating: " ", count: width - name.count + 1) + value)
        }
    }
}
