#if canImport(Glibc)
    import Glibc
#endif

/// A one-line progress bar on stderr for large copies: `name [#####.....] 45% 45.0/100.0 MiB 12.3 MiB/s`,
/// redrawn at most ten times a second, shown only when stderr is a terminal.
struct ProgressBar {
    /// Copies smaller than this finish too quickly to need a bar.
    static let threshold: Int64 = 8 << 20

    private let label: String
    private let total: Int64
    private let started = ContinuousClock.now
    private var lastDraw: ContinuousClock.Instant?
    private(set) var done: Int64 = 0

    /// Nil when no bar should be drawn (not a terminal, a small file, or `quiet`).
    init?(label: String, total: Int64, quiet: Bool = false) {
        guard !quiet, total >= Self.threshold, StandardStream.error.isTerminal else { return nil }
        self.label = label
        self.total = total
    }

    mutating func advance(by count: Int) {
        done += Int64(count)
        let now = ContinuousClock.now
        if let lastDraw, now - lastDraw < .milliseconds(100), done < total { return }
        lastDraw = now
        draw(now)
    }

    func finish() {
        draw(ContinuousClock.now)
        StandardStream.error.write("\n")
    }

    private func draw(_ now: ContinuousClock.Instant) {
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 1
        let width = 30
        let filled = Int(fraction * Double(width))
        let elapsed = now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let line =
            "\r\(label) [\(bar)] \(Int(fraction * 100))% \(Self.mebibytes(done))/\(Self.mebibytes(total)) MiB "
            + "\(Self.mebibytes(Int64(rate))) MiB/s"
        StandardStream.error.write(line + "\u{1B}[K")
    }

    private static func mebibytes(_ bytes: Int64) -> String {
        let value = Double(bytes) / 1_048_576
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }
}
