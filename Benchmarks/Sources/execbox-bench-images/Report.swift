import Glibc

/// What went wrong in the benchmark itself (not a measurement).
struct BenchFailure: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) { self.description = description }
}

enum Log {
    /// A progress line on stderr (stdout carries only the summary).
    static func progress(_ message: String) {
        let line = Array("bench-images: \(message)\n".utf8)
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

    /// `p50/p90/max` summary for progress lines.
    static func summary(_ values: [Double], unit: String = "ms") -> String {
        guard !values.isEmpty else { return "no samples" }
        return "p50 \(fixed(median(values), 2)) p90 \(fixed(percentile(values, 0.9), 2)) "
            + "min \(fixed(values.min()!, 2)) max \(fixed(values.max()!, 2)) \(unit) (n=\(values.count))"
    }
}

/// One comparison: `BENCH <name> ours=<value> peer=<value> unit=ms better=<peer/ours>` (all times).
struct Comparison {
    var name: String
    var ours: Double
    var peer: Double

    var line: String {
        "BENCH \(name) ours=\(Stats.fixed(ours, 2)) peer=\(Stats.fixed(peer, 2)) unit=ms "
            + "better=\(Stats.fixed(peer / ours, 2))"
    }
}

struct Report {
    var comparisons: [Comparison] = []
    /// Informational summary lines, printed on stdout before the comparisons.
    var information: [String] = []
    var notes: [String] = []
}
