/// A process to run in a sandbox.
public struct ExecSpec: Hashable, Sendable {
    public var argv: [String]
    /// Added to (and overriding) the sandbox's environment.
    public var environment: [String: String]
    /// Absolute working directory; empty means the sandbox's.
    public var workingDirectory: String
    /// A pseudo-terminal instead of pipes (stdout and stderr merged).
    public var tty: Bool
    public var terminalSize: TerminalSize?
    /// Kill the process after this long; nil means no limit of its own (the sandbox's still applies).
    public var timeout: Duration?

    public init(
        argv: [String],
        environment: [String: String] = [:],
        workingDirectory: String = "",
        tty: Bool = false,
        terminalSize: TerminalSize? = nil,
        timeout: Duration? = nil
    ) {
        self.argv = argv
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.tty = tty
        self.terminalSize = terminalSize
        self.timeout = timeout
    }

    public func validate() throws(SandboxError) {
        guard let first = argv.first, !first.isEmpty else { throw .invalidArgument("argv must not be empty") }
        guard argv.count <= 65536, !argv.contains(where: { $0.utf8.contains(0) }) else {
            throw .invalidArgument("argv is too long or contains NUL bytes")
        }
        try EnvironmentCheck.validate(environment)
        if !workingDirectory.isEmpty { try PathCheck.validateWorkingDirectory(workingDirectory) }
        if let timeout, timeout <= .zero { throw .invalidArgument("timeout must be positive") }
    }
}

/// A terminal's size in character cells.
public struct TerminalSize: Hashable, Sendable, Codable {
    public var columns: UInt16
    public var rows: UInt16

    public init(columns: UInt16, rows: UInt16) {
        self.columns = columns
        self.rows = rows
    }
}
