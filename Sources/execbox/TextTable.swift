/// Columns padded to their widest cell, two spaces apart: the text form of lists.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: String...) {
        self.header = header
    }

    mutating func add(_ row: String...) {
        rows.append(row)
    }

    func rendered() -> String {
        let all = [header] + rows
        var widths = Array(repeating: 0, count: header.count)
        for row in all {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        return all.map { row in
            var line = ""
            for (index, cell) in row.enumerated() {
                let last = index == row.count - 1
                line += last ? cell : cell + String(repeating: " ", count: widths[index] - cell.count + 2)
            }
            return line
        }.joined(separator: "\n")
    }

    func print() {
        StandardStream.output.writeLine(rendered())
    }
}
