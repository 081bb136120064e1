import ExecboxImages
import ExecboxSandbox
import Glibc

/// Readies a directory tree Execbox made itself (a bootstrapped root, a build's captured upper
/// layer) as a layer: optionally clears setuid and setgid bits and moves owners from the sandbox's
/// host range back to the sandbox's own ids, then checks every entry against the same `LayerPolicy`
/// as an imported layer, including its entry and size limits. overlayfs whiteouts (character
/// devices 0/0) are the one kind of device allowed: they are how a build deletes a file of the base.
enum DirectoryLayer {
    struct Options: Sendable {
        var policy = LayerPolicy.default
        var clearSetuid = false
        /// The host id of the sandbox's root: owners `base + n` become `n`.
        var ownerBase: UInt32?
    }

    static func prepare(_ directory: String, _ options: Options) throws {
        var entries = 0
        var total: Int64 = 0
        let policy = options.policy
        let top = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard top >= 0 else { throw SandboxRoot.error(directory, errno, call: "open") }
        defer { close(top) }
        try LayerTree.walk(directory) { path, status throws(SandboxError) in
            entries += 1
            var mode = UInt32(status.st_mode & 0o7777)
            var uid = status.st_uid
            var gid = status.st_gid
            let type = status.st_mode & S_IFMT
            if let base = options.ownerBase {
                uid = uid >= base && uid - base < OCIConfigBuilder.idRangeSize ? uid - base : SandboxRoot.overflowID
                gid = gid >= base && gid - base < OCIConfigBuilder.idRangeSize ? gid - base : SandboxRoot.overflowID
                guard fchownat(top, path, uid, gid, AT_SYMLINK_NOFOLLOW) == 0 else {
                    throw SandboxRoot.error(path, errno, call: "fchownat")
                }
            }
            if options.clearSetuid, type != S_IFLNK, type != S_IFDIR, mode & 0o6000 != 0 {
                mode &= ~0o6000
                guard fchmodat(top, path, mode_t(mode), 0) == 0 else {
                    throw SandboxRoot.error(path, errno, call: "fchmodat")
                }
            } else if options.ownerBase != nil, type != S_IFLNK, mode & 0o6000 != 0 {
                // The chown cleared them; a build that set them is refused below unless allowed.
                _ = fchmodat(top, path, mode_t(mode), 0)
            }
            let kind: TarEntry.Kind
            var target = ""
            switch type {
            case S_IFREG: kind = .file
            case S_IFDIR: kind = .directory
            case S_IFIFO: kind = .fifo
            case S_IFLNK:
                kind = .symlink
                target = SandboxRoot.linkTarget(top, Array(path.utf8))
            case S_IFCHR where status.st_rdev == 0:
                return  // an overlayfs whiteout
            default:
                throw SandboxError.invalidArgument(
                    "layer entry \"\(path.prefix(256))\": device nodes and sockets are not allowed")
            }
            let entry = TarEntry(
                kind: kind, path: path, linkTarget: target, mode: mode, uid: uid, gid: gid,
                size: kind == .file ? Int64(status.st_size) : 0)
            do {
                try policy.check(entry)
            } catch {
                throw SandboxError.invalidArgument("\(error)")
            }
            if kind == .file { total += Int64(status.st_size) }
            guard entries <= policy.maxEntries, total <= policy.maxTotalBytes else {
                throw SandboxError.invalidArgument(
                    "the layer has more than \(policy.maxEntries) entries or \(policy.maxTotalBytes) bytes")
            }
        }
    }
}
