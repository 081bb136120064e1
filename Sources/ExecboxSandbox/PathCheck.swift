/// Validation of paths a client names inside a sandbox.
enum PathCheck {
    /// An absolute, normalised path with no `.`/`..` components and no `/proc` prefix, so a working
    /// directory cannot point at a leaked descriptor (CVE-2024-21626: `cwd=/proc/self/fd/N`).
    static func validateWorkingDirectory(_ path: String) throws(SandboxError) {
        let bytes = Array(path.utf8)
        guard bytes.first == UInt8(ascii: "/"), bytes.count <= 4096, !bytes.contains(0) else {
            throw .invalidArgument("working directory must be an absolute path")
        }
        // Control characters (C0, DEL, C1) in a working directory are refused: runc cannot create
        // such a path in a container, and no tool expects one.
        guard !path.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            throw .invalidArgument("working directory must not contain control characters")
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
