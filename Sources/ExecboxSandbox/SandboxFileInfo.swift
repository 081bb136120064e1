/// A file inside a sandbox, as `stat` reports it (a symlink itself, never what it points to).
public struct SandboxFileInfo: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        case file, directory, symlink, other
    }

    /// The absolute path inside the sandbox.
    public var path: String
    public var kind: Kind
    public var size: Int
    public var mode: UInt32
    /// The last modification, in seconds since the epoch.
    public var modifiedAt: Double
    /// The owner as the sandbox sees it (its root is 0; an id it does not map is 65534).
    public var uid: UInt32
    public var gid: UInt32
    /// What a symlink points to; empty for every other kind.
    public var symlinkTarget: String

    public init(
        path: String,
        kind: Kind,
        size: Int,
        mode: UInt32,
        modifiedAt: Double = 0,
        uid: UInt32 = 0,
        gid: UInt32 = 0,
        symlinkTarget: String = ""
    ) {
        self.path = path
        self.kind = kind
        self.size = size
        self.mode = mode
        self.modifiedAt = modifiedAt
        self.uid = uid
        self.gid = gid
        self.symlinkTarget = symlinkTarget
    }
}
