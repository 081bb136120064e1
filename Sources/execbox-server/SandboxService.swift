import ExecboxSandboxRunc
import ExecboxService
import ServiceLifecycle

/// The runc backend and the session reconciler as one long-lived service. On graceful shutdown
/// the reconciler stops and the backend leaves monitored sandboxes running for the next start to
/// adopt (`keepSandboxesOnShutdown`).
struct SandboxService: Service {
    let backend: RuncBackend
    let manager: SessionManager

    func run() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await backend.run() }
            group.addTask {
                try? await cancelWhenGracefulShutdown { try await manager.run() }
            }
            try await group.waitForAll()
        }
    }
}
