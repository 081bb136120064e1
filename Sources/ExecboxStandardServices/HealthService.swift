public import ExecboxAPI
public import ExecboxRPC
import ExecboxWire
import Synchronization

/// `grpc.health.v1.Health` (Check, List, Watch) over a status table the server updates. The
/// service name "" stands for the whole server. `shutdown()` turns everything NOT_SERVING for
/// good, tells every watcher, and ends their streams with UNAVAILABLE, so load balancers stop
/// sending traffic before the listener drains.
public final class HealthService: Grpc_Health_V1_HealthProtocol, Sendable {
    public typealias ServingStatus = Grpc_Health_V1_HealthCheckResponse.ServingStatus
    typealias Watcher = AsyncStream<ServingStatus>.Continuation

    /// List answers at most this many services (the gRPC health spec's bound).
    public static let listLimit = 100
    /// Changes a slow watcher may lag behind before the oldest are dropped (it always ends up
    /// with the latest status).
    static let watchBuffer = 16

    private let table: Mutex<HealthStatusTable<Watcher>>

    /// Starts with `statuses`; by default only the whole server, SERVING.
    public init(statuses: [String: ServingStatus] = ["": .serving]) {
        self.table = Mutex(HealthStatusTable(statuses: statuses))
    }

    /// Sets the status of `service` ("" for the whole server), telling its watchers. Ignored
    /// after `shutdown()`.
    public func setStatus(_ status: ServingStatus, for service: String) {
        // Watchers are told under the lock, so two racing changes reach them in table order.
        table.withLock { table in
            for watcher in table.set(status, for: service) { watcher.yield(status) }
        }
    }

    /// Stops reporting `service`: Check answers NOT_FOUND, watchers get SERVICE_UNKNOWN.
    public func removeStatus(for service: String) {
        table.withLock { table in
            for watcher in table.remove(service) { watcher.yield(.serviceUnknown) }
        }
    }

    /// The current status, or nil for a service that is not registered.
    public func status(of service: String) -> ServingStatus? {
        table.withLock { $0.status(of: service) }
    }

    /// Marks every service NOT_SERVING for good and ends every Watch stream (UNAVAILABLE) after
    /// sending it that last status.
    public func shutdown() {
        table.withLock { table in
            for (watcher, last) in table.shutdown() {
                watcher.yield(last)
                watcher.finish()
            }
        }
    }

    public func check(
        request: Grpc_Health_V1_HealthCheckRequest,
        context: ServerContext
    ) async throws -> Grpc_Health_V1_HealthCheckResponse {
        guard let status = status(of: request.service) else {
            throw RPCError(code: .notFound, message: "unknown service \(request.service)")
        }
        return .with { $0.status = status }
    }

    public func list(
        request: Grpc_Health_V1_HealthListRequest,
        context: ServerContext
    ) async throws -> Grpc_Health_V1_HealthListResponse {
        let statuses = table.withLock { $0.statuses }
        guard statuses.count <= Self.listLimit else {
            throw RPCError(
                code: .resourceExhausted, message: "more than \(Self.listLimit) services; use Check per service")
        }
        return .with { $0.statuses = statuses.mapValues { status in .with { $0.status = status } } }
    }

    public func watch(
        request: Grpc_Health_V1_HealthCheckRequest,
        responses: RPCWriter<Grpc_Health_V1_HealthCheckResponse>,
        context: ServerContext
    ) async throws {
        let (changes, watcher) = AsyncStream.makeStream(
            of: ServingStatus.self, bufferingPolicy: .bufferingNewest(Self.watchBuffer))
        let id = table.withLock { table in
            if table.isShutDown {
                watcher.yield(table.status(of: request.service) ?? .serviceUnknown)
                watcher.finish()
                return nil as Int?
            }
            let (id, first) = table.addWatcher(watcher, for: request.service)
            watcher.yield(first)
            return id
        }
        defer {
            if let id { table.withLock { $0.removeWatcher(id) } }
        }
        // The sequence ends when the client cancels (this task is cancelled) or at shutdown.
        for await status in changes {
            try await responses.write(.with { $0.status = status })
        }
        try Task.checkCancellation()
        throw RPCError(code: .unavailable, message: "the server is shutting down")
    }
}
