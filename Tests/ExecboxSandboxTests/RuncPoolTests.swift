import ExecboxSandbox
import Glibc
import Testing

@testable import ExecboxSandboxRunc

/// The pool of started containers (`poolSizes`): a create that fits one is given it and cannot tell
/// (hostname, `/etc`, environment, main process, network, CPU time are its own), one that does not
/// fit takes the ordinary path, the pool refills, and pooled containers never outlive their
/// backend while given ones are adopted like any other.
@Suite(.enabled(if: RuncTestSupport.enabled, "needs root and runc"), .serialized, .timeLimit(.minutes(3)))
struct RuncPoolTests {
    typealias Support = RuncTestSupport

    static func waitForPool(_ backend: RuncBackend, size: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while backend.pooledContainers["default", default: 0] != size {
            #expect(ContinuousClock.now < deadline, "the pool reached \(backend.pooledContainers), not \(size)")
            guard ContinuousClock.now < deadline else { return }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Containers and bundles a backend's runtime and sandbox directory hold (pooled ones included).
    static func containers(_ backend: RuncBackend) -> (runc: Set<String>, bundles: Set<String>) {
        let bundles = Set(
            HostFiles.entries(in: backend.configuration.sandboxDirectory).filter(\.isDirectory).map(\.name))
        return (Set(RuncLifecycleTests.runcList(backend)), bundles)
    }

    /// What a destroyed container may not leave: its runtime state, bundle, cgroups and mounts.
    static func leftovers(_ backend: RuncBackend, container: String) -> [String] {
        let configuration = backend.configuration
        let paths: [String] = [
            "\(configuration.stateDirectory)/\(container)", "\(configuration.sandboxDirectory)/\(container)",
        ]
        var found = paths.filter { access($0, F_OK) == 0 }
        for controller in ["memory", "pids", "cpu", "cpuacct", "devices", "freezer", "blkio", "cpuset"] {
            let path = "/sys/fs/cgroup/\(controller)/\(configuration.cgroupParent)/\(container)"
            if access(path, F_OK) == 0 { found.append(path) }
        }
        if let mounts = try? String(contentsOfFile: "/proc/self/mountinfo"), mounts.contains(container) {
            found.append("a mount naming \(container)")
        }
        return found
    }

    static func inode(_ path: String) -> ino_t? {
        var info = stat()
        return stat(path, &info) == 0 ? info.st_ino : nil
    }

    @Test func aCreateThatFitsIsGivenAPooledContainerAsItsOwn() async throws {
        try await Support.withBackend(runtime: .runc, { $0.poolSizes = ["default": 2] }) { backend in
            try await Self.waitForPool(backend, size: 2)
            let pooledNames = Self.containers(backend).runc
            #expect(pooledNames.count == 2 && pooledNames.allSatisfy(RuncBackend.isPooled), "\(pooledNames)")
            // (The service's ids have an underscore, which `hostname` would refuse.)
            let id = try SandboxID("sess_\(SandboxID.random().rawValue.dropFirst(4))")
            let info = try await backend.create(id, SandboxSpec(environment: ["GREETING": "hello"]))
            #expect(info.state == .running)
            let sandbox = try backend.lookup(id)
            #expect(pooledNames.contains(sandbox.container), "given one of the pooled containers")
            #expect(sandbox.cgroup.cpuBaseline > 0, "its start-up CPU time is left out")
            let script = "hostname; cat /etc/hostname; grep -c \(id.rawValue) /etc/hosts; echo $GREETING; pwd; id -u"
            #expect(
                try await Support.sh(backend, id, script).stdoutText
                    == "\(id.rawValue)\n\(id.rawValue)\n1\nhello\n/workspace\n0\n")
            // CPU counts from the claim: below what the cgroup used in all.
            let raw = try #require(sandbox.cgroup.number("cpuacct", "cpuacct.usage"))
            #expect(try await backend.stats(id).cpuNanoseconds < raw)
            // Files and the workspace work as on any sandbox.
            _ = try await backend.writeFile(
                id, path: "/workspace/a", contents: Array("x\n".utf8), mode: 0o600, createParents: false)
            #expect(try await Support.sh(backend, id, "cat /workspace/a").stdoutText == "x\n")
            // Its record maps the container to the sandbox (a next server adopts it by that).
            let record = try #require(SandboxRecord.read(from: sandbox.bundle))
            #expect(record.id == id.rawValue && record.container == sandbox.container)
            #expect(record.cpuBaseline == sandbox.cgroup.cpuBaseline)
            // Its spool directory is named after the container (made with it, before it was given).
            #expect(sandbox.spoolDirectory.hasSuffix("/\(sandbox.container)"))
            #expect(access(sandbox.spoolDirectory, F_OK) == 0)
            // The first exec's spool took the spare file made with it.
            #expect(access("\(sandbox.spoolDirectory)/\(ExecSpool.spareName)", F_OK) != 0)
            // A record rewritten in place over a longer one reads back whole (padded with spaces).
            let path = "\(sandbox.bundle)/\(SandboxRecord.fileName)"
            var longer = record
            longer.spec.labels = ["note": String(repeating: "x", count: 1500)]
            try longer.write(to: sandbox.bundle)
            let inode = try #require(Self.inode(path))
            try record.write(to: sandbox.bundle)
            #expect(Self.inode(path) == inode, "rewritten in place, not replaced")
            #expect(SandboxRecord.read(from: sandbox.bundle)?.spec.labels == [:])
            #expect(SandboxRecord.read(from: sandbox.bundle)?.id == id.rawValue)
            // The filler replaced it.
            try await Self.waitForPool(backend, size: 2)
            #expect(Self.containers(backend).runc.count == 3)
            #expect(try await backend.kill(id).state == .killed)
            #expect(Self.leftovers(backend, container: sandbox.container).isEmpty)
            #expect(!Self.containers(backend).runc.contains(sandbox.container), "a container is given once")
        }
    }

    /// A backend configuration with a pool of `size` default containers refilled after `refillDelay`.
    static func pool(size: Int, refillDelay: Duration) -> (inout RuncBackendConfiguration) -> Void {
        {
            $0.poolSizes = ["default": size]
            $0.poolRefillDelay = refillDelay
        }
    }

    /// The filler leaves the CPU to creates being handed containers: it starts a replacement only
    /// after a pause in claims (`poolRefillDelay`).
    @Test func theRefillWaitsForAPauseInClaims() async throws {
        let delay = Duration.seconds(3)
        try await Support.withBackend(runtime: .runc, Self.pool(size: 2, refillDelay: delay)) { backend in
            try await Self.waitForPool(backend, size: 2)
            // The claim happens inside `create`: after `before`, so the refill is not due before
            // `before + delay` (a replacement takes ~0.1 s here without the pause).
            let before = ContinuousClock.now
            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec())
            #expect(RuncBackend.isPooled(try backend.lookup(id).container))
            try await Task.sleep(until: before + .milliseconds(1500))
            let count = backend.pooledContainers["default", default: 0]
            if ContinuousClock.now < before + delay {
                #expect(count == 1, "refilled during the pause")
            }
            try await Self.waitForPool(backend, size: 2)
            #expect(ContinuousClock.now - before >= delay)
            _ = try await backend.kill(id)
        }
    }

    /// Steady hand-outs, closer together than the pause, hold the refill off for at most five
    /// times the pause: a replacement appears while they go on.
    @Test func steadyClaimsDoNotStarveThePool() async throws {
        let delay = Duration.milliseconds(500)
        try await Support.withBackend(runtime: .runc, Self.pool(size: 32, refillDelay: delay)) { backend in
            try await Self.waitForPool(backend, size: 32)
            let start = ContinuousClock.now
            var given: [SandboxID] = []
            // The longest two claims can have been apart: from one create's start to the next's end.
            var lastStart = start
            var longestGap = Duration.zero
            var previous = backend.pooledContainers["default", default: 0]
            var refilledAfter: Duration?
            while previous > 0, ContinuousClock.now - start < .seconds(30) {
                let id = SandboxID.random()
                let createStart = ContinuousClock.now
                _ = try await backend.create(id, SandboxSpec())
                if !given.isEmpty { longestGap = max(longestGap, ContinuousClock.now - lastStart) }
                lastStart = createStart
                given.append(id)
                try await Task.sleep(for: .milliseconds(200))
                let count = backend.pooledContainers["default", default: 0]
                if count >= previous {
                    // A hand-out came in between, yet the pool did not shrink: a replacement.
                    refilledAfter = ContinuousClock.now - start
                    break
                }
                previous = count
            }
            let after = try #require(refilledAfter, "steady claims starved the pool (\(given.count) given)")
            // Unless the machine stretched two claims a whole pause apart, the refill waited.
            if longestGap < delay {
                #expect(after >= delay * 2, "refilled \(after) into steady claims, not after a pause")
            }
            for id in given { _ = try await backend.kill(id) }
        }
    }

    @Test func aCreateThatDoesNotFitTakesTheOrdinaryPath() async throws {
        try await Support.withBackend(runtime: .runc, { $0.poolSizes = ["default": 1] }) { backend in
            try await Self.waitForPool(backend, size: 1)
            let other = SandboxID.random()
            _ = try await backend.create(other, SandboxSpec(limits: SandboxLimits(diskBytes: 256 << 20)))
            #expect(try backend.lookup(other).container == other.rawValue)
            // /dev/shm is the memory limit up to 64 MiB: below that, memory shapes a mount.
            let small = SandboxID.random()
            _ = try await backend.create(small, SandboxSpec(limits: SandboxLimits(memoryBytes: 32 << 20)))
            #expect(try backend.lookup(small).container == small.rawValue)
            let nested = SandboxID.random()
            _ = try await backend.create(nested, SandboxSpec(workingDirectory: "/workspace/project"))
            #expect(try backend.lookup(nested).container == nested.rawValue)
            #expect(try await Support.sh(backend, nested, "pwd").stdoutText == "/workspace/project\n")
            #expect(backend.pooledContainers["default"] == 1, "the pooled container is still there")
            // A timeout does not shape the container: it fits.
            let timed = SandboxID.random()
            _ = try await backend.create(timed, SandboxSpec(limits: SandboxLimits(timeout: .milliseconds(1500))))
            #expect(RuncBackend.isPooled(try backend.lookup(timed).container))
            let ended = await RuncLifecycleTests.waitForTerminal(backend, timed)
            #expect(ended?.state == .timedOut, "\(String(describing: ended))")
            // Resized while it runs: emptied (only the sandboxes' own containers stay), then refilled.
            try backend.setPoolSize(0, for: "default")
            try await Self.waitForPool(backend, size: 0)
            let live = Set(try await backend.list().filter { !$0.state.isTerminal }.map { $0.id.rawValue })
            for _ in 0..<500 where Self.containers(backend).runc != live {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(Self.containers(backend).runc == live)
            try backend.setPoolSize(2, for: "default")
            try await Self.waitForPool(backend, size: 2)
            #expect(throws: SandboxError.self) { try backend.setPoolSize(-1, for: "default") }
        }
    }

    /// Memory, CPU and pids limits are set at hand-out, up or down: the host's cgroup files say so,
    /// and the memory limit holds (an OOM kill at the new limit, not the pool's).
    @Test func aPooledContainerTakesTheSandboxsMemoryCPUAndPidsLimits() async throws {
        try await Support.withBackend(runtime: .runc, { $0.poolSizes = ["default": 2] }) { backend in
            try await Self.waitForPool(backend, size: 2)
            let shapes = [
                SandboxLimits(memoryBytes: 100 << 20, cpuMillicores: 500, pids: 64),
                SandboxLimits(memoryBytes: 2 << 30, cpuMillicores: 2000, pids: 1024),
            ]
            for limits in shapes {
                let id = SandboxID.random()
                _ = try await backend.create(id, SandboxSpec(limits: limits))
                let sandbox = try backend.lookup(id)
                #expect(RuncBackend.isPooled(sandbox.container))
                let cgroup = sandbox.cgroup
                #expect(cgroup.number("memory", "memory.limit_in_bytes") == UInt64(limits.memoryBytes))
                #expect(cgroup.number("memory", "memory.memsw.limit_in_bytes") == UInt64(limits.memoryBytes))
                #expect(cgroup.number("cpu", "cpu.cfs_quota_us") == UInt64(limits.cpuMillicores) * 100)
                #expect(cgroup.number("pids", "pids.max") == UInt64(limits.pids))
                #expect(try await backend.get(id).limits.memoryBytes == limits.memoryBytes)
            }
            try await Self.waitForPool(backend, size: 2)
            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec(limits: SandboxLimits(memoryBytes: 100 << 20)))
            #expect(RuncBackend.isPooled(try backend.lookup(id).container))
            let output = try await Support.run(backend, id, ["python3", "-c", "a = b'x' * (256 << 20)"])
            #expect(output.exit == ProcessExit(reason: .oomKilled, code: 137, signal: SIGKILL))
            let fits = try await Support.run(backend, id, ["python3", "-c", "a = b'x' * (40 << 20); print(len(a))"])
            #expect(fits.stdoutText == "\(40 << 20)\n")
        }
    }

    /// An image that cannot be pooled (here: none of that name) is retried on its own and never
    /// holds up the others.
    @Test func anImageThatCannotBePooledDoesNotHoldUpTheOthers() async throws {
        try await Support.withBackend(runtime: .runc, { $0.poolSizes = ["aaa-missing": 2, "default": 1] }) {
            backend in
            try await Self.waitForPool(backend, size: 1)
            #expect(backend.pooledContainers["aaa-missing"] == nil)
            // Six failures later the missing image waits 6.4 s for its next try; a claim still wakes
            // the filler at once for the image it can fill.
            try await Task.sleep(for: .seconds(7))
            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec())
            #expect(RuncBackend.isPooled(try backend.lookup(id).container))
            let claimed = ContinuousClock.now
            try await Self.waitForPool(backend, size: 1)
            #expect(ContinuousClock.now - claimed < .seconds(3), "refilled while the other image waits")
        }
    }

    /// Two creates of one id at once: one sandbox, the other ALREADY_EXISTS, and no container lost
    /// or left over.
    @Test func concurrentCreatesOfOneIdMakeOneSandbox() async throws {
        try await Support.withBackend(runtime: .runc, { $0.poolSizes = ["default": 2] }) { backend in
            try await Self.waitForPool(backend, size: 2)
            let id = SandboxID.random()
            let results = await withTaskGroup(of: Result<SandboxInfo, any Error>.self) { group in
                for _ in 0..<2 {
                    group.addTask {
                        do { return .success(try await backend.create(id, SandboxSpec())) } catch {
                            return .failure(error)
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let created = results.compactMap { try? $0.get() }
            #expect(created.count == 1 && created.first?.state == .running)
            let refusals = results.compactMap { result -> SandboxError? in
                if case .failure(let error) = result { return error as? SandboxError }
                return nil
            }
            #expect(refusals.map(\.code) == [.alreadyExists])
            try await Self.waitForPool(backend, size: 2)
            // The sandbox's container and the two pooled ones, nothing else.
            #expect(Self.containers(backend).runc.count == 3)
            #expect(try await Support.sh(backend, id, "echo one").stdoutText == "one\n")
        }
    }

    @Test func pooledContainersGiveWayWhenEverySlotIsTaken() async throws {
        try await Support.withBackend(
            runtime: .runc,
            {
                $0.poolSizes = ["default": 2]
                $0.maxSandboxes = 3
            }
        ) { backend in
            // The pool never takes the last free slot.
            try await Self.waitForPool(backend, size: 2)
            let unfit = SandboxSpec(limits: SandboxLimits(diskBytes: 256 << 20))
            _ = try await backend.create(SandboxID.random(), unfit)
            #expect(backend.pooledContainers["default", default: 0] == 2)
            // No slot is free: a pooled container gives way to each sandbox that fits none.
            let id = SandboxID.random()
            _ = try await backend.create(id, unfit)
            #expect(try backend.lookup(id).container == id.rawValue)
            #expect(backend.pooledContainers["default", default: 0] == 1)
            #expect(try await Support.sh(backend, id, "echo ok").stdoutText == "ok\n")
            _ = try await backend.create(SandboxID.random(), unfit)
            #expect(backend.pooledContainers["default", default: 0] == 0)
            // Then the host is full: refused, not hung.
            await #expect(throws: SandboxError.self) { _ = try await backend.create(SandboxID.random(), unfit) }
        }
    }

    @Test func theMainProcessHostnameAndNetworkAreTheSandboxs() async throws {
        try await Support.withBackend(runtime: .runc, { $0.poolSizes = ["default": 1] }) { backend in
            try await Self.waitForPool(backend, size: 1)
            let id = SandboxID.random()
            let network: NetworkMode = backend.network == nil ? .none : .outgoing
            let script = "hostname; grep -c nameserver /etc/resolv.conf; ip -o link | grep -c eth0; echo $X"
            let spec = SandboxSpec(
                network: network, environment: ["X": "main"], command: ["sh", "-c", script], hostname: "custom-name")
            _ = try await backend.create(id, spec)
            #expect(RuncBackend.isPooled(try backend.lookup(id).container))
            let output = try await RuncMainProcessTests.attach(backend, id)
            let connected = network == .outgoing ? "1" : "0"
            #expect(output.stdoutText == "custom-name\n\(connected)\n\(connected)\nmain\n", "\(output.stderrText)")
            #expect(output.exit == .exited(0))
        }
    }

    /// Stopping the backend destroys what is pooled; with `keepSandboxesOnShutdown` a given
    /// container stays, and the next server adopts it by its record.
    @Test func pooledContainersEndWithTheBackendAndGivenOnesAreAdopted() async throws {
        let root = "/run/execbox-test/\(SandboxID.random().rawValue)"
        let parent = "execbox-test-\(SandboxID.random().rawValue.dropFirst(4).prefix(8))"
        let id = SandboxID.random()
        var given = ""
        try await Support.withBackend(
            runtime: .runc, root: root, cgroupParent: parent,
            {
                $0.poolSizes = ["default": 2]
                $0.keepSandboxesOnShutdown = true
            }
        ) { backend in
            try await Self.waitForPool(backend, size: 2)
            _ = try await backend.create(id, SandboxSpec(limits: SandboxLimits(timeout: .seconds(60))))
            given = try backend.lookup(id).container
            _ = try await backend.writeFile(
                id, path: "/workspace/note", contents: Array("left\n".utf8), mode: 0o644, createParents: false)
            try await Self.waitForPool(backend, size: 2)
        }
        #expect(RuncBackend.isPooled(given))
        // Before any reaper ran: only the given container outlived its backend.
        #expect(Set(HostFiles.entries(in: "\(root)/runc").map(\.name)) == [given])
        #expect(Set(HostFiles.entries(in: "\(root)/sandboxes").map(\.name)) == [given])
        try await Support.withBackend(runtime: .runc, root: root, cgroupParent: parent) { backend in
            #expect(Self.containers(backend).runc == [given], "only the given container outlived its backend")
            #expect(Self.containers(backend).bundles == [given])
            let info = try await backend.get(id)
            #expect(info.state == .running)
            #expect(try backend.lookup(id).container == given)
            #expect(try await Support.sh(backend, id, "hostname; cat /workspace/note").stdoutText == "\(id)\nleft\n")
            #expect(try await backend.kill(id).state == .killed)
            #expect(Self.leftovers(backend, container: given).isEmpty)
        }
    }

    /// A killed server's pooled containers are leftovers: the next server reaps them and adopts
    /// only the sandbox that was given one.
    @Test func aKilledServersPooledContainersAreReaped() async throws {
        RuncRecoveryTests.becomeSubreaper()
        let root = "/run/execbox-test/\(SandboxID.random().rawValue)"
        let parent = "execbox-test-\(SandboxID.random().rawValue.dropFirst(4).prefix(8))"
        let id = SandboxID.random()
        let host = try TestHostProcess([root, parent, "hold", id.rawValue, "none", "runc", "2"])
        let ready = try host.readLine()
        #expect(ready.hasPrefix("ready exec-"), "\(ready)")
        host.crash()
        let bundles = Set(HostFiles.entries(in: "\(root)/sandboxes").map(\.name))
        #expect(bundles.count == 3 && bundles.allSatisfy(RuncBackend.isPooled), "\(bundles)")
        try await Support.withBackend(runtime: .runc, root: root, cgroupParent: parent) { backend in
            let given = try backend.lookup(id).container
            #expect(bundles.contains(given))
            #expect(Self.containers(backend).runc == [given], "the two pooled ones were reaped")
            #expect(Self.containers(backend).bundles == [given])
            for name in bundles where name != given { #expect(Self.leftovers(backend, container: name).isEmpty) }
            #expect(try await backend.get(id).state == .running)
            #expect(try await Support.sh(backend, id, "hostname; cat /workspace/kept").stdoutText == "\(id)\nkept\n")
            #expect(try await backend.kill(id).state == .killed)
            #expect(Self.leftovers(backend, container: given).isEmpty)
        }
    }
}
