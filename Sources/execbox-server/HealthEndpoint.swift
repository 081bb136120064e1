import Synchronization

/// What `GET /health` answers (the gateway serves the route, over HTTP/1.1 and HTTP/2) for load
/// balancers and probes that do not speak gRPC: 200 `{"status":"ok"}` while the database and the
/// backend work, 503 `{"status":"unavailable","database":…,"backend":…}` otherwise (the legacy
/// contract's shape, CONTRACT.md §3.1), 503 `{"status":"draining"}` once shutdown began. It follows
/// the same checks as `grpc.health.v1` (``DatabaseHealthMonitor`` updates both).
final class HealthEndpoint: Sendable {
    private let state = Mutex((database: true, backend: true, draining: false))

    func update(database: Bool, backend: Bool) {
        state.withLock { $0 = ($0.draining ? false : database, backend, $0.draining) }
    }

    /// Graceful shutdown began: 503 `{"status":"draining"}` from now on.
    func shutdown() {
        state.withLock { $0.draining = true }
    }

    var response: (status: Int, body: String) {
        let (database, backend, draining) = state.withLock { $0 }
        if draining { return (503, #"{"status":"draining"}"#) }
        if database && backend { return (200, #"{"status":"ok"}"#) }
        let databaseText = database ? "ok" : "unavailable"
        let backendText = backend ? "ok" : "unavailable"
        return (503, #"{"status":"unavailable","database":"\#(databaseText)","backend":"\#(backendText)"}"#)
    }
}
