/// Validation of paths a client names inside a sandbox.
enum PathCheck {
    /// An absolute, normalised path with no `.`/`..` components and no `/proc` prefix, so a working
    /// directory cannot point at a leaked descriptor (CVE-2024-21626: `cwd=/proc/self/fd/N`).
    static func validateWorkingDirectory(_ path: String) throws(SandboxError) {
        let bytes = Array(path.utf8)
        guard bytes.first == UInt8(ascii: "/"), bytes.count <= 4096, !bytes.contains(0) else {
            throw .invalidArgument("working directory must be an absolute path")
        }
        let components = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        for component in components where component == "." || component == ".." {
            throw .invalidArgument("working directory must not contain . or .. components")
        }
        if components.first == "proc" || components.first == "sys" || components.first == "dev" {
            throw .invalidArgument("working directory must not be under /proc, /sys or /dev")
        }
    }
}
