/// A running exec (or an attached main process), handed to the body of `SandboxBackend.exec`.
///
/// Output is pulled: a backend reads its pipes only when `nextEvent()` is called, so a consumer that
/// stops reading makes the process block on a full pipe instead of growing a buffer. One consumer
/// reads events; stdin, signals and resizes may be sent concurrently from another task.
public protocol ExecProcess: Sendable {
    /// The process id inside the sandbox's pid namespace, when the backend knows it.
    var pid: Int32? { get }

    /// The exec's id, by which a client can re-attach (`SandboxBackend.attachExec`); nil for a
    /// backend without re-attach.
    var execID: ExecID? { get }

    /// The next output chunk, then the exit, then nil.
    func nextEvent() async throws -> ExecEvent?

    /// Writes all of `bytes` to the process's stdin, suspending while the pipe is full.
    func writeStdin(_ bytes: [UInt8]) async throws
    /// Closes stdin so the process reads end of file.
    func closeStdin() async throws
    func signal(_ signal: Int32) async throws
    func resize(_ size: TerminalSize) async throws
}

extension ExecProcess {
    public var execID: ExecID? { nil }

    /// The events as an `AsyncSequence`; iterate it from one task only.
    public var events: ExecEvents { ExecEvents(process: self) }
}

/// `ExecProcess.nextEvent()` as an `AsyncSequence`.
public struct ExecEvents: AsyncSequence, Sendable {
    public typealias Element = ExecEvent

    let process: any ExecProcess

    public struct AsyncIterator: AsyncIteratorProtocol {
        let process: any ExecProcess

        public mutating func next() async throws -> ExecEvent? {
            try await process.nextEvent()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(process: process) }
}
