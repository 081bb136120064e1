import ExecboxSandbox
import ExecboxSandboxRunc
import Glibc
import Testing

/// What happens when the server dies: a server process (`ExecboxSandboxTestHost`) is killed with
/// SIGKILL while its sandbox runs, and a fresh backend on the same directories starts.
@Suite(.enabled(if: RuncTestSupport.enabled, "needs root and runc"), .serialized)
struct RuncRecoveryTests {
    typealias Support = RuncTestSupport

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func cgroupProcesses(_ parent: String, _ id: SandboxID) -> [pid_t] {
        let text = (try? String(contentsOfFile: "/sys/fs/cgroup/pids/\(parent)/\(id.rawValue)/cgroup.procs")) ?? ""
        return text.split(separator: "\n").compactMap { pid_t($0) }
    }

    @Test func startUpReapsWhatAKilledServerLeft() async throws {
        let root = "/run/execbox-test/\(SandboxID.random().rawValue)"
        let parent = "execbox-test-\(SandboxID.random().rawValue.dropFirst(4).prefix(8))"
        let id = SandboxID.random()
        let host = try TestHostProcess([root, parent, "hold", id.rawValue, "outgoing"])
        let ready = try host.readLine()
        #expect(ready.hasPrefix("ready exec-"), "\(ready)")
        host.crash()
        // What the dead server left: a running container, its cgroups and processes, bundle, spool.
        let processes = Self.cgroupProcesses(parent, id)
        #expect(processes.count >= 2, "init and the exec's sleep: \(processes)")
        #expect(Self.exists("\(root)/runc/\(id.rawValue)"))
        #expect(Self.exists("\(root)/sandboxes/\(id.rawValue)/config.json"))
        #expect(Self.exists("\(root)/spool/\(id.rawValue)"))
        let veth = "et\(parent.suffix(4))0"
        #expect(Self.exists("/sys/class/net/\(veth)"), "the sandbox's host-side veth")
        try await Support.withBackend(root: root, cgroupParent: parent) { backend in
            #expect(!Self.exists("\(root)/runc/\(id.rawValue)"))
            #expect(!Self.exists("\(root)/sandboxes/\(id.rawValue)"))
            #expect(!Self.exists("\(root)/spool/\(id.rawValue)"))
            #expect(!Self.exists("/sys/class/net/\(veth)"))
            for controller in ["memory", "pids", "cpu", "cpuacct", "freezer", "devices"] {
                #expect(!Self.exists("/sys/fs/cgroup/\(controller)/\(parent)/\(id.rawValue)"), "\(controller)")
            }
            // Gone, or a zombie its parent (pid 1, once the dead server's children were orphaned)
            // has not reaped yet.
            for pid in processes {
                let status = (try? String(contentsOfFile: "/proc/\(pid)/status")) ?? ""
                #expect(
                    status.isEmpty || status.contains("State:\tZ"), "process \(pid) survived: \(status.prefix(100))")
            }
            await #expect(throws: SandboxError.self) { try await backend.get(id) }
            // The reaped backend works, and can even reuse the id.
            _ = try await backend.create(id, SandboxSpec())
            #expect(try await Support.sh(backend, id, "echo fresh").stdoutText == "fresh\n")
        }
    }
}
