public import ExecboxSandbox
import Glibc

/// File access from the host into a running sandbox, through its `SandboxRoot`: every path is
/// resolved under the init's `/proc/<pid>/root` with `RESOLVE_IN_ROOT`, so neither `..` nor a symlink
/// the sandbox planted reaches a host file. Changes run with the sandbox root's host uid as the
/// thread's filesystem identity, so what they create belongs to the sandbox's root and they can do no
/// more than it could. Reads run as the server (a file's owner inside does not limit them).
extension RuncBackend {
    static let maxReadLength = 4 << 20

    public func readFile(_ id: SandboxID, path: String, offset: Int, length: Int) async throws -> [UInt8] {
        guard offset >= 0, length >= 0 else { throw SandboxError.invalidArgument("offset and length must be >= 0") }
        let root = try openRoot(lookup(id))
        defer { root.close() }
        // O_NONBLOCK: a FIFO the sandbox planted must not block the open (it is refused below).
        let fd = root.open(try Self.relative(path), flags: O_RDONLY | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else { throw SandboxRoot.error(path, errno) }
        defer { close(fd) }
        var status = Glibc.stat()
        guard fstat(fd, &status) == 0 else { throw SandboxRoot.error(path, errno, call: "fstat") }
        guard status.st_mode & S_IFMT != S_IFDIR else { throw SandboxRoot.error(path, EISDIR) }
        guard status.st_mode & S_IFMT == S_IFREG else {
            throw SandboxError(code: .failedPrecondition, message: "\(path) is not a regular file")
        }
        var bytes = [UInt8](repeating: 0, count: min(length, Self.maxReadLength))
        var filled = 0
        while filled < bytes.count {
            let count = bytes.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress! + filled, raw.count - filled, off_t(offset + filled))
            }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw SandboxRoot.error(path, errno, call: "pread") }
            if count == 0 { break }
            filled += count
        }
        return Array(bytes[0..<filled])
    }

    public func writeFile(
        _ id: SandboxID,
        path: String,
        options: FileWriteOptions,
        _ body: (any SandboxFileWriter) async throws -> Void
    ) async throws -> SandboxFileInfo {
        try options.validate()
        let relative = try Self.relative(path)
        let sandbox = try lookup(id)
        let root = try openRoot(sandbox)
        defer { root.close() }
        let pending = try root.asOwner { () throws(SandboxError) in
            try PendingFileWrite.start(relative, path: path, options: options, root: root)
        }
        // A client streaming a file keeps the sandbox busy, as an attached one does.
        sandbox.activity(started: true)
        defer { sandbox.activity(started: false) }
        let writer = RuncFileWriter(fd: pending.fd, path: path)
        do {
            try await body(writer)
        } catch {
            writer.end()
            pending.discard(root: root)
            throw error
        }
        writer.end()
        return try pending.commit(root: root)
    }

    public func stat(_ id: SandboxID, path: String) async throws -> SandboxFileInfo {
        let root = try openRoot(lookup(id))
        defer { root.close() }
        let fd = root.open(try Self.relative(path), flags: ResolvedOpen.oPath | O_NOFOLLOW)
        guard fd >= 0 else { throw SandboxRoot.error(path, errno) }
        defer { close(fd) }
        return try root.info(of: fd, path: path)
    }

    /// The sandbox's root directory (through its init) and the host uid of its root user.
    func openRoot(_ sandbox: RuncSandbox) throws(SandboxError) -> SandboxRoot {
        guard sandbox.info.state == .running, let initProcess = sandbox.initProcess else {
            throw SandboxError(code: .failedPrecondition, message: "sandbox \(sandbox.id) is not running")
        }
        sandbox.touch()
        // runsc: the init is gVisor's kernel, whose root is an empty directory; the sandbox's files
        // are the rootfs with its host-side mounts (`RunscHostMounts`), owned by host root.
        let runsc = sandbox.runtime.kind == .runsc
        let rootPath = runsc ? "\(sandbox.bundle)/rootfs" : "/proc/\(initProcess.pid)/root"
        let fd = open(rootPath, ResolvedOpen.oPath | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SandboxError(code: .failedPrecondition, message: "sandbox \(sandbox.id) is not running")
        }
        if runsc { return SandboxRoot(fd: fd, owner: 0, mapsIDs: false) }
        let owner =
            configuration.userNamespace
            ? configuration.idMapBase + UInt32(sandbox.slot) * OCIConfigBuilder.idRangeSize : 0
        return SandboxRoot(fd: fd, owner: owner, mapsIDs: configuration.userNamespace)
    }

    /// `/a/b` → `a/b`; refuses relative paths, NUL bytes and (unless `allowRoot`, which gives `.`)
    /// the root itself.
    static func relative(_ path: String, allowRoot: Bool = false) throws(SandboxError) -> String {
        guard path.hasPrefix("/"), !path.utf8.contains(0), path.utf8.count <= 4096 else {
            throw SandboxError.invalidArgument("path must be absolute")
        }
        let relative = path.split(separator: "/").joined(separator: "/")
        guard !relative.isEmpty else {
            if allowRoot { return "." }
            throw SandboxError.invalidArgument("path must name a file")
        }
        return relative
    }
}
