import ExecboxAPI
import ExecboxRPC
import ExecboxSandbox
import ExecboxService
import ExecboxStandardServices
import ExecboxStorage
import Logging
import ServiceLifecycle
import Synchronization

/// Health follows the database and the backend: every few seconds a cheap read and the backend's
/// own check. While the database fails, the server ("") and every Execbox service are
/// NOT_SERVING; while the backend fails, the server and the session services are. (The store has
/// no ping call, so an indexed point read stands in for one.)
struct DatabaseHealthMonitor: Service {
    let store: any ExecboxStore
    let health: HealthService
    /// Services that need the database.
    let services: [String]
    /// The backend's check, when there is a backend.
    let backend: (@Sendable () async -> BackendHealth)?
    /// Services that need the backend too.
    let backendServices: [String]
    /// `/health` over HTTP.
    let endpoint: HealthEndpoint
    let interval: Duration
    let logger: Logger
    /// A check that takes longer counts as failed.
    var timeout: Duration = .seconds(2)

    /// `body`'s result, or nil when it takes longer than `limit`. A check that hangs without
    /// honouring cancellation (a blackholed database connection) must not hold up the monitor, so
    /// it runs as an unstructured task that is cancelled and left behind at the timeout.
    static func within<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async -> T? {
        var check: Task<Void, Never>?
        defer { check?.cancel() }
        return await withCheckedContinuation { continuation in
            let once = ResumeOnce(continuation)
            check = Task { once.resume(try? await body()) }
            Task {
                try? await Task.sleep(for: limit)
                once.resume(nil)
            }
        }
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var databaseHealthy = true
            var backendHealthy = true
            var first = true
            while !Task.isCancelled {
                if !first { try await Task.sleep(for: interval) }
                first = false
                // A database that does not answer (a blackholed connection) fails the check.
                let databaseOK =
                    await Self.within(timeout) {
                        _ = try await store.account(id: BootstrapAdmin.accountID)
                        return true
                    } ?? false
                if !databaseOK, databaseHealthy { logger.error("database check failed or timed out") }
                let backendStatus: BackendHealth.Status? =
                    if let backend { await Self.within(timeout) { await backend().status } ?? .notServing } else {
                        nil
                    }
                let backendOK = backendStatus != .notServing
                endpoint.update(database: databaseOK, backend: backendOK)
                guard databaseOK != databaseHealthy || backendOK != backendHealthy else { continue }
                if databaseOK, !databaseHealthy { logger.notice("database reachable again") }
                if !backendOK, backendHealthy { logger.error("the sandbox backend is not serving") }
                if backendOK, !backendHealthy { logger.notice("the sandbox backend is serving again") }
                databaseHealthy = databaseOK
                backendHealthy = backendOK
                for service in services {
                    let ok = databaseOK && (backendOK || !backendServices.contains(service))
                    health.setStatus(ok ? .serving : .notServing, for: service)
                }
                health.setStatus(databaseOK && backendOK ? .serving : .notServing, for: "")
            }
        }
    }
}

/// Resumes a continuation once; later resumes are ignored.
private final class ResumeOnce<T: Sendable>: Sendable {
    let continuation: Mutex<CheckedContinuation<T?, Never>?>

    init(_ continuation: CheckedContinuation<T?, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume(_ value: T?) {
        continuation.withLock { $0.take() }?.resume(returning: value)
    }
}
