import Glibc
import Logging

/// What a crashed or killed server leaves, removed at start-up before any sandbox is created:
/// processes in the backend's cgroups, containers in its runc state directory, the cgroups
/// themselves, bundles and spools.
///
/// Processes are killed through the cgroups first, since `runc delete --force` waits (up to ten
/// seconds) for an init that stays a zombie: an init whose parent is this process — the case when
/// this process was the crashed server's subreaper parent — is reaped here. Only what lies under
/// this backend's own state directory, cgroup parent, sandbox and spool directories is touched.
struct LeftoverReaper {
    var configuration: RuncBackendConfiguration
    var runtime: RuncRuntime
    var logger: Logger
    /// Sandbox ids adopted by this run: their containers, cgroups and directories stay.
    var keep: Set<String> = []
    var cgroupRoot = "/sys/fs/cgroup"

    /// What was found and removed, for logs and tests.
    struct Report: Hashable, Sendable {
        var containers: [String] = []
        var cgroups: [String] = []
        var processes = 0
        var directories: [String] = []
    }

    func reap() async -> Report {
        var report = Report()
        report.processes = await killCgroupProcesses()
        for name in (try? await runtime.list()) ?? [] where !keep.contains(name) {
            logger.notice("deleting leftover container \(name)")
            let output = try? await runtime.run(["delete", "--force", name])
            if output?.succeeded != true {
                logger.warning("\(runtime.kind.rawValue) delete \(name): \(output?.stderrText ?? "failed")")
            }
            report.containers.append(name)
        }
        report.cgroups = removeCgroups()
        for (name, _) in HostFiles.entries(in: configuration.sandboxDirectory) where !keep.contains(name) {
            await Self.endMonitor(of: "\(configuration.sandboxDirectory)/\(name)")
        }
        // runsc's host-side mounts and image overlays go before any bundle is removed.
        for (name, _) in HostFiles.entries(in: configuration.sandboxDirectory) where !keep.contains(name) {
            RunscHostMounts.remove(rootfs: "\(configuration.sandboxDirectory)/\(name)/rootfs")
            OverlayRoot.unmount(bundle: "\(configuration.sandboxDirectory)/\(name)")
            SandboxAgentClient.removeDirectory(bundle: "\(configuration.sandboxDirectory)/\(name)")
        }
        for directory in [configuration.sandboxDirectory, configuration.spoolDirectory] {
            for (name, _) in HostFiles.entries(in: directory) where !keep.contains(name) {
                BundleWriter.remove("\(directory)/\(name)")
                report.directories.append("\(directory)/\(name)")
            }
        }
        if report != Report() {
            let counts =
                "\(report.containers.count) containers, \(report.processes) processes, "
                + "\(report.cgroups.count) cgroups, \(report.directories.count) directories"
            logger.notice("removed leftovers: \(counts)")
        }
        return report
    }

    /// A reaped sandbox's monitor (the recorded process, by its start time) ends once its init did;
    /// one still there after a second is killed. Reaped if it became this process's child.
    private static func endMonitor(of bundle: String) async {
        guard let record = SandboxRecord.read(from: bundle), let monitor = ProcessHandle(record.monitorPid),
            ProcessHandle.startTime(of: record.monitorPid) == record.monitorStartTime
        else { return }
        for _ in 0..<200 where !monitor.hasExited { try? await Task.sleep(for: .milliseconds(5)) }
        if !monitor.hasExited {
            monitor.signal(SIGKILL)
            await monitor.waitForExit()
        }
        monitor.reapIfChild()
    }

    /// The real (not symlinked) hierarchies that hold a cgroup named `cgroupParent`.
    private var parentDirectories: [String] {
        HostFiles.entries(in: cgroupRoot).filter(\.isDirectory).map { "\(cgroupRoot)/\($0.name)/" }
            .map { $0 + configuration.cgroupParent }.filter { access($0, F_OK) == 0 }
    }

    private func sandboxCgroups(in parent: String) -> [String] {
        HostFiles.entries(in: parent).filter { $0.isDirectory && !keep.contains($0.name) }.map {
            "\(parent)/\($0.name)"
        }
    }

    /// SIGKILLs every process in every cgroup under the parent until they are empty (a process
    /// forking meanwhile is caught on the next round), reaping the ones that are this process's
    /// children. Returns how many it killed.
    private func killCgroupProcesses() async -> Int {
        var killed = Set<pid_t>()
        // Kept across rounds: a killed process leaves cgroup.procs when it exits, but as a zombie
        // of this process (its subreaper parent) it must still be reaped, or the sandbox's init
        // waits for it in its exit forever. A slow exit under load outlasts one round.
        var pending: [Int32] = []
        defer { for pidfd in pending { close(pidfd) } }
        for _ in 0..<50 {
            var pids: [pid_t] = []
            for parent in parentDirectories {
                for cgroup in sandboxCgroups(in: parent) {
                    let text = HostFiles.read("\(cgroup)/cgroup.procs", limit: 1 << 20) ?? []
                    pids += String(decoding: text, as: UTF8.self).split(separator: "\n").compactMap { pid_t($0) }
                }
            }
            let alive = Set(pids)
            guard !alive.isEmpty else { break }
            for pid in alive {
                let pidfd = LinuxCalls.pidfdOpen(pid)
                guard pidfd >= 0 else { continue }
                _ = LinuxCalls.pidfdSendSignal(pidfd, SIGKILL)
                if killed.insert(pid).inserted { pending.append(pidfd) } else { close(pidfd) }
            }
            pending = await Self.waitAndReap(pending)
        }
        pending = await Self.waitAndReap(pending)
        return killed.count
    }

    /// Waits (up to two seconds) until the processes behind `pidfds` have ended, reaps the ones
    /// that are this process's children, and closes their descriptors; returns the descriptors of
    /// those that have not ended yet.
    private static func waitAndReap(_ pidfds: [Int32]) async -> [Int32] {
        let deadline = ContinuousClock.now + .seconds(2)
        var pending = pidfds
        while !pending.isEmpty, ContinuousClock.now < deadline {
            pending.removeAll { pidfd in
                var entry = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
                guard poll(&entry, 1, 0) == 1 else { return false }
                var info = siginfo_t()
                _ = waitid(LinuxCalls.pidfdType, id_t(pidfd), &info, WEXITED | WNOHANG)  // ECHILD if not ours
                close(pidfd)
                return true
            }
            if !pending.isEmpty { try? await Task.sleep(for: .milliseconds(5)) }
        }
        return pending
    }

    /// Removes the sandbox cgroups left under the parent in every hierarchy (empty by now).
    private func removeCgroups() -> [String] {
        var removed: [String] = []
        for parent in parentDirectories {
            for cgroup in sandboxCgroups(in: parent) where rmdir(cgroup) == 0 {
                removed.append(cgroup)
            }
        }
        return removed
    }
}
