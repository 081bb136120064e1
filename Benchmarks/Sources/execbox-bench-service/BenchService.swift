import ExecboxGRPC
import ExecboxHTTP2
import ExecboxSandbox
import ExecboxSandboxRunc
import Glibc
import Logging

/// `execbox-bench-service --server HOST:PORT --key-file F --namespace NAME --spool DIR [options]`: a
/// running `execbox-server serve --backend runc` (through the generated clients over our HTTP/2
/// client) against an in-process runc backend with host-wide names of its own, alternating the two.
/// Progress on stderr; an INFO line and `BENCH` lines on stdout (scripts/bench-service).
@main
struct BenchService {
    struct Options {
        var host = ""
        var port = 0
        var keyFile = ""
        var namespace = ""
        var spool = ""
        var monitor: String?
        /// The exec agent the server also finds next to itself (none: `runc exec` per process).
        var agent: String?
        /// The server's pid, for its CPU time in the throughput rounds.
        var serverPID: Int32?
        var runc = "/usr/sbin/runc"
        var sequential = 100
        var burst = 50
        var burstRounds = 3
        var execs = 200
        var throughputRounds = 5
        var throughputSize = "1G"
        var warmup = 3

        static func parse(_ arguments: [String]) throws -> Options {
            var options = Options()
            var index = 0
            func value() throws -> String {
                index += 1
                guard index < arguments.count else { throw BenchFailure("\(arguments[index - 1]) needs a value") }
                return arguments[index]
            }
            func number() throws -> Int {
                let text = try value()
                guard let number = Int(text), number > 0 else { throw BenchFailure("not a positive number: \(text)") }
                return number
            }
            while index < arguments.count {
                switch arguments[index] {
                case "--server":
                    let text = try value()
                    guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
                        throw BenchFailure("--server takes HOST:PORT, not \(text)")
                    }
                    options.host = String(text[..<colon])
                    options.port = port
                case "--key-file": options.keyFile = try value()
                case "--namespace": options.namespace = try value()
                case "--spool": options.spool = try value()
                case "--monitor": options.monitor = try value()
                case "--agent": options.agent = try value()
                case "--server-pid": options.serverPID = Int32(try number())
                case "--runc": options.runc = try value()
                case "--sequential": options.sequential = try number()
                case "--burst": options.burst = try number()
                case "--burst-rounds": options.burstRounds = try number()
                case "--execs": options.execs = try number()
                case "--throughput-rounds": options.throughputRounds = try number()
                case "--throughput-size": options.throughputSize = try value()
                case "--warmup": options.warmup = try number()
                default: throw BenchFailure("unknown argument \(arguments[index])")
                }
                index += 1
            }
            for (flag, given) in [
                ("--server", options.port > 0), ("--key-file", !options.keyFile.isEmpty),
                ("--namespace", !options.namespace.isEmpty), ("--spool", !options.spool.isEmpty),
            ] where !given {
                throw BenchFailure("\(flag) is required")
            }
            return options
        }
    }

    static func main() async throws {
        let options: Options
        let key: String
        do {
            options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
            key = try readKey(options.keyFile)
        } catch {
            Log.progress("\(error)")
            exit(2)
        }
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "execbox.bench.service")
        logger.logLevel = .warning

        var configuration = BackendBench.configuration(
            namespace: options.namespace, spool: options.spool, monitor: options.monitor,
            agent: options.agent)
        configuration.runtimePath = options.runc
        let backend = try await RuncBackend.make(configuration: configuration, logger: logger)
        Log.progress(
            "backend: \(backend.version.map { "\($0)" } ?? "no runc"), namespace \(options.namespace), monitor "
                + (options.monitor ?? "none") + ", agent " + (options.agent ?? "none"))
        let outcome: Result<Report, any Error>
        do {
            let transport = try await GRPCClientTransport.connect(host: options.host, port: options.port)
            let report = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await backend.run() }
                defer { group.cancelAll() }
                while await backend.health().status != .serving { try await Task.sleep(for: .milliseconds(1)) }
                let benchmark = ServiceBenchmark(
                    options: options, stack: StackBench(transport: transport, key: key),
                    backend: BackendBench(backend: backend))
                return try await benchmark.run()
            }
            try? await transport.connection.close()
            outcome = .success(report)
        } catch {
            outcome = .failure(error)
        }
        // run() has ended: every sandbox is destroyed; remove the backend's host state.
        await backend.removeHostNetworkState()
        RuncBackend.removeImageFiles(configuration)
        RuncBackend.removeSpoolFiles(configuration)
        removeCgroupParent(configuration.cgroupParent)
        for directory in ["runc", "sandboxes", "images", ""] { rmdir("/run/\(options.namespace)/\(directory)") }
        rmdir(options.spool)

        switch outcome {
        case .failure(let error):
            Log.progress("failed: \(error)")
            exit(1)
        case .success(let report):
            for note in report.notes { Log.progress(note) }
            for target in report.targets {
                Log.progress("target \(target.what): \(target.met ? "met" : "MISSED") (\(target.measured))")
            }
            for line in report.information { print(line) }
            for comparison in report.comparisons { print(comparison.line) }
        }
    }

    /// The first line of the bootstrap key file.
    static func readKey(_ path: String) throws -> String {
        guard let bytes = readFile(path) else {
            throw BenchFailure("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        let line = bytes.prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }
        guard !line.isEmpty else { throw BenchFailure("\(path) holds no key") }
        return String(decoding: line, as: UTF8.self)
    }

    /// The whole file, or nil when it cannot be opened.
    static func readFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return bytes }
            bytes += buffer[0..<count]
        }
    }

    /// The backend's cgroup parent in every hierarchy (the backend leaves the empty parents).
    static func removeCgroupParent(_ parent: String) {
        guard let root = opendir("/sys/fs/cgroup") else { return }
        defer { closedir(root) }
        while let entry = readdir(root) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if entry.pointee.d_type == UInt8(DT_DIR), !name.hasPrefix(".") { rmdir("/sys/fs/cgroup/\(name)/\(parent)") }
        }
        rmdir("/sys/fs/cgroup/\(parent)")
    }
}
