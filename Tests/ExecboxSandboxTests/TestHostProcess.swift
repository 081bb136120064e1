import Glibc

/// A child process whose stdout the test reads line by line: `ExecboxSandboxTestHost` (built next to
/// the test binary), killed with SIGKILL like a crashed server, or a helper such as a listener.
final class TestHostProcess {
    let pid: pid_t
    private let stdout: Int32
    private var buffered: [UInt8] = []

    static var executable: String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        let path = String(decoding: buffer[0..<max(count, 0)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        return "\(directory)/ExecboxSandboxTestHost"
    }

    /// Runs the test host with `arguments`.
    convenience init(_ arguments: [String]) throws {
        try self.init(executable: Self.executable, arguments)
    }

    init(executable: String, _ arguments: [String]) throws {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw TestHostError("pipe failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        close(fds[1])
        guard result == 0 else {
            close(fds[0])
            throw TestHostError("cannot start \(executable): \(result)")
        }
        self.pid = pid
        self.stdout = fds[0]
    }

    deinit {
        Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(stdout)
    }

    /// The next line the host printed (blocking; the host prints within seconds or dies).
    func readLine() throws -> String {
        while true {
            if let newline = buffered.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffered[..<newline], as: UTF8.self)
                buffered.removeSubrange(...newline)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = read(stdout, &chunk, chunk.count)
            guard count > 0 else {
                throw TestHostError("the test host ended: \(String(decoding: buffered, as: UTF8.self))")
            }
            buffered += chunk[0..<count]
        }
    }

    /// SIGKILL, as a crash; reaps it.
    func crash() {
        Glibc.kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }
}

struct TestHostError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
