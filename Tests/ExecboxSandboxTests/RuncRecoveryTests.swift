import ExecboxSandbox
import ExecboxSandboxRunc
import Foundation
import Glibc
import Testing

/// What happens when the server dies: a server process (`ExecboxSandboxTestHost`) is killed with
/// SIGKILL while its sandbox runs, and a fresh backend on the same directories starts.
@Suite(.enabled(if: RuncTestSupport.enabled, "needs root and runc"), .serialized)
struct RuncRecoveryTests {
    typealias Support = RuncTestSupport

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func cgroupProcesses(_ parent: String, _ id: SandboxID) -> [pid_t] {
        let text =
            (try? String(contentsOfFile: "/sys/fs/cgroup/pids/\(parent)/\(id.rawValue)/cgroup.procs", encoding: .utf8))
            ?? ""
        return text.split(separator: "\n").compactMap { pid_t($0) }
    }

    /// Makes the test process a child subreaper (as every backend does), so the dead server's orphans
    /// become its children rather than pid 1's: this host's pid 1 does not reap every orphan, and an
    /// unreaped process of a sandbox's pid namespace keeps its init from ending.
    static func becomeSubreaper() {
        typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "prctl") else { return }
        _ = unsafeBitCast(symbol, to: Prctl.self)(36, 1, 0, 0, 0)
    }

    /// A server stand-in holding an `outgoing` sandbox, killed with SIGKILL.
    static func crashedServer(runtime: Support.Runtime = .runc) throws -> (root: String, parent: String, id: SandboxID)
    {
        becomeSubreaper()
        let root = "/run/execbox-test/\(SandboxID.random().rawValue)"
        let parent = "execbox-test-\(SandboxID.random().rawValue.dropFirst(4).prefix(8))"
        let id = SandboxID.random()
        let host = try TestHostProcess([root, parent, "hold", id.rawValue, "outgoing", runtime.rawValue])
        let ready = try host.readLine()
        #expect(ready.hasPrefix("ready exec-"), "\(ready)")
        host.crash()
        return (root, parent, id)
    }

    @Test func startUpReapsWhatAKilledServerLeft() async throws {
        let (root, parent, id) = try Self.crashedServer()
        // What the dead server left: a running container, its cgroups and processes, bundle, spool.
        let processes = Self.cgroupProcesses(parent, id)
        #expect(processes.count >= 2, "init and the exec's sleep: \(processes)")
        #expect(Self.exists("\(root)/runc/\(id.rawValue)"))
        #expect(Self.exists("\(root)/sandboxes/\(id.rawValue)/config.json"))
        #expect(Self.exists("\(root)/spool/\(id.rawValue)"))
        let veth = "et\(parent.suffix(4))0"
        #expect(Self.exists("/sys/class/net/\(veth)"), "the sandbox's host-side veth")
        try await Support.withBackend(root: root, cgroupParent: parent, { $0.adoptOnStart = false }) { backend in
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
                let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
                #expect(
                    status.isEmpty || status.contains("State:\tZ"), "process \(pid) survived: \(status.prefix(100))")
            }
            await #expect(throws: SandboxError.self) { try await backend.get(id) }
            // The reaped backend works, and can even reuse the id.
            _ = try await backend.create(id, SandboxSpec())
            #expect(try await Support.sh(backend, id, "echo fresh").stdoutText == "fresh\n")
        }
    }

    /// The sandbox outlives its server: a fresh one adopts it (files, network and limits intact;
    /// the dead server's execs are not adopted), and destroys it cleanly later.
    @Test(arguments: Support.runtimes) func aFreshServerAdoptsWhatAKilledOneLeftRunning(runtime: Support.Runtime)
        async throws
    {
        if runtime == .runsc, !Support.hasRunsc { try Test.cancel("runsc is not installed") }
        let (root, parent, id) = try Self.crashedServer(runtime: runtime)
        let record = try String(contentsOfFile: "\(root)/sandboxes/\(id.rawValue)/sandbox.json", encoding: .utf8)
        let monitorPid = try #require(Self.number(after: "\"monitorPid\":", in: record))
        #expect(kill(monitorPid, 0) == 0, "the monitor outlived its server")
        let veth = "et\(parent.suffix(4))0"
        try await Support.withBackend(runtime: runtime, root: root, cgroupParent: parent) { backend in
            let info = try await backend.get(id)
            #expect(info.state == .running)
            #expect(info.spec.network == .outgoing)
            #expect(try await Support.sh(backend, id, "cat /workspace/kept").stdoutText == "kept\n")
            if runtime == .runsc {
                // gVisor's kernel uses the namespace the backend made (its routes are the host's view).
                #expect(Self.exists("/run/netns/\(veth)ns"), "its network namespace was kept")
            } else {
                #expect(try await Support.sh(backend, id, "ip route | grep -c default").stdoutText == "1\n")
            }
            #expect(Self.exists("/sys/class/net/\(veth)"), "its veth was kept")
            // runc: the dead server's background exec (its descriptors kept by the monitor) and the
            // two run since; runsc's execs are `runsc exec`'s children and died with that server.
            #expect(try await backend.listExecs(id).count == (runtime == .runsc ? 1 : 3))
            #expect(try await backend.kill(id).state == .killed)
            #expect(RuncLifecycleTests.leftovers(backend, id).isEmpty)
            #expect(!Self.exists("/sys/class/net/\(veth)"))
            #expect(!Self.exists("/run/netns/\(veth)ns"))
            let status = (try? String(contentsOfFile: "/proc/\(monitorPid)/status", encoding: .utf8)) ?? ""
            #expect(status.isEmpty || status.contains("State:\tZ"), "the monitor ended with its sandbox")
        }
    }

    /// Execs and the main process outlive a killed server: their output (what was spooled, what was
    /// in their pipes, and what they wrote while no server ran) arrives complete and in order to a
    /// client of the next server, with their exits — including one that ended while no server ran
    /// and one that had ended before.
    @Test func execsOutliveAKilledServer() async throws {
        Self.becomeSubreaper()
        let root = "/run/execbox-test/\(SandboxID.random().rawValue)"
        let parent = "execbox-test-\(SandboxID.random().rawValue.dropFirst(4).prefix(8))"
        let id = SandboxID.random()
        let host = try TestHostProcess([root, parent, "keep", id.rawValue])
        let ready = try host.readLine()
        let ids = ready.split(separator: " ").dropFirst().compactMap { try? ExecID(String($0)) }
        try #require(ready.hasPrefix("ready ") && ids.count == 5, "\(ready)")
        host.crash()
        // While no server runs: one exec writes ~500 KB (its pipe fills, then it blocks), another
        // ends. Their files go in through the init's root (the workspace is a mount of its own).
        let record = try String(contentsOfFile: "\(root)/sandboxes/\(id.rawValue)/sandbox.json", encoding: .utf8)
        let initPid = try #require(Self.number(after: "\"initPid\":", in: record))
        // As the workspace's owner: the host's root is not mapped in the sandbox's user namespace.
        var owner = stat()
        #expect(stat("/proc/\(initPid)/root/workspace", &owner) == 0)
        typealias SetFilesystemID = @convention(c) (UInt32) -> Int32
        let handle = dlopen(nil, RTLD_NOW)
        let setfsuid = unsafeBitCast(try #require(dlsym(handle, "setfsuid")), to: SetFilesystemID.self)
        let setfsgid = unsafeBitCast(try #require(dlsym(handle, "setfsgid")), to: SetFilesystemID.self)
        for name in ["burst", "b-go"] {
            let (previousUser, previousGroup) = (setfsuid(owner.st_uid), setfsgid(owner.st_gid))
            let fd = open("/proc/\(initPid)/root/workspace/\(name)", O_WRONLY | O_CREAT, 0o644)
            let error = errno
            _ = setfsgid(UInt32(previousGroup))
            _ = setfsuid(UInt32(previousUser))
            #expect(fd >= 0, "\(name): \(error)")
            close(fd)
        }
        // Until the exec waiting for b-go has ended (its `while` loop gone from the sandbox).
        for _ in 0..<1000 {
            let waiting = Self.cgroupProcesses(parent, id).contains { pid in
                let command = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
                return command.contains("b-go")
            }
            if !waiting { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .milliseconds(200))
        try await Support.withBackend(root: root, cgroupParent: parent) { backend in
            #expect(try await backend.get(id).state == .running)
            let listed = Set(try await backend.listExecs(id).map(\.id))
            #expect(listed == Set(ids), "every exec of the dead server is listed")

            let ended = try await RuncExecSpoolTests.waitForExit(backend, id, ids[1])
            #expect(ended.exit == .exited(3), "the exit line written while no server ran")
            let late = try await backend.attachExec(id, ids[1], from: 0) { try await RuncExecSpoolTests.read($0) }
            #expect(String(decoding: late.stdout, as: UTF8.self) == "b-out\nb-late\n")
            #expect(late.exit == .exited(3))

            let before = try await backend.attachExec(id, ids[2], from: 0) { try await RuncExecSpoolTests.read($0) }
            #expect(String(decoding: before.stdout, as: UTF8.self) == "c-done\n")
            #expect(before.exit == .exited(2), "an exit recorded before the kill")

            _ = try await backend.writeFile(id, path: "/workspace/go", contents: [], mode: 0o644, createParents: false)
            let seen = try await backend.attachExec(id, ids[0], from: 0) { try await RuncExecSpoolTests.read($0) }
            let expected = (1...100_000).map { "\($0)\n" }.joined()
            #expect(seen.stdout.count == expected.utf8.count)
            #expect(String(decoding: seen.stdout, as: UTF8.self) == expected, "stdout complete and in order")
            #expect(String(decoding: seen.stderr, as: UTF8.self) == "err-before\nerr-after\n")
            #expect(seen.exit == .exited(7))

            // stdin survives too: written through the next server, and its close reaches the process.
            let input = try await backend.attachExec(id, ids[4], from: 0) { process in
                try await process.writeStdin(Array("hello\nmore\n".utf8))
                try await process.closeStdin()
                return try await RuncExecSpoolTests.read(process)
            }
            #expect(String(decoding: input.stdout, as: UTF8.self) == "e-ready\ngot:hello\nmore\ne-done\n")
            #expect(input.exit == .exited(9))

            let tty = try await backend.attachExec(id, ids[3], from: 0) { try await RuncExecSpoolTests.read($0) }
            #expect(String(decoding: tty.stdout, as: UTF8.self) == "tty-before\r\ntty-after\r\n")
            #expect(tty.exit == .exited(4))

            _ = try await backend.writeFile(
                id, path: "/workspace/go-main", contents: [], mode: 0o644, createParents: false)
            let main = try await backend.attach(id) { try await RuncExecSpoolTests.read($0) }
            #expect(String(decoding: main.stdout, as: UTF8.self) == "main-before\nmain-after\n")
            #expect(main.exit == .exited(5), "the main process's own exit")
            let info = try await backend.get(id)
            #expect(info.state == .failed && info.exit == .exited(5), "\(info)")
            #expect(RuncLifecycleTests.leftovers(backend, id).isEmpty)
        }
    }

    /// A sandbox whose init ended while no server ran is cleaned up and reported ended, with the
    /// exit its monitor recorded (failed: it died of SIGKILL).
    @Test func aSandboxThatEndedWhileTheServerWasDownReportsItsExit() async throws {
        let (root, parent, id) = try Self.crashedServer()
        let processes = Self.cgroupProcesses(parent, id)
        #expect(processes.count >= 2)
        for pid in processes { kill(pid, SIGKILL) }
        // The dead server's exec processes are this process's children now: reap them, or the
        // sandbox's init cannot finish exiting.
        let exitFile = "\(root)/sandboxes/\(id.rawValue)/exit"
        for _ in 0..<500 where !Self.exists(exitFile) {
            var status: Int32 = 0
            for pid in processes { waitpid(pid, &status, WNOHANG) }
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(Self.exists(exitFile), "the monitor recorded the exit")
        try await Support.withBackend(root: root, cgroupParent: parent) { backend in
            let info = try await backend.get(id)
            #expect(info.state == .failed)
            #expect(info.exit == .signaled(SIGKILL), "\(info)")
            #expect(RuncLifecycleTests.leftovers(backend, id).isEmpty)
            try await backend.remove(id)
            await #expect(throws: SandboxError.self) { try await backend.get(id) }
        }
    }

    /// With `keepSandboxesOnShutdown`, a graceful shutdown leaves sandboxes to the next server, and
    /// (runc) their background execs, which the next server takes over.
    @Test(arguments: Support.runtimes) func gracefulShutdownCanLeaveSandboxesForTheNextServer(
        runtime: Support.Runtime
    ) async throws {
        let root = "/run/execbox-test/\(SandboxID.random().rawValue)"
        let parent = "execbox-test-\(SandboxID.random().rawValue.dropFirst(4).prefix(8))"
        let id = SandboxID.random()
        nonisolated(unsafe) var background: ExecID?
        try await Support.withBackend(
            runtime: runtime, root: root, cgroupParent: parent, { $0.keepSandboxesOnShutdown = true }
        ) { backend in
            _ = try await backend.create(id, SandboxSpec(limits: SandboxLimits(timeout: .seconds(60))))
            _ = try await backend.writeFile(
                id, path: "/workspace/note", contents: Array("left\n".utf8), mode: 0o644, createParents: false)
            let script = "echo before; while [ ! -e /workspace/go ]; do sleep 0.02; done; echo after; exit 6"
            let exec = try await backend.startExec(id, ExecSpec(argv: ["sh", "-c", script]))
            while try await backend.execInfo(id, exec.id).outputBytes == 0 {
                try await Task.sleep(for: .milliseconds(2))
            }
            background = exec.id
        }
        #expect(Self.cgroupProcesses(parent, id).count >= 1, "still running with no server")
        // Ending this server (without the setting) kills it.
        try await Support.withBackend(runtime: runtime, root: root, cgroupParent: parent) { backend in
            let info = try await backend.get(id)
            #expect(info.state == .running)
            #expect(try await Support.sh(backend, id, "cat /workspace/note").stdoutText == "left\n")
            // runc: the background exec was left running and is taken over; runsc's died with its server.
            let listed = try await backend.listExecs(id).map(\.id)
            #expect(listed.contains(try #require(background)) == (runtime == .runc))
            if runtime == .runc, let background {
                _ = try await backend.writeFile(
                    id, path: "/workspace/go", contents: [], mode: 0o644, createParents: false)
                let seen = try await backend.attachExec(id, background, from: 0) {
                    try await RuncExecSpoolTests.read($0)
                }
                #expect(String(decoding: seen.stdout, as: UTF8.self) == "before\nafter\n")
                #expect(seen.exit == .exited(6))
            }
        }
        #expect(Self.cgroupProcesses(parent, id).isEmpty)
    }

    static func number(after key: String, in text: String) -> Int32? {
        guard let range = text.range(of: key) else { return nil }
        return Int32(text[range.upperBound...].prefix { $0.isNumber })
    }
}
