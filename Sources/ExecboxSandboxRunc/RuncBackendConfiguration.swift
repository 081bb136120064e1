public import ExecboxSandbox

/// Where the runc backend keeps its state and which runtime binary it drives.
public struct RuncBackendConfiguration: Sendable {
    /// The OCI runtime that runs the sandboxes.
    public enum Runtime: String, Sendable, CaseIterable {
        /// runc: the sandbox's processes run on the host kernel behind namespaces, seccomp and cgroups.
        case runc
        /// gVisor's runsc (ptrace platform): the sandbox's processes run on gVisor's user-space kernel;
        /// the stronger boundary for untrusted tenants (docs/sandbox.md, "runsc").
        case runsc

        /// Debian's path of the runtime's binary.
        public var defaultPath: String {
            switch self {
            case .runc: "/usr/sbin/runc"
            case .runsc: "/usr/bin/runsc"
            }
        }
    }

    /// Which OCI runtime `runtimePath` is.
    public var runtime: Runtime
    /// The runtime's binary (Debian's runc is `/usr/sbin/runc`, its runsc `/usr/bin/runsc`).
    public var runtimePath: String
    /// gVisor's platform (`--platform`); on this kind of host only `ptrace` works. Ignored for runc.
    public var runscPlatform: String = "ptrace"
    /// The runtime's `--root`: the backend's own container state, apart from any other runtime user.
    public var stateDirectory: String
    /// One directory per sandbox: the OCI bundle (config.json, the generated rootfs).
    public var sandboxDirectory: String
    /// One directory per sandbox with its execs' output spools; kept after the sandbox ended, until
    /// it is removed.
    public var spoolDirectory: String
    /// Files the built-in images share read-only between sandboxes (rebuilt at start-up).
    public var imageDirectory: String
    /// The image store (`ImageStore`): imported, bootstrapped and built images, kept across
    /// restarts. Nil: the built-in `default` image only.
    public var imageStoreDirectory: String? = nil
    /// The most bytes the build cache's images may take; least recently used built images beyond it
    /// are evicted after each build (imported and bootstrapped images are never evicted).
    public var imageCacheBytes: Int64 = 20 << 30
    /// Limits applied where a spec leaves them at zero, and the largest allowed.
    public var defaultLimits: SandboxLimits
    public var maximumLimits: SandboxLimits
    /// The cgroup, in every hierarchy, under which each sandbox gets its own (`<parent>/<id>`); the
    /// start-up reaper removes whatever it finds under it, so no two backends may share one.
    public var cgroupParent: String
    /// The first address of the IPv4 pool of `outgoing` and `exposed` sandboxes: each gets a /30 by
    /// its slot, so the pool spans `maxSandboxes × 4` addresses from here (aligned to that size).
    public var networkPool: String
    /// Host-side veths are named `<interfacePrefix><slot>`; the start-up reaper deletes every veth
    /// named so, so no two backends may share a prefix (nor may one prefix start another).
    public var interfacePrefix: String
    /// The nftables table (family inet) holding the sandboxes' filter and NAT rules.
    public var nftablesTable: String
    /// Resolvers written to `outgoing` sandboxes' resolv.conf and let through on port 53; nil means
    /// the host's own non-loopback nameservers.
    public var dnsServers: [String]?
    /// Destinations (CIDR) `outgoing` sandboxes may not reach, beyond the built-in list (loopback,
    /// private, link-local and metadata, CGNAT, multicast, reserved) and the host's own networks.
    public var deniedDestinations: [String]
    /// The first host uid/gid of the user-namespace ranges; sandbox n maps its 0…65535 to
    /// `idMapBase + n * 65536`, so no two live sandboxes share a host uid.
    public var idMapBase: UInt32
    /// How many sandboxes may exist at once (bounds the id ranges too).
    public var maxSandboxes: Int
    /// Whether sandboxes get a user namespace (root inside is an unprivileged uid outside). runc only:
    /// runsc's sandbox kernel always runs as `nobody` in a user namespace of its own, and this runsc
    /// ignores an OCI uid mapping (its gofer then cannot write the workspace), so it gets none.
    public var userNamespace: Bool
    /// After an exec's process ended, how long its output pipes may stay open (held by a background
    /// child) with nothing to read before the exit is reported anyway.
    public var outputDrainGrace: Duration
    /// The most output one exec's spool keeps on disk (older output is dropped, in quarters).
    public var execSpoolLimit: Int
    /// How far an attached client may fall behind before the process blocks on its output (also the
    /// output kept in memory per exec).
    public var execReadWindow: Int
    /// Ended execs remembered per sandbox (exit status and spool), oldest forgotten first.
    public var retainedExecs: Int
    /// Execs running at once in one sandbox.
    public var maxRunningExecs: Int
    /// The most entries `listDirectory` reads from one directory (each costs memory and an lstat);
    /// a bigger directory is RESOURCE_EXHAUSTED.
    public var maxListedEntries: Int = 100_000
    /// The per-sandbox monitor executable (`ExecboxSandboxMonitor`); nil looks for it next to this
    /// process's executable. Without one, sandboxes are this process's children and die with it.
    public var monitorPath: String?
    /// Whether to run sandboxes under monitors when one is found.
    public var useMonitor: Bool
    /// The in-sandbox exec agent (`ExecboxSandboxAgent`, a static executable); nil looks for it next
    /// to this process's executable. runc sandboxes run it as their init and start their processes
    /// through it; without it (or under runsc) the init is `catatonit -P` and every process costs a
    /// `runc exec`.
    public var agentPath: String?
    /// Whether to use the agent when one is found.
    public var useAgent: Bool
    /// runc: how many started containers to keep ready per image name (`RuncBackend+Pool`). A
    /// create whose image, user, working directory and disk limits match one is given it: its
    /// hostname, `/etc` files, memory/CPU/pids limits, network and record are set then, and no
    /// runtime call is left to make. Each pooled container holds a sandbox slot and an idle init.
    /// Empty: no pool.
    public var poolSizes: [String: Int] = [:]
    /// How long the pool's filler waits after a pooled container is given before it starts a
    /// replacement, so that a burst of creates being handed containers is not slowed by refill
    /// work (a runtime call costs tens of milliseconds of CPU). Under steady claims the wait is at
    /// most five times this long.
    public var poolRefillDelay: Duration = .milliseconds(100)
    /// At start-up, adopt the sandboxes a previous run left running under their monitors (their
    /// execs are gone: the dead server held their pipes); whatever cannot be adopted is cleaned up
    /// and listed as `lost`.
    public var adoptOnStart: Bool
    /// On shutdown, leave monitored sandboxes running for the next server to adopt instead of
    /// killing them.
    public var keepSandboxesOnShutdown: Bool
    /// At start-up, remove what a previous run left (`LeftoverReaper`): every container in
    /// `stateDirectory` and its processes, every cgroup under `cgroupParent`, every bundle and spool
    /// (nothing can be adopted yet).
    public var cleanUpOnStart: Bool

    public init(
        runtime: Runtime = .runc,
        runtimePath: String? = nil,
        stateDirectory: String = "/run/execbox/runc",
        sandboxDirectory: String = "/run/execbox/sandboxes",
        imageDirectory: String = "/run/execbox/images",
        spoolDirectory: String = "/run/execbox/spool",
        cgroupParent: String = "execbox",
        networkPool: String = "10.88.0.0",
        interfacePrefix: String = "ebx",
        nftablesTable: String = "execbox",
        dnsServers: [String]? = nil,
        deniedDestinations: [String] = [],
        defaultLimits: SandboxLimits = .defaults,
        maximumLimits: SandboxLimits = .maximum,
        idMapBase: UInt32 = 1 << 20,
        maxSandboxes: Int = 1024,
        userNamespace: Bool = true,
        outputDrainGrace: Duration = .seconds(2),
        execSpoolLimit: Int = 4 << 20,
        execReadWindow: Int = 512 << 10,
        retainedExecs: Int = 16,
        maxRunningExecs: Int = 64,
        monitorPath: String? = nil,
        useMonitor: Bool = true,
        agentPath: String? = nil,
        useAgent: Bool = true,
        adoptOnStart: Bool = true,
        keepSandboxesOnShutdown: Bool = false,
        cleanUpOnStart: Bool = true
    ) {
        self.runtime = runtime
        self.runtimePath = runtimePath ?? runtime.defaultPath
        self.stateDirectory = stateDirectory
        self.sandboxDirectory = sandboxDirectory
        self.imageDirectory = imageDirectory
        self.spoolDirectory = spoolDirectory
        self.cgroupParent = cgroupParent
        self.networkPool = networkPool
        self.interfacePrefix = interfacePrefix
        self.nftablesTable = nftablesTable
        self.dnsServers = dnsServers
        self.deniedDestinations = deniedDestinations
        self.defaultLimits = defaultLimits
        self.maximumLimits = maximumLimits
        self.idMapBase = idMapBase
        self.maxSandboxes = maxSandboxes
        self.userNamespace = userNamespace
        self.outputDrainGrace = outputDrainGrace
        self.execSpoolLimit = execSpoolLimit
        self.execReadWindow = execReadWindow
        self.retainedExecs = retainedExecs
        self.maxRunningExecs = maxRunningExecs
        self.monitorPath = monitorPath
        self.useMonitor = useMonitor
        self.agentPath = agentPath
        self.useAgent = useAgent
        self.adoptOnStart = adoptOnStart
        self.keepSandboxesOnShutdown = keepSandboxesOnShutdown
        self.cleanUpOnStart = cleanUpOnStart
    }
}
