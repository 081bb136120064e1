import ExecboxSandbox
import ExecboxSandboxRunc

/// The measured operations through the runc backend's public API, exactly as the service layer will
/// call it: `create` with the default spec (image `default`, network `none`, default limits), then
/// `exec` and pulling events.
struct OursBench: Sendable {
    let backend: RuncBackend
    let clock = ContinuousClock()

    struct EchoResult: Sendable {
        var id: SandboxID
        /// From `start` to the first stdout byte of `echo hi`.
        var firstByte: Duration
    }

    /// create → exec `echo hi` → first stdout byte, timed from `start`; the output must be exactly
    /// `hi\n` and the exit 0. The sandbox is left running for the caller to remove.
    func createAndEcho(from start: ContinuousClock.Instant) async throws -> EchoResult {
        let id = SandboxID.random()
        _ = try await backend.create(id, SandboxSpec())
        let clock = clock
        let (first, output, exit) = try await backend.exec(id, ExecSpec(argv: ["echo", "hi"])) { process in
            try await process.closeStdin()
            var first: ContinuousClock.Instant?
            var output: [UInt8] = []
            var exit: ProcessExit?
            while let event = try await process.nextEvent() {
                switch event {
                case .stdout(let bytes):
                    if first == nil { first = clock.now }
                    output += bytes
                case .stderr(let bytes):
                    Log.progress("echo hi wrote to stderr: \(String(decoding: bytes, as: UTF8.self))")
                case .exit(let value):
                    exit = value
                }
            }
            return (first, output, exit)
        }
        guard let first, output == Array("hi\n".utf8), exit == .exited(0) else {
            throw BenchFailure("echo hi in \(id): output \(output), exit \(exit.map { "\($0)" } ?? "none")")
        }
        return EchoResult(id: id, firstByte: first - start)
    }

    /// An exec of `true`, from the call to its exit having been reported and the call returning.
    func execTrue(in id: SandboxID) async throws -> Duration {
        let start = clock.now
        let exit = try await backend.exec(id, ExecSpec(argv: ["true"])) { process in
            try await process.closeStdin()
            var exit: ProcessExit?
            while let event = try await process.nextEvent() {
                if case .exit(let value) = event { exit = value }
            }
            return exit
        }
        guard exit == .exited(0) else { throw BenchFailure("true in \(id): \(exit.map { "\($0)" } ?? "no exit")") }
        return clock.now - start
    }

    /// `head -c 1G /dev/zero` through an exec: bytes received and the time from the call to its return.
    func headZero(in id: SandboxID, size: String) async throws -> (bytes: Int, duration: Duration) {
        let start = clock.now
        let (bytes, exit) = try await backend.exec(id, ExecSpec(argv: ["head", "-c", size, "/dev/zero"])) { process in
            try await process.closeStdin()
            var bytes = 0
            var exit: ProcessExit?
            while let event = try await process.nextEvent() {
                switch event {
                case .stdout(let chunk): bytes += chunk.count
                case .stderr(let chunk): Log.progress("head wrote to stderr: \(String(decoding: chunk, as: UTF8.self))")
                case .exit(let value): exit = value
                }
            }
            return (bytes, exit)
        }
        guard exit == .exited(0) else { throw BenchFailure("head in \(id): \(exit.map { "\($0)" } ?? "no exit")") }
        return (bytes, clock.now - start)
    }

    /// Removes sandboxes (kill, destroy, forget), all at once.
    func remove(_ ids: [SandboxID]) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for id in ids { group.addTask { try await backend.remove(id) } }
            try await group.waitForAll()
        }
    }
}
