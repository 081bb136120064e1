import ExecboxImages
import ExecboxSandbox
import Glibc

/// Writes a layer's checked tar entries (`TarReader` has applied `LayerPolicy` to each) into an
/// empty directory, the way overlayfs wants a lower layer: OCI whiteouts become whiteout devices
/// (character 0/0) and opaque markers the `trusted.overlay.opaque` attribute. Every entry's parent
/// is opened inside the layer's root (`openat2` with `RESOLVE_IN_ROOT`), so neither `..` nor a
/// symlink an earlier entry planted reaches outside it, and every call on the last name is an `*at`
/// call that never follows a symlink there. Owners, modes and times are kept as the archive says
/// (they are the sandbox's ids: the layer is mounted idmapped).
struct LayerUnpacker {
    let rootFD: Int32
    let path: String
    private(set) var entries = 0

    init(directory: String) throws(SandboxError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw SandboxRoot.error(directory, errno, call: "open") }
        rootFD = fd
        path = directory
    }

    func close() { Glibc.close(rootFD) }

    /// Unpacks everything `reader` yields.
    mutating func unpack(_ reader: inout TarReader) throws {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(256 << 10)
        while let entry = try reader.next() {
            entries += 1
            if entry.path == "." { continue }
            let (parent, name) = try openParent(entry.path)
            defer { Glibc.close(parent) }
            if entry.isOpaqueWhiteout {
                try Self.setOpaque(parent, path: entry.path)
                continue
            }
            if let deleted = entry.whiteoutTarget {
                let target = String(deleted.split(separator: "/").last ?? "")
                try removeExisting(parent, target, path: deleted)
                guard mknodat(parent, target, S_IFCHR | 0o000, 0) == 0 else {
                    throw SandboxRoot.error(deleted, errno, call: "mknodat")
                }
                continue
            }
            switch entry.kind {
            case .directory:
                if mkdirat(parent, name, 0o700) != 0 {
                    guard errno == EEXIST, isDirectory(parent, name) else {
                        if errno == EEXIST {
                            try removeExisting(parent, name, path: entry.path)
                            guard mkdirat(parent, name, 0o700) == 0 else {
                                throw SandboxRoot.error(entry.path, errno, call: "mkdirat")
                            }
                            break
                        }
                        throw SandboxRoot.error(entry.path, errno, call: "mkdirat")
                    }
                }
            case .file:
                try removeExisting(parent, name, path: entry.path)
                let fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw SandboxRoot.error(entry.path, errno, call: "openat") }
                defer { Glibc.close(fd) }
                while true {
                    buffer.removeAll(keepingCapacity: true)
                    let count = try reader.readData(into: &buffer, max: 256 << 10)
                    if count == 0 { break }
                    var offset = 0
                    while offset < count {
                        let written = buffer.withUnsafeBytes {
                            Glibc.write(fd, $0.baseAddress! + offset, count - offset)
                        }
                        if written < 0, errno == EINTR { continue }
                        guard written > 0 else { throw SandboxRoot.error(entry.path, errno, call: "write") }
                        offset += written
                    }
                }
            case .symlink:
                try removeExisting(parent, name, path: entry.path)
                guard symlinkat(entry.linkTarget, parent, name) == 0 else {
                    throw SandboxRoot.error(entry.path, errno, call: "symlinkat")
                }
            case .hardlink:
                try removeExisting(parent, name, path: entry.path)
                let target = ResolvedOpen.open(root: rootFD, entry.linkTarget, flags: ResolvedOpen.oPath | O_NOFOLLOW)
                guard target >= 0 else {
                    throw SandboxError.invalidArgument(
                        "layer entry \"\(entry.path.prefix(256))\": its hard link target \(entry.linkTarget.prefix(256)) is not in the layer"
                    )
                }
                defer { Glibc.close(target) }
                guard linkat(target, "", parent, name, Self.atEmptyPath) == 0 else {
                    throw SandboxRoot.error(entry.path, errno, call: "linkat")
                }
                continue  // A hard link shares its target's owner, mode and times.
            case .fifo:
                try removeExisting(parent, name, path: entry.path)
                guard mknodat(parent, name, S_IFIFO | 0o600, 0) == 0 else {
                    throw SandboxRoot.error(entry.path, errno, call: "mknodat")
                }
            }
            try Self.applyMetadata(entry, parent: parent, name: name)
        }
    }

    /// The directory holding `relative`'s last name, created (0755, root) where missing.
    private func openParent(_ relative: String) throws(SandboxError) -> (Int32, String) {
        var components = relative.split(separator: "/").map(String.init)
        let name = components.removeLast()
        var fd = dup(rootFD)
        var prefix = ""
        for component in components {
            prefix = prefix.isEmpty ? component : "\(prefix)/\(component)"
            if mkdirat(fd, component, 0o755) != 0, errno != EEXIST {
                Glibc.close(fd)
                throw SandboxRoot.error(prefix, errno, call: "mkdirat")
            }
            // Resolved from the layer's root: a symlinked directory stays inside it.
            let next = ResolvedOpen.open(root: rootFD, prefix, flags: O_RDONLY | O_DIRECTORY)
            Glibc.close(fd)
            guard next >= 0 else { throw SandboxRoot.error(prefix, errno) }
            fd = next
        }
        return (fd, name)
    }

    private func isDirectory(_ parent: Int32, _ name: String) -> Bool {
        var status = stat()
        return fstatat(parent, name, &status, AT_SYMLINK_NOFOLLOW) == 0 && status.st_mode & S_IFMT == S_IFDIR
    }

    /// Removes what an earlier entry of the same layer put at `name` (a later entry replaces it).
    private func removeExisting(_ parent: Int32, _ name: String, path: String) throws(SandboxError) {
        if unlinkat(parent, name, 0) == 0 || errno == ENOENT { return }
        guard errno == EISDIR else { throw SandboxRoot.error(path, errno, call: "unlinkat") }
        _ = try DirectoryTree.removeTree(Array(name.utf8), in: parent, path: path)
    }

    private static func applyMetadata(_ entry: TarEntry, parent: Int32, name: String) throws(SandboxError) {
        guard fchownat(parent, name, entry.uid, entry.gid, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw SandboxRoot.error(entry.path, errno, call: "fchownat")
        }
        if entry.kind != .symlink {
            // After the chown, which clears setuid bits.
            guard fchmodat(parent, name, mode_t(entry.mode & 0o7777), 0) == 0 else {
                throw SandboxRoot.error(entry.path, errno, call: "fchmodat")
            }
        }
        let time = timespec(tv_sec: Int(entry.modificationTime), tv_nsec: 0)
        var times = (time, time)
        _ = withUnsafePointer(to: &times) { pointer in
            pointer.withMemoryRebound(to: timespec.self, capacity: 2) {
                utimensat(parent, name, $0, AT_SYMLINK_NOFOLLOW)
            }
        }
    }

    static let atEmptyPath: Int32 = 0x1000

    private typealias Fsetxattr = @convention(c) (Int32, UnsafePointer<CChar>, UnsafeRawPointer, Int, Int32) -> Int32
    private static let fsetxattrFunction: Fsetxattr? = {
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, "fsetxattr") else { return nil }
        return unsafeBitCast(pointer, to: Fsetxattr.self)
    }()

    /// Marks the directory `parent` opaque for overlayfs (it hides the lower layers' entries).
    static func setOpaque(_ parent: Int32, path: String) throws(SandboxError) {
        guard let function = fsetxattrFunction else {
            throw SandboxError(code: .unavailable, message: "fsetxattr is not available")
        }
        let value: [UInt8] = [UInt8(ascii: "y")]
        let result = value.withUnsafeBytes { raw in function(parent, "trusted.overlay.opaque", raw.baseAddress!, 1, 0) }
        guard result == 0 else { throw SandboxRoot.error(path, errno, call: "fsetxattr") }
    }
}
