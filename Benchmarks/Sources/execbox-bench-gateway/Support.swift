import Glibc

/// What went wrong in the benchmark itself (not a measurement).
struct BenchFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}

enum Log {
    /// A progress line on stderr (stdout carries only the summary).
    static func progress(_ message: String) {
        let line = Array("bench-gateway: \(message)\n".utf8)
        var offset = 0
        while offset < line.count {
            let written = line.withUnsafeBytes { write(2, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }
}

enum Stats {
    /// Nearest-rank percentile (`p` in 0…1) of a non-empty sample.
    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        let rank = min(sorted.count, max(1, Int((p * Double(sorted.count)).rounded(.up))))
        return sorted[rank - 1]
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    /// `value` with `digits` decimals (no Foundation formatting).
    static func fixed(_ value: Double, _ digits: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        let integer = scaled / Int64(scale)
        var fraction = String(scaled % Int64(scale))
        while fraction.count < digits { fraction = "0" + fraction }
        let sign = value < 0 && scaled != 0 ? "-" : ""
        return digits == 0 ? "\(sign)\(integer)" : "\(sign)\(integer).\(fraction)"
    }

    /// `p50/p90/p99/max` summary for progress lines.
    static func summary(_ values: [Double], unit: String = "ms") -> String {
        guard !values.isEmpty else { return "no samples" }
        return "p50 \(fixed(percentile(values, 0.5), 2)) p90 \(fixed(percentile(values, 0.9), 2)) "
            + "p99 \(fixed(percentile(values, 0.99), 2)) max \(fixed(values.max() ?? 0, 2)) \(unit) (n=\(values.count))"
    }
}

/// One comparison: `BENCH <name> ours=<value> peer=<value> unit=<unit> better=<x>`; ours is the REST
/// gateway (HTTP/1.1 + WebSocket), the peer gRPC over HTTP/2, both on the same server.
struct Comparison {
    var name: String
    var ours: Double
    var peer: Double
    var unit: String
    /// Throughput (ours/peer) rather than time (peer/ours).
    var higherIsBetter: Bool

    var line: String {
        let better = higherIsBetter ? ours / peer : peer / ours
        let digits = unit == "MB/s" ? 0 : 2
        return "BENCH \(name) ours=\(Stats.fixed(ours, digits)) peer=\(Stats.fixed(peer, digits)) unit=\(unit) "
            + "better=\(Stats.fixed(better, 2))"
    }
}

/// CPU time (user + system, all threads) of this process (the client) and of the server.
enum CPUTime {
    static func ownSeconds() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1e6 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    /// Another process, from utime and stime in /proc/PID/stat; nil once it is gone.
    static func seconds(of pid: Int32) -> Double? {
        guard let bytes = Files.contents("/proc/\(pid)/stat"), let close = bytes.lastIndex(of: UInt8(ascii: ")")) else {
            return nil
        }
        // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        guard fields.count > 12, let user = Double(String(decoding: fields[11], as: UTF8.self)),
            let system = Double(String(decoding: fields[12], as: UTF8.self))
        else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

enum Files {
    /// The whole file, or nil when it cannot be opened.
    static func contents(_ path: String) -> [UInt8]? {
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

    /// The first line of the bootstrap key file.
    static func key(_ path: String) throws -> String {
        guard let bytes = contents(path) else {
            throw BenchFailure("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        let line = bytes.prefix { $0 != UInt8(ascii: "\n") && $0 != UInt8(ascii: "\r") }
        guard !line.isEmpty else { throw BenchFailure("\(path) holds no key") }
        return String(decoding: line, as: UTF8.self)
    }
}
