import ExecboxSandbox
import FoundationEssentials
import Glibc

/// What a server needs to adopt a sandbox another (dead) server created: written to
/// `<bundle>/sandbox.json` (0600: the spec holds environment values) once the container exists, read
/// at start-up. The pids come with their start times, so a recycled pid is never taken for the
/// sandbox's init or monitor.
struct SandboxRecord: Codable, Sendable {
    struct Network: Codable, Sendable {
        var interface: String
        var hostAddress: UInt32
        var sandboxAddress: UInt32
        /// Declared sandbox port → the loopback port DNATed to it.
        var ports: [Int: Int]
    }

    var id: String
    /// The runtime's name of the container, which also names the bundle and cgroups, when it is not
    /// the id (a pooled container's); absent in records of older servers.
    var container: String?
    /// CPU time a pooled container had used before it was given (left out of the sandbox's stats).
    var cpuBaseline: UInt64?
    var spec: SandboxSpec
    var limits: SandboxLimits
    var slot: Int
    /// Wall-clock seconds since 1970 when the sandbox was created (its timeout counts from here).
    var createdAt: Double
    var initPid: Int32
    var initStartTime: UInt64
    var monitorPid: Int32
    var monitorStartTime: UInt64
    var network: Network?
    /// The command runs as a main exec (the init only pauses); absent in records of older servers,
    /// whose init ran the command itself.
    var mainExec: Bool?
    /// The main exec's host pid and start time, once it was launched.
    var mainPid: Int32?
    var mainStartTime: UInt64?
    /// runsc: the main process's pid inside the sandbox (`mainPid` is the host process waiting for it).
    var mainInternalPid: Int32?

    static let fileName = "sandbox.json"

    init(_ sandbox: RuncSandbox, initProcess: ProcessHandle, monitor: ProcessHandle) {
        id = sandbox.id.rawValue
        container = sandbox.container == id ? nil : sandbox.container
        cpuBaseline = sandbox.cgroup.cpuBaseline == 0 ? nil : sandbox.cgroup.cpuBaseline
        spec = sandbox.spec
        limits = sandbox.limits
        slot = sandbox.slot
        createdAt = Self.now
        initPid = initProcess.pid
        initStartTime = ProcessHandle.startTime(of: initProcess.pid) ?? 0
        monitorPid = monitor.pid
        monitorStartTime = ProcessHandle.startTime(of: monitor.pid) ?? 0
        mainExec = !sandbox.spec.command.isEmpty
        network = sandbox.networkAttachment.map { attachment in
            Network(
                interface: attachment.interface,
                hostAddress: attachment.hostAddress,
                sandboxAddress: attachment.sandboxAddress,
                ports: attachment.ports.mapValues(\.port)
            )
        }
    }

    static var now: Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Writes (or replaces, through a rename) the record. A record already there (a pooled
    /// container's, given to a sandbox) is rewritten in place when old and new fit one page: the
    /// kernel copies a one-page `pwrite` at offset 0 in one step (a kill lands before or after it),
    /// and JSON allows the spaces that pad it over a longer old record. (Creating the temporary file
    /// was the costly part of a pooled hand-out on this host's disk.)
    func write(to bundle: String) throws {
        let bytes = Array(try JSONEncoder().encode(self))
        if Self.rewriteInPlace("\(bundle)/\(Self.fileName)", bytes) { return }
        let temporary = "\(bundle)/\(Self.fileName).tmp"
        unlink(temporary)
        try BundleWriter.writeFile(temporary, bytes, mode: 0o600)
        guard rename(temporary, "\(bundle)/\(Self.fileName)") == 0 else { throw SystemError("rename") }
    }

    private static func rewriteInPlace(_ path: String, _ bytes: [UInt8]) -> Bool {
        let page = 4096
        let fd = open(path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_nlink == 1, info.st_size <= page,
            bytes.count <= page
        else { return false }
        let padded = bytes + [UInt8](repeating: UInt8(ascii: " "), count: max(0, Int(info.st_size) - bytes.count))
        return pwrite(fd, padded, padded.count, 0) == padded.count
    }

    static func read(from bundle: String) -> SandboxRecord? {
        guard let bytes = HostFiles.read("\(bundle)/\(fileName)", limit: 1 << 20) else { return nil }
        return try? JSONDecoder().decode(SandboxRecord.self, from: Data(bytes))
    }

    /// The process behind `pid` if it is still the one recorded (same start time) and running.
    static func live(_ pid: Int32, startedAt startTime: UInt64) -> ProcessHandle? {
        guard let handle = ProcessHandle(pid), !handle.hasExited, ProcessHandle.startTime(of: pid) == startTime
        else { return nil }
        return handle
    }
}
