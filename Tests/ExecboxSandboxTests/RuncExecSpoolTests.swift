import Crypto
import ExecboxSandbox
import Foundation
import Glibc
import Testing

@testable import ExecboxSandboxRunc

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

    /// Stdin from several attached clients is interleaved message by message: a writer waits for
    /// the other's turn instead of failing (process.proto's Attach).
    @Test func twoClientsWritingStdinAtOnceBothGetThrough() async throws {
        try await RuncExecTests.withSandbox { backend, id in
            let exec = try await backend.startExec(id, ExecSpec(argv: ["sh", "-c", "cat > /workspace/in"]))
            let messages = 200
            let message = [UInt8](repeating: UInt8(ascii: "a"), count: 8192)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<2 {
                    group.addTask {
                        try await backend.attachExec(id, exec.id, from: 0) { process in
                            for _ in 0..<messages {
                                try await process.writeStdin(message.map { $0 + UInt8(client) })
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await backend.attachExec(id, exec.id, from: 0) { process in try await process.closeStdin() }
            while try await backend.execInfo(id, exec.id).isRunning { try await Task.sleep(for: .milliseconds(5)) }
            let info = try await backend.stat(id, path: "/workspace/in")
            #expect(info.size == 2 * messages * message.count)
            let text = try await RuncTestSupport.sh(
                backend, id, "tr -cd a < /workspace/in | wc -c; tr -cd b < /workspace/in | wc -c")
            #expect(text.stdoutText == "\(messages * message.count)\n\(messages * message.count)\n")
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

    /// 3 MiB of stdout and 1 MiB of stderr interleaved through a 256 KiB spool: the per-stream totals
    /// are exact, and what an attach from `retainedFrom` delivers completes both streams from the
    /// per-stream offsets `ExecInfo` names.
    @Test func perStreamCountsOfARealExec() async throws {
        try await Support.withBackend({
            $0.execSpoolLimit = 256 << 10
            $0.execReadWindow = 64 << 10
        }) { backend in
            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec())
            let script =
                "for i in $(seq 64); do head -c 49152 /dev/zero; head -c 16384 /dev/zero >&2; done; printf end"
            let exec = try await backend.startExec(id, ExecSpec(argv: ["sh", "-c", script]))
            let info = try await Self.waitForExit(backend, id, exec.id)
            #expect(info.exit == .exited(0))
            #expect(info.stdoutBytes == (3 << 20) + 3 && info.stderrBytes == 1 << 20)
            #expect(info.outputBytes == info.stdoutBytes + info.stderrBytes)
            #expect(info.retainedFrom > 0 && info.retainedStdoutFrom <= info.retainedFrom)
            let tail = try await backend.attachExec(id, exec.id, from: info.retainedFrom) { try await Self.read($0) }
            #expect(info.retainedStdoutFrom + UInt64(tail.stdout.count) == info.stdoutBytes)
            #expect(info.retainedFrom - info.retainedStdoutFrom + UInt64(tail.stderr.count) == info.stderrBytes)
            #expect(String(decoding: tail.stdout.suffix(3), as: UTF8.self) == "end")
            _ = try await backend.kill(id)
        }
    }

    /// Appends `(stdout?, size)` records to a spool and keeps what a reader should see: for each
    /// combined offset, how much stdout came before it.
    struct SpoolModel {
        var records: [(offset: UInt64, isStdout: Bool, size: Int)] = []
        var end: UInt64 = 0
        var stdout: UInt64 = 0

        mutating func append(_ spool: inout ExecSpool, isStdout: Bool, size: Int) {
            spool.append([UInt8](repeating: isStdout ? 1 : 2, count: size), isStdout: isStdout)
            records.append((end, isStdout, size))
            end += UInt64(size)
            if isStdout { stdout += UInt64(size) }
        }

        func stdoutBefore(_ offset: UInt64) -> UInt64 {
            records.reduce(0) { sum, record in
                guard record.isStdout, record.offset < offset else { return sum }
                return sum + min(UInt64(record.size), offset - record.offset)
            }
        }

        /// Reads from `from` to the end, checking each chunk's stream and per-stream offset.
        func checkReads(_ spool: borrowing ExecSpool, from: UInt64) {
            var offset = from
            while case .chunk(let chunk) = spool.read(from: offset) {
                let before = stdoutBefore(offset)
                #expect(chunk.offset == offset && chunk.stdoutBefore == before)
                #expect(chunk.streamOffset == (chunk.isStdout ? before : offset - before))
                #expect(chunk.bytes.allSatisfy { $0 == (chunk.isStdout ? 1 : 2) })
                offset += UInt64(chunk.bytes.count)
            }
            #expect(offset == end)
        }
    }

    static func spoolDirectory() -> String {
        let directory = "/tmp/execbox-spool-test-\(SandboxID.random().rawValue)"
        mkdir(directory, 0o700)
        return directory
    }

    /// The ring pushes whole records out; the stdout before its head follows them, and reads from
    /// the file (not only the memory tail) carry the right per-stream offsets.
    @Test func spoolCountsStdoutBeforeItsHeadAfterTheRingDropsRecords() {
        let directory = Self.spoolDirectory()
        defer { rmdir(directory) }
        var spool = ExecSpool(path: "\(directory)/spool", limit: 256 << 10, tailLimit: 16 << 10)
        var model = SpoolModel()
        for round in 0..<120 {
            model.append(&spool, isStdout: true, size: 7_000 + round)
            model.append(&spool, isStdout: round % 3 == 0, size: 3_001)
        }
        #expect(
            spool.end == model.end && spool.stdoutEnd == model.stdout && spool.stderrEnd == model.end - model.stdout)
        #expect(!spool.failed && spool.retainedFrom > 0 && spool.retainedFrom < model.end - (200 << 10))
        // Records leave whole: the head is a record boundary.
        #expect(model.records.contains { $0.offset == spool.retainedFrom })
        #expect(spool.retainedStdoutFrom == model.stdoutBefore(spool.retainedFrom))
        model.checkReads(spool, from: spool.retainedFrom)
        // From the middle of a record still in the file, past the index's entries.
        model.checkReads(spool, from: spool.retainedFrom + 5)
        model.checkReads(spool, from: spool.retainedFrom + (100 << 10) + 17)
        spool.removeFiles()
    }

    /// A next server takes a spool over from its file alone (no memory tail): the same end, per-stream
    /// counts, head and reads, after the ring wrapped; it goes on appending where the old one stopped;
    /// a file of another ring size, a damaged header or a damaged record is refused, and no file is an
    /// empty spool.
    @Test func aSpoolIsTakenOverFromItsFile() throws {
        let directory = Self.spoolDirectory()
        defer { rmdir(directory) }
        let path = "\(directory)/spool"
        var model = SpoolModel()
        do {
            var spool = ExecSpool(path: path, limit: 256 << 10, tailLimit: 16 << 10)
            for round in 0..<90 {
                model.append(&spool, isStdout: round % 3 != 1, size: 5_000 + 11 * round)
                // After every record, as a server killed right then leaves it: the file alone says all.
                if round % 7 == 0 {
                    let copy = "\(directory)/copy"
                    let bytes = try #require(FileManager.default.contents(atPath: path))
                    #expect(FileManager.default.createFile(atPath: copy, contents: bytes))
                    switch ExecSpool(recovering: copy, limit: 256 << 10, tailLimit: 16 << 10) {
                    case .some(let copied):
                        #expect(copied.end == model.end && copied.stdoutEnd == model.stdout, "round \(round)")
                        #expect(copied.retainedFrom == spool.retainedFrom, "round \(round)")
                    case .none:
                        Issue.record("round \(round): not taken over")
                    }
                    unlink(copy)
                }
            }
            #expect(spool.retainedFrom > 0)
        }
        guard var taken = ExecSpool(recovering: path, limit: 256 << 10, tailLimit: 16 << 10) else {
            Issue.record("the spool was not taken over")
            return
        }
        #expect(taken.end == model.end && taken.stdoutEnd == model.stdout)
        #expect(model.records.contains { $0.offset == taken.retainedFrom })
        #expect(taken.retainedStdoutFrom == model.stdoutBefore(taken.retainedFrom))
        model.checkReads(taken, from: taken.retainedFrom)
        model.checkReads(taken, from: taken.retainedFrom + (64 << 10) + 9)
        for round in 0..<10 { model.append(&taken, isStdout: round % 2 == 0, size: 9_000) }
        #expect(taken.end == model.end && taken.stdoutEnd == model.stdout)
        model.checkReads(taken, from: taken.retainedFrom)

        func takesOver(limit: Int = 256 << 10) -> Bool {
            switch ExecSpool(recovering: path, limit: limit, tailLimit: 16 << 10) {
            case .some: true
            case .none: false
            }
        }
        // A later server with another limit takes the ring over at its own size.
        switch ExecSpool(recovering: path, limit: 512 << 10, tailLimit: 16 << 10) {
        case .some(let other): #expect(other.limit == 256 << 10 && other.end == model.end)
        case .none: Issue.record("another limit refused the spool")
        }
        let fd = open(path, O_RDWR)
        defer { close(fd) }
        // A record's stream byte (the first record sits right after the 64-byte file header when the
        // ring's head is at its start; anywhere, a byte other than 1 or 2 there is refused).
        var header = [UInt8](repeating: 0, count: 64)
        #expect(pread(fd, &header, 64, 0) == 64)
        let head = (0..<8).reduce(UInt64(0)) { $0 | UInt64(header[16 + $1]) << (8 * $1) }
        var bad: UInt8 = 9
        #expect(pwrite(fd, &bad, 1, off_t(64 + Int(head % UInt64(256 << 10)))) == 1)
        #expect(!takesOver(), "a damaged record")
        bad = 0
        #expect(pwrite(fd, &bad, 1, 0) == 1)
        #expect(!takesOver(), "a damaged header")
        taken.removeFiles()
        guard let empty = ExecSpool(recovering: path, limit: 256 << 10, tailLimit: 16 << 10) else {
            Issue.record("no file is an empty spool")
            return
        }
        #expect(empty.end == 0 && empty.retainedFrom == 0)
    }

    /// Staged output across a kill at each point of a chunk's way (StagedOutput): a server killed
    /// after its spool committed chunk 1 but before dropping it from its stage, and after moving
    /// chunk 2 into the other stage but before spooling it; the next server's `takeOver` spools
    /// each byte exactly once, in order, and its stages go on from there.
    @Test func stagedOutputSurvivesAKillAtAnyStep() throws {
        let directory = Self.spoolDirectory()
        defer { rmdir(directory) }
        let path = "\(directory)/spool"
        let pipe = try LinuxCalls.makePipe(O_CLOEXEC | O_NONBLOCK)
        let source = [pipe.read, pipe.write]
        defer { for fd in source { close(fd) } }
        func write(_ text: String) {
            #expect(
                Array(text.utf8).withUnsafeBytes { Glibc.write(source[1], $0.baseAddress, $0.count) } == text.utf8.count
            )
        }
        let old = try StagedOutput(chunkSize: 64 << 10)
        do {
            var spool = ExecSpool(path: path, limit: 256 << 10, tailLimit: 16 << 10)
            for (index, text) in ["chunk zero;", "chunk one;"].enumerated() {
                write(text)
                guard
                    case .chunk(let bytes) = old.take(from: source[0], stream: 0, index: UInt64(index), limit: 1 << 16)
                else { Issue.record(Comment(rawValue: "no chunk \(index)")); return }
                spool.append(bytes, isStdout: true, staged: true)
                if index == 0 { old.drop(stream: 0, index: 0) }  // chunk one: killed before its drop
            }
            write("chunk two;")
            // Killed after moving chunk two into its stage, before spooling it.
            guard case .chunk = old.take(from: source[0], stream: 0, index: 2, limit: 1 << 16) else {
                Issue.record(Comment(rawValue: "no chunk two")); return
            }
            #expect(spool.stagedStdout == 2)
        }
        write("chunk three;")
        // The dead server's write ends go with it; the keeper's read ends come to the next server.
        for stage in old.stages.flatMap({ $0 }) { close(stage.write) }
        close(old.scratch.read)
        close(old.scratch.write)
        guard var spool = ExecSpool(recovering: path, limit: 256 << 10, tailLimit: 16 << 10) else {
            Issue.record(Comment(rawValue: "the spool was not taken over")); return
        }
        let next = try StagedOutput(chunkSize: 64 << 10)
        defer { next.close() }
        next.takeOver(old.keptDescriptors, into: &spool)
        for fd in old.keptDescriptors { close(fd) }
        #expect(spool.stagedStdout == 3)
        guard case .chunk(let three) = next.take(from: source[0], stream: 0, index: 3, limit: 1 << 16) else {
            Issue.record(Comment(rawValue: "no chunk three")); return
        }
        spool.append(three, isStdout: true, staged: true)
        next.drop(stream: 0, index: 3)
        var text = ""
        var offset: UInt64 = 0
        while case .chunk(let chunk) = spool.read(from: offset) {
            text += String(decoding: chunk.bytes, as: UTF8.self)
            offset += UInt64(chunk.bytes.count)
        }
        #expect(text == "chunk zero;chunk one;chunk two;chunk three;")
        spool.removeFiles()
    }

    /// A spool whose file cannot be written keeps only its memory tail; the stdout before the tail's
    /// first chunk comes from that chunk's per-stream offset.
    @Test func spoolCountsStdoutBeforeItsTailAfterAWriteFailure() {
        let directory = Self.spoolDirectory()
        defer { rmdir(directory) }
        // The file's directory does not exist: the first write fails.
        var spool = ExecSpool(path: "\(directory)/missing/spool", limit: 256 << 10, tailLimit: 16 << 10)
        var model = SpoolModel()
        for round in 0..<40 {
            model.append(&spool, isStdout: round % 4 != 1, size: 1_000 + 37 * round)
        }
        let failed = spool.failed
        #expect(failed)
        #expect(spool.end == model.end && spool.stdoutEnd == model.stdout)
        #expect(spool.retainedFrom > 0 && model.end - spool.retainedFrom <= 16 << 10 + 2_500)
        #expect(spool.retainedStdoutFrom == model.stdoutBefore(spool.retainedFrom))
        model.checkReads(spool, from: spool.retainedFrom)
        model.checkReads(spool, from: spool.retainedFrom + 3)
        // Starting on a stderr chunk derives it the other way round.
        model.append(&spool, isStdout: false, size: 20 << 10)
        #expect(spool.retainedStdoutFrom == model.stdout && spool.retainedFrom == model.end - (20 << 10))
    }
}
