import ExecboxSandbox
import Glibc

/// Walks a layer's directory tree by descriptors (every level opened with `O_NOFOLLOW` relative to
/// its parent, never by path, symlinks reported and never entered), calling `visit` with each
/// entry's path relative to the top (no leading slash) and its `lstat`, parents before children.
/// Names must be UTF-8 (layers are checked as text paths). Returns how many entries and how many
/// allocated bytes it saw.
enum LayerTree {
    struct Totals: Hashable, Sendable {
        var entries = 0
        var bytes: Int64 = 0
    }

    static let maxDepth = 512

    @discardableResult
    static func walk(
        _ top: String, _ visit: (_ path: String, _ status: stat) throws(SandboxError) -> Void
    ) throws(SandboxError) -> Totals {
        let fd = open(top, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw SandboxRoot.error(top, errno, call: "open") }
        defer { close(fd) }
        var totals = Totals()
        try walk(fd, prefix: "", depth: 0, totals: &totals, visit)
        return totals
    }

    private static func walk(
        _ fd: Int32, prefix: String, depth: Int, totals: inout Totals,
        _ visit: (String, stat) throws(SandboxError) -> Void
    ) throws(SandboxError) {
        guard depth < maxDepth else {
            throw SandboxError(code: .invalidArgument, message: "\(prefix) is nested deeper than \(maxDepth)")
        }
        for name in try DirectoryTree.names(fd, path: prefix.isEmpty ? "/" : prefix) {
            guard let text = String(validating: name, as: UTF8.self) else {
                throw SandboxError(code: .invalidArgument, message: "\(prefix)/…: a file name is not UTF-8")
            }
            let path = prefix.isEmpty ? text : "\(prefix)/\(text)"
            var status = stat()
            guard fstatat(fd, text, &status, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw SandboxRoot.error(path, errno, call: "fstatat")
            }
            totals.entries += 1
            totals.bytes += Int64(status.st_blocks) * 512
            try visit(path, status)
            if status.st_mode & S_IFMT == S_IFDIR {
                let child = openat(fd, text, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else { throw SandboxRoot.error(path, errno, call: "openat") }
                defer { close(child) }
                try walk(child, prefix: path, depth: depth + 1, totals: &totals, visit)
            }
        }
    }
}
