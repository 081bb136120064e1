public import ExecboxSandbox
import Glibc
import Logging
import Synchronization

/// The pool: containers created and started ahead (`poolSizes`), so a create that matches one costs
/// no runtime call. A pooled container is an ordinary runc container named `pool.<random>` (a name
/// no sandbox id can take) whose init — the exec agent — waits; nothing has run in it. A create
/// whose image, user, working directory and disk limits are the pooled container's takes it for
/// good: its hostname (set in its UTS namespace), `/etc` files, memory/CPU/pids limits, network,
/// spool and record are the sandbox's from then on, its CPU time counts from then, and its main
/// process starts as on the ordinary path. The container keeps its name, which also names its
/// bundle and cgroups (the record maps it to the sandbox for a later server). A container is never
/// given twice; the filler replaces each one taken, one at a time. Pooled containers belong to no
/// session: they are destroyed when the backend stops and reaped as leftovers after a crash.
extension RuncBackend {
    /// A started container no sandbox has yet, under a placeholder sandbox record.
    struct PooledContainer: Sendable {
        var sandbox: RuncSandbox
        var request: ResolvedRequest

        /// Whether `other` may be given this container: everything its root and mounts depend on
        /// is the same — image, user, working directory, disk size and inodes, and `/dev/shm`'s
        /// size (from the memory limit up to 64 MiB). Memory, CPU and pids limits are set in its
        /// cgroups when it is given; environment, command, hostname, network, ports and timeouts
        /// are the sandbox's own anyway.
        func fits(_ other: ResolvedRequest) -> Bool {
            other.image == request.image && other.user == request.user
                && other.spec.workingDirectory == request.spec.workingDirectory
                && other.limits.fileSystemShape == request.limits.fileSystemShape
                && other.spec.labels[RuncBackend.buildLabel] == nil
        }
    }

    static let poolPrefix = "pool."

    /// Whether a bundle or container name is a pooled container's.
    static func isPooled(_ name: String) -> Bool { name.hasPrefix(poolPrefix) }

    /// How many containers the pool holds now, per image name.
    public var pooledContainers: [String: Int] {
        state.withLock { state in
            state.pool.reduce(into: [:]) { counts, pooled in counts[pooled.request.image.name, default: 0] += 1 }
        }
    }

    /// Gives `id` a pooled container that fits `request`, or returns nil (no pool, none fits).
    /// The sandbox returned is registered and `created`-ready: the caller starts its supervisor.
    func claimPooled(_ id: SandboxID, _ request: ResolvedRequest) async throws -> RuncSandbox? {
        guard configuration.runtime == .runc else { return nil }
        while true {
            let taken = try state.withLock { state throws(SandboxError) -> PooledContainer? in
                if let refusal = state.refusal(of: id) { throw refusal }
                guard let index = state.pool.firstIndex(where: { $0.fits(request) }) else { return nil }
                state.lastPoolClaim = .now
                return state.pool.remove(at: index)
            }
            guard let pooled = taken else {
                // (The filler replaces containers of an image since re-imported under its name.)
                poolDoorbell.ring()
                return nil
            }
            poolDoorbell.ring()
            guard let initProcess = pooled.sandbox.initProcess, !initProcess.hasExited else {
                // Its init died while it waited (killed from the host): never given.
                logger.warning("pooled container \(pooled.sandbox.container) had ended; discarded")
                await destroyPooled(pooled.sandbox)
                continue
            }
            let cpuBaseline = pooled.sandbox.cgroup.number("cpuacct", "cpuacct.usage") ?? 0
            let (sandbox, input) = makeSandbox(
                id, request, slot: pooled.sandbox.slot, container: pooled.sandbox.container, cpuBaseline: cpuBaseline)
            sandbox.initProcess = initProcess
            // Registered only while the backend runs (its shutdown lists what is registered); an
            // id another create took meanwhile gives the container back, untouched.
            let refusal = state.withLock { state -> SandboxError? in
                guard let refusal = state.refusal(of: id) else {
                    state.sandboxes[id] = sandbox
                    return nil
                }
                if refusal.code == .alreadyExists { state.pool.append(pooled) }
                return refusal
            }
            if let refusal {
                if refusal.code == .unavailable { await destroyPooled(pooled.sandbox) }
                throw refusal
            }
            do {
                try await personalize(sandbox, input: input, pooledLimits: pooled.request.limits)
                try await finishCreate(sandbox)
            } catch {
                // Not the request's fault: the container is destroyed and the create takes the
                // ordinary path.
                logger.error("giving sandbox \(id) the pooled container \(sandbox.container) failed: \(error)")
                _ = try? sandbox.apply(.createFailed("the pooled container could not be given"))
                await destroy(sandbox)
                BundleWriter.remove(sandbox.spoolDirectory)
                state.withLock { state in
                    if state.sandboxes[id] === sandbox { state.sandboxes[id] = nil }
                }
                return nil
            }
            logger.debug("sandbox \(id): given pooled container \(sandbox.container)")
            return sandbox
        }
    }

    /// Makes a pooled container the sandbox's: its hostname and `/etc` files (written while nothing
    /// runs in it yet), its memory, CPU and pids limits, and its memory peak counted from now.
    private func personalize(_ sandbox: RuncSandbox, input: OCIConfigBuilder.Input, pooledLimits: SandboxLimits)
        async throws
    {
        guard let initProcess = sandbox.initProcess else { return }
        let rootfs = "\(sandbox.bundle)/rootfs"
        let files = BundleWriter.etcFiles(
            hostname: OCIConfigBuilder.hostname(for: input), network: sandbox.spec.network,
            dnsServers: network?.ruleset.dnsServers.map(IPv4Network.format) ?? [])
        // A layered image's root is the sandbox's overlay, written as its mapped root; the built-in
        // image's is a host directory of root's.
        try OverlayRoot.prepare(
            rootfs: rootfs, owner: input.image.isLayered ? input.idMapHostBase ?? 0 : 0, files: files)
        // The UTS namespace is the container's own: entered through its file, opened while the init
        // (watched through its pidfd) was alive, so never a recycled pid's; the name is set from
        // itself (never read back through a path in the sandbox's root).
        let namespace = open("/proc/\(initProcess.pid)/ns/uts", O_RDONLY | O_CLOEXEC)
        guard namespace >= 0 else { throw SystemError("open /proc/\(initProcess.pid)/ns/uts") }
        defer { close(namespace) }
        guard !initProcess.hasExited else {
            throw SandboxError(code: .unavailable, message: "the pooled container ended")
        }
        let failure = LinuxCalls.setHostname(OCIConfigBuilder.hostname(for: input), inNamespace: namespace)
        guard failure == 0 else { throw SystemError("setns/sethostname", errno: failure) }
        try sandbox.cgroup.resize(from: pooledLimits, to: sandbox.limits, cpuPeriod: OCIConfigBuilder.cpuPeriod)
        try? sandbox.cgroup.write("memory", "memory.max_usage_in_bytes", "0")
    }

    /// Destroys a container that was never given, with its spool directory.
    func destroyPooled(_ sandbox: RuncSandbox) async {
        await destroy(sandbox)
        BundleWriter.remove(sandbox.spoolDirectory)
    }

    /// Creates and starts one container for the pool of `imageName`.
    func addPooledContainer(imageName: String) async throws {
        let request = try resolve(SandboxSpec(image: imageName))
        var generator = SystemRandomNumberGenerator()
        let suffix = String((0..<16).map { _ in "abcdefghijklmnopqrstuvwxyz234567".randomElement(using: &generator)! })
        let slot = try reserveSlot(for: nil)
        let (sandbox, input) = makeSandbox(
            try SandboxID("pool-\(suffix)"), request, slot: slot, container: Self.poolPrefix + suffix)
        do {
            try await prepare(sandbox, input: input, image: request.image)
            let initProcess = try await createContainer(sandbox)
            sandbox.initProcess = initProcess
            if let reason = await startContainer(sandbox, initProcess: initProcess) {
                throw SandboxError(
                    code: .unavailable, message: "the runtime could not start a pooled container",
                    cause: RuntimeFailure(message: reason))
            }
            // Its spool directory (named after the container) is made now, off the hand-out's path,
            // with a spare file for the first exec's spool.
            try BundleWriter.makeDirectory(sandbox.spoolDirectory, mode: 0o700)
            try BundleWriter.writeFile("\(sandbox.spoolDirectory)/\(ExecSpool.spareName)", [], mode: 0o600)
        } catch {
            await destroyPooled(sandbox)
            throw error
        }
        let kept = state.withLock { state in
            guard state.running, !state.stopped else { return false }
            state.pool.append(PooledContainer(sandbox: sandbox, request: request))
            return true
        }
        if !kept { await destroyPooled(sandbox) }
    }

    /// Sets how many started containers the pool keeps for `imageName` (0: none; runc only). The
    /// filler makes the missing ones in the background and destroys a surplus.
    public func setPoolSize(_ count: Int, for imageName: String) throws(SandboxError) {
        guard configuration.runtime == .runc else {
            throw SandboxError(code: .failedPrecondition, message: "only the runc runtime keeps a pool")
        }
        guard (0...configuration.maxSandboxes).contains(count) else {
            throw SandboxError.invalidArgument("a pool holds 0 to \(configuration.maxSandboxes) containers")
        }
        state.withLock { $0.poolTargets[imageName] = count == 0 ? nil : count }
        poolDoorbell.ring()
    }

    /// The filler: keeps every image's pool at its size, one container at a time (so that refilling
    /// never competes with a burst of creates more than one runtime call at a time), until the
    /// backend stops. Failures are logged and retried with a growing pause (up to a minute).
    func keepPoolFilled() async {
        // Per image: consecutive failures and when to try again, so that an image that cannot be
        // pooled (missing, broken) never holds up the others.
        var failures: [String: Int] = [:]
        var retryAt: [String: ContinuousClock.Instant] = [:]
        // When each image's pool began to fill, until it is full (then announced once).
        var fillingSince: [String: ContinuousClock.Instant] = [:]
        var announced: Set<String> = []
        // Since when the refill has waited for a pause in claims (bounded: steady claims must not
        // starve the pool).
        var deferredSince: ContinuousClock.Instant?
        while true {
            // Creates being handed pooled containers get the CPU first: the refill starts once no
            // claim came for `poolRefillDelay` (or after five times that, whatever the claims).
            let delay = configuration.poolRefillDelay
            if let lastClaim = state.withLock({ $0.lastPoolClaim }), lastClaim + delay > .now {
                let since = deferredSince ?? .now
                deferredSince = since
                let resume = min(lastClaim + delay, since + delay * 5)
                if resume > .now {
                    guard await poolDoorbell.wait(until: resume), !state.withLock({ $0.stopped }) else { return }
                    continue
                }
            }
            deferredSince = nil
            // An image re-imported under its name: what was pooled with the old one fits no create.
            let targets = state.withLock { $0.poolTargets }
            let current = targets.keys.reduce(into: [String: SandboxImage]()) { $0[$1] = try? catalog.resolve($1) }
            let (short, surplus) = state.withLock { state -> ([String], [PooledContainer]) in
                var counts: [String: Int] = [:]
                var surplus: [PooledContainer] = []
                state.pool.removeAll { pooled in
                    let name = pooled.request.image.name
                    // (An image since removed resolves to nothing: its containers go too.)
                    guard counts[name, default: 0] < state.poolTargets[name, default: 0],
                        current[name] == pooled.request.image
                    else {
                        surplus.append(pooled)
                        return true
                    }
                    counts[name, default: 0] += 1
                    return false
                }
                let short = state.poolTargets.keys.sorted().filter { counts[$0, default: 0] < state.poolTargets[$0]! }
                return (short, surplus)
            }
            for pooled in surplus { await destroyPooled(pooled.sandbox) }
            let now = ContinuousClock.now
            guard !short.isEmpty else {
                guard await poolDoorbell.wait() else { return }
                continue
            }
            guard let imageName = short.first(where: { retryAt[$0, default: now] <= now }) else {
                // Every short image waits for its retry; a claim or a new size wakes it sooner.
                let next = short.compactMap { retryAt[$0] }.min() ?? now
                guard await poolDoorbell.wait(until: next), !state.withLock({ $0.stopped }) else { return }
                continue
            }
            do {
                let since = fillingSince[imageName] ?? .now
                fillingSince[imageName] = since
                try await addPooledContainer(imageName: imageName)
                failures[imageName] = nil
                retryAt[imageName] = nil
                let (count, target) = state.withLock { state in
                    (state.pool.count { $0.request.image.name == imageName }, state.poolTargets[imageName, default: 0])
                }
                if count >= target {
                    fillingSince[imageName] = nil
                    if announced.insert(imageName).inserted {
                        logger.notice(
                            "the pool of \(imageName) is ready: \(count) started containers in \(ContinuousClock.now - since)"
                        )
                    }
                }
            } catch let error as SandboxError where error.code == .resourceExhausted {
                // A host full of sandboxes is no fault: the pool waits for slots.
                retryAt[imageName] = .now + .milliseconds(500)
            } catch {
                let count = failures[imageName, default: 0] + 1
                failures[imageName] = count
                let pause = Duration.milliseconds(min(60_000, 100 << min(count, 10)))
                retryAt[imageName] = .now + pause
                if count == 1 || count.isMultiple(of: 10) {
                    logger.error("the pool of \(imageName) cannot be filled (retrying in \(pause)): \(error)")
                }
            }
            if state.withLock({ $0.stopped }) { return }
        }
    }

    /// Takes the id and a slot; when every slot is taken, a pooled container gives way (the
    /// create fits none, or it would have been given one).
    func reserveEvictingPooled(_ id: SandboxID) async throws -> Int {
        while true {
            let attempt = Result { () throws(SandboxError) -> Int in try reserveSlot(for: id) }
            // (Another create may take the slot given way: the next pooled container goes too.)
            if case .failure(let error) = attempt, error.code == .resourceExhausted, await evictPooled() { continue }
            return try attempt.get()
        }
    }

    /// Destroys the oldest pooled container, freeing its slot; false when the pool is empty.
    func evictPooled() async -> Bool {
        let oldest = state.withLock { state in state.pool.isEmpty ? nil : state.pool.removeFirst() }
        guard let oldest else { return false }
        logger.notice("every sandbox slot is taken: pooled container \(oldest.sandbox.container) gives way")
        await destroyPooled(oldest.sandbox)
        return true
    }

    /// Destroys every pooled container (the backend stops).
    func emptyPool() async {
        let pooled = state.withLock { state in
            defer { state.pool.removeAll() }
            return state.pool
        }
        for container in pooled { await destroyPooled(container.sandbox) }
    }
}

extension SandboxLimits {
    /// The limits a container's mounts are made with: the workspace's (and `/tmp`'s) size and
    /// inodes, and `/dev/shm`'s size.
    var fileSystemShape: [Int] { [diskBytes, diskInodes, OCIConfigBuilder.shmBytes(self)] }
}

/// Wakes one waiter (the pool's filler): rings coalesce into one, so a burst of creates costs the
/// filler one look, and nothing queues up while it is busy.
final class Doorbell: Sendable {
    private struct State {
        var rung = false
        var closed = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func ring() { wake { $0.rung = true } }

    /// Ends every wait, now and later.
    func close() { wake { $0.closed = true } }

    private func wake(_ change: (inout State) -> Void) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            change(&state)
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// Waits until rung or closed — with a deadline, at most until then, looking every 50 ms (and
    /// returning when cancelled) — and takes the ring. False once closed.
    func wait(until deadline: ContinuousClock.Instant? = nil) async -> Bool {
        if let deadline {
            while ContinuousClock.now < deadline, !Task.isCancelled {
                let (rung, closed) = state.withLock { state in
                    defer { state.rung = false }
                    return (state.rung, state.closed)
                }
                if rung || closed { return !closed }
                try? await Task.sleep(for: .milliseconds(50))
            }
            return !state.withLock { $0.closed }
        }
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.rung || state.closed { return true }
                precondition(state.waiter == nil, "a doorbell has one waiter")
                state.waiter = continuation
                return false
            }
            if now { continuation.resume() }
        }
        return state.withLock { state in
            state.rung = false
            return !state.closed
        }
    }
}
