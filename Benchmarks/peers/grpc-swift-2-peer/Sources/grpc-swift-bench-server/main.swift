// grpc-swift-bench-server: the echo service of scripts/bench-rpc on grpc-swift-2's GRPCServer with
// grpc-swift-nio-transport's HTTP2ServerTransport.Posix (plaintext, default configuration).
// `--port N` (0 picks one); `--window BYTES` sets the HTTP/2 target window (the transport's default is
// 64 KiB - 1; Execbox's server opens 1 MiB per stream). Prints `listening on PORT` once bound.
import GRPCCore
import GRPCNIOTransportHTTP2Posix

#if canImport(Glibc)
    import Glibc
#endif

var port = 0
var window: Int?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    guard let value = arguments.next(), let number = Int(value) else { fatalError("\(argument) needs a number") }
    switch argument {
    case "--port": port = number
    case "--window": window = number
    default: fatalError("unknown argument \(argument)")
    }
}

let transport = HTTP2ServerTransport.Posix(
    address: .ipv4(host: "127.0.0.1", port: port),
    transportSecurity: .plaintext,
    config: .defaults { config in
        if let window { config.http2.targetWindowSize = window }
    }
)
let server = GRPCServer(transport: transport, services: [EchoService()])
try await withThrowingDiscardingTaskGroup { group in
    group.addTask { try await server.serve() }
    let address = try await transport.listeningAddress
    print("listening on \(address.ipv4?.port ?? 0)")
    fflush(nil)
}
