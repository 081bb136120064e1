/// Where the server is: `http://HOST:PORT` speaks cleartext HTTP/2 (h2c), `https://HOST[:PORT]`
/// TLS. IPv6 hosts go in brackets (`http://[::1]:8080`).
struct ServerURL: Sendable, Equatable, CustomStringConvertible {
    var host: String
    var port: Int
    var tls: Bool

    var description: String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        return "\(tls ? "https" : "http")://\(host):\(port)"
    }

    init(parsing text: String) throws(CLIError) {
        let hint = "write it as http://HOST:PORT (cleartext h2c) or https://HOST:PORT (TLS), e.g. http://127.0.0.1:8080"
        var rest = Substring(text)
        if rest.hasPrefix("http://") {
            tls = false
            rest = rest.dropFirst("http://".count)
        } else if rest.hasPrefix("https://") {
            tls = true
            rest = rest.dropFirst("https://".count)
        } else {
            throw CLIError("the server URL '\(text)' has no http:// or https:// scheme", hint: hint)
        }
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/"), !rest.contains("@"), !rest.contains("?") else {
            throw CLIError("the server URL '\(text)' may only name a host and a port", hint: hint)
        }
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw CLIError("the server URL '\(text)' has an unclosed '['", hint: hint)
            }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw CLIError("the server URL '\(text)' is malformed", hint: hint)
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            portText = rest[rest.index(after: colon)...]
        } else {
            host = String(rest)
        }
        guard !host.isEmpty else { throw CLIError("the server URL '\(text)' has no host", hint: hint) }
        if let portText {
            guard let port = Int(portText), (1...65535).contains(port) else {
                throw CLIError("the server URL '\(text)' has a bad port", hint: hint)
            }
            self.port = port
        } else {
            port = tls ? 443 : 80
        }
    }
}
