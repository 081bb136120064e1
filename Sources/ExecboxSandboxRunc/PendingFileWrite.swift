import ExecboxSandbox
import Glibc

/// A streaming write between its start and its end: the open target directory and the file the
/// body's chunks go to — a temporary file beside the target (renamed over it by `commit`, unlinked by
/// `discard`), or, in append mode, the target itself.
struct PendingFileWrite {
    let directory: Int32
    let fd: Int32
    let name: String
    /// The temporary file's name; nil in append mode.
    let temporaryName: String?
    /// The permission bits to set; nil keeps an appended-to file's.
    let mode: mode_t?
    /// The owner of the file being replaced, which the new one keeps.
    let keepOwner: (uid: uid_t, gid: gid_t)?
    let exclusive: Bool
    let path: String

    /// Opens the file to write. Runs as the sandbox's root.
    static func start(
        _ relative: String,
        path: String,
        options: FileWriteOptions,
        root: SandboxRoot
    ) throws(SandboxError) -> PendingFileWrite {
        if options.createParents { try root.makeParents(of: relative) }
        let (directory, name) = try root.openParent(of: relative)
        do throws(SandboxError) {
            var existing = Glibc.stat()
            let exists = fstatat(directory, name, &existing, AT_SYMLINK_NOFOLLOW) == 0
            guard exists || errno == ENOENT else { throw SandboxRoot.error(path, errno, call: "fstatat") }
            if exists {
                if options.exclusive { throw SandboxError(code: .alreadyExists, message: "\(path) exists") }
                try requireRegular(existing, path: path)
            }
            let requested = options.mode == 0 ? nil : mode_t(options.mode)
            if options.append {
                return try openForAppend(directory, name, path: path, mode: requested)
            }
            let mode = requested ?? (exists ? existing.st_mode & 0o777 : 0o644)
            let keepOwner = exists && existing.st_uid != root.owner ? (existing.st_uid, existing.st_gid) : nil
            var temporaryName = ""
            var fd: Int32 = -1
            for _ in 0..<8 where fd < 0 {
                temporaryName = ".execbox-write-\(String(UInt64.random(in: .min ... .max), radix: 16))"
                fd = openat(directory, temporaryName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard fd >= 0 || errno == EEXIST else { throw SandboxRoot.error(path, errno, call: "openat") }
            }
            guard fd >= 0 else { throw SandboxRoot.error(path, EEXIST, call: "openat") }
            return PendingFileWrite(
                directory: directory, fd: fd, name: name, temporaryName: temporaryName, mode: mode,
                keepOwner: keepOwner, exclusive: options.exclusive, path: path)
        } catch {
            close(directory)
            throw error
        }
    }

    private static func requireRegular(_ status: Glibc.stat, path: String) throws(SandboxError) {
        switch status.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFDIR: throw SandboxRoot.error(path, EISDIR)
        case S_IFLNK: throw SandboxError(code: .failedPrecondition, message: "\(path) is a symbolic link")
        default: throw SandboxError(code: .failedPrecondition, message: "\(path) is not a regular file")
        }
    }

    /// The target itself, created (0644 unless a mode is given) or opened at its end. O_NONBLOCK: a
    /// FIFO swapped in meanwhile must not block the open (it is then refused as not a regular file).
    private static func openForAppend(
        _ directory: Int32,
        _ name: String,
        path: String,
        mode: mode_t?
    ) throws(SandboxError) -> PendingFileWrite {
        let flags = O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK
        var fd = openat(directory, name, flags | O_CREAT | O_EXCL, 0o600)
        let created = fd >= 0
        if fd < 0, errno == EEXIST { fd = openat(directory, name, flags) }
        guard fd >= 0 else { throw SandboxRoot.error(path, errno, call: "openat") }
        var status = Glibc.stat()
        guard fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw SandboxError(code: .failedPrecondition, message: "\(path) is not a regular file")
        }
        return PendingFileWrite(
            directory: directory, fd: fd, name: name, temporaryName: nil, mode: created ? mode ?? 0o644 : mode,
            keepOwner: nil, exclusive: false, path: path)
    }

    /// Sets the mode (and the replaced file's owner), syncs and renames the temporary file over the
    /// target (refusing an existing one when exclusive). Discards the write if any of it fails.
    func commit(root: SandboxRoot) throws(SandboxError) -> SandboxFileInfo {
        do throws(SandboxError) {
            if let mode { try root.asOwner { () throws(SandboxError) in try check(fchmod(fd, mode), "fchmod") } }
            // As the server: the sandbox's root may chown inside, the thread's borrowed identity may
            // not. Best effort: a replaced file's owner is a convenience, not a guarantee.
            if let keepOwner { _ = fchown(fd, keepOwner.uid, keepOwner.gid) }
            try check(fsync(fd), "fsync")
            if let temporaryName {
                try root.asOwner { () throws(SandboxError) in
                    let flags = exclusive ? LinuxCalls.renameNoReplace : 0
                    try check(
                        LinuxCalls.renameat2(directory, temporaryName, directory, name, flags: flags), "renameat2")
                }
            }
            let info = try root.info(of: fd, path: path)
            close(fd)
            close(directory)
            return info
        } catch {
            discard(root: root)
            throw error
        }
    }

    /// Closes the file and unlinks the temporary one: nothing of a failed replace stays visible.
    func discard(root: SandboxRoot) {
        close(fd)
        if let temporaryName {
            _ = try? root.asOwner { () throws(SandboxError) in unlinkat(directory, temporaryName, 0) }
        }
        close(directory)
    }

    private func check(_ result: Int32, _ call: String) throws(SandboxError) {
        guard result == 0 else { throw SandboxRoot.error(path, errno, call: call) }
    }
}
