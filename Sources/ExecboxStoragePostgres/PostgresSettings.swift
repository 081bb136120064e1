import CLibPQ
import ExecboxStorage

#if canImport(Glibc)
    import Glibc
#endif

/// How to reach PostgreSQL: a `postgres://` URL (TLS, host, credentials and every other libpq
/// setting as URL parameters, e.g. `?sslmode=verify-full&sslrootcert=…`) and the pool size.
/// Keepalives and a TCP user timeout are on by default so that a dead server is noticed in
/// seconds rather than minutes; the URL overrides them.
public struct PostgresSettings: Sendable {
    public var url: String
    /// Connections, each on its own dedicated thread.
    public var poolSize: Int
    public var connectTimeoutSeconds: Int
    public var tcpUserTimeoutMs: Int

    public init(url: String, poolSize: Int = 4, connectTimeoutSeconds: Int = 5, tcpUserTimeoutMs: Int = 10_000) {
        self.url = url
        self.poolSize = max(1, poolSize)
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.tcpUserTimeoutMs = tcpUserTimeoutMs
    }

    /// Connects, blocking the calling (dedicated) thread.
    func connect() throws -> OpaquePointer {
        // Defaults first: with expand_dbname, the URL's own parameters come later and win.
        let pairs: [(String, String)] = [
            ("connect_timeout", String(connectTimeoutSeconds)),
            ("keepalives", "1"),
            ("keepalives_idle", "5"),
            ("keepalives_interval", "2"),
            ("keepalives_count", "3"),
            ("tcp_user_timeout", String(tcpUserTimeoutMs)),
            ("application_name", "execbox"),
            ("dbname", url),
        ]
        let keywords: [UnsafeMutablePointer<CChar>?] = pairs.map { strdup($0.0) }
        let values: [UnsafeMutablePointer<CChar>?] = pairs.map { strdup($0.1) }
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        let keywordArray: [UnsafePointer<CChar>?] = keywords.map { $0.map { UnsafePointer($0) } } + [nil]
        let valueArray: [UnsafePointer<CChar>?] = values.map { $0.map { UnsafePointer($0) } } + [nil]
        let connection = keywordArray.withUnsafeBufferPointer { k in
            valueArray.withUnsafeBufferPointer { v in PQconnectdbParams(k.baseAddress, v.baseAddress, 1) }
        }
        guard let connection else {
            throw PostgresFailure(sqlState: "", message: "out of memory", connectionLost: true)
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            // libpq's text names host, port and user; keep it out of the error description.
            let detail = PostgresConnection.firstLine(PQerrorMessage(connection))
            PQfinish(connection)
            throw PostgresFailure(
                sqlState: "",
                message: detail.contains("password") ? "authentication failed" : "cannot connect",
                connectionLost: true
            )
        }
        // Server notices (for example "relation already exists, skipping") are not errors;
        // libpq would print them to stderr.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        return connection
    }
}
