// execbox-grpc-testclient: the generated FeatureService client over GRPCClientTransport, run
// against any gRPC server on 127.0.0.1:PORT (the interop tests start a Python grpcio server).
// Prints one line per check, `name key=value…`, for the caller to assert on.
import ExecboxFixtures
import ExecboxGRPC
import ExecboxHTTP2
import ExecboxRPC
import ExecboxWire

typealias Nested = Execbox_Fixtures_V1_Nested

var port = 0
var host = "127.0.0.1"
var trustRoots: String?
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--port": if let value = arguments.next(), let number = Int(value) { port = number }
    case "--host": host = arguments.next() ?? host
    case "--tls-ca": trustRoots = arguments.next()
    default: break
    }
}

// With --tls-ca the server's certificate is verified against that root and `host`.
let tls = trustRoots.map { TLSConfiguration.client(trustRootsFile: $0) }
let transport = try await GRPCClientTransport.connect(host: host, port: port, tls: tls)
let client = Execbox_Fixtures_V1_FeatureServiceClient(transport: transport)

var metadata = Metadata()
metadata.add("x-greeting", "hi")
metadata.add("x-blob-bin", .binary([0, 1, 2, 255]))
let unary = try await client.unary(Nested.with { $0.id = 1 }, metadata: metadata)
print("unary id=\(unary.id) name=\(unary.name)")

let sum = try await client.clientStream { writer in
    for i in 1...100 { try await writer.write(Nested.with { $0.id = Int32(i) }) }
}
print("clientStream id=\(sum.id)")

let streamed = try await client.serverStream(Nested.with { $0.id = 500 }) { responses in
    var ids: [Int32] = []
    for try await response in responses { ids.append(response.id) }
    return ids
}
print("serverStream count=\(streamed.count) ordered=\(streamed == Array(0..<500))")

let doubled = try await client.bidi { writer in
    for i in 0..<20 { try await writer.write(Nested.with { $0.id = Int32(i) }) }
} onResponse: { responses in
    var ids: [Int32] = []
    for try await response in responses { ids.append(response.id) }
    return ids
}
print("bidi ids=\(doubled.map(String.init).joined(separator: ","))")

do {
    _ = try await client.unary(Nested.with { $0.name = "fail" })
    print("fail code=0")
} catch let error as RPCError {
    print("fail code=\(error.code.rawValue) message=\(error.message)")
}

do {
    _ = try await client.unary(Nested.with { $0.name = "sleep" }, options: CallOptions(timeout: .milliseconds(300)))
    print("deadline code=0")
} catch let error as RPCError {
    print("deadline code=\(error.code.rawValue)")
}

let after = try await client.unary(Nested.with { $0.id = 7 })
print("after id=\(after.id)")
try await transport.connection.close()
