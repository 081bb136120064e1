public import ExecboxSandbox
import Glibc

/// Listing, removal and directory creation, confined like the other file calls (`SandboxRoot`): the
/// path up to its last name is resolved in the sandbox's root, the last name is acted on with `*at`
/// calls that never follow it, and a recursive removal walks descriptors (`DirectoryTree`).
extension RuncBackend {
    public func listDirectory(_ id: SandboxID, path: String) async throws -> [SandboxFileInfo] {
        let relative = try Self.relative(path, allowRoot: true)
        let root = try openRoot(lookup(id))
        defer { root.close() }
        let fd = root.open(relative, flags: O_RDONLY | O_DIRECTORY | O_NOCTTY)
        guard fd >= 0 else { throw SandboxRoot.error(path, errno) }
        defer { close(fd) }
        let base = relative == "." ? "" : "/\(relative)"
        let names = try DirectoryTree.names(fd, path: path, limit: configuration.maxListedEntries)
            .sorted { $0.lexicographicallyPrecedes($1) }
        var entries: [SandboxFileInfo] = []
        entries.reserveCapacity(names.count)
        for name in names {
            let entryPath = "\(base)/\(DirectoryTree.display(name))"
            if let info = try root.info(at: fd, name, path: entryPath) { entries.append(info) }
        }
        return entries
    }

    public func remove(_ id: SandboxID, path: String, recursive: Bool) async throws -> Int {
        let relative = try Self.relative(path, allowRoot: true)
        guard relative != "." else { throw SandboxError.invalidArgument("the root directory cannot be removed") }
        let root = try openRoot(lookup(id))
        defer { root.close() }
        return try root.asOwner { () throws(SandboxError) -> Int in
            let (directory, name) = try root.openParent(of: relative)
            defer { close(directory) }
            let bytes = Array(name.utf8)
            // Anything but a directory goes at once (Linux answers EISDIR for a directory).
            if DirectoryTree.withCName(bytes, { unlinkat(directory, $0, 0) }) == 0 { return 1 }
            guard errno == EISDIR else { throw SandboxRoot.error(path, errno, call: "unlinkat") }
            guard recursive else {
                try DirectoryTree.unlink(bytes, in: directory, flags: AT_REMOVEDIR, path: path)
                return 1
            }
            return try DirectoryTree.removeTree(bytes, in: directory, path: path)
        }
    }

    public func makeDirectory(_ id: SandboxID, path: String, mode: UInt32, parents: Bool) async throws
        -> SandboxFileInfo
    {
        guard mode & ~0o777 == 0 else { throw SandboxError.invalidArgument("mode must be within 0777") }
        let relative = try Self.relative(path)
        let root = try openRoot(lookup(id))
        defer { root.close() }
        return try root.asOwner { () throws(SandboxError) -> SandboxFileInfo in
            if parents { try root.makeParents(of: relative) }
            let (directory, name) = try root.openParent(of: relative)
            defer { close(directory) }
            if mkdirat(directory, name, 0o700) != 0 {
                guard errno == EEXIST, parents else { throw SandboxRoot.error(path, errno, call: "mkdirat") }
                // `mkdir -p`: an existing directory (or a symlink to one inside) is success.
                let existing = root.open(relative, flags: ResolvedOpen.oPath | O_DIRECTORY)
                guard existing >= 0 else {
                    throw SandboxError(code: .alreadyExists, message: "\(path) exists and is not a directory")
                }
                defer { close(existing) }
                return try root.info(of: existing, path: path)
            }
            // Opened without following: the name is the directory just made, unless the sandbox
            // swapped it meanwhile (then it is refused, not chmodded).
            let fd = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw SandboxRoot.error(path, errno, call: "openat") }
            defer { close(fd) }
            // Exact bits, whatever the server's umask: 0 means 0755.
            guard fchmod(fd, mode_t(mode == 0 ? 0o755 : mode)) == 0 else {
                throw SandboxRoot.error(path, errno, call: "fchmod")
            }
            return try root.info(of: fd, path: path)
        }
    }
}
