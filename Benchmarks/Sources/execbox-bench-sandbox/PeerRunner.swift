import Dispatch
import Glibc

/// Runs the peer commands (podman, runc, a shell pipe) in a process of its own.
///
/// The benchmark process hosts the runc backend, which makes it a child subreaper: every process
/// orphaned below it (podman's conmon, for one) would become its child and stay a zombie, since
/// the backend waits only for its own pids. The runner is a subreaper itself, so the peers' orphans
/// become its children instead and it reaps them all.
///
/// Protocol, one line each way: `<copies>\t<argv0>\t<argv1>…` starts that many copies at once with
/// stdin from /dev/null and stdout on a pipe; the answer has one `<first byte ns>:<exit ns>:<wait
/// status>:<stdout bytes>` per copy, separated by spaces, times counted from just before the first
/// copy was started (first byte -1 when a copy wrote nothing).
struct PeerRunner: Sendable {
    let pid: pid_t
    let commands: Int32
    let answers: Int32

    struct Result: Sendable {
        var firstByte: Duration?
        var exit: Duration
        var waitStatus: Int32
        var bytes: Int

        var succeeded: Bool { waitStatus == 0 }
    }

    /// Starts this executable again as `peer-runner`.
    static func start() throws -> PeerRunner {
        var path = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &path, path.count - 1)
        guard length > 0 else { throw BenchFailure("cannot read /proc/self/exe") }
        let executable = String(decoding: path.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let (commandRead, commandWrite) = try Spawn.pipe()
        let (answerRead, answerWrite) = try Spawn.pipe()
        let pid = try Spawn.start([executable, "peer-runner"], stdin: commandRead, stdout: answerWrite)
        close(commandRead)
        close(answerWrite)
        return PeerRunner(pid: pid, commands: commandWrite, answers: answerRead)
    }

    /// Runs `copies` copies of `argv` at once and returns how each went.
    func run(_ argv: [String], copies: Int = 1) async throws -> [Result] {
        let line = "\(copies)\t\(argv.joined(separator: "\t"))\n"
        let commands = commands
        let answers = answers
        let answer: String? = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                guard (try? Spawn.writeAll(commands, Array(line.utf8))) != nil else {
                    continuation.resume(returning: nil)
                    return
                }
                continuation.resume(returning: Spawn.readLine(answers))
            }
        }
        guard let answer, !answer.hasPrefix("error") else {
            throw BenchFailure("peer runner: \(answer ?? "no answer") for \(argv.joined(separator: " "))")
        }
        let results = answer.split(separator: " ").compactMap { entry -> Result? in
            let fields = entry.split(separator: ":").compactMap { Int64($0) }
            guard fields.count == 4 else { return nil }
            return Result(
                firstByte: fields[0] < 0 ? nil : .nanoseconds(fields[0]),
                exit: .nanoseconds(fields[1]),
                waitStatus: Int32(fields[2]),
                bytes: Int(fields[3])
            )
        }
        guard results.count == copies else {
            throw BenchFailure("peer runner: malformed answer \(answer)")
        }
        return results
    }

    /// Ends the runner (it reaps what is left) and waits for it.
    func finish() {
        close(commands)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        close(answers)
    }
}

/// The `peer-runner` side of `PeerRunner`.
enum PeerRunnerProcess {
    static func main() -> Int32 {
        guard Spawn.becomeChildSubreaper() else {
            Log.progress("peer runner: cannot become a child subreaper")
            return 1
        }
        signal(SIGPIPE, SIG_IGN)
        while let line = Spawn.readLine(0) {
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            var answer = "error: malformed command"
            if fields.count > 1, let copies = Int(fields[0]), copies > 0 {
                do {
                    answer = try run(Array(fields.dropFirst()), copies: copies)
                } catch {
                    answer = "error: \(error)"
                }
            }
            guard (try? Spawn.writeAll(1, Array((answer + "\n").utf8))) != nil else { break }
            reapOrphans(until: nil)
        }
        reapOrphans(until: Spawn.monotonicNanoseconds() + 10_000_000_000)
        return 0
    }

    static func run(_ argv: [String], copies: Int) throws -> String {
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        defer { close(devNull) }
        var pids: [pid_t] = []
        var outputs: [Int32] = []
        let start = Spawn.monotonicNanoseconds()
        for _ in 0..<copies {
            let (read, write) = try Spawn.pipe()
            pids.append(try Spawn.start(argv, stdin: devNull, stdout: write))
            close(write)
            outputs.append(read)
        }
        var firstByte = [Int64](repeating: -1, count: copies)
        var bytes = [Int](repeating: 0, count: copies)
        var open = Array(0..<copies)
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while !open.isEmpty {
            var descriptors = open.map { pollfd(fd: outputs[$0], events: Int16(POLLIN), revents: 0) }
            let ready = poll(&descriptors, nfds_t(descriptors.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                throw BenchFailure("poll: \(String(cString: strerror(errno)))")
            }
            var closed: Set<Int> = []
            for (slot, descriptor) in descriptors.enumerated() where descriptor.revents != 0 {
                let copy = open[slot]
                let count = read(descriptor.fd, &buffer, buffer.count)
                if count > 0 {
                    if firstByte[copy] < 0 { firstByte[copy] = Spawn.monotonicNanoseconds() - start }
                    bytes[copy] += count
                } else if count == 0 || errno != EINTR {
                    close(descriptor.fd)
                    closed.insert(copy)
                }
            }
            open.removeAll { closed.contains($0) }
        }
        var entries: [String] = []
        for (copy, pid) in pids.enumerated() {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            entries.append("\(firstByte[copy]):\(Spawn.monotonicNanoseconds() - start):\(status):\(bytes[copy])")
        }
        return entries.joined(separator: " ")
    }

    /// Reaps every orphan that has ended; with a deadline, waits for the remaining ones until then.
    static func reapOrphans(until deadline: Int64?) {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid > 0 { continue }
            if pid < 0, errno == EINTR { continue }
            if pid < 0 { return }  // ECHILD: nothing left
            guard let deadline, Spawn.monotonicNanoseconds() < deadline else { return }
            usleep(10_000)
        }
    }
}
