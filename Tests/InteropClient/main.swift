// execbox-interop-client: gRPC's interop test cases run with the generated TestService client
// over GRPCClientTransport against any interop server (plaintext h2c).
//
//   execbox-interop-client --server-port N [--server-host H] --test-case NAME|all
//       [--soak-iterations N] [--concurrency N]
//
// The interop runners' spelling (`--server_port=N`, `--test_case=NAME`) works too. Prints
// `PASS name` per case; the first failure prints `FAIL name: what differed` and exits 1.
import ExecboxGRPC
import ExecboxHTTP2

#if canImport(Glibc)
    import Glibc
#endif

func usage(_ problem: String) -> Never {
    print("execbox-interop-client: \(problem)")
    print("usage: execbox-interop-client --server-port N [--server-host H] --test-case NAME|all")
    print("cases: \(InteropCase.all.map(\.name).joined(separator: " "))")
    exit(2)
}

var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    guard argument.hasPrefix("--") else { usage("unexpected argument \(argument)") }
    var name = Substring(argument.dropFirst(2))
    var value: String?
    if let equals = name.firstIndex(of: "=") {
        value = String(name[name.index(after: equals)...])
        name = name[..<equals]
    }
    guard let value = value ?? arguments.next() else { usage("--\(name) needs a value") }
    options[String(name.map { $0 == "_" ? "-" : $0 })] = value
}

guard let port = options["server-port"].flatMap({ Int($0) }) else { usage("--server-port is required") }
guard let caseName = options["test-case"] else { usage("--test-case is required") }
if let tls = options["use-tls"], tls != "false" { usage("only plaintext is supported (--use-tls false)") }
let host = options["server-host"] ?? "127.0.0.1"
let selected = caseName == "all" ? InteropCase.all : InteropCase.all.filter { $0.name == caseName }
guard !selected.isEmpty else { usage("unknown test case \(caseName)") }

let transport: GRPCClientTransport
do {
    transport = try await GRPCClientTransport.connect(host: host, port: port)
} catch {
    print("FAIL \(caseName): cannot connect to \(host):\(port): \(error)")
    exit(1)
}
let context = InteropContext(
    host: host,
    port: port,
    transport: transport,
    soakIterations: options["soak-iterations"].flatMap { Int($0) } ?? 10,
    concurrency: options["concurrency"].flatMap { Int($0) } ?? 100
)
for testCase in selected {
    do {
        try await testCase.run(context)
        print("PASS \(testCase.name)")
    } catch {
        print("FAIL \(testCase.name): \(error)")
        fflush(nil)
        exit(1)
    }
    fflush(nil)
}
try? await transport.connection.close()
