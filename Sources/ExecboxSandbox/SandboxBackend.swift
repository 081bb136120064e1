/// What every sandbox backend offers (runc locally; Docker, Kubernetes, Fly or a microVM later). The
/// service layer talks to this protocol only and never knows which backend runs a session.
///
/// Every method throws `SandboxError`. Calls on one sandbox may run concurrently; a backend serialises
/// what must be serialised (its `SandboxStateMachine`).
public protocol SandboxBackend: Sendable {
    /// Creates and starts a sandbox; returns once its main process runs (state `running`).
    func create(_ id: SandboxID, _ spec: SandboxSpec) async throws -> SandboxInfo

    func get(_ id: SandboxID) async throws -> SandboxInfo

    /// Every sandbox the backend knows, live and recently ended, ordered by id.
    func list() async throws -> [SandboxInfo]

    /// SIGTERM to the main process, SIGKILL to everything after `grace`, then destroy. Returns the
    /// terminal info; stopping an ended sandbox returns its info unchanged.
    func stop(_ id: SandboxID, grace: Duration) async throws -> SandboxInfo

    /// SIGKILL to every process now, then destroy. Idempotent.
    func kill(_ id: SandboxID) async throws -> SandboxInfo

    /// Forgets an ended sandbox (its info stops being listed). Kills it first if it still runs.
    func remove(_ id: SandboxID) async throws

    /// Runs a process in the sandbox for the duration of `body`. Output reaches `body` through
    /// `ExecProcess.events`; a process still running when `body` returns or throws is killed and
    /// reaped before `exec` returns, so nothing outlives the call.
    func exec<Result: Sendable>(
        _ id: SandboxID,
        _ spec: ExecSpec,
        _ body: (any ExecProcess) async throws -> Result
    ) async throws -> Result

    /// Starts a process that runs with no client attached (a background exec). Its output is kept in
    /// a bounded spool; clients attach and detach with `attachExec` and read its exit with `execInfo`,
    /// during its run and after it.
    func startExec(_ id: SandboxID, _ spec: ExecSpec) async throws -> ExecInfo

    /// Attaches to an exec, running or ended, for the duration of `body`: its events are the output
    /// from `offset` (bytes of stdout and stderr together) — what the spool kept, then live output —
    /// then the exit. Returning from `body` detaches and never stops the process. While a client is
    /// attached and does not read, the process blocks on its output (backpressure).
    func attachExec<Result: Sendable>(
        _ id: SandboxID,
        _ exec: ExecID,
        from offset: UInt64,
        _ body: (any ExecProcess) async throws -> Result
    ) async throws -> Result

    func execInfo(_ id: SandboxID, _ exec: ExecID) async throws -> ExecInfo

    /// The sandbox's running execs and its recently ended ones, oldest first.
    func listExecs(_ id: SandboxID) async throws -> [ExecInfo]

    /// Attaches to the main process for the duration of `body`: its output from the oldest byte still
    /// kept, then live output, then its exit (the sandbox's). Detaching does not stop it.
    func attach<Result: Sendable>(
        _ id: SandboxID,
        _ body: (any ExecProcess) async throws -> Result
    ) async throws -> Result

    /// The main process as an exec record, when the backend runs it as one: `attachExec` and
    /// `execInfo` then work with its id (any kept offset, per-stream counts); `listExecs` leaves it
    /// out. nil when the main process has no record (no command, or it outlived a restart).
    func mainExecInfo(_ id: SandboxID) async throws -> ExecInfo?

    /// Up to `length` bytes of a file inside the sandbox starting at `offset`; fewer at its end.
    func readFile(_ id: SandboxID, path: String, offset: Int, length: Int) async throws -> [UInt8]

    /// Writes a whole file inside the sandbox (created or replaced), with `mode` and, if asked, its
    /// missing parent directories: the streamed `writeFile` with one chunk (`mode` 0 keeps an existing
    /// file's bits, 0644 for a new one).
    func writeFile(_ id: SandboxID, path: String, contents: [UInt8], mode: UInt32, createParents: Bool)
        async throws -> SandboxFileInfo

    /// Writes a file from chunks the body hands to the writer: a temporary file in the target directory,
    /// fsync and rename once `body` returns (append mode writes in place). A body that throws leaves
    /// nothing visible.
    func writeFile(
        _ id: SandboxID,
        path: String,
        options: FileWriteOptions,
        _ body: (any SandboxFileWriter) async throws -> Void
    ) async throws -> SandboxFileInfo

    /// lstat of a path: a symlink is reported as itself.
    func stat(_ id: SandboxID, path: String) async throws -> SandboxFileInfo

    /// Entries of a directory (not `.`/`..`), sorted by name byte-wise; lstat info of each.
    func listDirectory(_ id: SandboxID, path: String) async throws -> [SandboxFileInfo]

    /// Removes a file, symlink or directory (recursively when asked); returns how many entries were
    /// removed. A symlink is removed itself, never what it points to.
    func remove(_ id: SandboxID, path: String, recursive: Bool) async throws -> Int

    /// Creates a directory (with missing parents when asked; then an existing directory is success).
    func makeDirectory(_ id: SandboxID, path: String, mode: UInt32, parents: Bool) async throws -> SandboxFileInfo

    /// The URL at which a declared port of an `exposed` sandbox is reachable.
    func portURL(_ id: SandboxID, port: Int) async throws -> String

    func stats(_ id: SandboxID) async throws -> SandboxStats

    func health() async -> BackendHealth
}

extension SandboxBackend {
    public func startExec(_ id: SandboxID, _ spec: ExecSpec) async throws -> ExecInfo {
        throw SandboxError(code: .unimplemented, message: "this backend has no background execs")
    }

    public func attachExec<Result: Sendable>(
        _ id: SandboxID,
        _ exec: ExecID,
        from offset: UInt64,
        _ body: (any ExecProcess) async throws -> Result
    ) async throws -> Result {
        throw SandboxError(code: .unimplemented, message: "this backend cannot re-attach to execs")
    }

    public func execInfo(_ id: SandboxID, _ exec: ExecID) async throws -> ExecInfo {
        throw SandboxError(code: .unimplemented, message: "this backend keeps no exec records")
    }

    public func listExecs(_ id: SandboxID) async throws -> [ExecInfo] {
        throw SandboxError(code: .unimplemented, message: "this backend keeps no exec records")
    }

    public func mainExecInfo(_ id: SandboxID) async throws -> ExecInfo? { nil }

    public func writeFile(
        _ id: SandboxID,
        path: String,
        options: FileWriteOptions,
        _ body: (any SandboxFileWriter) async throws -> Void
    ) async throws -> SandboxFileInfo {
        throw SandboxError(code: .unimplemented, message: "this backend cannot stream file writes")
    }

    /// A whole file is one streamed write of one chunk: every backend that streams writes has it.
    public func writeFile(_ id: SandboxID, path: String, contents: [UInt8], mode: UInt32, createParents: Bool)
        async throws -> SandboxFileInfo
    {
        try await writeFile(id, path: path, options: FileWriteOptions(mode: mode, createParents: createParents)) {
            try await $0.write(contents)
        }
    }

    public func listDirectory(_ id: SandboxID, path: String) async throws -> [SandboxFileInfo] {
        throw SandboxError(code: .unimplemented, message: "this backend cannot list directories")
    }

    public func remove(_ id: SandboxID, path: String, recursive: Bool) async throws -> Int {
        throw SandboxError(code: .unimplemented, message: "this backend cannot remove files")
    }

    public func makeDirectory(_ id: SandboxID, path: String, mode: UInt32, parents: Bool) async throws
        -> SandboxFileInfo
    {
        throw SandboxError(code: .unimplemented, message: "this backend cannot create directories")
    }
}
