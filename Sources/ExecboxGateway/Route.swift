import Foundation

/// One REST route: a method, a path template with `{name}` parameters, and its handler.
struct Route: Sendable {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    let method: String
    /// As written in the OpenAPI document (`/v1/sessions/{id}`).
    let template: String
    let segments: [Segment]
    /// Callable without a key (the service decides; the gateway only skips its own header check).
    let isPublic: Bool
    let handler: @Sendable (RouteCall) async throws -> RouteResponse

    init(
        _ method: String, _ template: String, public isPublic: Bool = false,
        _ handler: @escaping @Sendable (RouteCall) async throws -> RouteResponse
    ) {
        self.method = method
        self.template = template
        self.segments = template.split(separator: "/").map { part in
            part.hasPrefix("{") && part.hasSuffix("}")
                ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
        self.isPublic = isPublic
        self.handler = handler
    }

    /// A request path's segments, empty ones kept (`/v1//sessions` and `/v1/sessions/` are not
    /// `/v1/sessions`); a path that does not start with `/` matches nothing.
    static func segments(of path: String) -> [Substring] {
        guard path.hasPrefix("/") else { return [""] }
        return Array(path.split(separator: "/", omittingEmptySubsequences: false).dropFirst())
    }

    /// The path parameters when `path` (percent-encoded) fits the template.
    func match(_ path: [Substring]) -> [String: String]? {
        guard path.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, path) {
            switch segment {
            case .literal(let literal):
                guard part == literal else { return nil }
            case .parameter(let name):
                guard let value = part.removingPercentEncoding, !value.isEmpty else { return nil }
                parameters[name] = value
            }
        }
        return parameters
    }
}

/// What a route answers.
enum RouteResponse: Sendable {
    case json(status: Int, JSONValue, headers: [(String, String)] = [])
    case bytes(status: Int, contentType: String, [UInt8], headers: [(String, String)] = [])
    case noContent
    /// The handler wrote the response itself (streamed downloads).
    case written
    /// Switch the connection to a WebSocket and run the plan (HTTP/1.1 only).
    case upgrade(WebSocketPlan)
}
