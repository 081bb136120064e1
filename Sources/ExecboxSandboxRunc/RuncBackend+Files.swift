public import ExecboxSandbox
import Glibc

/// File access from the host into a running sandbox: every path is resolved under the init's
/// `/proc/<pid>/root` with `RESOLVE_IN_ROOT` (`ResolvedOpen`), so neither `..` nor a symlink the
/// sandbox planted reaches a host file. Writes run with the sandbox root's host uid as the thread's
/// filesystem identity, so what they create belongs to the sandbox's root and they can do no more
/// than it could. Reads run as the server (a file's owner inside does not limit them).
extension RuncBackend {
    static let maxReadLength = 4 << 20

    public func readFile(_ id: SandboxID, path: String, offset: Int, length: Int) async throws -> [UInt8] {
        guard offset >= 0, length >= 0 else { throw SandboxError.invalidArgument("offset and length must be >= 0") }
        let root = try openRoot(id)
        defer { close(root.fd) }
        let fd = ResolvedOpen.open(root: root.fd, try Self.relative(path), flags: O_RDONLY | O_NOCTTY)
        guard fd >= 0 else { throw Self.fileError(path, errno) }
        defer { close(fd) }
        var status = Glibc.stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw SandboxError.invalidArgument("\(path) is not a regular file")
        }
        var bytes = [UInt8](repeating: 0, count: min(length, Self.maxReadLength))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress! + filled, raw.count - filled, off_t(offset + filled))
            }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw Self.fileError(path, errno) }
            if count == 0 { break }
            filled += count
        }
        return Array(bytes[0..<filled])
    }

    public func writeFile(_ id: SandboxID, path: String, contents: [UInt8], mode: UInt32, createParents: Bool)
        async throws -> SandboxFileInfo
    {
        guard mode & ~0o777 == 0 else { throw SandboxError.invalidArgument("mode must be within 0777") }
        let relative = try Self.relative(path)
        let root = try openRoot(id)
        defer { close(root.fd) }
        // Created as the sandbox's root would: the workspace's tmpfs belongs to the sandbox's user
        // namespace, where host root is not mapped (the kernel refuses to create its files).
        return try LinuxCalls.withFilesystemIdentity(root.owner) { () throws(SandboxError) -> SandboxFileInfo in
            if createParents { try makeParents(of: relative, root: root) }
            let fd = ResolvedOpen.open(
                root: root.fd,
                relative,
                flags: O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NOCTTY,
                mode: mode_t(mode)
            )
            guard fd >= 0 else { throw Self.fileError(path, errno) }
            defer { close(fd) }
            var offset = 0
            while offset < contents.count {
                let written = contents.withUnsafeBytes { raw in
                    write(fd, raw.baseAddress! + offset, raw.count - offset)
                }
                if written < 0, errno == EINTR { continue }
                guard written > 0 else { throw Self.fileError(path, errno) }
                offset += written
            }
            fchmod(fd, mode_t(mode))
            return try Self.info(of: fd, path: path)
        }
    }

    public func stat(_ id: SandboxID, path: String) async throws -> SandboxFileInfo {
        let root = try openRoot(id)
        defer { close(root.fd) }
        let fd = ResolvedOpen.open(root: root.fd, try Self.relative(path), flags: ResolvedOpen.oPath | O_NOFOLLOW)
        guard fd >= 0 else { throw Self.fileError(path, errno) }
        defer { close(fd) }
        return try Self.info(of: fd, path: path)
    }

    private func makeParents(of relative: String, root: (fd: Int32, owner: uid_t)) throws(SandboxError) {
        var components = relative.split(separator: "/").map(String.init)
        components.removeLast()
        var prefix = ""
        for component in components {
            let parent = prefix.isEmpty ? "." : prefix
            prefix = prefix.isEmpty ? component : "\(prefix)/\(component)"
            let existing = ResolvedOpen.open(root: root.fd, prefix, flags: ResolvedOpen.oPath | O_DIRECTORY)
            if existing >= 0 {
                close(existing)
                continue
            }
            guard errno == ENOENT else { throw Self.fileError("/\(prefix)", errno) }
            let parentFD = ResolvedOpen.open(root: root.fd, parent, flags: ResolvedOpen.oPath | O_DIRECTORY)
            guard parentFD >= 0 else { throw Self.fileError("/\(parent)", errno) }
            defer { close(parentFD) }
            guard mkdirat(parentFD, component, 0o755) == 0 || errno == EEXIST else {
                throw Self.fileError("/\(prefix)", errno)
            }
        }
    }

    /// The sandbox's root directory (through its init) and the host uid of its root user.
    private func openRoot(_ id: SandboxID) throws(SandboxError) -> (fd: Int32, owner: uid_t) {
        let sandbox = try lookup(id)
        guard sandbox.info.state == .running, let initProcess = sandbox.initProcess else {
            throw SandboxError(code: .failedPrecondition, message: "sandbox \(id) is not running")
        }
        sandbox.touch()
        let fd = open("/proc/\(initProcess.pid)/root", ResolvedOpen.oPath | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SandboxError(code: .failedPrecondition, message: "sandbox \(id) is not running") }
        let owner =
            configuration.userNamespace
            ? configuration.idMapBase + UInt32(sandbox.slot) * OCIConfigBuilder.idRangeSize : 0
        return (fd, owner)
    }

    /// `/a/b` → `a/b`; refuses relative paths, NUL bytes and the root itself.
    static func relative(_ path: String) throws(SandboxError) -> String {
        guard path.hasPrefix("/"), !path.utf8.contains(0), path.utf8.count <= 4096 else {
            throw SandboxError.invalidArgument("path must be absolute")
        }
        let relative = path.split(separator: "/").joined(separator: "/")
        guard !relative.isEmpty else { throw SandboxError.invalidArgument("path must name a file") }
        return relative
    }

    static func info(of fd: Int32, path: String) throws(SandboxError) -> SandboxFileInfo {
        var status = Glibc.stat()
        guard fstat(fd, &status) == 0 else { throw fileError(path, errno) }
        let kind: SandboxFileInfo.Kind =
            switch status.st_mode & S_IFMT {
            case S_IFREG: .file
            case S_IFDIR: .directory
            case S_IFLNK: .symlink
            default: .other
            }
        return SandboxFileInfo(path: path, kind: kind, size: Int(status.st_size), mode: UInt32(status.st_mode & 0o7777))
    }

    static func fileError(_ path: String, _ code: Int32) -> SandboxError {
        var error = fileErrorCode(path, code)
        error.cause = SystemError("openat2", errno: code)
        return error
    }

    private static func fileErrorCode(_ path: String, _ code: Int32) -> SandboxError {
        switch code {
        case ENOENT, ENOTDIR: SandboxError(code: .notFound, message: "\(path) not found")
        case ELOOP, EXDEV: SandboxError(code: .invalidArgument, message: "\(path) leads outside the sandbox")
        case EISDIR: SandboxError.invalidArgument("\(path) is a directory")
        case ENOSPC, EDQUOT: SandboxError(code: .resourceExhausted, message: "the sandbox's disk is full")
        case EACCES, EPERM, EROFS: SandboxError(code: .failedPrecondition, message: "\(path) is not writable")
        default:
            SandboxError(code: .internal, message: "file access failed", cause: SystemError("openat2", errno: code))
        }
    }
}
