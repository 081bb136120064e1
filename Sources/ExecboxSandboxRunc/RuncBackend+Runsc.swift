import ExecboxSandbox
import FoundationEssentials
import Glibc

/// What runsc leaves besides its init (gVisor's kernel): the gofer, which serves the sandbox's files
/// from the host, and the ptrace platform's stub processes, all in the sandbox's cgroup.
extension RuncBackend {
    /// The gofer's pid from runsc's state file (`<root>/<id>_sandbox:<id>.state`).
    static func runscGoferPid(stateDirectory: String, id: SandboxID) -> pid_t? {
        struct State: Decodable { var goferPid: Int32? }
        let path = "\(stateDirectory)/\(id.rawValue)_sandbox:\(id.rawValue).state"
        guard let bytes = HostFiles.read(path, limit: 1 << 20) else { return nil }
        return (try? JSONDecoder().decode(State.self, from: Data(bytes)))?.goferPid
    }

    /// The sandbox's host processes: its cgroup's members and the gofer, taken before the destroy
    /// kills the init (afterwards the stubs are zombies, out of the cgroup's list).
    func runscProcesses(_ sandbox: RuncSandbox) -> [ProcessHandle] {
        var pids = Set(
            (HostFiles.read("\(sandbox.cgroup.directory("pids"))/cgroup.procs", limit: 1 << 20) ?? [])
                .split(separator: UInt8(ascii: "\n")).compactMap { pid_t(String(decoding: $0, as: UTF8.self)) })
        if let gofer = Self.runscGoferPid(stateDirectory: configuration.stateDirectory, id: sandbox.id) {
            pids.insert(gofer)
        }
        return pids.compactMap(ProcessHandle.init)
    }

    /// Kills the gofer and whatever else is left in the sandbox's cgroup and reaps those that are this
    /// process's children (the monitor, or without one runsc's exit, hands orphans on here). A gofer
    /// left a zombie makes `runsc delete` wait five seconds for it and fail, leaving the cgroups.
    func endRunscProcesses(_ sandbox: RuncSandbox, earlier: [ProcessHandle]) async {
        let known = Set(earlier.map(\.pid))
        let handles = earlier + runscProcesses(sandbox).filter { !known.contains($0.pid) }
        for handle in handles { _ = handle.signal(SIGKILL) }
        let deadline = ContinuousClock.now + .seconds(5)
        while handles.contains(where: { !$0.hasExited }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(2))
        }
        for handle in handles { handle.reapIfChild() }
    }
}
