// execbox-http2-testserver: the HTTP/2 listener with test routes, for the real-peer tests
// (curl, nghttp, h2load, Python h2). Prints `listening on PORT` once bound. With
// `--tls-cert FILE --tls-key FILE` it serves TLS only (ALPN h2 or http/1.1). `--send-stall-timeout-ms`,
// `--ping-interval-ms`, `--ping-timeout-ms` and `--stream-idle-timeout-ms` (each N milliseconds) set
// those HTTP2Configuration timeouts, for the tests that wait them out.
//
//   GET  /hello            200 "hello\n"
//   POST /echo             the request body back, with trailer x-body-bytes
//   GET  /bytes?n=N        N bytes of the repeating pattern 0,1,…,250 (for hashes on the client)
//   GET  /trailers-only    HEADERS with END_STREAM: status 200 and grpc-status 0 in the head
//   POST /respond-early    "early\n" and trailer x-early: 1 at once, the request body left unread
//   GET  /fail             the handler throws: the stream is reset
//   *    /finish-then-throw "done\n", the response finished, then the handler throws (the body
//                          left unread)
//   GET  /cancelled        204 with x-cancelled: whether the handler's task starts cancelled
//   anything else          404
import ExecboxHTTP2
import NIOCore

var port = 0
var certificate: String?
var key: String?
var configuration = HTTP2Configuration()
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--port": if let value = arguments.next(), let number = Int(value) { port = number }
    case "--tls-cert": certificate = arguments.next()
    case "--tls-key": key = arguments.next()
    case "--send-stall-timeout-ms": configuration.sendStallTimeout = milliseconds(arguments.next())
    case "--ping-interval-ms": configuration.pingInterval = milliseconds(arguments.next())
    case "--ping-timeout-ms": configuration.pingTimeout = milliseconds(arguments.next())
    case "--stream-idle-timeout-ms": configuration.streamIdleTimeout = milliseconds(arguments.next())
    default: break
    }
}

struct Failure: Error {}

func milliseconds(_ argument: String?) -> TimeAmount {
    guard let argument, let ms = Int64(argument), ms >= 0 else {
        fatalError("a timeout needs a number of milliseconds, not \(argument ?? "nothing")")
    }
    return .milliseconds(ms)
}

let helloBody = ByteBuffer(string: "hello\n")
let textPlain: HTTP2Headers = ["content-type": "text/plain"]
let pattern = ByteBuffer(bytes: (0..<(251 * 261)).map { UInt8($0 % 251) })

let tls = certificate.map { TLSConfiguration.server(certificateChainFile: $0, privateKeyFile: key ?? $0) }
let server = try await HTTP2Server.bind(host: "127.0.0.1", port: port, configuration: configuration, tls: tls)
print("listening on \(server.localAddress.port ?? 0)")
fflushStandardOutput()

// Each route is its own function: an async closure's frame holds the locals of every branch,
// and a frame that overflows the task's first allocation slab costs a malloc per request.
try await server.run { request, response in
    let target = request.path
    let question = target.utf8.firstIndex(of: UInt8(ascii: "?"))
    let path = question.map { target[..<$0] } ?? target[...]
    let query = question.map { target[target.utf8.index(after: $0)...] } ?? ""
    switch (request.method, path) {
    case ("GET", "/hello"): try await hello(response)
    case ("POST", "/echo"): try await echo(request, response)
    case ("GET", "/bytes"): try await bytes(query, response)
    case ("GET", "/trailers-only"):
        try await response.writeHead(status: 200, headers: ["grpc-status": "0"], endStream: true)
    case ("POST", "/respond-early"): try await respondEarly(response)
    case ("GET", "/fail"): throw Failure()
    case (_, "/finish-then-throw"):
        try await response.writeHead(status: 200, headers: textPlain)
        try await response.writeBody(ByteBuffer(string: "done\n"))
        try await response.finish()
        throw Failure()
    case ("GET", "/cancelled"):
        try await response.writeHead(
            status: 204, headers: ["x-cancelled": Task.isCancelled ? "true" : "false"], endStream: true)
    default: try await response.writeHead(status: 404, endStream: true)
    }
}

nonisolated(nonsending) func hello(_ response: HTTP2ResponseWriter) async throws {
    try await response.writeHead(status: 200, headers: textPlain)
    try await response.writeBody(helloBody)
    try await response.finish()
}

nonisolated(nonsending) func echo(_ request: HTTP2ServerRequest, _ response: HTTP2ResponseWriter) async throws {
    try await response.writeHead(status: 200, headers: ["content-type": "application/octet-stream"])
    var total = 0
    for try await chunk in request.body {
        total += chunk.readableBytes
        try await response.writeBody(chunk)
    }
    try await response.finish(trailers: ["x-body-bytes": String(total)])
}

nonisolated(nonsending) func respondEarly(_ response: HTTP2ResponseWriter) async throws {
    try await response.writeHead(status: 200, headers: textPlain)
    try await response.writeBody(ByteBuffer(string: "early\n"))
    try await response.finish(trailers: ["x-early": "1"])
}

nonisolated(nonsending) func bytes(_ query: Substring, _ response: HTTP2ResponseWriter) async throws {
    let n = query.hasPrefix("n=") ? Int(query.dropFirst(2)) ?? 0 : 0
    try await response.writeHead(status: 200, headers: ["content-length": String(n)])
    var sent = 0
    while sent < n {
        // Chunks of whole periods (251 × 261 bytes), so every chunk starts the pattern at 0.
        let size = min(pattern.readableBytes, n - sent)
        try await response.writeBody(pattern.getSlice(at: 0, length: size)!)
        sent += size
    }
    try await response.finish()
}
