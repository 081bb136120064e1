/// A file inside a sandbox, as `stat` reports it.
public struct SandboxFileInfo: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        case file, directory, symlink, other
    }

    /// The absolute path inside the sandbox.
    public var path: String
    public var kind: Kind
    public var size: Int
    public var mode: UInt32

    public init(path: String, kind: Kind, size: Int, mode: UInt32) {
        self.path = path
        self.kind = kind
        self.size = size
        self.mode = mode
    }
}
