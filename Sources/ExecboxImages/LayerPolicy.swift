/// The limits and rules every layer entry is checked against inside `TarReader.next()`, so no
/// consumer ever sees an unchecked entry. The rules protect the host from what an unpacker and runc
/// would otherwise do with a hostile image (TESTPLAN 35): device nodes, entries in the trees the
/// runtime mounts (`dev/null` as a symlink is CVE-2025-31133), symlinks where runc mounts, escaping
/// paths, setuid binaries, and archives that would fill the disk.
public struct LayerPolicy: Hashable, Sendable {
    /// More entries than this (metadata headers such as pax or GNU long names not counted) is refused.
    public var maxEntries: Int
    /// The sum of the regular files' sizes, as declared by their headers (checked before any data),
    /// and of the metadata (pax headers, GNU long names).
    public var maxTotalBytes: Int64
    /// One regular file's size, as declared by its header.
    public var maxFileBytes: Int64
    /// A normalized path's length in bytes (and a symlink target's).
    public var maxPathBytes: Int
    /// One path component's length in bytes.
    public var maxComponentBytes: Int
    /// Setuid and setgid bits on files. Debian and Ubuntu base images carry setuid binaries
    /// (`passwd`, `su`, `mount`): a consumer that wants those images without the bits sets this and
    /// clears `0o6000` from `TarEntry.mode` itself. Directories may always be setgid (group
    /// inheritance, e.g. Debian's `/var/mail`); it escalates nothing.
    public var allowSetuid: Bool

    public init(
        maxEntries: Int = 500_000,
        maxTotalBytes: Int64 = 8 << 30,
        maxFileBytes: Int64 = 4 << 30,
        maxPathBytes: Int = 4096,
        maxComponentBytes: Int = 255,
        allowSetuid: Bool = false
    ) {
        self.maxEntries = maxEntries
        self.maxTotalBytes = maxTotalBytes
        self.maxFileBytes = maxFileBytes
        self.maxPathBytes = maxPathBytes
        self.maxComponentBytes = maxComponentBytes
        self.allowSetuid = allowSetuid
    }

    public static let `default` = LayerPolicy()

    /// Paths (relative to the root) the runtime mounts over. A layer may put only a directory at the
    /// directory ones and only a regular file at the `etc/` ones, and every ancestor of one must be
    /// a directory: runc resolves these paths inside the root, and a symlink there (or above) would
    /// send its mount somewhere the image chose.
    public static let mountPoints: [String] = [
        "dev", "proc", "sys", "tmp", "workspace", "run", "etc/hosts", "etc/hostname", "etc/resolv.conf",
    ]

    /// The mount points that are files (the others are directories).
    public static let fileMountPoints: Set<String> = ["etc/hosts", "etc/hostname", "etc/resolv.conf"]

    /// Trees the runtime provides whole: nothing may be put under them (the bare directories are
    /// fine).
    public static let reservedTrees: Set<String> = ["dev", "proc", "sys"]
}
