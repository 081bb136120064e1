// wire-bench: times one implementation encoding or decoding one shape, for scripts/bench-wire.
//
//   wire-bench --impl ours|swiftprotobuf --shape SHAPE --op encode|decode [--seconds N]
//   wire-bench --impl ... --shape SHAPE --dump FILE     writes the encoding to FILE
//   wire-bench --impl ... --shape SHAPE --verify FILE   exit 0 iff FILE decodes to this value
//   wire-bench --impl ... --shape SHAPE --op OP --iterations N   N untimed operations, for profilers
//
// Prints one line: `impl=… shape=… op=… size=… iterations=… ns_per_op=… mb_per_s=… allocs_per_op=…`.
// Allocations are counted when the process runs under Benchmarks/cpp/alloc_count.so (LD_PRELOAD);
// otherwise allocs_per_op=na. Benchmarks/cpp/wire_bench.cc takes the same arguments.

import Glibc
import WireBenchCore
import WireShapes

func fail(_ message: String) -> Never {
    let line = "wire-bench: \(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(2)
}

var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst()
while let flag = arguments.popFirst() {
    guard flag.hasPrefix("--"), let value = arguments.popFirst() else { fail("usage: see the header of main.swift") }
    options[String(flag.dropFirst(2))] = value
}
guard let impl = Impl(rawValue: options["impl"] ?? "") else { fail("--impl must be ours or swiftprotobuf") }
guard let shape = Shape(rawValue: options["shape"] ?? "") else {
    fail("--shape must be one of \(Shape.allCases.map(\.rawValue).joined(separator: ", "))")
}
let workload = Workload(impl: impl, shape: shape)

if let path = options["dump"] {
    guard let file = fopen(path, "wb") else { fail("cannot write \(path)") }
    let written = workload.encoded.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
    fclose(file)
    guard written == workload.encoded.count else { fail("short write to \(path)") }
    print("impl=\(impl.rawValue) shape=\(shape.rawValue) size=\(workload.encoded.count)")
    exit(0)
}

if let path = options["verify"] {
    guard let file = fopen(path, "rb") else { fail("cannot read \(path)") }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        if n == 0 { break }
        bytes += chunk[0..<n]
    }
    fclose(file)
    let ok = workload.matches(bytes)
    print("impl=\(impl.rawValue) shape=\(shape.rawValue) verify=\(ok ? "ok" : "MISMATCH") size=\(bytes.count)")
    exit(ok ? 0 : 1)
}

let op = options["op"] ?? "encode"
let run: (Int) -> Void
switch op {
case "encode": run = workload.encode
case "decode": run = workload.decode
default: fail("--op must be encode or decode")
}
guard let seconds = Double(options["seconds"] ?? "1"), seconds >= 0 else { fail("--seconds must be a number") }

// --iterations N: exactly N operations and no timing, for profilers (valgrind --tool=callgrind).
if let text = options["iterations"] {
    guard let n = Int(text), n > 0 else { fail("--iterations must be a positive number") }
    run(n)
    print("impl=\(impl.rawValue) shape=\(shape.rawValue) op=\(op) size=\(workload.encoded.count) iterations=\(n)")
    exit(0)
}

func oneDecimal(_ value: Double) -> String {
    "\((value * 10).rounded() / 10)"
}

func nanoseconds(_ d: Duration) -> Double {
    Double(d.components.seconds) * 1e9 + Double(d.components.attoseconds) / 1e9
}

/// Runs `n` operations and returns the nanoseconds they took.
func timed(_ n: Int) -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    run(n)
    return nanoseconds(clock.now - start)
}

// Warm up for a fifth of the time, growing the batch until one takes at least 2 ms.
var batch = 1
var warm = 0.0
while warm < seconds * 0.2e9 || batch == 1 {
    let t = timed(batch)
    warm += t
    if t < 2e6 { batch *= 2 }
}
var total = 0.0
var iterations = 0
repeat {
    total += timed(batch)
    iterations += batch
} while total < seconds * 1e9

// Count allocations over a separate short run, when the counting allocator is preloaded.
typealias CountFunction = @convention(c) () -> UInt64
var allocs = "na"
if let symbol = dlsym(nil, "wb_alloc_count") {
    let count = unsafeBitCast(symbol, to: CountFunction.self)
    let n = 100
    let before = count()
    run(n)
    let after = count()
    allocs = String(Double(after - before) / Double(n))
}

let nsPerOp = total / Double(iterations)
let mbPerSecond = Double(workload.encoded.count) / nsPerOp * 1e9 / 1e6
print(
    "impl=\(impl.rawValue) shape=\(shape.rawValue) op=\(op) size=\(workload.encoded.count) iterations=\(iterations)"
        + " ns_per_op=\(oneDecimal(nsPerOp)) mb_per_s=\(oneDecimal(mbPerSecond)) allocs_per_op=\(allocs)"
)
