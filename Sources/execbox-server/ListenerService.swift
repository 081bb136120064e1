import ExecboxHTTP2
import ExecboxStandardServices
import Foundation
import NIOCore
import ServiceLifecycle

/// The listener as a long-lived service: binds, says where, serves until graceful shutdown,
/// which first turns health NOT_SERVING (ending Watch streams) and then drains connections.
struct ListenerService: Service {
    let address: ListenAddress
    let tls: TLSConfiguration?
    let handler: HTTP2Server.Handler
    /// The HTTP/1.1 side (`/health`); nil: 404 for everything.
    let http1: HTTP2Server.HTTP1Initializer?
    let health: HealthService
    /// `/health` over HTTP, turned to 503 when shutdown begins.
    let endpoint: HealthEndpoint?
    /// How long in-flight calls may take to finish once shutdown starts.
    let gracePeriod: TimeAmount

    func run() async throws {
        let server: HTTP2Server
        do {
            server = try await HTTP2Server.bind(host: address.host, port: address.port, http1: http1, tls: tls)
        } catch {
            throw BindError(address: address, cause: error)
        }
        let bound = ListenAddress(
            host: server.localAddress.ipAddress ?? address.host, port: server.localAddress.port ?? address.port)
        // Scripts and tests wait for this line.
        print("listening on \(bound)")
        fflush(nil)
        try await withGracefulShutdownHandler {
            try await server.run(handler: handler)
        } onGracefulShutdown: {
            health.shutdown()
            endpoint?.shutdown()
            server.shutdownGracefully(gracePeriod: gracePeriod)
        }
    }

    struct BindError: Error, CustomStringConvertible {
        let address: ListenAddress
        let cause: any Error

        var description: String { "cannot listen on \(address): \(cause)" }
    }
}
