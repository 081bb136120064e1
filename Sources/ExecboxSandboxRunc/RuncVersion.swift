/// The runtime build in use, read from `runc --version` (or `runsc --version`) at start-up, and what
/// it is known to lack.
public struct RuncVersion: Hashable, Sendable, CustomStringConvertible {
    /// gVisor's runsc rather than runc (its version is a release date: `0.0~20221219.0`).
    public var isRunsc = false
    public var major: Int
    public var minor: Int
    public var patch: Int
    /// The `commit:` line; Debian puts its package revision there (`1.1.5+ds1-1+deb12u1`).
    public var commit: String
    public var raw: String

    /// runc 1.2.8, 1.3.3 and 1.4.0-rc.3 fixed these (November 2025): a `/dev/null` or `/dev/console`
    /// swapped for a symlink in a hostile image, and `/proc` writes redirected through shared mounts.
    public static let cves2025 = ["CVE-2025-31133", "CVE-2025-52565", "CVE-2025-52881"]

    /// Parses the first line (`runc version 1.1.5+ds1`) and the `commit:` line.
    public init?(output: String) {
        let lines = output.split(separator: "\n").map(String.init)
        if let first = lines.first, first.hasPrefix("runsc version ") {
            // `runsc version 0.0~20221219.0` (Debian) or `runsc version release-20221219.0`.
            let version = String(first.dropFirst("runsc version ".count))
            let date = version.split(whereSeparator: { !$0.isNumber }).first { $0.count == 8 }
            guard let date, let day = Int(String(date)) else { return nil }
            isRunsc = true
            (major, minor, patch) = (0, 0, day)
            commit = version
            raw = first
            return
        }
        guard let first = lines.first, first.hasPrefix("runc version ") else { return nil }
        let version = first.dropFirst("runc version ".count).prefix { $0.isNumber || $0 == "." }
        let numbers = version.split(separator: ".").compactMap { Int($0) }
        guard numbers.count >= 2 else { return nil }
        major = numbers[0]
        minor = numbers[1]
        patch = numbers.count > 2 ? numbers[2] : 0
        commit = lines.first { $0.hasPrefix("commit: ") }.map { String($0.dropFirst("commit: ".count)) } ?? ""
        raw = first
    }

    public var description: String {
        isRunsc ? "runsc \(commit)" : "runc \(major).\(minor).\(patch) (\(commit))"
    }

    private var triple: (Int, Int, Int) { (major, minor, patch) }

    /// The 2025 CVEs this build lacks.
    public var missingFixes: [String] {
        guard !isRunsc else { return [] }
        let fixed =
            triple >= (1, 4, 0) || (triple >= (1, 3, 3) && triple < (1, 4, 0))
            || (triple >= (1, 2, 8) && triple < (1, 3, 0))
        return fixed ? [] : Self.cves2025
    }

    /// Builds older than 1.1.12 leak a host directory descriptor into the container (CVE-2024-21626,
    /// "Leaky Vessels") unless the distribution patched them; Debian 12's `deb12u1` is patched.
    public var isRefused: Bool {
        !isRunsc && triple < (1, 1, 12) && !commit.contains("+deb12u")
    }

    /// The start-up warning, or nil for a build with every known fix.
    public var warning: String? {
        if isRunsc {
            // Debian 12's build; gVisor fixed statx's AT_NO_AUTOMOUNT in 2023.
            guard patch < 2023_0000 else { return nil }
            return "\(description) is a 2022 gVisor: statx with AT_NO_AUTOMOUNT fails (EINVAL), so coreutils 9 "
                + "`ls` and `stat` fail inside its sandboxes; signals that end an exec are reported as exit 128+n "
                + "unless the backend sent them (docs/sandbox.md, \"runsc\")"
        }
        guard !missingFixes.isEmpty else { return nil }
        return "\(description) lacks the fixes for \(missingFixes.joined(separator: ", ")) (fixed in runc 1.2.8); "
            + "the runc backend therefore runs only images Execbox produced and checked (no /dev, /proc or /sys "
            + "entries in any layer) and shares no mounts between sandboxes. Use runsc for untrusted tenants."
    }
}
