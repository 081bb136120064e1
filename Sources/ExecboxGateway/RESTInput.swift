public import Foundation

/// The gateway's parsers of client input in one place, for the fuzz target: every legacy request
/// body with its schema checks, query strings and path matching. Each either accepts its input or
/// throws a client error (4xx), never anything else.
public enum RESTInput {
    /// Parses `data` as each body type and `text` as a request target; returns the statuses of the
    /// refusals (all 4xx).
    public static func statuses(body data: Data, target text: String) -> [Int] {
        var statuses: [Int] = []
        func attempt(_ body: () throws -> Void) {
            do {
                try body()
            } catch let error as GatewayError {
                statuses.append(error.status)
            } catch {
                statuses.append(500)
            }
        }
        attempt { _ = try RESTBody.decode(CreateSessionBody.self, from: data, required: true).validated() }
        attempt { _ = try RESTBody.decode(CreateKeyBody.self, from: data, required: true).validated() }
        attempt { _ = try RESTBody.decode(UpdateKeyBody.self, from: data, required: false).validated() }
        attempt { _ = try RESTBody.decode(WaitlistBody.self, from: data, required: true).validated() }
        attempt { _ = try RESTBody.decode(QuotaRequestBody.self, from: data, required: true).validated() }
        attempt { _ = try RESTBody.decode(UpdateLimitsBody.self, from: data, required: false).validated() }
        let request = GatewayRequest(method: "GET", target: text, headers: [], peer: "fuzz", body: .empty)
        let path = Route.segments(of: request.path)
        for route in Gateway.allRoutes() { _ = route.match(path) }
        attempt { _ = try SchemaCheck.queryInteger(request.queryValue("days"), "days", default: 7, 1...90) }
        if let expiry = request.queryValue("expires_at") { attempt { _ = try AccountRoutes.expiresAt(expiry) } }
        return statuses
    }
}
