/// Limits a backend enforces (not just records). Zero means "the backend's default", never "none":
/// `SandboxLimits.resolved(defaults:maximum:)` turns a request into the numbers a backend applies.
public struct SandboxLimits: Hashable, Sendable, Codable {
    /// Memory cgroup limit; files in the sandbox's tmpfs mounts count against it.
    public var memoryBytes: Int
    /// CPU quota in thousandths of a core (1000 = one core).
    public var cpuMillicores: Int
    /// Maximum number of processes and threads.
    public var pids: Int
    /// Size of the writable workspace (and the bound on `/tmp`).
    public var diskBytes: Int
    /// Number of files and directories the workspace may hold.
    public var diskInodes: Int
    /// Wall-clock lifetime; nil means the backend's default.
    public var timeout: Duration?
    /// Stop after this long without an exec or attach; nil means the backend's default.
    public var idleTimeout: Duration?

    public init(
        memoryBytes: Int = 0,
        cpuMillicores: Int = 0,
        pids: Int = 0,
        diskBytes: Int = 0,
        diskInodes: Int = 0,
        timeout: Duration? = nil,
        idleTimeout: Duration? = nil
    ) {
        self.memoryBytes = memoryBytes
        self.cpuMillicores = cpuMillicores
        self.pids = pids
        self.diskBytes = diskBytes
        self.diskInodes = diskInodes
        self.timeout = timeout
        self.idleTimeout = idleTimeout
    }

    /// What a backend applies when a request leaves a limit at zero.
    public static let defaults = SandboxLimits(
        memoryBytes: 512 << 20,
        cpuMillicores: 1000,
        pids: 256,
        diskBytes: 1 << 30,
        diskInodes: 65536,
        timeout: .seconds(300),
        idleTimeout: nil
    )

    /// The largest values a request may ask for.
    public static let maximum = SandboxLimits(
        memoryBytes: 16 << 30,
        cpuMillicores: 16000,
        pids: 4096,
        diskBytes: 64 << 30,
        diskInodes: 4 << 20,
        timeout: .seconds(24 * 3600),
        idleTimeout: .seconds(24 * 3600)
    )

    /// Smallest values that leave a usable sandbox (a shell and a few processes).
    public static let minimum = SandboxLimits(
        memoryBytes: 8 << 20,
        cpuMillicores: 10,
        pids: 8,
        diskBytes: 1 << 20,
        diskInodes: 64,
        timeout: .milliseconds(100),
        idleTimeout: .seconds(1)
    )

    /// Fills zeros from `defaults` and rejects values outside `[minimum, maximum]`.
    public func resolved(
        defaults: SandboxLimits = .defaults,
        maximum: SandboxLimits = .maximum
    ) throws(SandboxError) -> SandboxLimits {
        func pick(_ name: String, _ value: Int, _ fallback: Int, _ low: Int, _ high: Int) throws(SandboxError) -> Int {
            let chosen = value == 0 ? fallback : value
            guard chosen >= low, chosen <= high else {
                throw .invalidArgument("\(name) must be between \(low) and \(high), got \(value)")
            }
            return chosen
        }
        func pick(_ name: String, _ value: Duration?, _ fallback: Duration?, _ low: Duration, _ high: Duration?)
            throws(SandboxError) -> Duration?
        {
            guard let chosen = value ?? fallback else { return nil }
            if chosen < low || (high.map { chosen > $0 } ?? false) {
                throw .invalidArgument("\(name) out of range: \(chosen)")
            }
            return chosen
        }
        let low = Self.minimum
        return SandboxLimits(
            memoryBytes: try pick("memory", memoryBytes, defaults.memoryBytes, low.memoryBytes, maximum.memoryBytes),
            cpuMillicores: try pick(
                "cpu millicores", cpuMillicores, defaults.cpuMillicores, low.cpuMillicores, maximum.cpuMillicores),
            pids: try pick("pids", pids, defaults.pids, low.pids, maximum.pids),
            diskBytes: try pick("disk", diskBytes, defaults.diskBytes, low.diskBytes, maximum.diskBytes),
            diskInodes: try pick("inodes", diskInodes, defaults.diskInodes, low.diskInodes, maximum.diskInodes),
            timeout: try pick("timeout", timeout, defaults.timeout, low.timeout!, maximum.timeout),
            idleTimeout: try pick(
                "idle timeout", idleTimeout, defaults.idleTimeout, low.idleTimeout!, maximum.idleTimeout)
        )
    }
}
