/// Builds a statement from fixed fragments, numbering the parameters `$1…$n` as values are
/// bound. Values never become SQL text.
package struct SQLBuilder {
    package private(set) var sql: String
    package private(set) var binds: [SQLValue] = []

    package init(_ sql: String) {
        self.sql = sql
    }

    /// The placeholder for `value`, bound.
    package mutating func bind(_ value: SQLValue) -> String {
        binds.append(value)
        return "$\(binds.count)"
    }

    package mutating func append(_ fragment: String) {
        sql += fragment
    }

    /// `column IN ($a, $b, …)`.
    package mutating func appendIn(_ column: String, _ values: [SQLValue]) {
        let placeholders = values.map { bind($0) }.joined(separator: ", ")
        sql += " \(column) IN (\(placeholders))"
    }
}
