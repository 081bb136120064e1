import ExecboxSandbox
import ExecboxSandboxRunc
import Glibc
import Testing

/// Sandbox lifecycle against real runc: create, stop, kill, timeouts, errors, and that nothing is
/// left behind (runc state, cgroups, mounts, processes, bundles).
@Suite(.enabled(if: RuncTestSupport.enabled, "needs root and runc"), .serialized, .timeLimit(.minutes(3)))
struct RuncLifecycleTests {
    typealias Support = RuncTestSupport

    @Test(arguments: Support.runtimes) func echoHi(runtime: Support.Runtime) async throws {
        try await Support.withBackend(runtime: runtime) { backend in
            let id = SandboxID.random()
            let info = try await backend.create(id, SandboxSpec())
            #expect(info.state == .running)
            #expect(info.limits == .defaults)
            let output = try await Support.sh(backend, id, "echo hi")
            #expect(output.stdoutText == "hi\n")
            #expect(output.stderr.isEmpty)
            #expect(output.exit == .exited(0))
            let tools = try await Support.sh(
                backend, id, "awk 'BEGIN { print 6 * 7 }'; python3 -c 'print(1 + 1)'; id -un")
            #expect(tools.stdoutText == "42\n2\nroot\n", "\(tools.stderrText)")
            #expect(try await backend.kill(id).state == .killed)
        }
    }

    @Test(arguments: Support.runtimes) func unknownImageIsAnInvalidArgumentAndCreatesNothing(runtime: Support.Runtime)
        async throws
    {
        try await Support.withBackend(runtime: runtime) { backend in
            let id = SandboxID.random()
            await #expect(throws: SandboxError.self) {
                try await backend.create(id, SandboxSpec(image: "ubuntu:24.04"))
            }
            do {
                _ = try await backend.create(id, SandboxSpec(image: "ubuntu:24.04"))
            } catch let error as SandboxError {
                #expect(error.code == .invalidArgument)
                #expect(error.code.grpcStatusName == "INVALID_ARGUMENT")
            }
            await #expect(throws: SandboxError.self) { try await backend.get(id) }
            #expect(Self.leftovers(backend, id).isEmpty)
        }
    }

    @Test(arguments: Support.runtimes) func errorsForMissingAndStoppedSandboxes(runtime: Support.Runtime) async throws {
        try await Support.withBackend(runtime: runtime) { backend in
            let missing = SandboxID.random()
            for call in [
                { _ = try await backend.get(missing) }, { _ = try await backend.kill(missing) },
                { _ = try await Support.sh(backend, missing, "true") },
            ] as [() async throws -> Void] {
                do {
                    try await call()
                    Issue.record("expected NOT_FOUND")
                } catch let error as SandboxError {
                    #expect(error.code == .notFound)
                }
            }
            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec())
            do {
                _ = try await backend.create(id, SandboxSpec())
                Issue.record("expected ALREADY_EXISTS")
            } catch let error as SandboxError {
                #expect(error.code == .alreadyExists)
            }
            _ = try await backend.kill(id)
            do {
                _ = try await Support.sh(backend, id, "true")
                Issue.record("expected FAILED_PRECONDITION")
            } catch let error as SandboxError {
                #expect(error.code == .failedPrecondition)
            }
            #expect(try await backend.kill(id).state == .killed, "kill is idempotent")
            try await backend.remove(id)
            await #expect(throws: SandboxError.self) { try await backend.get(id) }
        }
    }

    @Test(arguments: Support.runtimes) func stopIsGraceful(runtime: Support.Runtime) async throws {
        try await Support.withBackend(runtime: runtime) { backend in
            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec())
            let start = ContinuousClock.now
            let info = try await backend.stop(id, grace: .seconds(5))
            #expect(info.state == .stopped)
            #expect(ContinuousClock.now - start < .seconds(2), "the init ends on SIGTERM, before the grace")
            #expect(Self.leftovers(backend, id).isEmpty)
        }
    }

    @Test(arguments: Support.runtimes) func mainCommandExitEndsTheSandbox(runtime: Support.Runtime) async throws {
        try await Support.withBackend(runtime: runtime) { backend in
            let ok = SandboxID.random()
            _ = try await backend.create(ok, SandboxSpec(command: ["sh", "-c", "sleep 0.2"]))
            let stopped = await Self.waitForTerminal(backend, ok)
            #expect(stopped?.state == .stopped)
            #expect(stopped?.exit == .exited(0))
            let failing = SandboxID.random()
            _ = try await backend.create(failing, SandboxSpec(command: ["sh", "-c", "exit 3"]))
            let failed = await Self.waitForTerminal(backend, failing)
            #expect(failed?.state == .failed)
            #expect(failed?.exit == .exited(3))
            #expect(try await backend.kill(failing).state == .failed, "kill waits for the destroy and changes nothing")
            #expect(Self.leftovers(backend, failing).isEmpty)
        }
    }

    @Test(arguments: Support.runtimes) func wallClockTimeoutEndsTheSandbox(runtime: Support.Runtime) async throws {
        try await Support.withBackend(runtime: runtime) { backend in
            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec(limits: SandboxLimits(timeout: .milliseconds(300))))
            let info = await Self.waitForTerminal(backend, id)
            #expect(info?.state == .timedOut)
            #expect(info?.exit?.reason == .timeout)
            #expect(try await backend.kill(id).state == .timedOut)
            #expect(Self.leftovers(backend, id).isEmpty)
        }
    }

    /// A running exec keeps the sandbox busy; once it ended and nothing else happened for the idle
    /// timeout, the sandbox stops with reason `idleTimeout`.
    @Test(arguments: Support.runtimes) func idleTimeoutStopsASandboxNothingUses(runtime: Support.Runtime) async throws {
        try await Support.withBackend(runtime: runtime) { backend in
            let id = SandboxID.random()
            let start = ContinuousClock.now
            _ = try await backend.create(id, SandboxSpec(limits: SandboxLimits(idleTimeout: .seconds(1))))
            let exec = try await backend.startExec(id, ExecSpec(argv: ["sleep", "1.5"]))
            let info = await Self.waitForTerminal(backend, id)
            let elapsed = ContinuousClock.now - start
            #expect(info?.state == .stopped)
            #expect(info?.exit?.reason == .idleTimeout)
            #expect(elapsed >= .milliseconds(2500) && elapsed < .seconds(8), "\(elapsed)")
            #expect(try await backend.execInfo(id, exec.id).exit == .exited(0), "the exec ran to its end")
            #expect(try await backend.kill(id).state == .stopped, "kill waits for the destroy; the state stays")
            #expect(Self.leftovers(backend, id).isEmpty)
        }
    }

    @Test(arguments: Support.runtimes) func killEndsEveryProcessAndLeavesNothing(runtime: Support.Runtime) async throws
    {
        try await Support.withBackend(runtime: runtime) { backend in
            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec())
            let started = try await Support.sh(
                backend,
                id,
                "for i in 1 2 3; do setsid sleep 1000 >/dev/null 2>&1 & done; "
                    + "nohup sleep 1000 >/dev/null 2>&1 & echo ok"
            )
            #expect(started.stdoutText == "ok\n")
            let pids = Self.cgroupProcesses(backend, id)
            #expect(pids.count >= 5, "init and four sleeps: \(pids)")
            #expect(try await backend.kill(id).state == .killed)
            for pid in pids { #expect(access("/proc/\(pid)", F_OK) != 0, "process \(pid) survived the kill") }
            #expect(Self.leftovers(backend, id).isEmpty)
            #expect(Self.runcList(backend).isEmpty)
        }
    }

    /// Twenty create/exec/destroy cycles leave no runc state, cgroup, mount, bundle or process; the
    /// timings are printed (create → first byte of `echo hi`, and `true` in a running sandbox).
    @Test(arguments: Support.runtimes) func twentyCyclesLeaveNothingBehind(runtime: Support.Runtime) async throws {
        try await Support.withBackend(runtime: runtime) { backend in
            var firstByte: [Duration] = []
            for _ in 0..<20 {
                let id = SandboxID.random()
                let start = ContinuousClock.now
                _ = try await backend.create(id, SandboxSpec())
                var first: Duration?
                try await backend.exec(id, ExecSpec(argv: ["echo", "hi"])) { process in
                    for try await event in process.events {
                        if case .stdout = event, first == nil { first = ContinuousClock.now - start }
                    }
                }
                firstByte.append(try #require(first))
                _ = try await backend.kill(id)
                try await backend.remove(id)
                #expect(Self.leftovers(backend, id).isEmpty)
            }
            #expect(try await backend.list().isEmpty)
            #expect(Self.runcList(backend).isEmpty)
            #expect(HostDirectory.entries(backend.configuration.sandboxDirectory).isEmpty)

            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec())
            var execs: [Duration] = []
            for _ in 0..<20 {
                let start = ContinuousClock.now
                #expect(try await Support.run(backend, id, ["true"]).exit == .exited(0))
                execs.append(ContinuousClock.now - start)
            }
            _ = try await backend.kill(id)
            print("TIMING create→first byte p50 \(Self.median(firstByte)) max \(firstByte.max()!)")
            print("TIMING exec true p50 \(Self.median(execs)) max \(execs.max()!)")
        }
    }

    static func median(_ values: [Duration]) -> Duration { values.sorted()[values.count / 2] }

    static func waitForTerminal(_ backend: RuncBackend, _ id: SandboxID) async -> SandboxInfo? {
        for _ in 0..<500 {
            if let info = try? await backend.get(id), info.state.isTerminal { return info }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Everything of a sandbox the host could still hold.
    static func leftovers(_ backend: RuncBackend, _ id: SandboxID) -> [String] {
        var found: [String] = []
        let configuration = backend.configuration
        for path in [
            "\(configuration.stateDirectory)/\(id.rawValue)", "\(configuration.sandboxDirectory)/\(id.rawValue)",
        ]
        where access(path, F_OK) == 0 {
            found.append(path)
        }
        for controller in ["memory", "pids", "cpu", "cpuacct", "devices", "freezer", "blkio", "cpuset", "systemd"] {
            let path = "/sys/fs/cgroup/\(controller)/\(configuration.cgroupParent)/\(id.rawValue)"
            if access(path, F_OK) == 0 { found.append(path) }
        }
        if let mounts = try? String(contentsOfFile: "/proc/self/mountinfo"), mounts.contains(id.rawValue) {
            found.append("a mount naming \(id)")
        }
        return found
    }

    static func cgroupProcesses(_ backend: RuncBackend, _ id: SandboxID) -> [Int32] {
        let parent = backend.configuration.cgroupParent
        let text = (try? String(contentsOfFile: "/sys/fs/cgroup/pids/\(parent)/\(id.rawValue)/cgroup.procs")) ?? ""
        return text.split(separator: "\n").compactMap { Int32($0) }
    }

    static func runcList(_ backend: RuncBackend) -> [String] {
        guard
            let pipe = popen("\(RuncTestSupport.runcPath) --root \(backend.configuration.stateDirectory) list -q", "r")
        else { return ["popen failed"] }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, pipe)
            if count <= 0 { break }
            output += buffer[0..<count]
        }
        pclose(pipe)
        return String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}

extension String {
    init(contentsOfFile path: String) throws {
        guard let file = fopen(path, "r") else { throw SandboxError(code: .notFound, message: path) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        self = String(decoding: bytes, as: UTF8.self)
    }
}

enum HostDirectory {
    static func entries(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
