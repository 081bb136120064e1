import ExecboxGRPC
import ExecboxHTTP2
import Glibc

/// `execbox-bench-images --server HOST:PORT --key-file F --image REF --context DIR --repository R
/// [options]`: images on a running `execbox-server serve --backend runc` (through the generated
/// clients over our HTTP/2 client) against podman with runc on the same busybox image, alternating
/// the two. Progress on stderr; INFO and `BENCH` lines on stdout (scripts/bench-images).
@main
struct BenchImages {
    struct Options {
        var host = ""
        var port = 0
        var keyFile = ""
        /// The busybox image's name, the same on both sides (`localhost/…:latest`).
        var image = ""
        /// podman's build context (this run's scratch directory).
        var context = ""
        /// podman tags every image it builds `<repository>:<label>`.
        var repository = ""
        /// Part of every setup line, so that no two runs share a content id.
        var nonce = "0"
        var podman = "podman"
        var sequential = 20
        var builds = 10
        var buildRuns = 10
        var warmup = 2

        static func parse(_ arguments: [String]) throws -> Options {
            var options = Options()
            var index = 0
            func value() throws -> String {
                index += 1
                guard index < arguments.count else { throw BenchFailure("\(arguments[index - 1]) needs a value") }
                return arguments[index]
            }
            func number(allowZero: Bool = false) throws -> Int {
                let text = try value()
                guard let number = Int(text), number > 0 || (allowZero && number == 0) else {
                    throw BenchFailure("not a positive number: \(text)")
                }
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
                case "--image": options.image = try value()
                case "--context": options.context = try value()
                case "--repository": options.repository = try value()
                case "--nonce": options.nonce = try value()
                case "--podman": options.podman = try value()
                case "--sequential": options.sequential = try number()
                case "--builds": options.builds = try number()
                case "--build-runs": options.buildRuns = try number()
                case "--warmup": options.warmup = try number(allowZero: true)
                default: throw BenchFailure("unknown argument \(arguments[index])")
                }
                index += 1
            }
            for (flag, given) in [
                ("--server", options.port > 0), ("--key-file", !options.keyFile.isEmpty),
                ("--image", !options.image.isEmpty), ("--context", !options.context.isEmpty),
                ("--repository", !options.repository.isEmpty),
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
        let outcome: Result<Report, any Error>
        do {
            let transport = try await GRPCClientTransport.connect(host: options.host, port: options.port)
            let podman = PodmanPeer(podman: options.podman, context: options.context, repository: options.repository)
            let benchmark = ImagesBenchmark(
                options: options, stack: StackClient(transport: transport, key: key), podman: podman)
            outcome = .success(try await benchmark.run())
            try? await transport.connection.close()
        } catch {
            outcome = .failure(error)
        }
        switch outcome {
        case .failure(let error):
            Log.progress("failed: \(error)")
            exit(1)
        case .success(let report):
            for note in report.notes { Log.progress(note) }
            for line in report.information { print(line) }
            for comparison in report.comparisons { print(comparison.line) }
        }
    }

    /// The first line of the bootstrap key file.
    static func readKey(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw BenchFailure("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += buffer[0..<count]
        }
        let line = bytes.prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }
        guard !line.isEmpty else { throw BenchFailure("\(path) holds no key") }
        return String(decoding: line, as: UTF8.self)
    }
}
