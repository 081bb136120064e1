/// How `SandboxBackend.writeFile(_:path:options:_:)` writes a file.
public struct FileWriteOptions: Hashable, Sendable {
    /// Permission bits (within 0777). 0 means 0644 for a new file and keeps an existing file's bits.
    public var mode: UInt32
    /// Creates missing parent directories (0755).
    public var createParents: Bool
    /// Fails with `alreadyExists` when the path exists (whatever it is, a dangling symlink too).
    public var exclusive: Bool
    /// Appends to an existing file (or creates it), written in place rather than replaced; what a
    /// failing body wrote stays. Cannot be combined with `exclusive`.
    public var append: Bool

    public init(mode: UInt32 = 0, createParents: Bool = false, exclusive: Bool = false, append: Bool = false) {
        self.mode = mode
        self.createParents = createParents
        self.exclusive = exclusive
        self.append = append
    }

    /// Refuses bits outside 0777 and `exclusive` with `append`.
    public func validate() throws(SandboxError) {
        guard mode & ~0o777 == 0 else { throw .invalidArgument("mode must be within 0777") }
        guard !(exclusive && append) else { throw .invalidArgument("exclusive and append cannot be combined") }
    }
}
