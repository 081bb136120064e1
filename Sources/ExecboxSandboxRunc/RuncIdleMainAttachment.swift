import ExecboxSandbox
import Synchronization

/// An attachment to a main process with no exec record: the pause init of a sandbox without a
/// command, or a main exec a dead server started (its pipes went with that server). No output and
/// no stdin; the exit is the sandbox's, once it ended; signals reach the process.
final class RuncIdleMainAttachment: ExecProcess, Sendable {
    private let sandbox: RuncSandbox
    private let send: @Sendable (Int32) -> Void
    private let exitDelivered = Mutex(false)

    /// `send` delivers a signal to the main process (`RuncBackend.signalMain`).
    init(_ sandbox: RuncSandbox, send: @escaping @Sendable (Int32) -> Void) {
        self.sandbox = sandbox
        self.send = send
    }

    var pid: Int32? {
        if let main = sandbox.adoption?.main {
            return sandbox.adoption?.mainInternalPid ?? RuncExec.namespacePid(of: main.pid)
        }
        return sandbox.initProcess == nil ? nil : 1
    }

    func nextEvent() async throws -> ExecEvent? {
        if exitDelivered.withLock({ $0 }) { return nil }
        guard let info = await sandbox.waitUnlessCancelled(until: { $0.state.isTerminal }) else {
            throw CancellationError()
        }
        exitDelivered.withLock { $0 = true }
        return .exit(info.exit ?? ProcessExit(reason: .lost, code: 255))
    }

    func writeStdin(_ bytes: [UInt8]) async throws {
        throw SandboxError(
            code: .failedPrecondition, message: "the main process has no stdin (no command, or a restart)")
    }

    func closeStdin() async throws {}

    func signal(_ signal: Int32) async throws {
        guard (1...64).contains(signal) else { throw SandboxError.invalidArgument("no such signal \(signal)") }
        guard !sandbox.info.state.isTerminal else {
            throw SandboxError(code: .failedPrecondition, message: "the main process has ended")
        }
        send(signal)
    }

    func resize(_ size: TerminalSize) async throws {
        throw SandboxError(code: .failedPrecondition, message: "the process has no terminal")
    }
}
