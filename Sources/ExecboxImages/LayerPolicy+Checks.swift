/// The policy's rules, applied by `TarReader` to every entry before it is returned.
extension LayerPolicy {
    /// `raw` as a normalized relative path (see `TarEntry.path`); refuses empty paths, NUL bytes,
    /// `..` components and paths or components over the limits.
    func normalize(_ raw: String, what: String = "path") throws(LayerError) -> String {
        guard !raw.isEmpty else { throw .refused("the \(what) is empty", path: raw) }
        guard !raw.utf8.contains(0) else { throw .refused("the \(what) contains a NUL byte", path: raw) }
        var components: [Substring] = []
        for component in raw.split(separator: "/") where component != "." {
            guard component != ".." else {
                throw .refused("the \(what) has a \"..\" component", path: raw)
            }
            guard component.utf8.count <= maxComponentBytes else {
                throw .limit("a component of the \(what) is longer than \(maxComponentBytes) bytes", path: raw)
            }
            components.append(component)
        }
        let path = components.isEmpty ? "." : components.joined(separator: "/")
        guard path.utf8.count <= maxPathBytes else {
            throw .limit("the \(what) is longer than \(maxPathBytes) bytes", path: raw)
        }
        return path
    }

    /// A hardlink's target: a normalized path that stays inside the root and names no reserved tree.
    func hardlinkTarget(_ raw: String, path: String) throws(LayerError) -> String {
        guard !raw.hasPrefix("/") else { throw .refused("the hardlink's target is absolute", path: path) }
        let target: String
        do { target = try normalize(raw, what: "hardlink's target") } catch {
            throw LayerError(
                code: error.code, message: error.message, path: path)
        }
        guard target != "." else { throw .refused("the hardlink's target is the root", path: path) }
        if let tree = Self.reservedTree(containing: target) {
            throw .refused("the hardlink's target is under \(tree)/, which the runtime provides", path: path)
        }
        return target
    }

    /// A symlink's target is kept verbatim: it resolves inside the container's root.
    func symlinkTarget(_ raw: String, path: String) throws(LayerError) -> String {
        guard !raw.isEmpty else { throw .refused("the symlink's target is empty", path: path) }
        guard !raw.utf8.contains(0) else { throw .refused("the symlink's target contains a NUL byte", path: path) }
        guard raw.utf8.count <= maxPathBytes else {
            throw .limit("the symlink's target is longer than \(maxPathBytes) bytes", path: path)
        }
        return raw
    }

    /// The rules that depend on the entry as a whole (its path is already normalized). Public for
    /// trees that are not archives (a bootstrapped root, a build's captured layer).
    public func check(_ entry: TarEntry) throws(LayerError) {
        let path = entry.path
        if path == "." {
            guard entry.kind == .directory else { throw .refused("the root must be a directory", path: path) }
            return
        }
        if let tree = Self.reservedTree(containing: path) {
            throw .refused("entries under \(tree)/ are not allowed (the runtime provides it)", path: path)
        }
        for mountPoint in Self.mountPoints {
            if path == mountPoint {
                if Self.fileMountPoints.contains(mountPoint) {
                    guard entry.kind == .file else {
                        throw .refused("the runtime mounts a file here; only a regular file may be here", path: path)
                    }
                } else {
                    guard entry.kind == .directory else {
                        throw .refused("the runtime mounts a directory here; it must be a directory", path: path)
                    }
                }
            } else if entry.kind != .directory && Self.isAncestor(path, of: mountPoint) {
                throw .refused("the runtime mounts \(mountPoint) under this path; it must be a directory", path: path)
            }
        }
        if !allowSetuid && entry.mode & 0o6000 != 0 && entry.kind != .directory && entry.kind != .symlink {
            throw .refused("setuid and setgid files are not allowed", path: path)
        }
        if entry.isWhiteout { try checkWhiteout(entry) }
    }

    private func checkWhiteout(_ entry: TarEntry) throws(LayerError) {
        let name = entry.name
        if !entry.isOpaqueWhiteout {
            guard !name.hasPrefix(".wh..wh.") else {
                throw .refused("\".wh..wh.\" names other than \".wh..wh..opq\" are reserved", path: entry.path)
            }
            let deleted = name.dropFirst(4)
            guard !deleted.isEmpty, deleted != ".", deleted != ".." else {
                throw .refused("a whiteout must name what it deletes", path: entry.path)
            }
        }
        guard entry.kind == .file, entry.size == 0 else {
            throw .refused("a whiteout must be an empty regular file", path: entry.path)
        }
    }

    /// Whether `mountPoint` is strictly under `path`.
    static func isAncestor(_ path: String, of mountPoint: String) -> Bool {
        let (path, mountPoint) = (path.utf8, mountPoint.utf8)
        return mountPoint.count > path.count && mountPoint.starts(with: path)
            && mountPoint[mountPoint.index(mountPoint.startIndex, offsetBy: path.count)] == UInt8(ascii: "/")
    }

    /// `dev`, `proc` or `sys` when `path` is strictly under one of them.
    static func reservedTree(containing path: String) -> Substring? {
        guard let slash = path.firstIndex(of: "/") else { return nil }
        let first = path[..<slash]
        return reservedTrees.contains(String(first)) ? first : nil
    }
}
