import Dispatch
import Glibc

/// Runs a peer command (podman) to its end, on a thread of its own so that the cooperative pool is
/// never blocked: stdin from /dev/null, stdout on a pipe (kept and timed), stderr on a pipe (kept
/// for the error message).
enum Spawn {
    struct Outcome: Sendable {
        /// From just before the start to the first stdout byte; nil when it wrote nothing.
        var firstByte: Duration?
        /// From just before the start to the process having been reaped.
        var exit: Duration
        var waitStatus: Int32
        var stdout: [UInt8]
        var stderr: [UInt8]

        var succeeded: Bool { waitStatus == 0 }
        var output: String { String(decoding: stdout, as: UTF8.self) }

        /// Why it failed, for a BenchFailure.
        func failure(_ argv: [String]) -> String {
            let detail = String(decoding: stderr.suffix(600), as: UTF8.self)
            return
                "\(argv.joined(separator: " ")): wait status \(waitStatus), \(stdout.count) bytes of output; \(detail)"
        }
    }

    static func run(_ argv: [String]) async throws -> Outcome {
        let outcome: Result<Outcome, BenchFailure> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                do {
                    continuation.resume(returning: .success(try runBlocking(argv)))
                } catch let error as BenchFailure {
                    continuation.resume(returning: .failure(error))
                } catch {
                    continuation.resume(returning: .failure(BenchFailure("\(error)")))
                }
            }
        }
        return try outcome.get()
    }

    private static func runBlocking(_ argv: [String]) throws -> Outcome {
        let devNull = open("/dev/null", O_RDONLY | O_CLOEXEC)
        guard devNull >= 0 else { throw BenchFailure("/dev/null: \(String(cString: strerror(errno)))") }
        defer { close(devNull) }
        let (outRead, outWrite) = try pipe()
        let (errRead, errWrite) = try pipe()
        let clock = ContinuousClock()
        let start = clock.now
        let pid: pid_t
        do {
            pid = try self.start(argv, stdin: devNull, stdout: outWrite, stderr: errWrite)
        } catch {
            for fd in [outRead, outWrite, errRead, errWrite] { close(fd) }
            throw error
        }
        close(outWrite)
        close(errWrite)
        var result = Outcome(firstByte: nil, exit: .zero, waitStatus: 0, stdout: [], stderr: [])
        var open = [outRead, errRead]
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while !open.isEmpty {
            var descriptors = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&descriptors, nfds_t(descriptors.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                throw BenchFailure("poll: \(String(cString: strerror(errno)))")
            }
            for descriptor in descriptors where descriptor.revents != 0 {
                let count = read(descriptor.fd, &buffer, buffer.count)
                if count > 0 {
                    if descriptor.fd == outRead {
                        if result.firstByte == nil { result.firstByte = clock.now - start }
                        result.stdout += buffer[0..<count]
                    } else {
                        result.stderr += buffer[0..<count]
                    }
                } else if count == 0 || errno != EINTR {
                    close(descriptor.fd)
                    open.removeAll { $0 == descriptor.fd }
                }
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        result.exit = clock.now - start
        result.waitStatus = status
        return result
    }

    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32

    /// `pipe2` is not in the Glibc module map.
    private static let pipe2: Pipe2? = {
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, "pipe2") else { return nil }
        return unsafeBitCast(pointer, to: Pipe2.self)
    }()

    /// A pipe whose ends are both close-on-exec: `(read, write)`.
    private static func pipe() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        guard let pipe2, pipe2(&fds, O_CLOEXEC) == 0 else {
            throw BenchFailure("pipe2: \(String(cString: strerror(errno)))")
        }
        return (fds[0], fds[1])
    }

    /// Starts `argv` (looked up in PATH) with default signal dispositions and mask.
    private static func start(_ argv: [String], stdin: Int32, stdout: Int32, stderr: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGINT, SIGTERM, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        let arguments: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for argument in arguments { free(argument) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, argv[0], &actions, &attributes, arguments, environ)
        guard result == 0 else { throw BenchFailure("cannot start \(argv[0]): \(String(cString: strerror(result)))") }
        return pid
    }
}
