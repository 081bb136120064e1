/// What a backend knows about one exec, running or ended.
///
/// Output offsets count the bytes of stdout and stderr together, in the order the exec's events
/// deliver them: a client that received `n` bytes of output re-attaches from offset `n`. The
/// per-stream counts let a client that counts stdout and stderr separately find its place: the kept
/// output starts `retainedStdoutFrom` bytes into stdout and `retainedFrom - retainedStdoutFrom` bytes
/// into stderr.
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
    /// Bytes of stdout and of stderr produced so far (together `outputBytes`).
    public var stdoutBytes: UInt64
    public var stderrBytes: UInt64
    /// How many of the bytes before `retainedFrom` were stdout.
    public var retainedStdoutFrom: UInt64
    /// Clients attached right now.
    public var attachedClients: Int
    /// When it was started, in seconds since 1970 (wall clock); 0 when unknown.
    public var startedAt: Double
    /// From its start to its exit (monotonic clock), once it ended.
    public var runTime: Duration?

    public init(
        id: ExecID,
        sandboxID: SandboxID,
        argv: [String],
        tty: Bool,
        pid: Int32? = nil,
        exit: ProcessExit? = nil,
        outputBytes: UInt64 = 0,
        retainedFrom: UInt64 = 0,
        attachedClients: Int = 0,
        stdoutBytes: UInt64 = 0,
        stderrBytes: UInt64 = 0,
        retainedStdoutFrom: UInt64 = 0,
        startedAt: Double = 0,
        runTime: Duration? = nil
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
        self.stdoutBytes = stdoutBytes
        self.stderrBytes = stderrBytes
        self.retainedStdoutFrom = retainedStdoutFrom
        self.startedAt = startedAt
        self.runTime = runTime
    }

    public var isRunning: Bool { exit == nil }
}
