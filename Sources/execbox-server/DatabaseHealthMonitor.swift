import ExecboxAPI
import ExecboxRPC
import ExecboxSandbox
import ExecboxService
import ExecboxStandardServices
import ExecboxStorage
import Logging
import ServiceLifecycle

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

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var databaseHealthy = true
            var backendHealthy = true
            var first = true
            while !Task.isCancelled {
                if !first { try await Task.sleep(for: interval) }
                first = false
                let databaseOK: Bool
                do {
                    _ = try await store.account(id: BootstrapAdmin.accountID)
                    databaseOK = true
                } catch {
                    databaseOK = false
                    if databaseHealthy { logger.error("database check failed", metadata: ["error": "\(error)"]) }
                }
                let backendOK = await backend?().status != .notServing
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
