/// A backend's answer to a health check.
public struct BackendHealth: Hashable, Sendable {
    public enum Status: String, Hashable, Sendable {
        /// Sandboxes can be created.
        case serving
        /// The backend runs but new sandboxes may fail (the runtime is missing or broken).
        case notServing
    }

    public var status: Status
    /// The runtime and its version, e.g. `runc 1.1.5`.
    public var runtime: String
    /// Known weaknesses of this runtime build (missing CVE fixes, degraded isolation).
    public var warnings: [String]
    public var sandboxes: Int

    public init(status: Status, runtime: String, warnings: [String] = [], sandboxes: Int = 0) {
        self.status = status
        self.runtime = runtime
        self.warnings = warnings
        self.sandboxes = sandboxes
    }
}
