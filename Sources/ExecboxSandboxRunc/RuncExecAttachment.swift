import ExecboxSandbox
import Synchronization

/// One client's view of an exec: its events are the exec's output from the client's offset on,
/// then the exit. Detaching (the end of the `exec` or `attachExec` body) never stops the process.
final class RuncExecAttachment: ExecProcess, Sendable {
    let exec: RuncExec
    private let reader: Int
    private let exitDelivered = Mutex(false)

    /// Attaches at `offset`, or at the oldest byte kept when nil.
    init(_ exec: RuncExec, from offset: UInt64?) throws(SandboxError) {
        self.exec = exec
        self.reader = try exec.attach(from: offset)
    }

    var pid: Int32? { exec.pid }
    var execID: ExecID? { exec.id }

    func nextEvent() async throws -> ExecEvent? {
        switch try await exec.next(for: reader, exitDelivered: exitDelivered.withLock { $0 }) {
        case .chunk(let chunk): return chunk.isStdout ? .stdout(chunk.bytes) : .stderr(chunk.bytes)
        case .exit(let exit):
            exitDelivered.withLock { $0 = true }
            return .exit(exit)
        case .ended: return nil
        }
    }

    func writeStdin(_ bytes: [UInt8]) async throws { try await exec.writeStdin(bytes) }
    func closeStdin() async throws { try await exec.closeStdin() }
    func signal(_ signal: Int32) async throws { try exec.signal(signal) }
    func resize(_ size: TerminalSize) async throws { try exec.resize(size) }

    func detach() { exec.detach(reader) }
}
