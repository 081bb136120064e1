import ExecboxStorageSQL
import ServiceLifecycle

/// Keeps the store open for the life of the group and closes it last (services stop in reverse
/// order, so the listener has drained by then).
struct StoreService: Service {
    let store: SQLStore

    func run() async throws {
        try? await gracefulShutdown()
        await store.close()
    }
}
