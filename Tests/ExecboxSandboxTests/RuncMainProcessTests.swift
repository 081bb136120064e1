import ExecboxSandbox
import ExecboxSandboxRunc
import Glibc
import Testing

/// The main process (the sandbox's command) as an exec the backend owns: attach replays it from the
/// start, several clients at once, stdin in turns, one exit per attachment with the sandbox's exit.
@Suite(.enabled(if: RuncTestSupport.enabled, "needs root and runc"), .timeLimit(.minutes(3)))
struct RuncMainProcessTests {
    typealias Support = RuncTestSupport

    /// Attaches to the main process and reads every event; `input` runs once attached.
    static func attach(
        _ backend: RuncBackend,
        _ id: SandboxID,
        _ input: @Sendable (any ExecProcess) async throws -> Void = { _ in }
    ) async throws -> Support.Output {
        try await backend.attach(id) { process in
            try await input(process)
            var output = Support.Output()
            for try await event in process.events {
                #expect(output.exit == nil, "nothing may follow the exit")
                output.events += 1
                switch event {
                case .stdout(let bytes): output.stdout += bytes
                case .stderr(let bytes): output.stderr += bytes
                case .exit(let exit): output.exit = exit
                }
            }
            return output
        }
    }

    /// A command with a terminal: it sees one of the spec's size, a client's resize and input reach
    /// it through the line discipline, and its output arrives merged (as `.stdout`).
    @Test(arguments: Support.runtimes) func theMainProcessCanRunOnATerminal(runtime: Support.Runtime) async throws {
        try await Support.withBackend(runtime: runtime) { backend in
            let id = SandboxID.random()
            let script = "test -t 0 && echo terminal; stty size; read line; stty size; echo got $line; exit 4"
            let spec = SandboxSpec(command: ["sh", "-c", script], terminal: TerminalSize(columns: 100, rows: 30))
            #expect(try await backend.create(id, spec).state == .running)
            let main = try #require(try await backend.mainExecInfo(id))
            #expect(main.tty)
            let output = try await Self.attach(backend, id) { process in
                while try await backend.execInfo(id, main.id).outputBytes < 16 {
                    try await Task.sleep(for: .milliseconds(2))
                }
                try await process.resize(TerminalSize(columns: 120, rows: 40))
                try await process.writeStdin(Array("hello\n".utf8))
            }
            let text = output.stdoutText
            #expect(text.contains("terminal\r\n30 100\r\n"), "\(text.debugDescription)")
            #expect(text.contains("40 120\r\ngot hello\r\n"), "\(text.debugDescription)")
            #expect(output.stderr.isEmpty)
            #expect(output.exit == .exited(4))
            await #expect(throws: SandboxError.self) {
                _ = try await backend.create(
                    SandboxID.random(), SandboxSpec(command: ["true"], terminal: TerminalSize(columns: 0, rows: 24)))
            }
        }
    }

    /// Output written before anyone attached is replayed; two clients get all of it and one exit
    /// each; their stdin reaches the process in turns and only an explicit close ends it; a client
    /// that attaches after the end gets the same; the session ends with the command's exit.
    @Test(arguments: Support.runtimes) func attachReplaysFromTheStartToSeveralClients(runtime: Support.Runtime)
        async throws
    {
        try await Support.withBackend(runtime: runtime) { backend in
            let id = SandboxID.random()
            let spec = SandboxSpec(command: ["sh", "-c", "echo first; echo warn >&2; cat; echo done; exit 7"])
            #expect(try await backend.create(id, spec).state == .running)
            let main = try #require(try await backend.mainExecInfo(id))
            #expect(main.argv == spec.command && main.isRunning)
            #expect(try await backend.listExecs(id).isEmpty, "the main exec is not listed")
            while try await backend.execInfo(id, main.id).outputBytes < 11 {
                try await Task.sleep(for: .milliseconds(2))
            }
            async let second = Self.attach(backend, id) { process in
                try await process.writeStdin(Array("world\n".utf8))
            }
            let first = try await Self.attach(backend, id) { process in
                try await process.writeStdin(Array("hello\n".utf8))
                // Detaching never closes stdin: another client still writes after this one.
                try await Task.sleep(for: .milliseconds(300))
                try await process.closeStdin()
            }
            let other = try await second
            for output in [first, other] {
                #expect(
                    output.stdoutText == "first\nhello\nworld\ndone\n"
                        || output.stdoutText == "first\nworld\nhello\ndone\n")
                #expect(output.stderrText == "warn\n")
                #expect(output.exit == .exited(7))
            }
            let info = try await backend.get(id)
            #expect(info.state == .failed && info.exit == .exited(7))
            let late = try await Self.attach(backend, id)
            #expect(late.stdoutText == first.stdoutText && late.stderrText == "warn\n" && late.exit == .exited(7))
            #expect(try await backend.execInfo(id, main.id).exit == .exited(7))
            #expect(RuncLifecycleTests.leftovers(backend, id).isEmpty)
            try await backend.remove(id)
        }
    }

    /// The exact wait status: a signal death is a signal, a signal sent through an attachment
    /// reaches the command, a kill is `killed` 137, a timeout `timeout` 137, an OOM kill
    /// `oomKilled`, a missing command `startFailed` 127 — for the clients and for the sandbox.
    @Test(arguments: Support.runtimes) func exitStatusesReachClientsAndTheSandbox(runtime: Support.Runtime) async throws
    {
        try await Support.withBackend(runtime: runtime) { backend in
            func run(
                _ spec: SandboxSpec, _ input: @escaping @Sendable (any ExecProcess) async throws -> Void = { _ in }
            )
                async throws -> (ProcessExit?, SandboxInfo)
            {
                let id = SandboxID.random()
                _ = try await backend.create(id, spec)
                let output = try await Self.attach(backend, id, input)
                let info = try await backend.get(id)
                #expect(info.state.isTerminal, "the exit comes once the sandbox ended")
                #expect(RuncLifecycleTests.leftovers(backend, id).isEmpty)
                return (output.exit, info)
            }
            let term = try await run(SandboxSpec(command: ["sh", "-c", "kill -TERM $$"]))
            // runsc folds a signal death it did not get from the backend into 128+n.
            let termExit: ProcessExit = runtime == .runsc ? .exited(128 + SIGTERM) : .signaled(SIGTERM)
            #expect(term.0 == termExit && term.1.exit == termExit && term.1.state == .failed)

            let interrupted = try await run(SandboxSpec(command: ["sleep", "100"])) { try await $0.signal(SIGINT) }
            #expect(interrupted.0 == .signaled(SIGINT) && interrupted.1.exit == .signaled(SIGINT))

            let missing = try await run(SandboxSpec(command: ["/no/such/command"]))
            #expect(missing.0 == ProcessExit(reason: .startFailed, code: 127) && missing.1.state == .failed)

            let timedOut = try await run(
                SandboxSpec(limits: SandboxLimits(timeout: .milliseconds(300)), command: ["sleep", "100"]))
            #expect(timedOut.0 == ProcessExit(reason: .timeout, code: 137, signal: SIGKILL))
            #expect(timedOut.1.state == .timedOut && timedOut.1.exit == timedOut.0)

            let oom = try await run(
                SandboxSpec(
                    limits: SandboxLimits(memoryBytes: 64 << 20), command: ["python3", "-c", "a = b'x' * (256 << 20)"]))
            #expect(oom.0 == ProcessExit(reason: .oomKilled, code: 137, signal: SIGKILL))
            #expect(oom.1.state == .failed && oom.1.exit == oom.0)

            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec(command: ["sleep", "100"]))
            async let killed = Self.attach(backend, id)
            try await Task.sleep(for: .milliseconds(100))
            #expect(try await backend.kill(id).exit == ProcessExit(reason: .killed, code: 137, signal: SIGKILL))
            #expect(try await killed.exit == ProcessExit(reason: .killed, code: 137, signal: SIGKILL))
            #expect(RuncLifecycleTests.leftovers(backend, id).isEmpty)
        }
    }

    /// A graceful stop sends SIGTERM to the command (not to the pause init), which can still write
    /// and exit on its own; its exit is the sandbox's.
    @Test(arguments: Support.runtimes) func stopSignalsTheCommand(runtime: Support.Runtime) async throws {
        try await Support.withBackend(runtime: runtime) { backend in
            let id = SandboxID.random()
            let script = "trap 'echo bye; exit 0' TERM; echo ready; while true; do sleep 0.05; done"
            _ = try await backend.create(id, SandboxSpec(command: ["sh", "-c", script]))
            async let output = Self.attach(backend, id)
            let main = try #require(try await backend.mainExecInfo(id))
            while try await backend.execInfo(id, main.id).outputBytes < 6 {
                try await Task.sleep(for: .milliseconds(2))
            }
            let info = try await backend.stop(id, grace: .seconds(5))
            #expect(info.state == .stopped && info.exit == .exited(0))
            #expect(try await output.stdoutText == "ready\nbye\n")
            #expect(try await output.exit == .exited(0))
        }
    }

    /// The command running is not activity: an idle timeout still stops the sandbox (an attached
    /// client would keep it busy).
    @Test(arguments: Support.runtimes) func aRunningCommandDoesNotKeepTheSandboxBusy(runtime: Support.Runtime)
        async throws
    {
        try await Support.withBackend(runtime: runtime) { backend in
            let id = SandboxID.random()
            let spec = SandboxSpec(limits: SandboxLimits(idleTimeout: .seconds(1)), command: ["sleep", "100"])
            _ = try await backend.create(id, spec)
            let info = await RuncLifecycleTests.waitForTerminal(backend, id)
            #expect(info?.state == .stopped)
            #expect(info?.exit == ProcessExit(reason: .idleTimeout, code: 137, signal: SIGKILL))
        }
    }

    /// Without a command the pause init is the main process: no output and no stdin, and the exit
    /// once the sandbox ends.
    @Test(arguments: Support.runtimes) func withoutACommandAttachWaitsForTheEnd(runtime: Support.Runtime) async throws {
        try await Support.withBackend(runtime: runtime) { backend in
            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec())
            #expect(try await backend.mainExecInfo(id) == nil)
            async let output = Self.attach(backend, id) { process in
                #expect(process.pid == 1)
                await #expect(throws: SandboxError.self) { try await process.writeStdin([1]) }
            }
            try await Task.sleep(for: .milliseconds(200))
            let info = try await backend.kill(id)
            let attached = try await output
            #expect(attached.stdout.isEmpty && attached.stderr.isEmpty && attached.events == 1)
            #expect(attached.exit == info.exit && info.exit?.reason == .killed)
        }
    }

    /// A graceful shutdown that leaves sandboxes to the next server: under runc the main exec's
    /// descriptors stay with the monitor's keeper, so the next server takes the main exec over (its
    /// signals and exit, and the exit of one that ended meanwhile, read from the agent's connection).
    /// runsc's main exec is `runsc exec`'s child: the next server watches a main process still running
    /// (no output, exit `lost`) and ends a sandbox whose main process ended meanwhile as `lost`.
    @Test(arguments: Support.runtimes) func anAdoptedSandboxEndsWithItsMainProcess(runtime: Support.Runtime)
        async throws
    {
        let root = "/run/execbox-test/\(SandboxID.random().rawValue)"
        let parent = "execbox-test-\(SandboxID.random().rawValue.dropFirst(4).prefix(8))"
        let (running, ended) = (SandboxID.random(), SandboxID.random())
        try await Support.withBackend(
            runtime: runtime, root: root, cgroupParent: parent, { $0.keepSandboxesOnShutdown = true }
        ) {
            backend in
            _ = try await backend.create(running, SandboxSpec(command: ["sleep", "1000"]))
            _ = try await backend.create(ended, SandboxSpec(command: ["sleep", "0.2"]))
        }
        try await Task.sleep(for: .milliseconds(400))
        try await Support.withBackend(runtime: runtime, root: root, cgroupParent: parent) { backend in
            #expect(try await backend.get(running).state == .running)
            let taken = runtime == .runc
            #expect((try await backend.mainExecInfo(running) != nil) == taken)
            let output = try await Self.attach(backend, running) { try await $0.signal(SIGTERM) }
            #expect(output.stdout.isEmpty)
            #expect(output.exit == (taken ? .signaled(SIGTERM) : ProcessExit(reason: .lost, code: 255)))
            #expect(try await backend.get(running).state == .failed)
            let end = try #require(await RuncLifecycleTests.waitForTerminal(backend, ended))
            if taken {
                #expect(end.state == .stopped && end.exit == .exited(0), "\(end)")
            } else {
                #expect(end.state == .lost && end.failure?.contains("main process") == true, "\(end)")
            }
            for id in [running, ended] { #expect(RuncLifecycleTests.leftovers(backend, id).isEmpty) }
        }
    }
}
