import ExecboxSandbox
import FoundationEssentials
import Glibc
import Logging

/// Start-up reconciliation: sandboxes a previous server left running under their monitors are
/// adopted; the others are cleaned up by the reaper and listed as ended (with the exit their
/// monitor recorded) or, when nothing tells how they ended, as `lost`.
extension RuncBackend {
    /// The monitor executable to use, or nil (sandboxes are then this process's children).
    static func findMonitor(_ configuration: RuncBackendConfiguration) -> String? {
        guard configuration.useMonitor else { return nil }
        return findExecutable("ExecboxSandboxMonitor", at: configuration.monitorPath)
    }

    /// The exec agent to run as each runc sandbox's init, or nil (catatonit, and `runc exec`).
    static func findAgent(_ configuration: RuncBackendConfiguration) -> String? {
        guard configuration.useAgent, configuration.runtime == .runc else { return nil }
        return findExecutable("ExecboxSandboxAgent", at: configuration.agentPath)
    }

    /// `path` if given (and executable), else `name` next to this process's executable.
    private static func findExecutable(_ name: String, at path: String?) -> String? {
        if let path { return access(path, X_OK) == 0 ? path : nil }
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let executable = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let directory = executable.split(separator: "/", omittingEmptySubsequences: false).dropLast()
            .joined(separator: "/")
        let candidate = "\(directory)/\(name)"
        return access(candidate, X_OK) == 0 ? candidate : nil
    }

    struct Reconciliation {
        /// Running under a live monitor: taken over, with their records.
        var adopted: [(sandbox: RuncSandbox, record: SandboxRecord)] = []
        /// Found but not adoptable: cleaned up, kept as `lost` so a client learns what happened.
        var lost: [RuncSandbox] = []
    }

    /// Reads every bundle's record and decides: adopt (the init and monitor are the recorded
    /// processes, alive, and runc says the container runs) or lose.
    static func reconcile(
        _ configuration: RuncBackendConfiguration,
        runtime: RuncRuntime,
        logger: Logger
    ) async -> Reconciliation {
        var result = Reconciliation()
        var slots = Set<Int>()
        for (name, isDirectory) in HostFiles.entries(in: configuration.sandboxDirectory) where isDirectory {
            let bundle = "\(configuration.sandboxDirectory)/\(name)"
            let record = SandboxRecord.read(from: bundle)
            // A pooled container's bundle is named after the container; its record names the sandbox
            // it was given. One never given is the reaper's.
            guard let id = try? SandboxID(Self.isPooled(name) ? record?.id ?? "" : name) else { continue }
            let exit = MainProcess.readExitFile("\(bundle)/exit")
            guard let record, record.id == id.rawValue, (record.container ?? record.id) == name,
                (0..<configuration.maxSandboxes).contains(record.slot), !slots.contains(record.slot)
            else {
                result.lost.append(
                    lostSandbox(id, record, because: "it could not be adopted", bundle: bundle, configuration))
                continue
            }
            guard let initHandle = SandboxRecord.live(record.initPid, startedAt: record.initStartTime),
                let monitor = SandboxRecord.live(record.monitorPid, startedAt: record.monitorStartTime),
                await containerStatus(name, runtime: runtime) == "running",
                let config = readConfig(bundle)
            else {
                if let exit {
                    // Its monitor recorded how it ended: an ended sandbox, not a lost one.
                    result.lost.append(
                        endedSandbox(id, record, exit: mainExit(exit, oomKills: 0), bundle: bundle, configuration))
                } else {
                    result.lost.append(
                        lostSandbox(id, record, because: "it could not be adopted", bundle: bundle, configuration))
                }
                continue
            }
            let cgroup = CgroupV1(container: name, parent: configuration.cgroupParent)
            let strays = (HostFiles.read("\(cgroup.directory("pids"))/cgroup.procs", limit: 1 << 20) ?? [])
                .split(separator: UInt8(ascii: "\n")).compactMap { pid_t(String(decoding: $0, as: UTF8.self)) }
                .filter { $0 != record.initPid }.compactMap(ProcessHandle.init)
            let elapsed = Duration.milliseconds(Int64(max(0, SandboxRecord.now - record.createdAt) * 1000))
            // Its main exec's pipes died with the dead server: a live one is watched (output and exit
            // status are not known any more), a missing one ends the sandbox.
            var adoption = RuncSandbox.Adoption(elapsed: elapsed, strays: strays)
            // Execs whose descriptors the monitor kept continue; their records and spools say the rest.
            let keeper = ExecKeeper(bundle: bundle)
            let spoolDirectory = "\(configuration.spoolDirectory)/\(name)"  // named after the container
            // The keeper holds the records too; one that does not answer leaves the execs alone.
            let kept = keeper.list()
            adoption.kept = (kept ?? [:]).mapValues(\.fds)
            adoption.execRecords = (kept ?? [:]).compactMap { name, entry in
                ExecRecord(decoding: entry.record).flatMap { $0.id == name ? $0 : nil }
            }.sorted { $0.startedAt < $1.startedAt }
            if kept == nil {
                logger.warning("sandbox \(name): its monitor did not say which execs it keeps; they are left alone")
            }

            let mainKept = adoption.execRecords.contains { record in
                record.main && (record.exit != nil || adoption.kept[record.id]?.isEmpty == false)
            }
            if record.mainExec == true, !mainKept {
                // Kept even if it ended (a zombie must be reaped if it is this process's child).
                adoption.main = record.mainPid.flatMap { pid in
                    ProcessHandle.startTime(of: pid) == record.mainStartTime ? ProcessHandle(pid) : nil
                }
                adoption.mainLost = adoption.main?.hasExited ?? true
                adoption.mainInternalPid = record.mainInternalPid
            }
            let sandbox = RuncSandbox(
                id: id,
                spec: record.spec,
                limits: record.limits,
                bundle: bundle,
                spoolDirectory: spoolDirectory,
                slot: record.slot,
                baseProcess: config.process,
                retainedExecs: configuration.retainedExecs,
                cgroupParent: configuration.cgroupParent,
                runtime: runtime.forSandbox(network: record.spec.network),
                adoption: adoption,
                container: name,
                cpuBaseline: record.cpuBaseline ?? 0,
                keeper: keeper
            )
            sandbox.initProcess = MainProcess(
                .monitored(initProcess: initHandle, monitor: monitor, exitFile: "\(bundle)/exit"))
            slots.insert(record.slot)
            result.adopted.append((sandbox, record))
            logger.notice("adopting sandbox \(name) (running for \(elapsed), \(strays.count) orphaned processes)")
        }
        return result
    }

    private static func lostSandbox(
        _ id: SandboxID,
        _ record: SandboxRecord?,
        because reason: String?,
        bundle: String,
        _ configuration: RuncBackendConfiguration
    ) -> RuncSandbox {
        // A monitor that ended with its sandbox may be this process's zombie (a subreaper inherits
        // the dead server's children).
        if let record, let monitor = ProcessHandle(record.monitorPid),
            ProcessHandle.startTime(of: record.monitorPid) == record.monitorStartTime,
            MainProcess.readExitFile("\(bundle)/exit") != nil
        {
            // It exits right after writing the exit file.
            for _ in 0..<1000 where !monitor.hasExited { usleep(1000) }
            monitor.reapIfChild()
        }
        let sandbox = RuncSandbox(
            id: id,
            spec: record?.spec ?? SandboxSpec(),
            limits: record?.limits ?? SandboxLimits(),
            bundle: bundle,
            spoolDirectory:
                "\(configuration.spoolDirectory)/\(bundle.split(separator: "/").last.map(String.init) ?? id.rawValue)",
            slot: -1,
            baseProcess: OCIConfigBuilder.placeholderProcess,
            retainedExecs: 0,
            cgroupParent: configuration.cgroupParent,
            runtime: RuncRuntime(configuration)
        )
        guard let reason else { return sandbox }
        _ = try? sandbox.apply(.lost("the server restarted and \(reason)"))
        sandbox.markDestroyed()
        return sandbox
    }

    /// A sandbox whose main process ended while the server was down, with the exit its monitor
    /// recorded: terminal as if the exit had been seen live (stopped for exit 0, else failed).
    private static func endedSandbox(
        _ id: SandboxID,
        _ record: SandboxRecord?,
        exit: ProcessExit,
        bundle: String,
        _ configuration: RuncBackendConfiguration
    ) -> RuncSandbox {
        let sandbox = lostSandbox(id, record, because: nil, bundle: bundle, configuration)
        _ = try? sandbox.apply(.created)
        _ = try? sandbox.apply(.started)
        _ = try? sandbox.apply(.mainExited(exit))
        sandbox.markDestroyed()
        return sandbox
    }

    private static func containerStatus(_ id: String, runtime: RuncRuntime) async -> String? {
        struct State: Decodable { var status: String }
        guard let output = try? await runtime.run(["state", id]), output.succeeded else { return nil }
        return (try? JSONDecoder().decode(State.self, from: Data(output.stdout)))?.status
    }

    private static func readConfig(_ bundle: String) -> OCIConfig? {
        guard let bytes = HostFiles.read("\(bundle)/config.json", limit: 4 << 20) else { return nil }
        return try? JSONDecoder().decode(OCIConfig.self, from: Data(bytes))
    }

    /// Takes over what `reconcile` adopted: slots, networks, and a supervisor each once `run()` runs.
    func takeOver(_ reconciliation: Reconciliation) async {
        for (sandbox, record) in reconciliation.adopted {
            if let saved = record.network, let network {
                do {
                    sandbox.networkAttachment = try await network.restore(saved, bundle: sandbox.bundle)
                    var updated = record
                    updated.network?.ports = sandbox.networkAttachment?.ports.mapValues(\.port) ?? [:]
                    try? updated.write(to: sandbox.bundle)
                } catch {
                    logger.error("sandbox \(sandbox.id): its exposed ports could not be restored: \(error)")
                }
            }
            adopt(sandbox)
            // Running at once: the container was created and started by the previous server, so the
            // machine's `start` is not carried out and its `armTimers` is left to the supervisor.
            _ = try? sandbox.apply(.created)
            _ = try? sandbox.apply(.started)
            runJob { await self.supervise(sandbox) }
            recoverExecs(sandbox)
            sandbox.inbox.send(.armTimers)
            if sandbox.adoption?.mainLost == true {
                sandbox.inbox.send(
                    .event(.lost("the server restarted and the main process's output and exit status were lost")))
            }
        }
        for sandbox in reconciliation.lost { adopt(sandbox) }
    }

    /// Takes over the dead server's execs, as its monitor's keeper holds them: one with descriptors
    /// and no exit continues (its spool from where that server left it, the chunk it had staged but
    /// not spooled, the rest of its output from its pipes, its exit from the agent's connection); one
    /// that had ended is listed with its exit; one whose descriptors cannot be used is listed as
    /// `lost`. A keeper that did not answer leaves everything alone (nothing is listed).
    func recoverExecs(_ sandbox: RuncSandbox) {
        guard var adoption = sandbox.adoption else { return }
        for var record in adoption.execRecords {
            // An ended exec's entry has a record and no descriptors.
            let fds = adoption.kept.removeValue(forKey: record.id).flatMap { $0.isEmpty ? nil : $0 }
            guard let id = try? ExecID(record.id) else { continue }
            if record.main, record.exit == nil, fds == nil { continue }  // the adoption watches it instead
            var launch = Launch(started: false, output: [], stdin: -1, terminal: record.tty)
            var child: ChildProcess?
            var stages: [Int32] = []
            do throws(any Error) {
                // [stdout, stderr, stdin?, connection, pidfd] + staging pipes (stdout's two, stderr's
                // two) when staged, or [pty master, connection, pidfd].
                let base = (fds?.count ?? 0) - (record.staged == true && !record.tty ? 4 : 0)
                if record.exit == nil, var fds, base == (record.tty ? 3 : 4) || (!record.tty && base == 5) {
                    stages = Array(fds[base...])
                    fds = Array(fds[..<base])
                    launch.output = record.tty ? [(fds[0], true)] : [(fds[0], true), (fds[1], false)]
                    launch.stdin = record.tty ? dup(fds[0]) : fds.count == 5 ? fds[2] : -1
                    let started = SandboxAgentClient.Started(
                        pidfd: fds[fds.count - 1], pid: record.pid, master: nil, connection: fds[fds.count - 2])
                    child = try ChildProcess(agentStarted: started)
                    launch.started = true
                    launch.child = child
                } else {
                    for fd in fds ?? [] { close(fd) }
                    if record.exit == nil {
                        let runTime = Duration.milliseconds(Int64(max(0, SandboxRecord.now - record.startedAt) * 1000))
                        record.setExit(ProcessExit(reason: .lost, code: 255), runTime: runTime)
                        sandbox.keeper.end(record.id, record: record.encoded)
                    } else if fds != nil {
                        sandbox.keeper.end(record.id, record: record.encoded)
                    }
                }
                let remaining = record.timeoutSeconds.map { timeout in
                    Duration.milliseconds(Int64(max(0.001, timeout - (SandboxRecord.now - record.startedAt)) * 1000))
                }
                let exec = try RuncExec(
                    id: id,
                    sandboxID: sandbox.id,
                    spec: ExecSpec(argv: record.argv, tty: record.tty, timeout: remaining),
                    child: child,
                    startFailure: nil,
                    launch: launch,
                    cgroup: sandbox.cgroup,
                    oomKillsAtStart: record.oomKillsAtStart,
                    settings: RuncExec.Settings(
                        spoolPath: "\(sandbox.spoolDirectory)/\(record.id)",
                        spoolLimit: configuration.execSpoolLimit,
                        window: configuration.execReadWindow,
                        drainGrace: configuration.outputDrainGrace,
                        keeper: sandbox.keeper,
                        main: record.main,
                        leaveOnCancel: !record.main && configuration.keepSandboxesOnShutdown,
                        recoveredStages: stages
                    ),
                    hooks: record.main ? mainHooks(sandbox) : RuncExec.Hooks(),
                    recovered: record
                )
                for fd in stages { close(fd) }  // emptied into its spool
                stages = []
                exec.keepAgainAfterTakeover()
                if record.main {
                    sandbox.mainExec = exec
                    if let exit = record.processExit {
                        sandbox.inbox.send(.event(.mainExited(exit)))
                    } else {
                        runJob { await exec.pump() }
                    }
                } else if record.exit == nil {
                    try sandbox.reserveExec(limit: .max)
                    sandbox.register(exec)
                    runJob {
                        await exec.pump()
                        sandbox.ended(exec)
                    }
                } else {
                    sandbox.register(exec)
                }
                logger.notice(
                    "sandbox \(sandbox.id): took over exec \(id) (\(record.exit == nil ? "running" : "ended"))")
            } catch {
                logger.error("sandbox \(sandbox.id): exec \(id) could not be taken over: \(error)")
                // Its process then gets EPIPE (the keeper lets its descriptors go) rather than blocking.
                sandbox.keeper.forget(record.id)
                for fd in launch.output.map(\.fd) + [launch.stdin] + stages where fd >= 0 {
                    FileDescriptorPoller.shared.deregister(fd)
                    close(fd)
                }
                if record.main {
                    // Nothing else watches it: the sandbox ends as its main process could not be followed.
                    sandbox.inbox.send(
                        .event(.lost("the server restarted and the main process could not be taken over")))
                }
            }
        }
        // Kept with a record that does not parse: nobody can read them.
        for (name, fds) in adoption.kept {
            for fd in fds { close(fd) }
            sandbox.keeper.forget(name)
        }
    }
}
