import ExecboxSandbox
import Glibc

/// Reads a sandbox's cgroup v1 files (this host runs v1 hybrid; runc puts each sandbox at
/// `/sys/fs/cgroup/<controller>/<parent>/<id>`, the parent being `execbox` unless configured).
struct CgroupV1: Sendable {
    var root = "/sys/fs/cgroup"
    var path: String
    /// CPU time the cgroup had used before its sandbox got it (a pooled container's start-up),
    /// left out of the sandbox's stats.
    var cpuBaseline: UInt64 = 0

    init(id: SandboxID, parent: String = "execbox", root: String = "/sys/fs/cgroup") {
        self.init(container: id.rawValue, parent: parent, root: root)
    }

    /// The cgroup of the runtime's container `container` (a pooled container's name differs from
    /// its sandbox's id).
    init(container: String, parent: String = "execbox", root: String = "/sys/fs/cgroup") {
        self.root = root
        self.path = "\(parent)/\(container)"
    }

    func directory(_ controller: String) -> String { "\(root)/\(controller)/\(path)" }

    func read(_ controller: String, _ file: String) -> String? {
        HostFiles.read("\(directory(controller))/\(file)", limit: 1 << 16).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Writes `value` to one of the cgroup's files (never through a symlink).
    func write(_ controller: String, _ file: String, _ value: String) throws(SystemError) {
        let fd = open("\(directory(controller))/\(file)", O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open \(controller)/\(file)") }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        guard bytes.withUnsafeBytes({ Glibc.write(fd, $0.baseAddress, $0.count) }) == bytes.count else {
            throw SystemError("write \(controller)/\(file)")
        }
    }

    /// Gives a running container `new` memory, CPU and pids limits in place of `old` (a pooled
    /// container handed out). Memory and swap together (`memsw`) never fall below memory alone: the
    /// larger one moves first. Fails (EBUSY) on a memory limit below what the cgroup uses.
    func resize(from old: SandboxLimits, to new: SandboxLimits, cpuPeriod: UInt64) throws(SystemError) {
        if new.memoryBytes != old.memoryBytes {
            let files = ["memory.memsw.limit_in_bytes", "memory.limit_in_bytes"]
            for file in new.memoryBytes > old.memoryBytes ? files : files.reversed()
            where file == "memory.limit_in_bytes" || access("\(directory("memory"))/\(file)", F_OK) == 0 {
                try write("memory", file, String(new.memoryBytes))
            }
        }
        if new.cpuMillicores != old.cpuMillicores {
            try write("cpu", "cpu.cfs_quota_us", String(UInt64(new.cpuMillicores) * cpuPeriod / 1000))
        }
        if new.pids != old.pids { try write("pids", "pids.max", String(new.pids)) }
    }

    func number(_ controller: String, _ file: String) -> UInt64? {
        read(controller, file).flatMap { UInt64($0.filter { !$0.isWhitespace }) }
    }

    /// How often the OOM killer fired in the sandbox (`oom_kill` in `memory.oom_control`, kernel ≥ 4.13).
    var oomKills: Int {
        guard let text = read("memory", "memory.oom_control") else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("oom_kill ") {
            return Int(line.dropFirst("oom_kill ".count)) ?? 0
        }
        return 0
    }

    var stats: SandboxStats {
        let cpu = number("cpuacct", "cpuacct.usage") ?? 0
        return SandboxStats(
            cpuNanoseconds: cpu > cpuBaseline ? cpu - cpuBaseline : 0,
            memoryBytes: number("memory", "memory.usage_in_bytes") ?? 0,
            memoryPeakBytes: number("memory", "memory.max_usage_in_bytes") ?? 0,
            pids: Int(number("pids", "pids.current") ?? 0),
            oomKills: oomKills
        )
    }

    /// Whether any of the sandbox's cgroup directories still exists (a leak after destroy).
    var exists: Bool {
        ["memory", "pids", "cpu", "cpuacct", "devices", "freezer", "blkio", "cpuset"].contains { controller in
            access(directory(controller), F_OK) == 0
        }
    }
}
