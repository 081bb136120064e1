import ExecboxAPI
import Synchronization

/// Where a process's output goes: live to the CLI's own stdout and stderr, or collected for the
/// one JSON object `--json` prints at the end.
final class ProcessOutput: Sendable {
    let live: Bool
    /// In raw terminal mode the CLI's own lines need "\r\n".
    let raw: Bool
    private let collected = Mutex<(stdout: [UInt8], stderr: [UInt8])>(([], []))

    init(live: Bool, raw: Bool = false) {
        self.live = live
        self.raw = raw
    }

    /// Throws ``StandardStream/Closed`` when the reader of stdout or stderr went away.
    func write(_ chunk: OutputChunk) throws(StandardStream.Closed) {
        let isError = chunk.stream == .stderr
        if live {
            try (isError ? StandardStream.error : StandardStream.output).write(chunk.data)
        } else {
            collected.withLock {
                if isError { $0.stderr += chunk.data } else { $0.stdout += chunk.data }
            }
        }
    }

    var stdout: [UInt8] { collected.withLock { $0.stdout } }
    var stderr: [UInt8] { collected.withLock { $0.stderr } }

    /// A message of the CLI's own, on stderr, on a line of its own.
    func note(_ text: String) {
        StandardStream.error.write(raw ? "\r\nexecbox: \(text)\r\n" : "execbox: \(text)\n")
    }
}
