import Crypto
import ExecboxSandbox
import ExecboxSandboxRunc
import Glibc
import Testing

/// Exec fidelity against real runc (TESTPLAN 83–87 in CI sizes): exit statuses, separated and
/// complete streams, byte-exact bulk output, stdin, timeouts, backpressure.
@Suite(.enabled(if: RuncTestSupport.enabled, "needs root and runc"), .serialized, .timeLimit(.minutes(3)))
struct RuncExecTests {
    typealias Support = RuncTestSupport

    static func withSandbox(
        runtime: Support.Runtime = .runc,
        _ spec: SandboxSpec = SandboxSpec(),
        _ body: (RuncBackend, SandboxID) async throws -> Void
    ) async throws {
        try await Support.withBackend(runtime: runtime) { backend in
            let id = SandboxID.random()
            _ = try await backend.create(id, spec)
            try await body(backend, id)
            _ = try await backend.kill(id)
        }
    }

    @Test(arguments: Support.runtimes) func exitCodesAndSignalsAreExact(runtime: Support.Runtime) async throws {
        try await Self.withSandbox(runtime: runtime) { backend, id in
            for code in [0, 1, 42, 255] {
                #expect(try await Support.sh(backend, id, "exit \(code)").exit == .exited(Int32(code)))
            }
            // runsc folds a signal death it did not get from the backend into 128+n.
            func signaled(_ signal: Int32) -> ProcessExit {
                runtime == .runsc ? .exited(128 + signal) : .signaled(signal)
            }
            #expect(try await Support.sh(backend, id, "kill -TERM $$").exit == signaled(SIGTERM))
            #expect(try await Support.sh(backend, id, "kill -KILL $$").exit == signaled(SIGKILL))
            #expect(try await Support.sh(backend, id, "kill -SEGV $$").exit == signaled(SIGSEGV))
            let missing = try await Support.run(backend, id, ["/no/such/binary"])
            #expect(missing.exit == ProcessExit(reason: .startFailed, code: 127))
            #expect(!missing.stderr.isEmpty, "runc's reason reaches stderr")
            let shell127 = try await Support.sh(backend, id, "no-such-command")
            #expect(shell127.exit == .exited(127))
        }
    }

    @Test(arguments: Support.runtimes) func stdoutAndStderrAreSeparatedAndComplete(runtime: Support.Runtime)
        async throws
    {
        try await Self.withSandbox(runtime: runtime) { backend, id in
            let script = "i=0; while [ $i -lt 3000 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done"
            let output = try await Support.sh(backend, id, script)
            #expect(output.exit == .exited(0))
            let expectedOut = (0..<3000).map { "out\($0)\n" }.joined()
            let expectedErr = (0..<3000).map { "err\($0)\n" }.joined()
            #expect(output.stdoutText == expectedOut)
            #expect(output.stderrText == expectedErr)
        }
    }

    @Test(arguments: Support.runtimes) func fastExitNeverLosesOutput(runtime: Support.Runtime) async throws {
        try await Self.withSandbox(runtime: runtime) { backend, id in
            for _ in 0..<40 {
                let output = try await Support.sh(backend, id, "printf hello; exit 7")
                #expect(output.stdoutText == "hello")
                #expect(output.exit == .exited(7), "stderr: \(output.stderrText)")
            }
        }
    }

    @Test(arguments: Support.runtimes) func sixtyFourMiBAreByteExact(runtime: Support.Runtime) async throws {
        try await Self.withSandbox(runtime: runtime) { backend, id in
            let script = """
                import hashlib, os, sys
                h = hashlib.sha256()
                out = sys.stdout.buffer
                for _ in range(64):
                    chunk = os.urandom(1 << 20)
                    h.update(chunk)
                    out.write(chunk)
                out.flush()
                sys.stderr.write(h.hexdigest())
                """
            var hasher = SHA256()
            var size = 0
            var stderr: [UInt8] = []
            var exit: ProcessExit?
            let start = ContinuousClock.now
            try await backend.exec(id, ExecSpec(argv: ["python3", "-c", script])) { process in
                for try await event in process.events {
                    switch event {
                    case .stdout(let bytes):
                        hasher.update(data: bytes)
                        size += bytes.count
                    case .stderr(let bytes): stderr += bytes
                    case .exit(let status): exit = status
                    }
                }
            }
            let elapsed = ContinuousClock.now - start
            let digest = hasher.finalize().map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
            #expect(size == 64 << 20)
            #expect(String(decoding: stderr, as: UTF8.self) == digest)
            #expect(exit == .exited(0))
            print("64 MiB through exec in \(elapsed)")
        }
    }

    @Test(arguments: Support.runtimes) func stdinReachesTheProcessByteExact(runtime: Support.Runtime) async throws {
        try await Self.withSandbox(runtime: runtime) { backend, id in
            var input = [UInt8](repeating: 0, count: 1 << 20)
            for index in input.indices { input[index] = UInt8(truncatingIfNeeded: index &* 31 &+ index >> 9) }
            let output = try await Support.run(backend, id, ["cat"], stdin: input)
            #expect(output.stdout == input)
            #expect(output.exit == .exited(0))
        }
    }

    @Test(arguments: Support.runtimes) func timeoutKillsTheProcessWithItsOwnReason(runtime: Support.Runtime)
        async throws
    {
        try await Self.withSandbox(runtime: runtime) { backend, id in
            let start = ContinuousClock.now
            let output = try await Support.run(backend, id, ["sleep", "30"]) { $0.timeout = .milliseconds(300) }
            #expect(output.exit?.reason == .timeout)
            #expect(output.exit?.signal == SIGKILL)
            #expect(ContinuousClock.now - start < .seconds(5))
        }
    }

    @Test(arguments: Support.runtimes) func backgroundChildHoldingThePipeDoesNotHangTheExec(runtime: Support.Runtime)
        async throws
    {
        try await Support.withBackend(runtime: runtime, { $0.outputDrainGrace = .milliseconds(300) }) { backend in
            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec())
            let start = ContinuousClock.now
            let output = try await Support.sh(backend, id, "sleep 30 & echo started")
            #expect(output.stdoutText == "started\n")
            #expect(output.exit == .exited(0))
            #expect(ContinuousClock.now - start < .seconds(5))
            _ = try await backend.kill(id)
        }
    }

    /// A consumer that stops reading blocks the process on its pipe; nothing is buffered or lost.
    @Test(arguments: Support.runtimes) func slowConsumerBlocksTheWriter(runtime: Support.Runtime) async throws {
        try await Self.withSandbox(runtime: runtime) { backend, id in
            let total = 16 << 20
            let script = "head -c \(total) /dev/zero; touch /tmp/done"
            try await backend.exec(id, ExecSpec(argv: ["sh", "-c", script])) { process in
                var received = 0
                var iterator = process.events.makeAsyncIterator()
                if case .stdout(let bytes) = try await iterator.next() { received += bytes.count }
                try await Task.sleep(for: .milliseconds(300))
                let probe = try await Support.sh(backend, id, "test -e /tmp/done; echo $?")
                #expect(probe.stdoutText == "1\n", "the writer finished although nobody read")
                var exit: ProcessExit?
                while let event = try await iterator.next() {
                    switch event {
                    case .stdout(let bytes): received += bytes.count
                    case .stderr: break
                    case .exit(let status): exit = status
                    }
                }
                #expect(received == total)
                #expect(exit == .exited(0))
            }
            #expect(try await Support.sh(backend, id, "test -e /tmp/done; echo $?").stdoutText == "0\n")
        }
    }

    /// A sandbox killed while an exec's consumer is not reading: the exec's process is a zombie child
    /// of the backend, which must reap it or the sandbox's init never finishes exiting.
    @Test(arguments: Support.runtimes) func killWhileAnExecIsNotReading(runtime: Support.Runtime) async throws {
        try await Support.withBackend(runtime: runtime) { backend in
            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec())
            let start = ContinuousClock.now
            let exit = try await backend.exec(id, ExecSpec(argv: ["sleep", "30"])) { process in
                #expect(try await backend.kill(id).state == .killed)
                var exit: ProcessExit?
                for try await event in process.events { if case .exit(let status) = event { exit = status } }
                return exit
            }
            #expect(exit?.signal == SIGKILL)
            #expect(ContinuousClock.now - start < .seconds(5))
        }
    }

    @Test(arguments: Support.runtimes) func bodyReturningEarlyKillsTheProcess(runtime: Support.Runtime) async throws {
        try await Self.withSandbox(runtime: runtime) { backend, id in
            let pid = try await backend.exec(id, ExecSpec(argv: ["sleep", "30"])) { process in process.pid }
            #expect(pid != nil)
            let left = try await Support.sh(backend, id, "ps -e -o comm= 2>/dev/null | grep -c '^sleep$' || true")
            #expect(left.stdoutText == "0\n")
        }
    }
}
