import ExecboxGRPC
import ExecboxHTTP2
import Glibc

/// `execbox-bench-gateway --server HOST:PORT --key-file F [options]`: one running `execbox-server`
/// driven through its REST /v1 gateway (HTTP/1.1 keep-alive + the exec WebSocket, ours) and through
/// gRPC (the generated clients over our HTTP/2 client, the peer), alternately. Progress on stderr;
/// INFO and `BENCH` lines on stdout (scripts/bench-gateway).
@main
struct BenchGateway {
    struct Options {
        var host = ""
        var port = 0
        var keyFile = ""
        /// The server's pid, for its CPU time.
        var serverPID: Int32?
        var loops = 100
        var warmup = 3
        var throughputRounds = 9
        var throughputSize = "256M"
        /// `rest` or `grpc` to run one side only (for profiling); both when nil.
        var only: String?

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
                guard let number = Int(text), number >= 0 else { throw BenchFailure("not a number ≥ 0: \(text)") }
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
                case "--server-pid": options.serverPID = Int32(try number())
                case "--loops": options.loops = try number()
                case "--warmup": options.warmup = try number()
                case "--throughput-rounds": options.throughputRounds = try number()
                case "--throughput-size": options.throughputSize = try value()
                case "--only":
                    let side = try value()
                    guard side == "rest" || side == "grpc" else { throw BenchFailure("--only takes rest or grpc") }
                    options.only = side
                default: throw BenchFailure("unknown argument \(arguments[index])")
                }
                index += 1
            }
            guard options.port > 0 else { throw BenchFailure("--server is required") }
            guard !options.keyFile.isEmpty else { throw BenchFailure("--key-file is required") }
            return options
        }
    }

    static func main() async {
        let options: Options
        let key: String
        do {
            options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
            key = try Files.key(options.keyFile)
        } catch {
            Log.progress("\(error)")
            exit(2)
        }
        let report: Report
        do {
            let transport = try await GRPCClientTransport.connect(host: options.host, port: options.port)
            let grpc = GRPCSide(transport: transport, key: key)
            let rest = RESTSide(host: options.host, port: options.port, key: key)
            let benchmark = GatewayBenchmark(options: options, rest: rest, grpc: grpc)
            do {
                report = try await benchmark.run()
            } catch {
                // Kill whatever this run left running before failing.
                for id in (try? await grpc.live()) ?? [] { try? await grpc.kill(id) }
                throw error
            }
            await rest.rest.close()
            try? await transport.connection.close()
        } catch {
            Log.progress("failed: \(error)")
            exit(1)
        }
        for note in report.notes { Log.progress(note) }
        for line in report.information { print(line) }
        for comparison in report.comparisons { print(comparison.line) }
    }
}
