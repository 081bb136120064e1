/// One entry of a layer, as `TarReader.next()` returns it: already checked against the
/// `LayerPolicy`, with metadata headers (pax, GNU long names) applied.
public struct TarEntry: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case file
        case directory
        case symlink
        case hardlink
        case fifo
    }

    public var kind: Kind
    /// Relative to the root, normalized: no leading `/` or `./`, no trailing `/`, no empty, `.` or
    /// `..` components. Never empty: an entry naming the root itself is the directory `"."`, whose
    /// metadata an unpacker may apply or ignore.
    public var path: String
    /// A symlink's target verbatim (it resolves inside the container's root, wherever it points);
    /// a hardlink's target normalized like `path` (it names an earlier entry or a lower layer's
    /// file); empty for the other kinds.
    public var linkTarget: String
    /// Permission bits, including setuid, setgid and sticky (`0o7777` at most).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// The data's size for regular files; 0 for every other kind.
    public var size: Int64
    /// Seconds since the epoch (the integer part of a pax `mtime`).
    public var modificationTime: Int64

    public init(
        kind: Kind,
        path: String,
        linkTarget: String = "",
        mode: UInt32,
        uid: UInt32 = 0,
        gid: UInt32 = 0,
        size: Int64 = 0,
        modificationTime: Int64 = 0
    ) {
        self.kind = kind
        self.path = path
        self.linkTarget = linkTarget
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.modificationTime = modificationTime
    }

    /// The last component of the path.
    public var name: Substring {
        guard let slash = path.lastIndex(of: "/") else { return path[...] }
        return path[path.index(after: slash)...]
    }

    /// An OCI whiteout (`.wh.<name>` or the opaque `.wh..wh..opq`): an empty regular file that
    /// deletes something of the layers below rather than a file to create.
    public var isWhiteout: Bool { name.hasPrefix(".wh.") }

    /// `.wh..wh..opq`: the directory holding it hides everything the layers below put in it.
    public var isOpaqueWhiteout: Bool { name == ".wh..wh..opq" }

    /// The path a (non-opaque) whiteout deletes: its directory joined with the name after `.wh.`.
    public var whiteoutTarget: String? {
        guard isWhiteout, !isOpaqueWhiteout else { return nil }
        let deleted = name.dropFirst(4)
        guard let slash = path.lastIndex(of: "/") else { return String(deleted) }
        return String(path[...slash]) + String(deleted)
    }
}
