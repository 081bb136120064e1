import ArgumentParser
import ExecboxAPI
import ExecboxGateway
import UnixSignals

/// Runs an Exec in the foreground of the caller's terminal (shared by `run` and `exec`): raw
/// mode for `-it` on a terminal, restored on every way out; signals relayed to the process; the
/// outcome reported on stderr when it was not a plain exit.
enum ForegroundProcess {
    /// Thrown when a signal asked the CLI to give up during set-up.
    struct Interrupted: Error {}

    static func run(
        _ api: APIClient, relay: SignalRelay, start: ExecStart, forwardStdin: Bool, json: Bool
    ) async throws -> (ProcessResult, ProcessOutput) {
        let raw = start.tty && forwardStdin && !json ? RawTerminal() : nil
        defer { raw?.restore() }
        let output = ProcessOutput(live: !json, raw: raw != nil)
        let runner = ExecRunner(start: start, forwardStdin: forwardStdin, output: output)
        let result = try await runner.run(api, signals: relay.signals())
        relay.stopListening()
        raw?.restore()
        if let explanation = result.explanation { output.note(explanation) }
        return (result, output)
    }

    /// The one JSON object `run --json` and `exec --json` print.
    static func json(session: String, result: ProcessResult, output: ProcessOutput) -> JSONValue {
        var object = JSONObject()
        object.add("id", session)
        if case .object(let fields) = result.json {
            for (key, value) in fields { object.add(key, value) }
        }
        object.add("stdout", String(decoding: output.stdout, as: UTF8.self))
        object.add("stderr", String(decoding: output.stderr, as: UTF8.self))
        return object.value
    }

    /// Runs `body` unless SIGINT, SIGTERM, SIGHUP or SIGQUIT comes first (then ``Interrupted``).
    static func interruptible<T: Sendable>(
        _ signals: AsyncStream<UnixSignal>, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                for await signal in signals where signal != .sigwinch { throw Interrupted() }
                return nil
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let value = next { return value }
            }
            throw Interrupted()
        }
    }

    /// The status the CLI exits with for a failure of the foreground process's call.
    static func exitStatus(for error: any Error) -> Int32? {
        switch error {
        case is ExecRunner.Aborted, is Interrupted: return 130
        case is StandardStream.Closed: return 141
        default: return nil
        }
    }
}
