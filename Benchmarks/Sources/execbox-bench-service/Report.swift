import Glibc

/// What went wrong in the benchmark itself (not a measurement).
struct BenchFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}

enum Log {
    /// A progress line on stderr (stdout carries only the summary).
    static func progress(_ message: String) {
        let line = Array("bench-service: \(message)\n".utf8)
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

    /// `value` with `digits` decimals (no Foundation formatting on Linux without Foundation).
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
        "p50 \(fixed(percentile(values, 0.5), 2)) p90 \(fixed(percentile(values, 0.9), 2)) "
            + "p99 \(fixed(percentile(values, 0.99), 2)) max \(fixed(values.max() ?? 0, 2)) \(unit) (n=\(values.count))"
    }
}

/// One comparison: `BENCH <name> ours=<value> peer=<value> unit=<unit> better=<x>`; ours is the full
/// stack, the peer the backend alone.
struct Comparison {
    var name: String
    var ours: Double
    var peer: Double
    var unit: String
    /// Throughput (ours/peer) rather than time (peer/ours).
    var higherIsBetter: Bool

    var line: String {
        let better = higherIsBetter ? ours / peer : peer / ours
        let digits = unit == "MB/s" ? 0 : unit == "sessions/s" ? 1 : 2
        return "BENCH \(name) ours=\(Stats.fixed(ours, digits)) peer=\(Stats.fixed(peer, digits)) unit=\(unit) "
            + "better=\(Stats.fixed(better, 2))"
    }
}

/// A target from issue 7, checked against a measured value.
struct Target {
    var what: String
    var met: Bool
    var measured: String
}

struct Report {
    var comparisons: [Comparison] = []
    var targets: [Target] = []
    /// Informational summary lines, printed on stdout before the comparisons.
    var information: [String] = []
    var notes: [String] = []
}
