/// Per-call facts for logs and the audit log: the request id (the client's `x-request-id`, else
/// generated) and the client's IP address.
public struct RequestInfo: Sendable {
    public var requestID: String
    public var clientIP: String
    let attribution = CallAttribution()

    public init(requestID: String, clientIP: String) {
        self.requestID = requestID
        self.clientIP = clientIP
    }

    /// Bound by ``RequestInterceptor`` around every call.
    @TaskLocal public static var current: RequestInfo?

    /// The IP address in a transport's peer description: `[IPv4]127.0.0.1/127.0.0.1:5000` →
    /// `127.0.0.1`, `[IPv6]::1/::1:5000` → `::1`; anything else is returned as it is.
    public static func clientIP(fromPeer peer: String) -> String {
        var text = Substring(peer)
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") { text = text[text.index(after: close)...] }
        if let slash = text.lastIndex(of: "/") { text = text[text.index(after: slash)...] }
        if let colon = text.lastIndex(of: ":"), !text[text.index(after: colon)...].isEmpty,
            text[text.index(after: colon)...].allSatisfy(\.isNumber)
        {
            text = text[..<colon]
        }
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        return text.isEmpty ? peer : String(text)
    }
}
