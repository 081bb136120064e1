internal import ExecboxAPI

/// The health service's state as a value: statuses by service name and who watches which, with
/// every change answering which watchers to tell. Generic over the watcher so it is tested
/// without streams.
struct HealthStatusTable<Watcher> {
    typealias Status = Grpc_Health_V1_HealthCheckResponse.ServingStatus

    private(set) var statuses: [String: Status]
    private var watchers: [Int: (service: String, watcher: Watcher)] = [:]
    private var nextWatcherID = 0
    /// After shutdown every status is NOT_SERVING for good: later changes are ignored, so a
    /// draining server cannot be reported healthy again.
    private(set) var isShutDown = false

    init(statuses: [String: Status]) {
        self.statuses = statuses
    }

    /// What Check and Watch report: nil (NOT_FOUND) for a service never registered.
    func status(of service: String) -> Status? {
        statuses[service]
    }

    /// Sets a status; answers the watchers to tell, empty when nothing changed.
    mutating func set(_ status: Status, for service: String) -> [Watcher] {
        guard !isShutDown, statuses[service] != status else { return [] }
        statuses[service] = status
        return watchers.values.filter { $0.service == service }.map(\.watcher)
    }

    /// Forgets a service: its watchers are told SERVICE_UNKNOWN.
    mutating func remove(_ service: String) -> [Watcher] {
        guard !isShutDown, statuses.removeValue(forKey: service) != nil else { return [] }
        return watchers.values.filter { $0.service == service }.map(\.watcher)
    }

    /// Adds a watcher; answers its id and the status to send it first (SERVICE_UNKNOWN for a
    /// service not registered, which may be registered later).
    mutating func addWatcher(_ watcher: Watcher, for service: String) -> (id: Int, first: Status) {
        let id = nextWatcherID
        nextWatcherID += 1
        watchers[id] = (service, watcher)
        return (id, statuses[service] ?? .serviceUnknown)
    }

    mutating func removeWatcher(_ id: Int) {
        watchers[id] = nil
    }

    /// Marks every service NOT_SERVING; answers every watcher with the status to send it last
    /// (NOT_SERVING, or SERVICE_UNKNOWN for a service never registered), and forgets them.
    mutating func shutdown() -> [(watcher: Watcher, last: Status)] {
        isShutDown = true
        for service in statuses.keys { statuses[service] = .notServing }
        let told = watchers.values.map { ($0.watcher, statuses[$0.service] ?? .serviceUnknown) }
        watchers = [:]
        return told
    }
}
