public import ExecboxSandbox
import FoundationEssentials
import Glibc
public import Logging
public import ServiceLifecycle
import Synchronization

/// The local sandbox backend: one runc container per sandbox.
///
/// `runc create` gets the sandbox's stdio, then `runc start`; this process is a child subreaper, so
/// the container's init (and every `runc exec --detach` process) becomes its child once runc exits,
/// and is waited for through a pidfd. A supervisor task per sandbox, run by `run()`, owns the
/// sandbox's state machine: it starts the container, fires timeouts, and destroys it when its init
/// ends. `run()` must be running for sandboxes to be created; ending it kills every sandbox (they
/// cannot outlive the server until the monitor process arrives).
public final class RuncBackend: SandboxBackend, Service, Sendable {
    public let configuration: RuncBackendConfiguration
    /// nil when runc is missing or did not answer `--version`.
    public let version: RuncVersion?
    let logger: Logger
    let runtime: RuncRuntime
    let catalog: ImageCatalog
    let userNamespaces = UserNamespaces()
    /// nil when only network mode `none` is available.
    let network: SandboxNetwork?
    /// The per-sandbox monitor; nil when sandboxes are this process's own children.
    let monitorPath: String?
    /// The exec agent run as each runc sandbox's init (nil: catatonit, and `runc exec` per process).
    let agentPath: String?
    private let jobs = Inbox<(@Sendable () async -> Void)?>()

    struct State {
        var sandboxes: [SandboxID: RuncSandbox] = [:]
        var usedSlots: Set<Int> = []
        var running = false
        var stopped = false
        /// Started containers waiting to be given to a sandbox (`RuncBackend+Pool`).
        var pool: [PooledContainer] = []
        /// How many the pool keeps per image name (`poolSizes`, then `setPoolSize`).
        var poolTargets: [String: Int] = [:]
        /// When a pooled container was last given (the filler waits for a pause in claims).
        var lastPoolClaim: ContinuousClock.Instant?
        /// `run()` takes no more jobs (it took every one queued before).
        var jobsClosed = false

        /// Why a sandbox `id` (or, nil, a pooled container) cannot be registered now, if it cannot.
        func refusal(of id: SandboxID?) -> SandboxError? {
            guard running, !stopped else {
                return SandboxError(code: .unavailable, message: "the sandbox backend is not running")
            }
            if let id, sandboxes[id] != nil {
                return SandboxError(code: .alreadyExists, message: "sandbox \(id) already exists")
            }
            return nil
        }
    }

    let state = Mutex(State())
    /// Wakes the pool's filler (closed: the backend stops).
    let poolDoorbell = Doorbell()

    /// Prepares the directories, becomes a child subreaper, reads runc's version (logging what fixes
    /// it lacks) and, with `cleanUpOnStart`, removes what a previous run left (`LeftoverReaper`).
    public static func make(configuration: RuncBackendConfiguration, logger: Logger) async throws -> RuncBackend {
        signal(SIGPIPE, SIG_IGN)
        guard LinuxCalls.becomeChildSubreaper() else {
            throw SandboxError(
                code: .unavailable, message: "cannot become a child subreaper", cause: SystemError("prctl"))
        }
        let directories = [
            configuration.stateDirectory, configuration.sandboxDirectory, configuration.imageDirectory,
            configuration.spoolDirectory,
        ]
        for directory in directories {
            try makeDirectories(directory)
        }
        let runtime = RuncRuntime(configuration)
        var version: RuncVersion?
        if access(configuration.runtimePath, X_OK) == 0 {
            version = try? await runtime.version()
        }
        if let found = version, found.isRunsc != (configuration.runtime == .runsc) {
            logger.error("\(configuration.runtimePath) is \(found), not \(configuration.runtime.rawValue)")
            version = nil
        }
        if let version {
            if let warning = version.warning { logger.warning("\(warning)") }
            if version.isRunsc, configuration.userNamespace {
                logger.notice(
                    "runsc: sandboxes get no OCI user namespace (gVisor's kernel runs as nobody in its own)")
            }
            if version.isRefused {
                logger.error("\(version) lacks the CVE-2024-21626 fix; the runc backend refuses to use it")
            }
        } else {
            logger.error(
                "\(configuration.runtime.rawValue) is not usable at \(configuration.runtimePath); sandboxes cannot be created"
            )
        }
        let store = try configuration.imageStoreDirectory.map { try ImageStore(root: $0) }
        let catalog = try ImageCatalog.builtIn(preparedIn: configuration.imageDirectory, store: store)
        let monitorPath = findMonitor(configuration)
        if monitorPath == nil, configuration.useMonitor {
            logger.notice("no ExecboxSandboxMonitor found: sandboxes will not outlive this process")
        }
        var reconciliation = Reconciliation()
        if configuration.adoptOnStart, monitorPath != nil, version != nil {
            reconciliation = await reconcile(configuration, runtime: runtime, logger: logger)
        }
        // Ids name spools; container names name containers, cgroups and bundles.
        let adopted = Set(reconciliation.adopted.flatMap { [$0.sandbox.id.rawValue, $0.sandbox.container] })
        if configuration.cleanUpOnStart, version != nil {
            _ = await LeftoverReaper(configuration: configuration, runtime: runtime, logger: logger, keep: adopted)
                .reap()
        }
        let interfaces = Set(reconciliation.adopted.compactMap(\.record.network?.interface))
        let backend = RuncBackend(
            configuration: configuration,
            version: version,
            logger: logger,
            runtime: runtime,
            catalog: catalog,
            network: await makeNetwork(configuration, logger: logger, keeping: interfaces),
            monitorPath: monitorPath,
            agentPath: findAgent(configuration)
        )
        if backend.agentPath == nil, configuration.useAgent, configuration.runtime == .runc {
            logger.notice("no ExecboxSandboxAgent found: every exec costs a runc exec")
        }
        await backend.takeOver(reconciliation)
        return backend
    }

    init(
        configuration: RuncBackendConfiguration,
        version: RuncVersion?,
        logger: Logger,
        runtime: RuncRuntime,
        catalog: ImageCatalog,
        network: SandboxNetwork?,
        monitorPath: String?,
        agentPath: String? = nil
    ) {
        self.monitorPath = monitorPath
        self.agentPath = agentPath
        self.configuration = configuration
        self.version = version
        self.logger = logger
        self.runtime = runtime
        self.catalog = catalog
        self.network = network
        state.withLock { $0.poolTargets = configuration.poolSizes.filter { $0.value > 0 } }
    }

    static func makeDirectories(_ path: String) throws {
        var current = ""
        for component in path.split(separator: "/") {
            current += "/\(component)"
            if mkdir(current, 0o711) != 0, errno != EEXIST {
                throw SandboxError(code: .unavailable, message: "cannot create \(path)", cause: SystemError("mkdir"))
            }
        }
    }

    // MARK: Service

    /// Runs the sandboxes' supervisors until cancelled or gracefully shut down, then kills every
    /// sandbox and returns once all are destroyed.
    public func run() async throws {
        state.withLock { $0.running = true }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withGracefulShutdownHandler {
                    while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
                } onGracefulShutdown: {
                    self.closeJobs()
                }
                self.closeJobs()
            }
            if configuration.runtime == .runc {
                group.addTask { await self.keepPoolFilled() }
            }
            while let job = await jobs.next() {
                group.addTask(operation: job)
            }
            let live = state.withLock { state in
                state.running = false
                state.stopped = true
                return Array(state.sandboxes.values)
            }
            poolDoorbell.close()
            // With monitors, sandboxes can be left running for the next server to adopt.
            let leave = configuration.keepSandboxesOnShutdown && monitorPath != nil
            for sandbox in live where !sandbox.info.state.isTerminal { sandbox.inbox.send(leave ? .detach : .shutdown) }
            group.cancelAll()
        }
        // Pooled containers belong to no session: never left for a next server.
        await emptyPool()
    }

    /// Registers a sandbox found at start-up (adopted, or lost and already cleaned up).
    func adopt(_ sandbox: RuncSandbox) {
        state.withLock { state in
            state.sandboxes[sandbox.id] = sandbox
            if sandbox.slot >= 0 { state.usedSlots.insert(sandbox.slot) }
        }
    }

    /// Runs `job` as a child task of `run()` (a background exec's pump); dropped once `run()` ends.
    func runJob(_ job: @escaping @Sendable () async -> Void) {
        state.withLock { state in
            if !state.jobsClosed { jobs.send(job) }
        }
    }

    /// Ends the job queue: `run()` takes every job queued before, none after (queued under the same
    /// lock, so a job either runs or is refused).
    private func closeJobs() {
        state.withLock { state in
            guard !state.jobsClosed else { return }
            state.jobsClosed = true
            jobs.send(nil)
        }
    }

    /// Starts a created sandbox's supervisor and hands it `created`; false once `run()` takes no
    /// more jobs (the backend stops: the caller destroys the sandbox).
    func startSupervising(_ sandbox: RuncSandbox) -> Bool {
        let started = state.withLock { state in
            guard !state.jobsClosed else { return false }
            jobs.send { await self.supervise(sandbox) }
            return true
        }
        if started { sandbox.inbox.send(.event(.created)) }
        return started
    }

    /// Destroys a sandbox the backend's shutdown overtook before its supervisor started.
    func abandon(_ sandbox: RuncSandbox) async -> SandboxError {
        _ = try? sandbox.apply(.createFailed("the sandbox backend stopped"))
        await destroy(sandbox)
        return SandboxError(code: .unavailable, message: "the sandbox backend is not running")
    }

    // MARK: SandboxBackend

    public func create(_ id: SandboxID, _ spec: SandboxSpec) async throws -> SandboxInfo {
        let request = try resolve(spec)
        let sandbox: RuncSandbox
        if let pooled = try await claimPooled(id, request) {
            sandbox = pooled
        } else {
            sandbox = try await createCold(id, request)
        }
        guard startSupervising(sandbox) else { throw await abandon(sandbox) }
        return await sandbox.wait { $0.state != .creating }
    }

    /// The ordinary path: bundle, `runc create`, network and record; the sandbox is registered and
    /// `created`-ready (its supervisor runs `runc start`).
    private func createCold(_ id: SandboxID, _ request: ResolvedRequest) async throws -> RuncSandbox {
        let slot = try await reserveEvictingPooled(id)
        let (sandbox, input) = makeSandbox(id, request, slot: slot)
        state.withLock { $0.sandboxes[id] = sandbox }
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try await prepare(sandbox, input: input, image: request.image)
            let written = clock.now
            let initProcess = try await createContainer(sandbox)
            sandbox.initProcess = initProcess
            try await finishCreate(sandbox)
            logger.debug("sandbox \(id): bundle \(written - start), runc create \(clock.now - written)")
        } catch {
            logger.error("creating sandbox \(id) failed: \(error)")
            _ = try? sandbox.apply(.createFailed("the runtime could not create the sandbox"))
            await destroy(sandbox)
            if let error = error as? SandboxError { throw error }
            throw SandboxError(code: .unavailable, message: "the runtime could not create the sandbox", cause: error)
        }
        return sandbox
    }

    /// A create request as the backend runs it: limits resolved, the image found, and the image's
    /// command, environment, working directory and user applied.
    struct ResolvedRequest: Sendable {
        var spec: SandboxSpec
        var limits: SandboxLimits
        var image: SandboxImage
        var user: OCIConfig.User
    }

    func resolve(_ spec: SandboxSpec) throws -> ResolvedRequest {
        try spec.validate()
        guard spec.network == .none || network != nil else {
            throw SandboxError(
                code: .unavailable,
                message: "network mode \(spec.network.rawValue) is not available on this host (see the server log)"
            )
        }
        let limits = try spec.limits.resolved(
            defaults: configuration.defaultLimits, maximum: configuration.maximumLimits)
        let image = try catalog.resolve(spec.imageName)
        var spec = spec
        // A build's sandbox stays idle: its commands are execs.
        if image.isLayered, spec.command.isEmpty, spec.labels[Self.buildLabel] == nil {
            spec.command = image.runtime.entrypoint + image.runtime.cmd
        }
        if image.isLayered {
            // The image's environment under the request's, for the main process and every exec.
            spec.environment = OCIConfigBuilder.imageEnvironment(image.runtime.env).merging(spec.environment) { $1 }
        }
        if spec.workingDirectory.isEmpty {
            spec.workingDirectory = image.runtime.workingDir.isEmpty ? "/workspace" : image.runtime.workingDir
        }
        let user =
            image.isLayered
            ? try ImageUser.resolve(image.runtime.user, layers: image.layers) : OCIConfig.User(uid: 0, gid: 0)
        guard let version, !version.isRefused else {
            throw SandboxError(code: .unavailable, message: "the sandbox runtime is not available")
        }
        return ResolvedRequest(spec: spec, limits: limits, image: image, user: user)
    }

    /// The sandbox's record and the input of its `config.json`; `container` names a pooled
    /// container (else the id does).
    func makeSandbox(
        _ id: SandboxID, _ request: ResolvedRequest, slot: Int, container: String? = nil, cpuBaseline: UInt64 = 0
    ) -> (RuncSandbox, OCIConfigBuilder.Input) {
        let name = container ?? id.rawValue
        let bundle = "\(configuration.sandboxDirectory)/\(name)"
        let runsc = configuration.runtime == .runsc
        let namespaceName = runsc && request.spec.network != .none ? network?.namespaceName(slot: slot) : nil
        let input = OCIConfigBuilder.Input(
            id: id,
            spec: request.spec,
            limits: request.limits,
            image: request.image,
            idMapHostBase: configuration.userNamespace && !runsc
                ? configuration.idMapBase + UInt32(slot) * OCIConfigBuilder.idRangeSize : nil,
            cgroupParent: configuration.cgroupParent,
            hostTmpfsRoot: runsc ? "\(bundle)/rootfs" : nil,
            networkNamespacePath: namespaceName.map { "\(SandboxNetwork.namedNamespaces)/\($0)" },
            user: request.user,
            agent: runsc ? nil : agentPath.map { OCIConfigBuilder.Agent(binary: $0, directory: "\(bundle)/agent") },
            container: container
        )
        let sandbox = RuncSandbox(
            id: id,
            spec: request.spec,
            limits: request.limits,
            bundle: bundle,
            // Named after the container: a pooled one's is made with it, before it is given.
            spoolDirectory: "\(configuration.spoolDirectory)/\(container ?? id.rawValue)",
            slot: slot,
            baseProcess: OCIConfigBuilder.make(input).process,
            retainedExecs: configuration.retainedExecs,
            cgroupParent: configuration.cgroupParent,
            runtime: runtime.forSandbox(network: request.spec.network),
            container: container,
            cpuBaseline: cpuBaseline
        )
        return (sandbox, input)
    }

    /// Writes the bundle (config, root, agent directory; under runsc its host mounts and network).
    func prepare(_ sandbox: RuncSandbox, input: OCIConfigBuilder.Input, image: SandboxImage) async throws {
        let config = OCIConfigBuilder.make(input)
        let bundle = sandbox.bundle
        let spec = sandbox.spec
        try BundleWriter.write(
            bundle: bundle,
            config: config,
            image: image,
            network: spec.network,
            dnsServers: network?.ruleset.dnsServers.map(IPv4Network.format) ?? []
        )
        if let agent = input.agent {
            // The agent makes its socket here, as the sandbox's user; nobody else on the host
            // may reach it.
            let owner = input.idMapHostBase ?? 0
            try SandboxAgentClient.makeDirectory(
                agent.directory, uid: owner + input.user.uid, gid: owner + input.user.gid)
        }
        if image.isLayered {
            let owner = input.idMapHostBase ?? 0
            var namespace: Int32?
            if let base = input.idMapHostBase {
                namespace = try await userNamespaces.namespace(hostBase: base, size: OCIConfigBuilder.idRangeSize)
            }
            try OverlayRoot.mount(
                bundle: bundle, layers: image.layers, userNamespace: namespace, owner: owner, limits: sandbox.limits)
            try OverlayRoot.prepare(
                rootfs: "\(bundle)/rootfs", owner: owner,
                files: BundleWriter.etcFiles(
                    hostname: config.hostname, network: spec.network,
                    dnsServers: network?.ruleset.dnsServers.map(IPv4Network.format) ?? []))
            catalog.store?.touch(image.name, now: Date().timeIntervalSince1970)
        }
        if let hostTmpfsRoot = input.hostTmpfsRoot {
            // runsc: the workspace is a host mount under the bundle: no other host user may walk in
            // (runc's bundle stays 0711 for the sandbox's mapped root; runsc's gofer is root).
            chmod(bundle, 0o700)
            try RunscHostMounts.make(rootfs: hostTmpfsRoot, limits: sandbox.limits, image: image)
            // gVisor's kernel takes the network of the namespace it starts in: made beforehand.
            if input.networkNamespacePath != nil, let network {
                _ = try await network.makeNamespace(slot: sandbox.slot)
                sandbox.networkAttachment = try await network.attach(
                    into: .named(network.namespaceName(slot: sandbox.slot)), slot: sandbox.slot,
                    ports: spec.exposedPorts, bundle: bundle)
            }
        }
    }

    /// What follows `runc create` (or a pooled container's claim): the spool directory, the
    /// network of a runc sandbox, and the record a later server adopts it by.
    func finishCreate(_ sandbox: RuncSandbox) async throws {
        // A pooled container's was made with it.
        if !sandbox.prestarted { try BundleWriter.makeDirectory(sandbox.spoolDirectory, mode: 0o700) }
        guard let initProcess = sandbox.initProcess else { return }
        if sandbox.runtime.kind == .runc, sandbox.spec.network != .none, let network {
            sandbox.networkAttachment = try await network.attach(
                pid: initProcess.pid, slot: sandbox.slot, ports: sandbox.spec.exposedPorts, bundle: sandbox.bundle)
        }
        if case .monitored(let initHandle, let monitor, _) = initProcess.kind {
            try SandboxRecord(sandbox, initProcess: initHandle, monitor: monitor).write(to: sandbox.bundle)
        }
    }

    /// Takes a user-namespace slot (and checks `id` is free), or throws. A pooled container (no id)
    /// never takes the last free slot, so one given way (`evictPooled`) goes to the create that
    /// needed it, not back to the pool.
    func reserveSlot(for id: SandboxID?) throws(SandboxError) -> Int {
        try state.withLock { state throws(SandboxError) -> Int in
            if let refusal = state.refusal(of: id) { throw refusal }
            guard let slot = (0..<configuration.maxSandboxes).first(where: { !state.usedSlots.contains($0) }) else {
                throw SandboxError(code: .resourceExhausted, message: "too many sandboxes on this host")
            }
            if id == nil, state.usedSlots.count + 1 >= configuration.maxSandboxes {
                throw SandboxError(code: .resourceExhausted, message: "the last sandbox slot is not for the pool")
            }
            state.usedSlots.insert(slot)
            return slot
        }
    }

    /// `runc create` with /dev/null as the container's stdio (its main process is reached through
    /// execs). With a monitor, the monitor runs it and stays the init's parent; without one, the init
    /// becomes this process's child when `runc create` exits.
    func createContainer(_ sandbox: RuncSandbox) async throws -> MainProcess {
        let pidFile = "\(sandbox.bundle)/init.pid"
        let log = "\(sandbox.bundle)/runc.log"
        func failure(_ status: String) -> SandboxError {
            let reason = RuncRuntime.lastError(inLog: log) ?? status
            // runc reports a working directory it cannot enter or create ("chdir to cwd … set in
            // config.json failed", "mkdir …: read-only file system"): the request's fault, not the host's.
            let workDir = sandbox.spec.workingDirectory
            // (runc quotes a path with control characters, so its text is not matched verbatim.)
            // The only directory runc makes at container init is the working directory (or a parent).
            let cannotMake =
                reason.contains("error during container init: mkdir /")
                && (reason.contains("read-only file system") || reason.contains("permission denied"))
            if reason.contains("cwd") || (workDir != "/" && (reason.contains("mkdir \(workDir)") || cannotMake)) {
                return SandboxError(
                    code: .invalidArgument,
                    message: "the working directory \(workDir) does not exist in the image and cannot be created",
                    cause: RuntimeFailure(message: reason))
            }
            return SandboxError(
                code: .unavailable,
                message: "the runtime could not create the sandbox",
                cause: RuntimeFailure(message: reason)
            )
        }
        if let monitorPath {
            let stdout = try Pipe(.fromChild)
            let stderr = try Pipe(.fromChild)
            let runtime = sandbox.runtime
            let monitor = try ChildProcess.spawn(
                [monitorPath, runtime.path, runtime.stateDirectory, sandbox.bundle, sandbox.container]
                    + runtime.flags,
                environment: RuncRuntime.environment,
                stdin: DevNull.fd,
                stdout: stdout.remote,
                stderr: stderr.remote
            )
            // The monitor closes both once it reported the init (or exits on a failure).
            let output = try await OutputCollector.collect(
                stdout: stdout.takeLocal(), stderr: stderr.takeLocal(), limit: 4096)
            let line = String(decoding: output.stdout, as: UTF8.self)
            guard line.hasPrefix("created "), let pid = pid_t(line.dropFirst(8).filter(\.isNumber)),
                let initHandle = ProcessHandle(pid), let monitorHandle = ProcessHandle(monitor.pid)
            else {
                let status = try await monitor.waitIgnoringCancellation()
                throw failure("monitor: \(status) \(String(decoding: output.stderr, as: UTF8.self))")
            }
            return MainProcess(
                .monitored(initProcess: initHandle, monitor: monitorHandle, exitFile: "\(sandbox.bundle)/exit"))
        }
        let status = try await sandbox.runtime.runHandingOver(
            ["create", "--bundle", sandbox.bundle, "--pid-file", pidFile, sandbox.container],
            log: log,
            stdin: DevNull.fd,
            stdout: DevNull.fd,
            stderr: DevNull.fd
        )
        guard status == .exited(0) else { throw failure("runc create: \(status)") }
        guard let pid = Self.readPid(pidFile) else {
            throw SandboxError(code: .internal, message: "the runtime did not report the sandbox's init")
        }
        return MainProcess(.child(try ChildProcess(adopting: pid)))
    }

    static func readPid(_ path: String) -> pid_t? {
        HostFiles.read(path, limit: 64).flatMap { pid_t(String(decoding: $0, as: UTF8.self).filter(\.isNumber)) }
    }

    public func get(_ id: SandboxID) async throws -> SandboxInfo {
        try lookup(id).info
    }

    func lookup(_ id: SandboxID) throws(SandboxError) -> RuncSandbox {
        guard let sandbox = state.withLock({ $0.sandboxes[id] }) else { throw SandboxError.notFound(id) }
        return sandbox
    }

    /// Every sandbox but the image builds' own (internal to the backend, owned by no session).
    public func list() async throws -> [SandboxInfo] {
        state.withLock { Array($0.sandboxes.values) }.filter { $0.spec.labels[Self.buildLabel] == nil }.map(\.info)
            .sorted { $0.id < $1.id }
    }

    /// The label of an image build's sandbox.
    static let buildLabel = "execbox.build"

    public func stop(_ id: SandboxID, grace: Duration) async throws -> SandboxInfo {
        let sandbox = try lookup(id)
        sandbox.inbox.send(.event(.stopRequested(grace: grace)))
        return await sandbox.wait { $0.state.isTerminal }
    }

    public func kill(_ id: SandboxID) async throws -> SandboxInfo {
        let sandbox = try lookup(id)
        sandbox.inbox.send(.event(.killRequested))
        return await sandbox.wait { $0.state.isTerminal }
    }

    public func remove(_ id: SandboxID) async throws {
        let sandbox = try lookup(id)
        if !sandbox.info.state.isTerminal || !sandbox.isDestroyed { _ = try await kill(id) }
        let removed = state.withLock { state in
            guard state.sandboxes[id] === sandbox else { return false }
            state.sandboxes[id] = nil
            return true
        }
        if removed { sandbox.removeSpools() }
    }

    public func stats(_ id: SandboxID) async throws -> SandboxStats {
        try lookup(id).stats
    }

    public func health() async -> BackendHealth {
        let (count, running) = state.withLock { ($0.sandboxes.count, $0.running) }
        guard let version else {
            return BackendHealth(
                status: .notServing, runtime: "\(configuration.runtime.rawValue) (missing)", sandboxes: count)
        }
        var warnings: [String] = []
        if let warning = version.warning { warnings.append(warning) }
        if version.isRefused { warnings.append("\(version) lacks the CVE-2024-21626 fix and is refused") }
        let serving = running && !version.isRefused
        return BackendHealth(
            status: serving ? .serving : .notServing,
            runtime: version.description,
            warnings: warnings,
            sandboxes: count
        )
    }

    // MARK: Supervision

    /// Owns one sandbox's state machine from `created` to its destroy.
    func supervise(_ sandbox: RuncSandbox) async {
        guard let initProcess = sandbox.initProcess else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                let (status, detached) = await initProcess.waitForExit(detach: sandbox.detachSignal.readEnd)
                guard !detached else { return }
                sandbox.inbox.send(.event(.mainExited(Self.mainExit(status, oomKills: sandbox.cgroup.oomKills))))
            }
            if let main = sandbox.adoption?.main {
                group.addTask { await Self.watchAdoptedMain(main, of: sandbox) }
            }
            loop: while true {
                let event: SandboxStateMachine.Event
                switch await sandbox.inbox.next() {
                case .event(let next): event = next
                case .shutdown: event = .killRequested
                case .detach:
                    // Left running under its monitor, for the next server to adopt.
                    sandbox.detachSignal.fire()
                    sandbox.keeper.disconnect()
                    break loop
                case .armTimers:
                    armTimers(sandbox, in: &group)
                    continue
                }
                let action: SandboxStateMachine.Action
                do {
                    action = try sandbox.apply(event)
                } catch {
                    logger.error("sandbox \(sandbox.id): \(error)")
                    continue
                }
                switch action {
                case .none:
                    break
                case .start:
                    if !sandbox.prestarted {
                        if let reason = await startContainer(sandbox, initProcess: initProcess) {
                            logger.error("runc start \(sandbox.id) failed: \(reason)")
                            sandbox.inbox.send(.event(.createFailed("the runtime could not start the sandbox")))
                            continue
                        }
                    }
                    var main: RuncExec?
                    if !sandbox.spec.command.isEmpty {
                        do {
                            main = try await startMain(sandbox)
                        } catch {
                            logger.error("sandbox \(sandbox.id): its main process did not start: \(error)")
                            sandbox.inbox.send(.event(.createFailed("the main process could not be started")))
                            continue
                        }
                    }
                    sandbox.inbox.send(.event(.started))
                    // Its end feeds `mainExited`, so it runs only once the sandbox is running.
                    if let main { runJob { await main.pump() } }
                case .armTimers:
                    armTimers(sandbox, in: &group)
                case .terminate(let grace):
                    signalMain(sandbox, SIGTERM)
                    group.addTask { await Self.fire(.graceExpired, after: grace, into: sandbox) }
                    group.addTask { await Self.reapExecs(of: sandbox, until: initProcess) }
                case .killAll:
                    initProcess.signal(SIGKILL)
                    group.addTask { await Self.reapExecs(of: sandbox, until: initProcess) }
                case .destroy:
                    await destroy(sandbox)
                    break loop
                }
            }
            group.cancelAll()
        }
    }

    /// `runc start`, then waits until the init takes signals and the agent listens. Returns why it
    /// failed, or nil.
    func startContainer(_ sandbox: RuncSandbox, initProcess: MainProcess) async -> String? {
        let output = try? await sandbox.runtime.run(["start", sandbox.container], log: "\(sandbox.bundle)/runc.log")
        guard output?.succeeded == true else {
            return RuncRuntime.lastError(inLog: "\(sandbox.bundle)/runc.log") ?? output?.stderrText ?? "no answer"
        }
        // pid 1 of a pid namespace drops signals it has no handler for; the init blocks them (reading
        // a signalfd) a moment after exec. Until then a stop's SIGTERM would be lost, so the sandbox
        // counts as started once it blocks them — which the agent does before it listens, so its
        // socket says both. (runsc: the init is gVisor's kernel, whose signals are not the init's.)
        let listening = await Self.waitForAgent(of: sandbox)
        if sandbox.runtime.kind == .runc, !listening { await Self.waitUntilBlocking(SIGTERM, pid: initProcess.pid) }
        return nil
    }

    /// The wall-clock timeout (less what an adopted sandbox used before) and the idle watcher.
    private func armTimers(_ sandbox: RuncSandbox, in group: inout TaskGroup<Void>) {
        if let timeout = sandbox.limits.timeout {
            let remaining = max(.zero, timeout - (sandbox.adoption?.elapsed ?? .zero))
            group.addTask { await Self.fire(.timeoutFired, after: remaining, into: sandbox) }
        }
        if let idleTimeout = sandbox.limits.idleTimeout {
            group.addTask { await Self.watchIdle(sandbox, idleTimeout: idleTimeout) }
        }
    }

    /// Reaps the sandbox's exec processes while its init is dying (see `RuncSandbox.reapExecZombies`).
    /// An init still there after 30 s is stuck exiting (a process of its namespace that nobody reaps
    /// holds it): the sandbox is then given up as lost rather than blocking its supervisor forever.
    static func reapExecs(of sandbox: RuncSandbox, until initProcess: MainProcess) async {
        let deadline = ContinuousClock.now + .seconds(30)
        while !initProcess.hasExited {
            guard ContinuousClock.now < deadline else {
                sandbox.inbox.send(.event(.mainExited(ProcessExit(reason: .lost, code: 255))))
                return
            }
            sandbox.reapExecZombies()
            // Cancelled with the backend's shutdown, it must still reap: a zombie nobody reaps holds
            // the init in its exit, and the sandbox's destroy (and the shutdown) behind it. The pause
            // is a task of its own, which the cancellation does not reach (a blocking sleep here
            // would hold a thread of the small cooperative pool for up to the deadline).
            if (try? await Task.sleep(for: .milliseconds(2))) == nil {
                await Task { try? await Task.sleep(for: .milliseconds(2)) }.value
            }
        }
    }

    /// Waits (up to 2 s) until a sandbox started with the exec agent has its socket; whether it has.
    @discardableResult
    static func waitForAgent(of sandbox: RuncSandbox) async -> Bool {
        guard let directory = sandbox.agentDirectory, access(directory, F_OK) == 0 else { return false }
        let deadline = ContinuousClock.now + .seconds(2)
        let path = "\(directory)/\(SandboxAgentClient.socketName)"
        while access(path, F_OK) != 0 {
            guard ContinuousClock.now < deadline else { return false }
            try? await Task.sleep(for: .microseconds(200))
        }
        return true
    }

    static func waitUntilBlocking(_ signal: Int32, pid: pid_t) async {
        let deadline = ContinuousClock.now + .seconds(2)
        while ContinuousClock.now < deadline {
            guard let status = HostFiles.read("/proc/\(pid)/status", limit: 1 << 16) else { return }
            let line = String(decoding: status, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("SigBlk:") }
            if let mask = line.flatMap({ UInt64($0.dropFirst("SigBlk:".count).filter(\.isHexDigit), radix: 16) }),
                mask & (1 << UInt64(signal - 1)) != 0
            {
                return
            }
            try? await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Fires `idleTimeoutFired` once nothing has run or been attached for `idleTimeout`: no exec
    /// running, no client attached, no file call. While busy it looks again every `idleTimeout`; the
    /// end of the busy spell restarts the count.
    static func watchIdle(_ sandbox: RuncSandbox, idleTimeout: Duration) async {
        while !Task.isCancelled {
            let (busy, last) = sandbox.activity
            let deadline = last + idleTimeout
            if !busy, deadline <= .now {
                sandbox.inbox.send(.event(.idleTimeoutFired))
                return
            }
            guard (try? await Task.sleep(until: busy ? .now + idleTimeout : deadline)) != nil else { return }
        }
    }

    private static func fire(_ event: SandboxStateMachine.Event, after delay: Duration, into sandbox: RuncSandbox) async
    {
        guard (try? await Task.sleep(for: delay)) != nil else { return }
        sandbox.inbox.send(.event(event))
    }

    /// The init's exit as the sandbox reports it: catatonit passes on its child's status; an OOM kill
    /// shows as SIGKILL or 137 with the memory cgroup's `oom_kill` count above zero.
    static func mainExit(_ status: WaitStatus?, oomKills: Int) -> ProcessExit {
        switch status {
        case nil: return ProcessExit(reason: .lost, code: 255)
        case .exited(let code):
            return code == 137 && oomKills > 0 ? ProcessExit(reason: .oomKilled, code: 137) : .exited(code)
        case .signaled(let signal):
            return signal == SIGKILL && oomKills > 0
                ? ProcessExit(reason: .oomKilled, code: 137, signal: signal) : .signaled(signal)
        }
    }

    /// Kills whatever still runs, deletes the container (its cgroups and runc state), removes the
    /// bundle and frees the slot. Never interrupted by cancellation.
    func destroy(_ sandbox: RuncSandbox) async {
        let runscProcesses = sandbox.runtime.kind == .runsc ? runscProcesses(sandbox) : []
        if let initProcess = sandbox.initProcess {
            initProcess.signal(SIGKILL)
            let deadline = ContinuousClock.now + .seconds(10)
            while !initProcess.hasExited, ContinuousClock.now < deadline {
                sandbox.reapExecZombies()
                try? await Task.sleep(for: .milliseconds(2))
            }
            if case .monitored(_, let monitor, _) = initProcess.kind {
                // Its monitor exits right after the init (reaped here when it is this process's child).
                let deadline = ContinuousClock.now + .seconds(5)
                while !monitor.hasExited, ContinuousClock.now < deadline {
                    try? await Task.sleep(for: .milliseconds(1))
                }
                monitor.reapIfChild()
            }
        }
        if sandbox.runtime.kind == .runsc { await endRunscProcesses(sandbox, earlier: runscProcesses) }
        sandbox.recordFinalStats()
        let output = try? await sandbox.runtime.run(["delete", "--force", sandbox.container])
        if let output, !output.succeeded, !output.stderrText.contains("does not exist"),
            !output.stderrText.contains("not found")
        {
            logger.warning("\(sandbox.runtime.kind.rawValue) delete \(sandbox.id) failed: \(output.stderrText)")
        }
        if let attachment = sandbox.networkAttachment, let network {
            await network.detach(attachment, bundle: sandbox.bundle)
            sandbox.networkAttachment = nil
        }
        if sandbox.runtime.kind == .runsc {
            RunscHostMounts.remove(rootfs: "\(sandbox.bundle)/rootfs")
            if sandbox.spec.network != .none, let network, sandbox.slot >= 0 {
                await network.removeNamespace(network.namespaceName(slot: sandbox.slot))
            }
        }
        OverlayRoot.unmount(bundle: sandbox.bundle)
        SandboxAgentClient.removeDirectory(bundle: sandbox.bundle)
        BundleWriter.remove(sandbox.bundle)
        state.withLock { _ = $0.usedSlots.remove(sandbox.slot) }
        // The init watcher ends with the destroy even if the init never did (stuck exiting).
        sandbox.detachSignal.fire()
        sandbox.markDestroyed()
    }
}

/// A runtime's own error text, kept as a cause for logs (clients get the curated message).
struct RuntimeFailure: Error, Sendable, CustomStringConvertible {
    var message: String
    var description: String { message }
}

extension RuncBackend {
    /// Removes what `make` prepared in the image directory (tests, uninstall).
    public static func removeImageFiles(_ configuration: RuncBackendConfiguration) {
        BundleWriter.remove(configuration.imageDirectory)
    }

    /// Removes every exec spool left in the spool directory, and the directory (tests, uninstall).
    public static func removeSpoolFiles(_ configuration: RuncBackendConfiguration) {
        BundleWriter.remove(configuration.spoolDirectory)
    }
}
