import ExecboxAPI
import ExecboxRPC
import Foundation
import NIOCore

/// One matched request on its way through a route: the request, the path parameters, and the
/// service clients that carry the caller's credentials and request id through the router (with
/// every interceptor: auth, rate limits, logs).
public struct RouteCall: Sendable {
    public let request: GatewayRequest
    public let parameters: [String: String]
    public let requestID: String
    let configuration: GatewayConfiguration
    let transport: RouterTransport
    let metadata: Metadata
    let responder: Responder
    let health: @Sendable () -> (status: Int, body: String)

    init(
        request: GatewayRequest, parameters: [String: String], requestID: String, router: RPCRouter,
        configuration: GatewayConfiguration, authorization: String?, responder: Responder,
        health: @escaping @Sendable () -> (status: Int, body: String)
    ) {
        self.responder = responder
        self.health = health
        self.request = request
        self.parameters = parameters
        self.requestID = requestID
        self.configuration = configuration
        let headers = responder.rateLimitHeaders
        self.transport = RouterTransport(router: router, peer: request.peer) { metadata in
            let limit = ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"].compactMap { name in
                metadata.first(name).map { (name, $0) }
            }
            if limit.count == 3 { headers.set(limit) }
        }
        var metadata = Metadata()
        metadata.add("x-request-id", requestID)
        if let authorization { metadata.add("authorization", authorization) }
        self.metadata = metadata
    }

    var accounts: AccountServiceClient<RouterTransport> { AccountServiceClient(transport: transport) }
    var sessions: SessionServiceClient<RouterTransport> { SessionServiceClient(transport: transport) }
    var processes: ProcessServiceClient<RouterTransport> { ProcessServiceClient(transport: transport) }
    var files: FileServiceClient<RouterTransport> { FileServiceClient(transport: transport) }
    var network: NetworkServiceClient<RouterTransport> { NetworkServiceClient(transport: transport) }

    /// When the call's key does not authenticate: the 401 to answer instead of a validation error.
    func authenticationFailure() async -> GatewayError? {
        do {
            _ = try await accounts.getAccount(GetAccountRequest(), metadata: metadata)
            return nil
        } catch let error as RPCError where error.code == .unauthenticated {
            return GatewayError(error)
        } catch {
            return nil
        }
    }

    func parameter(_ name: String) -> String {
        parameters[name] ?? ""
    }

    /// The JSON body decoded into `Body` (see ``RESTBody``): 400 for malformed JSON, 413 over the
    /// cap, 415 for a content type that is not JSON, 422 with locations for wrong types or values.
    func body<Body: Decodable>(_ type: Body.Type, required: Bool = true) async throws -> Body {
        // Missing is JSON (the legacy rule); curl's default form type too, since `curl -d '{…}'`
        // is how most people try an API.
        if let contentType = request.header("content-type")?.lowercased(),
            !contentType.hasPrefix("application/json"), !contentType.contains("+json"),
            !contentType.hasPrefix("application/x-www-form-urlencoded")
        {
            throw GatewayError.unsupportedMediaType
        }
        let bytes = try await request.body.collect(upTo: configuration.maxJSONBodyBytes)
        return try RESTBody.decode(type, from: Data(bytes.readableBytesView), required: required)
    }
}
