import Glibc

/// What went wrong in the benchmark itself (not a measurement).
struct BenchFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}

/// Process plumbing shared by the benchmark and its peer runner.
enum Spawn {
    private typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32

    /// `prctl` is variadic, so Swift does not import it; it is looked up in the running libc (a
    /// fixed-arity call is sound on the x86_64 and arm64 ABIs, as in ExecboxSandboxRunc).
    static func becomeChildSubreaper() -> Bool {
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, "prctl") else { return false }
        return unsafeBitCast(pointer, to: Prctl.self)(36, 1, 0, 0, 0) == 0  // PR_SET_CHILD_SUBREAPER
    }

    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32

    /// `pipe2` is not in the Glibc module map either.
    private static let pipe2: Pipe2? = {
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, "pipe2") else { return nil }
        return unsafeBitCast(pointer, to: Pipe2.self)
    }()

    /// A pipe whose ends are both close-on-exec: `(read, write)`.
    static func pipe() throws -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        guard let pipe2, pipe2(&fds, O_CLOEXEC) == 0 else {
            throw BenchFailure("pipe2: \(String(cString: strerror(errno)))")
        }
        return (fds[0], fds[1])
    }

    /// Starts `argv` (looked up in PATH) with the given stdin and stdout, this process's stderr and
    /// default signal dispositions and mask.
    static func start(_ argv: [String], stdin: Int32, stdout: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
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

    /// Writes all of `bytes`.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { throw BenchFailure("write: \(String(cString: strerror(errno)))") }
            offset += written
        }
    }

    /// Reads one line (without its newline) from `fd`, a byte at a time; nil at end of file.
    static func readLine(_ fd: Int32) -> String? {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let count = read(fd, &byte, 1)
            if count < 0, errno == EINTR { continue }
            if count <= 0 { return line.isEmpty ? nil : String(decoding: line, as: UTF8.self) }
            if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
    }

    static func monotonicNanoseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}
