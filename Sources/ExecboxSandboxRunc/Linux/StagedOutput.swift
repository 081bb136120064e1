import CExecboxAgent
import Glibc

/// Moves an exec's output from its pipes into its spool with no moment where a byte is in neither,
/// so a server killed at any instruction loses nothing (the sandbox monitor keeps every pipe open;
/// see "Execs across a restart" in docs/sandbox.md).
///
/// A plain `read` takes bytes off the pipe before the spool has them. Instead, per stream, a chunk is
/// `splice`d from the process's pipe into one of two staging pipes (the keeper holds their read
/// ends), duplicated with `tee` into a scratch pipe and read from there, appended to the spool (the
/// spool's header write commits it and counts it: chunk k of a stream goes through staging pipe
/// k % 2), and only then dropped from the staging pipe (`splice` to /dev/null). A next server reads
/// the count from the spool: the staging pipe of the last committed chunk holds nothing or that
/// chunk (drop it), the other one nothing or the next chunk, not yet committed (spool it). One
/// header write per chunk, as without staging; three more system calls per chunk.
struct StagedOutput: Sendable {
    struct Stage: Sendable {
        var read: Int32
        var write: Int32
    }

    /// Stages per stream (0 stdout, 1 stderr), two each, used alternately.
    let stages: [[Stage]]
    let scratch: Stage
    /// The largest chunk a stage holds (its capacity; the scratch pipe holds at least as much).
    let capacity: Int

    private static let devNull = open("/dev/null", O_WRONLY | O_CLOEXEC)

    /// Five pipes, non-blocking, sized for `chunkSize` bytes.
    init(chunkSize: Int) throws(SystemError) {
        var made: [Stage] = []
        func pipePair() throws(SystemError) -> Stage {
            let stage: Stage
            do {
                let pipe = try LinuxCalls.makePipe(O_CLOEXEC | O_NONBLOCK)
                stage = Stage(read: pipe.read, write: pipe.write)
            } catch {
                for stage in made { Self.close(stage) }
                throw error
            }
            made.append(stage)
            return stage
        }
        let all = [try pipePair(), try pipePair(), try pipePair(), try pipePair()]
        let scratch = try pipePair()
        // Every stage's capacity at least `chunkSize` (rounded up by the kernel), the scratch pipe's
        // at least the largest stage's, so a `tee` of a whole stage always fits.
        var capacity = Int.max
        for stage in all {
            let size = Int(execbox_set_pipe_size(stage.write, Int32(chunkSize)))
            capacity = min(capacity, size > 0 ? size : Int(fcntl(stage.write, 1032 /* F_GETPIPE_SZ */)))
        }
        let scratchSize = Int(execbox_set_pipe_size(scratch.write, Int32(2 * chunkSize)))
        guard capacity > 0, scratchSize >= capacity else {
            for stage in made { Self.close(stage) }
            throw SystemError("F_SETPIPE_SZ", errno: ENOMEM)
        }
        self.stages = [[all[0], all[1]], [all[2], all[3]]]
        self.scratch = scratch
        self.capacity = capacity
    }

    /// The read ends the keeper holds: stdout's two stages, then stderr's.
    var keptDescriptors: [Int32] { stages.flatMap { $0.map(\.read) } }

    func close() {
        for stage in stages.flatMap({ $0 }) + [scratch] { Self.close(stage) }
    }

    private static func close(_ stage: Stage) {
        Glibc.close(stage.read)
        Glibc.close(stage.write)
    }

    enum Take {
        /// A chunk, copied out of its stage (which still holds it until `drop`).
        case chunk([UInt8])
        /// The process's pipe is at end of file.
        case end
        /// Nothing to read now (EAGAIN).
        case notReady
        case failed(Int32)
    }

    /// Moves up to `limit` bytes from `source` into the stage of chunk `index` of `stream` and
    /// copies them out.
    func take(from source: Int32, stream: Int, index: UInt64, limit: Int) -> Take {
        let stage = stages[stream][Int(index % 2)]
        let moved = execbox_splice(source, stage.write, min(limit, capacity), 1)
        if moved == 0 { return .end }
        if moved < 0 { return errno == EAGAIN ? .notReady : .failed(errno) }
        return copy(stage.read, count: Int(moved))
    }

    /// Copies the `count` bytes a stage holds (through the scratch pipe, leaving them in the stage).
    func copy(_ stage: Int32, count: Int) -> Take {
        let teed = execbox_tee(stage, scratch.write, count)
        guard teed == count else { return .failed(teed < 0 ? errno : EIO) }
        var done = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            while done < count {
                let result = read(scratch.read, buffer.baseAddress! + done, count - done)
                if result < 0, errno == EINTR { continue }
                guard result > 0 else { break }
                done += result
            }
            initialized = done
        }
        return done == count ? .chunk(bytes) : .failed(EIO)
    }

    /// Empties a dead server's stages (`old`: stdout's two, then stderr's two, as the keeper held
    /// them) into the spool it left: per stream, the stage of the last chunk the spool counts is
    /// dropped (it holds that chunk or nothing), and what the other one holds — the next chunk, not
    /// yet spooled — is spooled, then dropped. A server killed meanwhile leaves a state the same
    /// rule reads right.
    func takeOver(_ old: [Int32], into spool: inout ExecSpool) {
        precondition(old.count == 4)
        for (stream, isStdout) in [(0, true), (1, false)] {
            let count = isStdout ? spool.stagedStdout : spool.stagedStderr
            if count > 0 { Self.drain(old[2 * stream + Int((count - 1) % 2)]) }
            let limit = spool.maxRecord
            spoolPending(old[2 * stream + Int(count % 2)], limit: limit) {
                spool.append($0, isStdout: isStdout, staged: true)
            }
        }
    }

    /// Spools (through `commit`) what a dead server's stage holds, piece by piece, each dropped
    /// from the stage once committed.
    private func spoolPending(_ old: Int32, limit: Int, commit: ([UInt8]) -> Void) {
        while case let count = Int(execbox_readable_bytes(old)), count > 0 {
            // A stage larger than the scratch pipe (another configuration) goes in scratch-sized pieces.
            let piece = min(count, capacity, limit)
            guard case .chunk(let bytes) = copy(old, count: piece) else { return Self.drain(old) }
            commit(bytes)
            var left = piece
            while left > 0 {
                let dropped = execbox_splice(old, Self.devNull, left, 1)
                guard dropped > 0 else { return }
                left -= dropped
            }
        }
    }

    /// Drops what the stage of chunk `index` of `stream` holds, once the spool committed it.
    func drop(stream: Int, index: UInt64) {
        Self.drain(stages[stream][Int(index % 2)].read)
    }

    /// Empties a stage (a next server's view of a dead server's stage too: at end of file once empty,
    /// since nobody writes to it any more).
    static func drain(_ stage: Int32) {
        var buffer: [UInt8] = []
        while true {
            let dropped = execbox_splice(stage, devNull, 1 << 20, 1)
            if dropped > 0 { continue }
            if dropped == 0 || errno == EAGAIN { return }
            // /dev/null refused the splice (never on Linux ≥ 2.6.31): read it away instead.
            if buffer.isEmpty { buffer = [UInt8](repeating: 0, count: 64 << 10) }
            guard read(stage, &buffer, buffer.count) > 0 else { return }
        }
    }
}
