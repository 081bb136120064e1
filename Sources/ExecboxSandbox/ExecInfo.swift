/// What a backend knows about one exec, running or ended.
///
/// Output offsets count the bytes of stdout and stderr together, in the order the exec's events
/// deliver them: a client that received `n` bytes of output re-attaches from offset `n`.
public struct ExecInfo: Hashable, Sendable {
    public var id: ExecID
    public var sandboxID: SandboxID
    public var argv: [String]
    public var tty: Bool
    /// The process id inside the sandbox, when known.
    public var pid: Int32?
    /// The exit, once the process ended and its output was drained; nil while it runs.
    public var exit: ProcessExit?
    /// Output produced so far: the offset at which the output currently ends.
    public var outputBytes: UInt64
    /// The first offset still kept; older output was dropped at the spool's size limit.
    public var retainedFrom: UInt64
    /// Clients attached right now.
    public var attachedClients: Int

    public init(
        id: ExecID,
        sandboxID: SandboxID,
        argv: [String],
        tty: Bool,
        pid: Int32? = nil,
        exit: ProcessExit? = nil,
        outputBytes: UInt64 = 0,
        retainedFrom: UInt64 = 0,
        attachedClients: Int = 0
    ) {
        self.id = id
        self.sandboxID = sandboxID
        self.argv = argv
        self.tty = tty
        self.pid = pid
        self.exit = exit
        self.outputBytes = outputBytes
        self.retainedFrom = retainedFrom
        self.attachedClients = attachedClients
    }

    public var isRunning: Bool { exit == nil }
}
