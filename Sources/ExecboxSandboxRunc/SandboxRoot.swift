import ExecboxSandbox
import Glibc

/// A running sandbox's root as the file calls use it: its init's `/proc/<pid>/root` (which shows the
/// sandbox's own mounts), every client path resolved under it with `RESOLVE_IN_ROOT`
/// (`ResolvedOpen`), so neither `..` nor a symlink the sandbox planted reaches a host file. A call
/// that changes a directory opens the parent that way and then acts on the last name with `*at`
/// calls that never follow a symlink there. Changes run as the sandbox's root (`asOwner`).
struct SandboxRoot {
    let fd: Int32
    /// The host uid (and gid) of the sandbox's root user; 0 without a user namespace.
    let owner: UInt32
    let mapsIDs: Bool

    static let overflowID: UInt32 = 65534
    static let procSuperMagic = 0x9fa0

    func close() { Glibc.close(fd) }

    /// An fd for `relative` under the root, or -1 with errno set. Whatever resolves onto a kernel
    /// interface file system (procfs, sysfs, cgroupfs, debugfs, …: the sandbox's own mounts, which
    /// this process would read and write with its host credentials and capabilities) is refused
    /// with EACCES, however the path got there (`/proc/…`, or a symlink the sandbox planted).
    func open(_ relative: String, flags: Int32, mode: mode_t = 0) -> Int32 {
        let opened = ResolvedOpen.open(root: fd, relative, flags: flags, mode: mode)
        guard opened >= 0 else { return opened }
        guard let type = LinuxCalls.filesystemType(opened), !Self.kernelFileSystems.contains(type) else {
            Glibc.close(opened)
            errno = EACCES
            return -1
        }
        return opened
    }

    /// procfs, sysfs, cgroup v1 and v2, debugfs, securityfs, tracefs, bpffs, devpts, mqueue,
    /// configfs, pstore, efivarfs, selinuxfs, fusectl, binfmt_misc, nsfs (statfs `f_type` values).
    static let kernelFileSystems: Set<Int> = [
        0x9fa0, 0x6265_6572, 0x0027_e0eb, 0x6367_7270, 0x6462_6720, 0x7363_6673, 0x7472_6163, 0xcafe_4a11,
        0x1cd1, 0x1980_0202, 0x6265_6570, 0x6165_676c, 0xde5e_81e4, 0xf97c_ff8c, 0x6573_5543, 0x4249_4e4d,
        0x6e73_6673,
    ]

    /// Runs `body` with the sandbox root's host uid as this thread's filesystem identity: the
    /// workspace's tmpfs belongs to the sandbox's user namespace, where host root is not mapped (the
    /// kernel refuses to create its files), and the API can then do no more than the sandbox's root
    /// could. `body` must not suspend.
    func asOwner<T>(_ body: () throws(SandboxError) -> T) throws(SandboxError) -> T {
        try LinuxCalls.withFilesystemIdentity(owner, body)
    }

    /// The directory holding `relative`'s last name (an `O_PATH` descriptor) and that name.
    func openParent(of relative: String) throws(SandboxError) -> (fd: Int32, name: String) {
        let (parent, name) = Self.split(relative)
        guard name != ".", name != ".." else { throw .invalidArgument("path must not end in . or ..") }
        let dir = open(parent, flags: ResolvedOpen.oPath | O_DIRECTORY)
        guard dir >= 0 else { throw Self.error(Self.absolute(parent), errno) }
        return (dir, name)
    }

    /// Creates the missing directories above `relative` (0755).
    func makeParents(of relative: String) throws(SandboxError) {
        var components = relative.split(separator: "/").map(String.init)
        components.removeLast()
        var prefix = ""
        for component in components {
            let parent = prefix.isEmpty ? "." : prefix
            prefix = prefix.isEmpty ? component : "\(prefix)/\(component)"
            let existing = open(prefix, flags: ResolvedOpen.oPath | O_DIRECTORY)
            if existing >= 0 {
                Glibc.close(existing)
                continue
            }
            guard errno == ENOENT else { throw Self.error("/\(prefix)", errno) }
            let parentFD = open(parent, flags: ResolvedOpen.oPath | O_DIRECTORY)
            guard parentFD >= 0 else { throw Self.error(Self.absolute(parent), errno) }
            defer { Glibc.close(parentFD) }
            guard mkdirat(parentFD, component, 0o755) == 0 || errno == EEXIST else {
                throw Self.error("/\(prefix)", errno, call: "mkdirat")
            }
        }
    }

    // MARK: Info

    /// What `fd` is (an `O_PATH` descriptor of a symlink reports the link).
    func info(of fd: Int32, path: String) throws(SandboxError) -> SandboxFileInfo {
        var status = Glibc.stat()
        guard fstat(fd, &status) == 0 else { throw Self.error(path, errno, call: "fstat") }
        let target = status.st_mode & S_IFMT == S_IFLNK ? Self.linkTarget(fd, []) : ""
        return info(status, path: path, symlinkTarget: target)
    }

    /// lstat of `name` in the directory `dir`; nil if it is gone.
    func info(at dir: Int32, _ name: [UInt8], path: String) throws(SandboxError) -> SandboxFileInfo? {
        var status = Glibc.stat()
        let result = DirectoryTree.withCName(name) { fstatat(dir, $0, &status, AT_SYMLINK_NOFOLLOW) }
        guard result == 0 else {
            if errno == ENOENT { return nil }
            throw Self.error(path, errno, call: "fstatat")
        }
        let target = status.st_mode & S_IFMT == S_IFLNK ? Self.linkTarget(dir, name) : ""
        return info(status, path: path, symlinkTarget: target)
    }

    func info(_ status: Glibc.stat, path: String, symlinkTarget: String) -> SandboxFileInfo {
        let kind: SandboxFileInfo.Kind =
            switch status.st_mode & S_IFMT {
            case S_IFREG: .file
            case S_IFDIR: .directory
            case S_IFLNK: .symlink
            default: .other
            }
        return SandboxFileInfo(
            path: path,
            kind: kind,
            size: Int(status.st_size),
            mode: UInt32(status.st_mode & 0o7777),
            modifiedAt: Double(status.st_mtim.tv_sec) + Double(status.st_mtim.tv_nsec) / 1e9,
            uid: insideID(status.st_uid),
            gid: insideID(status.st_gid),
            symlinkTarget: symlinkTarget
        )
    }

    /// A host uid or gid as the sandbox sees it; one its user namespace does not map is 65534.
    func insideID(_ host: UInt32) -> UInt32 {
        guard mapsIDs else { return host }
        return host >= owner && host - owner < OCIConfigBuilder.idRangeSize ? host - owner : Self.overflowID
    }

    /// What the symlink `name` in `dir` points to (an empty name: `dir` itself, an `O_PATH`
    /// descriptor of the link). Empty on procfs: its magic links (`/proc/<pid>/cwd`) read as paths
    /// from the reader's root, which would be host paths.
    static func linkTarget(_ dir: Int32, _ name: [UInt8]) -> String {
        guard let type = LinuxCalls.filesystemType(dir), type != procSuperMagic else { return "" }
        var buffer = [UInt8](repeating: 0, count: Int(PATH_MAX))
        let count = DirectoryTree.withCName(name) { cName in
            buffer.withUnsafeMutableBytes { raw in
                readlinkat(dir, cName, raw.baseAddress!.assumingMemoryBound(to: CChar.self), raw.count)
            }
        }
        return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : ""
    }

    // MARK: Paths and errors

    /// `a/b/c` → (`a/b`, `c`); `c` → (`.`, `c`).
    static func split(_ relative: String) -> (parent: String, name: String) {
        guard let slash = relative.lastIndex(of: "/") else { return (".", relative) }
        return (String(relative[..<slash]), String(relative[relative.index(after: slash)...]))
    }

    static func absolute(_ relative: String) -> String { relative == "." ? "/" : "/\(relative)" }

    /// The one mapping of a failed file call to what the client sees.
    static func error(_ path: String, _ code: Int32, call: String = "openat2") -> SandboxError {
        var error = message(path, code)
        error.cause = SystemError(call, errno: code)
        return error
    }

    private static func message(_ path: String, _ code: Int32) -> SandboxError {
        switch code {
        case ENOENT: SandboxError(code: .notFound, message: "\(path) not found")
        case ENOTDIR: SandboxError(code: .failedPrecondition, message: "\(path): not a directory")
        case EISDIR: SandboxError(code: .failedPrecondition, message: "\(path) is a directory")
        case ENOTEMPTY: SandboxError(code: .failedPrecondition, message: "\(path) is not empty")
        case EBUSY: SandboxError(code: .failedPrecondition, message: "\(path) is in use (a mount point)")
        case EROFS: SandboxError(code: .failedPrecondition, message: "\(path) is on a read-only file system")
        case EEXIST: SandboxError(code: .alreadyExists, message: "\(path) exists")
        case EACCES, EPERM: SandboxError(code: .permissionDenied, message: "permission denied: \(path)")
        case ELOOP, EXDEV: SandboxError(code: .invalidArgument, message: "\(path) leads outside the sandbox")
        case ENAMETOOLONG: SandboxError(code: .invalidArgument, message: "\(path): name too long")
        case ENOSPC, EDQUOT: SandboxError(code: .resourceExhausted, message: "the sandbox's disk is full")
        case EFBIG: SandboxError(code: .resourceExhausted, message: "\(path): file too large")
        case EAGAIN:
            SandboxError(code: .unavailable, message: "\(path): the host was too busy to resolve it; try again")
        default: SandboxError(code: .internal, message: "file access failed")
        }
    }
}
