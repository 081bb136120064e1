import Crypto
import ExecboxSandbox
import ExecboxSandboxRunc
import Glibc
import Testing

/// Per-exec output spools against real runc: background execs, detach and re-attach from an offset
/// with identical bytes, several clients at once, exit status after the end, the spool's size limit.
@Suite(.enabled(if: RuncTestSupport.enabled, "needs root and runc"), .serialized)
struct RuncExecSpoolTests {
    typealias Support = RuncTestSupport

    /// Output as one attach saw it: bytes of stdout and stderr in their combined order.
    struct Seen {
        var combined: [UInt8] = []
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var exit: ProcessExit?
    }

    /// Reads events until the exit, or until at least `limit` bytes arrived (then detaches).
    static func read(_ process: any ExecProcess, limit: Int = .max) async throws -> Seen {
        var seen = Seen()
        for try await event in process.events {
            switch event {
            case .stdout(let bytes):
                seen.stdout += bytes
                seen.combined += bytes
            case .stderr(let bytes):
                seen.stderr += bytes
                seen.combined += bytes
            case .exit(let exit): seen.exit = exit
            }
            if seen.combined.count >= limit { break }
        }
        return seen
    }

    static func waitForExit(_ backend: RuncBackend, _ id: SandboxID, _ exec: ExecID) async throws -> ExecInfo {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            let info = try await backend.execInfo(id, exec)
            if !info.isRunning { return info }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("exec \(exec) did not end")
        return try await backend.execInfo(id, exec)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// 2 MiB of random bytes in 16 KiB writes with pauses, then their SHA-256 on stderr.
    static let producer = """
        import hashlib, os, sys, time
        h = hashlib.sha256()
        for i in range(128):
            chunk = os.urandom(16384)
            h.update(chunk)
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
            if i % 32 == 0: time.sleep(0.02)
        sys.stderr.write(h.hexdigest())
        """

    @Test func detachAndReattachFromAnOffsetGivesIdenticalBytes() async throws {
        try await RuncExecTests.withSandbox { backend, id in
            let exec = try await backend.startExec(id, ExecSpec(argv: ["python3", "-c", Self.producer]))
            #expect(exec.isRunning && exec.argv.first == "python3")
            // Detach mid-output, at an offset inside a chunk.
            let first = try await backend.attachExec(id, exec.id, from: 0) { process in
                #expect(process.execID == exec.id)
                return try await Self.read(process, limit: 300_001)
            }
            #expect(first.exit == nil)
            let offset = UInt64(first.combined.count)
            let rest = try await backend.attachExec(id, exec.id, from: offset) { try await Self.read($0) }
            #expect(rest.exit == .exited(0))
            let stdout = first.stdout + rest.stdout
            #expect(stdout.count == 2 << 20)
            #expect(String(decoding: rest.stderr, as: UTF8.self) == Self.hex(stdout))
            // After the end: from 0 and from N, the same bytes again.
            let again = try await backend.attachExec(id, exec.id, from: 0) { try await Self.read($0) }
            #expect(again.combined == first.combined + rest.combined)
            #expect(again.exit == .exited(0))
            let fromN = try await backend.attachExec(id, exec.id, from: 1_000_000) { try await Self.read($0) }
            #expect(fromN.combined == Array(again.combined[1_000_000...]))
            let info = try await backend.execInfo(id, exec.id)
            #expect(info.exit == .exited(0))
            #expect(info.outputBytes == UInt64(again.combined.count))
            #expect(info.retainedFrom == 0 && info.attachedClients == 0)
        }
    }

    @Test func attachToARunningExecGetsTheBacklogThenLiveOutput() async throws {
        try await RuncExecTests.withSandbox { backend, id in
            let exec = try await backend.startExec(
                id, ExecSpec(argv: ["sh", "-c", "echo first; echo err >&2; read line; echo \"got $line\""]))
            while try await backend.execInfo(id, exec.id).outputBytes < 10 {
                try await Task.sleep(for: .milliseconds(5))
            }
            let seen = try await backend.attachExec(id, exec.id, from: 0) { process in
                var iterator = process.events.makeAsyncIterator()
                var seen = Seen()
                while seen.combined.count < 10, let event = try await iterator.next() {
                    if case .stdout(let bytes) = event { seen.stdout += bytes }
                    if case .stderr(let bytes) = event { seen.stderr += bytes }
                    seen.combined = seen.stdout + seen.stderr
                }
                try await process.writeStdin(Array("live\n".utf8))
                while let event = try await iterator.next() {
                    if case .stdout(let bytes) = event { seen.stdout += bytes }
                    if case .exit(let exit) = event { seen.exit = exit }
                }
                return seen
            }
            #expect(String(decoding: seen.stdout, as: UTF8.self) == "first\ngot live\n")
            #expect(String(decoding: seen.stderr, as: UTF8.self) == "err\n")
            #expect(seen.exit == .exited(0))
        }
    }

    @Test func twoClientsAttachedAtOnceReadIdenticalBytes() async throws {
        try await RuncExecTests.withSandbox { backend, id in
            let exec = try await backend.startExec(id, ExecSpec(argv: ["python3", "-c", Self.producer]))
            async let a = backend.attachExec(id, exec.id, from: 0) { try await Self.read($0) }
            async let b = backend.attachExec(id, exec.id, from: 0) { try await Self.read($0) }
            let (seenA, seenB) = try await (a, b)
            #expect(seenA.combined.count == (2 << 20) + 64)
            #expect(seenA.combined == seenB.combined)
            #expect(seenA.exit == .exited(0) && seenB.exit == .exited(0))
        }
    }

    @Test func exitStatusIsReadableAfterTheExecEnded() async throws {
        try await RuncExecTests.withSandbox { backend, id in
            let exec = try await backend.startExec(id, ExecSpec(argv: ["sh", "-c", "echo bye; exit 7"]))
            let info = try await Self.waitForExit(backend, id, exec.id)
            #expect(info.exit == .exited(7))
            #expect(info.outputBytes == 4)
            // A foreground exec's id works the same once its stream is gone.
            let foreground = try await backend.exec(id, ExecSpec(argv: ["sh", "-c", "printf ab; kill -TERM $$"])) {
                process in
                var iterator = process.events.makeAsyncIterator()
                _ = try await iterator.next()
                return process.execID
            }
            let ended = try #require(foreground)
            let late = try await backend.execInfo(id, ended)
            #expect(late.exit?.reason == .signaled || late.exit?.reason == .killed)
            let replay = try await backend.attachExec(id, ended, from: 0) { try await Self.read($0) }
            #expect(replay.stdout == Array("ab".utf8))
            #expect(replay.exit == late.exit)
            let listed = try await backend.listExecs(id).map(\.id)
            #expect(listed == [exec.id, ended])
        }
    }

    @Test func errorsForUnknownExecsAndOffsets() async throws {
        try await RuncExecTests.withSandbox { backend, id in
            let exec = try await backend.startExec(id, ExecSpec(argv: ["echo", "hi"]))
            _ = try await Self.waitForExit(backend, id, exec.id)
            for (execID, offset, code) in [
                (ExecID.random(), UInt64(0), SandboxError.Code.notFound), (exec.id, 4, .outOfRange),
            ] {
                do {
                    _ = try await backend.attachExec(id, execID, from: offset) { _ in 0 }
                    Issue.record("expected \(code)")
                } catch let error as SandboxError {
                    #expect(error.code == code)
                }
            }
            #expect(try await backend.attachExec(id, exec.id, from: 3) { try await Self.read($0) }.exit == .exited(0))
        }
    }

    /// Beyond its limit the spool keeps the newest output; older offsets are out of range.
    @Test func spoolKeepsTheNewestOutputWithinItsLimit() async throws {
        try await Support.withBackend({
            $0.execSpoolLimit = 256 << 10
            $0.execReadWindow = 64 << 10
            $0.retainedExecs = 2
        }) { backend in
            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec())
            let exec = try await backend.startExec(id, ExecSpec(argv: ["head", "-c", "2M", "/dev/urandom"]))
            let info = try await Self.waitForExit(backend, id, exec.id)
            #expect(info.exit == .exited(0))
            #expect(info.outputBytes == 2 << 20)
            let kept = info.outputBytes - info.retainedFrom
            #expect(kept >= 128 << 10 && kept <= 256 << 10, "kept \(kept)")
            do {
                _ = try await backend.attachExec(id, exec.id, from: 0) { _ in 0 }
                Issue.record("expected OUT_OF_RANGE")
            } catch let error as SandboxError {
                #expect(error.code == .outOfRange)
            }
            let tail = try await backend.attachExec(id, exec.id, from: info.retainedFrom) { try await Self.read($0) }
            #expect(UInt64(tail.stdout.count) == kept)
            // Only the newest two ended execs are remembered.
            for _ in 0..<3 { _ = try await Support.sh(backend, id, "true") }
            #expect(try await backend.listExecs(id).count == 2)
            await #expect(throws: SandboxError.self) { try await backend.execInfo(id, exec.id) }
            _ = try await backend.kill(id)
        }
    }
}
