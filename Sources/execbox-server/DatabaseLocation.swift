/// `--database-url`: `sqlite:PATH` (also `sqlite://PATH`) or a libpq `postgres://…` /
/// `postgresql://…` URL. Descriptions never show a PostgreSQL URL, which may carry a password.
enum DatabaseLocation: Hashable, Sendable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String)

    static let defaultFileName = "execbox.db"

    init?(_ text: String) {
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") {
            self = .postgres(url: text)
        } else if text.hasPrefix("sqlite://") {
            guard text.count > "sqlite://".count else { return nil }
            self = .sqlite(path: String(text.dropFirst("sqlite://".count)))
        } else if text.hasPrefix("sqlite:"), text.count > "sqlite:".count {
            self = .sqlite(path: String(text.dropFirst("sqlite:".count)))
        } else {
            return nil
        }
    }

    var description: String {
        switch self {
        case .sqlite(let path): "SQLite \(path)"
        case .postgres: "PostgreSQL"
        }
    }
}
