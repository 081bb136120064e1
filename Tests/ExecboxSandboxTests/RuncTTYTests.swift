import ExecboxSandbox
import ExecboxSandboxRunc
import Glibc
import Testing

/// TTY execs against real runc: a pty from runc's console socket, its size and resizes, Ctrl-C,
/// signals, ^D as the end of stdin, and complete output after the process exits.
@Suite(.enabled(if: RuncTestSupport.enabled, "needs root and runc"), .serialized, .timeLimit(.minutes(3)))
struct RuncTTYTests {
    typealias Support = RuncTestSupport

    /// Reads output (stdout only: a terminal merges the streams) until `text` appears; returns all
    /// output so far.
    static func read(
        _ iterator: inout ExecEvents.AsyncIterator,
        until text: String,
        into output: inout String
    ) async throws {
        while !output.contains(text) {
            switch try await iterator.next() {
            case .stdout(let bytes): output += String(decoding: bytes, as: UTF8.self)
            case .stderr: Issue.record("a terminal has no separate stderr")
            case .exit(let exit):
                Issue.record("exited (\(exit)) before printing \(text): \(output)")
                return
            case nil:
                Issue.record("events ended before \(text)")
                return
            }
        }
    }

    static func drain(_ iterator: inout ExecEvents.AsyncIterator, into output: inout String) async throws
        -> ProcessExit?
    {
        var exit: ProcessExit?
        while let event = try await iterator.next() {
            switch event {
            case .stdout(let bytes): output += String(decoding: bytes, as: UTF8.self)
            case .stderr: Issue.record("a terminal has no separate stderr")
            case .exit(let status): exit = status
            }
        }
        return exit
    }

    // runc only: under runsc the terminal is a host pty gVisor passes through, which has no
    // /dev/pts name inside (`tty` says "not a tty"; `test -t` holds).
    @Test(arguments: Support.runcOnly) func ttyReportsATerminal(runtime: Support.Runtime) async throws {
        try await RuncExecTests.withSandbox(runtime: runtime) { backend, id in
            let tty = try await Support.run(backend, id, ["sh", "-c", "tty; test -t 0 && test -t 1 && test -t 2"]) {
                $0.tty = true
            }
            #expect(tty.stdoutText.hasPrefix("/dev/pts/"), "\(tty.stdoutText)")
            #expect(tty.stdoutText.hasSuffix("\r\n"), "the terminal translates newlines")
            #expect(tty.stderr.isEmpty)
            #expect(tty.exit == .exited(0))
            let pipes = try await Support.run(backend, id, ["sh", "-c", "tty; test -t 1"])
            #expect(pipes.stdoutText == "not a tty\n")
            #expect(pipes.exit == .exited(1))
        }
    }

    @Test(arguments: Support.runtimes) func sttySizeFollowsTheInitialSizeAndResizes(runtime: Support.Runtime)
        async throws
    {
        try await RuncExecTests.withSandbox(runtime: runtime) { backend, id in
            var spec = ExecSpec(argv: ["sh", "-c", "stty size; read line; stty size"], tty: true)
            spec.terminalSize = TerminalSize(columns: 100, rows: 30)
            let exit = try await backend.exec(id, spec) { process in
                var iterator = process.events.makeAsyncIterator()
                var output = ""
                try await Self.read(&iterator, until: "30 100\r\n", into: &output)
                try await process.resize(TerminalSize(columns: 132, rows: 50))
                try await process.writeStdin(Array("\n".utf8))
                try await Self.read(&iterator, until: "50 132\r\n", into: &output)
                return try await Self.drain(&iterator, into: &output)
            }
            #expect(exit == .exited(0))
            let defaults = try await Support.run(backend, id, ["stty", "size"]) { $0.tty = true }
            #expect(defaults.stdoutText == "24 80\r\n")
        }
    }

    @Test(arguments: Support.runtimes) func ctrlCInterruptsTheForegroundProcess(runtime: Support.Runtime) async throws {
        try await RuncExecTests.withSandbox(runtime: runtime) { backend, id in
            let start = ContinuousClock.now
            let spec = ExecSpec(argv: ["sh", "-c", "echo ready; exec sleep 30"], tty: true)
            let exit = try await backend.exec(id, spec) { process in
                var iterator = process.events.makeAsyncIterator()
                var output = ""
                try await Self.read(&iterator, until: "ready\r\n", into: &output)
                try await Task.sleep(for: .milliseconds(50))  // let sh exec sleep
                try await process.writeStdin([0x03])
                return try await Self.drain(&iterator, into: &output)
            }
            // (runsc folds a signal death it did not get from the backend into 128+n.)
            #expect(exit == (runtime == .runsc ? .exited(128 + SIGINT) : .signaled(SIGINT)))
            #expect(ContinuousClock.now - start < .seconds(10))
        }
    }

    @Test(arguments: Support.runtimes) func signalsAndEndOfInputReachTheProcess(runtime: Support.Runtime) async throws {
        try await RuncExecTests.withSandbox(runtime: runtime) { backend, id in
            let signaled = try await backend.exec(id, ExecSpec(argv: ["sleep", "30"], tty: true)) { process in
                try await process.signal(SIGTERM)
                var iterator = process.events.makeAsyncIterator()
                var output = ""
                return try await Self.drain(&iterator, into: &output)
            }
            #expect(signaled == .signaled(SIGTERM))
            // ^D ends cat's input: it echoes the line (the terminal echoes it too) and exits 0.
            var output = ""
            let exit = try await backend.exec(id, ExecSpec(argv: ["cat"], tty: true)) { process in
                try await process.writeStdin(Array("abc\n".utf8))
                try await process.closeStdin()
                var iterator = process.events.makeAsyncIterator()
                return try await Self.drain(&iterator, into: &output)
            }
            #expect(exit == .exited(0))
            #expect(output == "abc\r\nabc\r\n")
            await #expect(throws: SandboxError.self) {
                try await backend.exec(id, ExecSpec(argv: ["true"])) { process in
                    try await process.resize(TerminalSize(columns: 1, rows: 1))
                }
            }
        }
    }

    @Test(arguments: Support.runtimes) func outputOfATTYExecArrivesComplete(runtime: Support.Runtime) async throws {
        try await RuncExecTests.withSandbox(runtime: runtime) { backend, id in
            let count = 100_000
            let output = try await Support.run(backend, id, ["seq", "1", "\(count)"]) { $0.tty = true }
            #expect(output.exit == .exited(0))
            let expected = (1...count).map { "\($0)\r\n" }.joined()
            #expect(output.stdout.count == expected.utf8.count)
            #expect(output.stdoutText == expected)
            for _ in 0..<20 {
                let fast = try await Support.run(backend, id, ["sh", "-c", "printf hello; exit 3"]) { $0.tty = true }
                #expect(fast.stdoutText == "hello")
                #expect(fast.exit == .exited(3))
            }
        }
    }
}
