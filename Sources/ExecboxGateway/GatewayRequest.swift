import Foundation
public import NIOCore

/// One REST request as the routes see it, whichever protocol carried it.
public struct GatewayRequest: Sendable {
    /// Upper-case (`GET`).
    public var method: String
    /// The path without the query, percent-encoded as sent (`/v1/sessions/sess_1`).
    public var path: String
    /// Query parameters in order, `+` and percent-escapes decoded.
    public var query: [(name: String, value: String)]
    /// Header fields in order, names lower-case.
    public var headers: [(name: String, value: String)]
    /// The client's address as the transport describes it.
    public var peer: String
    public var body: RequestBody

    public init(
        method: String, target: String, headers: [(name: String, value: String)], peer: String, body: RequestBody
    ) {
        self.method = method.uppercased()
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        self.path = parts.first.map(String.init) ?? "/"
        self.query = parts.count > 1 ? Self.parseQuery(parts[1]) : []
        self.headers = headers.map { ($0.name.lowercased(), $0.value) }
        self.peer = peer
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }

    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    public func queryValues(_ name: String) -> [String] {
        query.filter { $0.name == name }.map(\.value)
    }

    /// Whether the headers ask for a WebSocket (RFC 6455 §4.2.1).
    var isWebSocketUpgrade: Bool {
        header("upgrade")?.lowercased() == "websocket"
            && (header("connection")?.lowercased().split(separator: ",").contains {
                $0.trimmingCharacters(in: .whitespaces) == "upgrade"
            } ?? false)
    }

    static func parseQuery(_ text: Substring) -> [(name: String, value: String)] {
        text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    /// Form-style decoding: `+` is a space; a malformed escape leaves the text as it was.
    static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }
}

/// A request's body, read in chunks as they arrive (backpressure: nothing is read ahead beyond
/// the transport's buffer).
public struct RequestBody: Sendable {
    /// The declared `content-length`, if any.
    public let declaredLength: Int?
    let next: @Sendable () async throws -> ByteBuffer?

    public init(declaredLength: Int?, next: @escaping @Sendable () async throws -> ByteBuffer?) {
        self.declaredLength = declaredLength
        self.next = next
    }

    public static let empty = RequestBody(declaredLength: 0) { nil }

    /// The next chunk, or nil at the end.
    public func read() async throws -> ByteBuffer? {
        try await next()
    }

    /// The whole body, refused with 413 once it exceeds `limit` bytes (before reading anything
    /// when the declared length already does).
    func collect(upTo limit: Int) async throws -> ByteBuffer {
        if let declaredLength, declaredLength > limit { throw GatewayError.payloadTooLarge(limit: limit) }
        var collected = ByteBuffer()
        while var chunk = try await next() {
            guard collected.readableBytes + chunk.readableBytes <= limit else {
                throw GatewayError.payloadTooLarge(limit: limit)
            }
            collected.writeBuffer(&chunk)
        }
        return collected
    }
}
