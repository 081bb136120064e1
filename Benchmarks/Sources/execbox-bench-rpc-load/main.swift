// execbox-bench-rpc-load: the streaming load of scripts/bench-rpc, built on Execbox's own HTTP/2
// client and used unchanged against every server of `execbox.bench.v1.EchoService`.
//
//   execbox-bench-rpc-load --port N [--host H] [--connections 1] [--streams 4]
//       [--message-bytes 32768] [--warmup 1] [--seconds 5]
//     keeps that many Bidi streams busy with messages of that payload size, reads the echoes and
//     prints `echoed_bytes=… messages=… seconds=… MBps=… all_bytes=… load_cpu_seconds=…`
//     (message bytes echoed in the timed window after the warm-up, MB = 10^6 bytes; the same over
//     the whole run; this process's CPU time)
//   execbox-bench-rpc-load --port N --check
//     one Unary and one Bidi call through the generated client (GRPCClientTransport), each answer
//     compared with what was sent; exits non-zero on any difference or non-OK status
#if canImport(Glibc)
    import Glibc
#endif

var host = "127.0.0.1"
var port = 0
var check = false
var load = BidiLoad()
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    if argument == "--check" {
        check = true
        continue
    }
    guard let value = arguments.next() else { fatalError("\(argument) needs a value") }
    switch argument {
    case "--host": host = value
    case "--port": port = Int(value) ?? 0
    case "--connections": load.connections = Int(value) ?? 1
    case "--streams": load.streamsPerConnection = Int(value) ?? 1
    case "--message-bytes": load.payloadBytes = Int(value) ?? 0
    case "--warmup": load.warmup = .milliseconds(Int((Double(value) ?? 0) * 1000))
    case "--messages-per-write": load.messagesPerWrite = Int(value) ?? 1
    case "--seconds": load.duration = .milliseconds(Int((Double(value) ?? 1) * 1000))
    default: fatalError("unknown argument \(argument)")
    }
}
guard port > 0 else { fatalError("--port N is required") }

if check {
    try await EchoCheck.run(host: host, port: port)
    print("check ok")
} else {
    let result = try await load.run(host: host, port: port)
    let seconds = Double(load.duration.components.seconds) + Double(load.duration.components.attoseconds) / 1e18
    let megabytesPerSecond = Double(result.bytes) / seconds / 1e6
    // This process's own CPU time, to tell whether the load generator was the limit.
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    let cpu = [usage.ru_utime, usage.ru_stime].reduce(0.0) { $0 + Double($1.tv_sec) + Double($1.tv_usec) / 1e6 }
    print(
        "echoed_bytes=\(result.bytes) messages=\(result.messages) seconds=\(seconds) MBps=\(megabytesPerSecond)",
        "all_bytes=\(result.allBytes) load_cpu_seconds=\(cpu)"
    )
}
fflush(nil)
