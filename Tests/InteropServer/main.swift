// execbox-interop-server: gRPC's interop TestService (grpc.testing) served as gRPC over
// ExecboxHTTP2 in plaintext h2c on 127.0.0.1, for stock interop clients and the Python grpcio
// tests in Tests/GRPCInterop. `--port 0` picks a free port; prints `listening on 127.0.0.1:PORT`
// once bound.
import ExecboxGRPC
import ExecboxHTTP2
import ExecboxRPC
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

var port = 0
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    // Both spellings: ours (`--port N`) and the interop runners' (`--port=N`).
    if argument == "--port", let value = arguments.next(), let number = Int(value) {
        port = number
    } else if argument.hasPrefix("--port="), let number = Int(argument.dropFirst("--port=".count)) {
        port = number
    } else {
        print("usage: execbox-interop-server --port N")
        exit(2)
    }
}

let router = RPCRouter(services: [InteropTestService()], interceptors: [EchoMetadataInterceptor()])
let grpc = GRPCServer(router: router)
let server = try await HTTP2Server.bind(host: "127.0.0.1", port: port)
print("listening on 127.0.0.1:\(server.localAddress.port!)")
fflush(nil)
try await server.run(handler: grpc.handler)
