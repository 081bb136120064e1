import ExecboxAPI
import ExecboxRPC
import ExecboxService
import ExecboxStandardServices
import ExecboxStorage
import Logging
import ServiceLifecycle

/// Health follows the database: a cheap read every few seconds; while it fails, the server ("")
/// and AccountService are NOT_SERVING. (The store has no ping call, so an indexed point read stands
/// in for one.)
struct DatabaseHealthMonitor: Service {
    let store: any ExecboxStore
    let health: HealthService
    let services: [String]
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var healthy = true
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                let ok: Bool
                do {
                    _ = try await store.account(id: BootstrapAdmin.accountID)
                    ok = true
                } catch {
                    ok = false
                    if healthy { logger.error("database check failed", metadata: ["error": "\(error)"]) }
                }
                if ok != healthy {
                    healthy = ok
                    if ok { logger.notice("database reachable again") }
                    for service in [""] + services { health.setStatus(ok ? .serving : .notServing, for: service) }
                }
            }
        }
    }
}
