import ExecboxSandbox
import Glibc

/// Directory walks relative to open descriptors, never by path: every level is opened with
/// `openat(parent, name, O_DIRECTORY | O_NOFOLLOW)`, so a symlink is never entered (it is an entry
/// like a file) and a rename the sandbox makes meanwhile cannot redirect the walk out of it. Names
/// are raw bytes: they need not be UTF-8.
enum DirectoryTree {
    /// The deepest tree `removeTree` enters (one open descriptor per level).
    static let maxDepth = 256

    static func withCName<T>(_ name: [UInt8], _ body: (UnsafePointer<CChar>) -> T) -> T {
        (name + [0]).withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { body($0.baseAddress!) }
        }
    }

    static func display(_ name: [UInt8]) -> String { String(decoding: name, as: UTF8.self) }

    /// The names in the directory `fd` (opened for reading), without `.` and `..`, in directory order;
    /// more than `limit` of them is RESOURCE_EXHAUSTED (a listing holds every name in memory).
    static func names(_ fd: Int32, path: String, limit: Int = .max) throws(SandboxError) -> [[UInt8]] {
        let copy = dup(fd)
        guard copy >= 0, let stream = fdopendir(copy) else {
            let code = errno
            if copy >= 0 { close(copy) }
            throw SandboxRoot.error(path, code, call: "fdopendir")
        }
        defer { closedir(stream) }
        var names: [[UInt8]] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 { throw SandboxRoot.error(path, errno, call: "readdir") }
                return names
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in Array(raw.prefix { $0 != 0 }) }
            if name != [0x2E], name != [0x2E, 0x2E] {
                guard names.count < limit else {
                    throw SandboxError(
                        code: .resourceExhausted, message: "\(path) has more than \(limit) entries to list")
                }
                names.append(name)
            }
        }
    }

    /// Removes the directory `name` in `parent` and everything below it, depth first; returns how
    /// many entries went (the directory included). Stops at the first failure, leaving what it has
    /// not removed yet.
    static func removeTree(_ name: [UInt8], in parent: Int32, path: String) throws(SandboxError) -> Int {
        struct Level {
            var name: [UInt8]
            var path: String
            var fd: Int32
            var names: [[UInt8]]
            var next = 0
        }
        var stack: [Level] = []
        defer { for level in stack { close(level.fd) } }
        var removed = 0
        func enter(_ name: [UInt8], in parent: Int32, path: String) throws(SandboxError) -> Bool {
            guard stack.count < maxDepth else {
                throw SandboxError(code: .failedPrecondition, message: "\(path) is nested deeper than \(maxDepth)")
            }
            let fd = withCName(name) { openat(parent, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            guard fd >= 0 else {
                // Replaced by something else meanwhile: removed as an entry.
                if errno == ENOTDIR || errno == ELOOP { return false }
                throw SandboxRoot.error(path, errno, call: "openat")
            }
            do {
                stack.append(Level(name: name, path: path, fd: fd, names: try names(fd, path: path)))
            } catch {
                close(fd)
                throw error
            }
            return true
        }
        guard try enter(name, in: parent, path: path) else {
            try unlink(name, in: parent, flags: 0, path: path)
            return 1
        }
        while let level = stack.last {
            guard level.next < level.names.count else {
                stack.removeLast()
                close(level.fd)
                try unlink(level.name, in: stack.last?.fd ?? parent, flags: AT_REMOVEDIR, path: level.path)
                removed += 1
                continue
            }
            stack[stack.count - 1].next += 1
            let child = level.names[level.next]
            let childPath = "\(level.path)/\(display(child))"
            // Anything but a directory goes at once (Linux answers EISDIR for a directory).
            if withCName(child, { unlinkat(level.fd, $0, 0) }) == 0 {
                removed += 1
                continue
            }
            switch errno {
            case ENOENT: continue
            case EISDIR:
                if try !enter(child, in: level.fd, path: childPath) {
                    try unlink(child, in: level.fd, flags: 0, path: childPath)
                    removed += 1
                }
            default: throw SandboxRoot.error(childPath, errno, call: "unlinkat")
            }
        }
        return removed
    }

    static func unlink(_ name: [UInt8], in dir: Int32, flags: Int32, path: String) throws(SandboxError) {
        guard withCName(name, { unlinkat(dir, $0, flags) }) == 0 else {
            throw SandboxRoot.error(path, errno, call: "unlinkat")
        }
    }
}
