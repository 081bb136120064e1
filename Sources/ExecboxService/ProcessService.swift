public import ExecboxAPI
public import ExecboxRPC
import ExecboxSandbox
import ExecboxStorage
import ExecboxWire
import Foundation

/// `execbox.v1.ProcessService` over a ``SessionManager``: Exec and Attach streams, process lists,
/// signals and exec results after the fact. Process ids are the backend's exec ids.
public struct ProcessService: ProcessServiceProtocol {
    public let manager: SessionManager

    public init(manager: SessionManager) {
        self.manager = manager
    }

    /// A stream whose output ended without the exit (the backend lost the process) is not a
    /// success: the client retries with Attach or reads the result with GetProcess.
    static let endedWithoutExit = RPCError(
        code: .unavailable, message: "the process's output ended without its exit; read it with GetProcess")

    static let maxArgvElements = 1024
    static let maxArgvBytes = 128 << 10

    // MARK: Exec

    public func exec(
        requests: RPCAsyncSequence<ExecRequest>, responses: RPCWriter<ExecResponse>, context: ServerContext
    ) async throws {
        let principal = try Principal.required()
        let writer = SerialWriter(RPCWriter<ProcessOutput> { try await responses.write(Self.execResponse($0)) })
        let manager = manager
        try await ProcessStream.serve(requests, writer: writer, closeStdinOnHalfClose: true, map: ProcessInput.init) {
            request, stream, slot in
            guard case .start(let start)? = request.payload else {
                throw Validation.invalid("the first message must be start")
            }
            let (record, sandboxID) = try await manager.runningSandbox(start.sessionId, of: principal)
            let spec = try Self.execSpec(start)
            let backend = manager.backend
            let startedAt = manager.now()
            let clock = ContinuousClock.now
            let run: @Sendable (any ExecProcess, ExecID?, Int32?) async throws -> ProcessExit? = { process, id, pid in
                let processID = id?.rawValue ?? ""
                manager.noteExec(
                    record.id, processID, .init(background: start.background, workDir: spec.workingDirectory))
                try await writer.write(
                    .started(
                        ProcessStarted.with {
                            $0.processId = processID
                            $0.pid = UInt32(clamping: pid ?? 0)
                            $0.startedAt = Timestamps.make(startedAt)
                            $0.tty = spec.tty
                        }))
                // Only now may the input side report problems: `started` is always the first message.
                slot.yield(process)
                guard let exit = try await stream.output(of: process, offsets: .init(stdout: 0, stderr: 0)) else {
                    throw Self.endedWithoutExit
                }
                // The backend's own measure of the run, as GetProcess reports it later.
                let ended: ExecInfo? = if let id { try? await backend.execInfo(sandboxID, id) } else { nil }
                let status =
                    ended.map { Self.exitStatus(exit, of: $0) }
                    ?? APIMapping.exitStatus(exit, duration: ContinuousClock.now - clock, endedAt: manager.now())
                try await writer.write(.exit(status), final: true)
                return exit
            }
            // A foreground exec is metered however its call ends (a client that hangs up mid-output
            // pays for what it got); a background one that outlives its call, at the session's end.
            let launched = ProcessStream.Launched()
            do {
                let exit: ProcessExit?
                if start.background {
                    let info = try await backend.startExec(sandboxID, spec)
                    launched.set(info.id)
                    exit = try await backend.attachExec(sandboxID, info.id, from: 0) { process in
                        try await run(process, info.id, info.pid)
                    }
                } else {
                    exit = try await backend.exec(sandboxID, spec) { process in
                        launched.set(process.execID)
                        return try await run(process, process.execID, process.pid)
                    }
                }
                if let execID = launched.id, exit != nil || !start.background {
                    manager.recordExecUsage(
                        record, execID: execID.rawValue, bytesIn: stream.counters.bytesIn,
                        bytesOut: stream.counters.bytesOut,
                        failed: exit.map { $0.reason != .exited || $0.code != 0 } ?? true)
                }
            } catch {
                if let execID = launched.id, !start.background {
                    manager.recordExecUsage(
                        record, execID: execID.rawValue, bytesIn: stream.counters.bytesIn,
                        bytesOut: stream.counters.bytesOut, failed: true)
                }
                throw error
            }
        }
    }

    static func execSpec(_ start: ExecStart) throws -> ExecSpec {
        guard !start.argv.isEmpty, !start.argv[0].isEmpty else { throw Validation.invalid("argv must not be empty") }
        guard start.argv.count <= maxArgvElements, start.argv.reduce(0, { $0 + $1.utf8.count }) <= maxArgvBytes else {
            throw Validation.invalid("argv must have at most 1024 elements and 128 KiB in total")
        }
        guard (0...86_400_000).contains(start.timeoutMs) else {
            throw Validation.invalid("timeout_ms must be 0 to 86400000")
        }
        try SessionPlan.validateEnvironment(start.env)
        var size: ExecboxSandbox.TerminalSize?
        if let given = start.terminalSize {
            guard start.tty else { throw Validation.invalid("terminal_size needs tty") }
            guard given.cols <= 65535, given.rows <= 65535 else {
                throw Validation.invalid("terminal_size must be at most 65535 columns and rows")
            }
            size = ExecboxSandbox.TerminalSize(
                columns: UInt16(given.cols == 0 ? 80 : given.cols), rows: UInt16(given.rows == 0 ? 24 : given.rows))
        }
        let spec = ExecSpec(
            argv: start.argv, environment: start.env, workingDirectory: start.workDir, tty: start.tty,
            terminalSize: size, timeout: start.timeoutMs == 0 ? nil : .milliseconds(start.timeoutMs))
        do {
            try spec.validate()
        } catch {
            throw ServiceErrors.rpcError(for: error)
        }
        return spec
    }

    static func execResponse(_ output: ProcessOutput) -> ExecResponse {
        ExecResponse.with {
            switch output {
            case .started(let started): $0.payload = .started(started)
            case .attached(let attached): $0.payload = .started(attached.process ?? ProcessStarted())
            case .output(let chunk): $0.payload = .output(chunk)
            case .exit(let exit): $0.payload = .exit(exit)
            case .error(let error): $0.payload = .error(error)
            }
        }
    }

    static func attachResponse(_ output: ProcessOutput) -> AttachResponse {
        AttachResponse.with {
            switch output {
            case .started(let started): $0.payload = .started(AttachStarted.with { $0.process = started })
            case .attached(let attached): $0.payload = .started(attached)
            case .output(let chunk): $0.payload = .output(chunk)
            case .exit(let exit): $0.payload = .exit(exit)
            case .error(let error): $0.payload = .error(error)
            }
        }
    }

    // MARK: Attach

    public func attach(
        requests: RPCAsyncSequence<AttachRequest>, responses: RPCWriter<AttachResponse>, context: ServerContext
    ) async throws {
        let principal = try Principal.required()
        let writer = SerialWriter(RPCWriter<ProcessOutput> { try await responses.write(Self.attachResponse($0)) })
        let manager = manager
        try await ProcessStream.serve(requests, writer: writer, closeStdinOnHalfClose: false, map: ProcessInput.init) {
            request, stream, slot in
            guard case .start(let start)? = request.payload else {
                throw Validation.invalid("the first message must be start")
            }
            guard start.stdoutOffset >= -1, start.stderrOffset >= -1 else {
                throw Validation.invalid("offsets must be -1 or at least 0")
            }
            let record = try await manager.session(start.sessionId, of: principal)
            try manager.requireLocal(record)
            guard record.status.isActive else {
                throw ServiceErrors.failedPrecondition("session is \(record.status.rawValue)")
            }
            let sandboxID = try SessionManager.sandboxID(record.id)
            guard !start.processId.isEmpty else {
                // The main process: a backend that runs it as an exec record is attached to like an
                // exec, from the requested offsets; otherwise its own attach (no command, or a
                // main process that outlived a restart) gives what it has.
                if let main = try await manager.backend.mainExecInfo(sandboxID) {
                    try await Self.attach(
                        manager, sandboxID, record: record, execID: main.id, start: start, writer: writer,
                        stream: stream, slot: slot, processID: "main")
                    return
                }
                try await manager.backend.attach(sandboxID) { process in
                    try await writer.write(
                        .attached(
                            AttachStarted.with {
                                $0.process = ProcessStarted.with {
                                    $0.processId = "main"
                                    $0.pid = UInt32(clamping: process.pid ?? 0)
                                    $0.tty = record.spec.tty
                                }
                            }))
                    slot.yield(process)
                    guard let exit = try await stream.output(of: process, offsets: .init(stdout: 0, stderr: 0)) else {
                        throw Self.endedWithoutExit
                    }
                    try await writer.write(
                        .exit(APIMapping.exitStatus(exit, duration: nil, endedAt: manager.now())), final: true)
                }
                return
            }
            let execID = try Self.execID(start.processId)
            try await Self.attach(
                manager, sandboxID, record: record, execID: execID, start: start, writer: writer, stream: stream,
                slot: slot)
        }
    }

    /// Attaches to an exec from the requested per-stream offsets. The backend replays both streams
    /// together from one offset, so the replay starts where the older of the two requested bytes
    /// lies (or the oldest kept byte) and skips what the client already has.
    static func attach(
        _ manager: SessionManager, _ sandboxID: SandboxID, record: SessionRecord, execID: ExecID, start: AttachStart,
        writer: SerialWriter<ProcessOutput>, stream: ProcessStream, slot: AsyncStream<any ExecProcess>.Continuation,
        processID: String? = nil
    ) async throws {
        for attempt in 1...3 {
            let info = try await execInfo(manager, sandboxID, execID)
            let retainedStderrFrom = info.retainedFrom - info.retainedStdoutFrom
            func wanted(_ requested: Int64, end: UInt64, retained: UInt64) throws -> UInt64 {
                if requested == -1 { return end }
                guard UInt64(requested) <= end else {
                    throw RPCError(
                        code: .outOfRange, message: "offset \(requested) is beyond the \(end) bytes produced so far")
                }
                return max(UInt64(requested), retained)
            }
            let stdoutFrom = try wanted(start.stdoutOffset, end: info.stdoutBytes, retained: info.retainedStdoutFrom)
            let stderrFrom = try wanted(start.stderrOffset, end: info.stderrBytes, retained: retainedStderrFrom)
            let truncated =
                (start.stdoutOffset >= 0 && UInt64(start.stdoutOffset) < info.retainedStdoutFrom)
                || (start.stderrOffset >= 0 && UInt64(start.stderrOffset) < retainedStderrFrom)
            let onlyNew = start.stdoutOffset == -1 && start.stderrOffset == -1
            let offsets =
                onlyNew
                ? ProcessStream.Offsets(stdout: info.stdoutBytes, stderr: info.stderrBytes)
                : ProcessStream.Offsets(
                    stdout: info.retainedStdoutFrom, stderr: retainedStderrFrom, skipStdoutBelow: stdoutFrom,
                    skipStderrBelow: stderrFrom)
            var attached = false
            do {
                try await manager.backend.attachExec(
                    sandboxID, execID, from: onlyNew ? info.outputBytes : info.retainedFrom
                ) { process in
                    attached = true
                    try await writer.write(
                        .attached(
                            AttachStarted.with {
                                $0.process = ProcessStarted.with {
                                    $0.processId = processID ?? execID.rawValue
                                    $0.pid = UInt32(clamping: info.pid ?? 0)
                                    $0.startedAt = Timestamps.make(Self.startedAt(info))
                                    $0.tty = info.tty
                                }
                                $0.stdoutOffset = Int64(stdoutFrom)
                                $0.stderrOffset = Int64(stderrFrom)
                            }))
                    slot.yield(process)
                    if truncated {
                        try await writer.write(
                            .error(
                                StreamError.with {
                                    $0.code = .replayTruncated
                                    $0.message = "output before the started offsets was dropped by the server"
                                }))
                    }
                    guard let exit = try await stream.output(of: process, offsets: offsets) else {
                        throw Self.endedWithoutExit
                    }
                    let ended = try? await manager.backend.execInfo(sandboxID, execID)
                    try await writer.write(.exit(Self.exitStatus(exit, of: ended ?? info)), final: true)
                }
                return
            } catch let error as SandboxError where error.code == .outOfRange && !attached && attempt < 3 {
                // The spool dropped output between the look and the attach: look again.
                continue
            }
        }
    }

    static func execID(_ processID: String) throws -> ExecID {
        guard let id = try? ExecID(processID) else { throw RPCError(code: .notFound, message: "process not found") }
        return id
    }

    static func execInfo(_ manager: SessionManager, _ sandboxID: SandboxID, _ execID: ExecID) async throws -> ExecInfo {
        do {
            return try await manager.backend.execInfo(sandboxID, execID)
        } catch let error as SandboxError where error.code == .notFound {
            throw RPCError(code: .notFound, message: "process not found")
        }
    }

    // MARK: Lists, signals, results

    public func listProcesses(request: ListProcessesRequest, context: ServerContext) async throws
        -> ListProcessesResponse
    {
        let principal = try Principal.required()
        let record = try await manager.session(request.sessionId, of: principal)
        try manager.requireLocal(record)
        let sandboxID = try SessionManager.sandboxID(record.id)
        var execs: [ExecInfo] = []
        var main: ExecInfo?
        do {
            execs = try await manager.backend.listExecs(sandboxID)
            main = try await manager.backend.mainExecInfo(sandboxID)
        } catch let error as SandboxError where error.code == .notFound {}
        // The main process first (when the backend has it as an exec: a session with a command).
        let listed = (main.map { [(info: $0, isMain: true)] } ?? []) + execs.map { (info: $0, isMain: false) }
        return ListProcessesResponse.with {
            $0.processes = listed.filter { request.includeExited || $0.info.isRunning }.map {
                processInfo($0.info, sessionID: record.id, isMain: $0.isMain)
            }
        }
    }

    public func getProcess(request: GetProcessRequest, context: ServerContext) async throws -> GetProcessResponse {
        let principal = try Principal.required()
        guard !request.processId.isEmpty else { throw Validation.invalid("process_id is required") }
        let record = try await manager.session(request.sessionId, of: principal)
        try manager.requireLocal(record)
        let sandboxID = try SessionManager.sandboxID(record.id)
        let info = try await Self.execInfo(manager, sandboxID, try Self.execID(request.processId))
        let isMain = (try? await manager.backend.mainExecInfo(sandboxID))??.id == info.id
        return GetProcessResponse.with { $0.process = processInfo(info, sessionID: record.id, isMain: isMain) }
    }

    func processInfo(_ info: ExecInfo, sessionID: String, isMain: Bool = false) -> ExecboxAPI.ProcessInfo {
        let note = manager.execNote(sessionID, info.id.rawValue)
        let exit = info.exit
        return ExecboxAPI.ProcessInfo.with {
            $0.processId = info.id.rawValue
            $0.isMain = isMain
            $0.pid = UInt32(clamping: info.pid ?? 0)
            $0.argv = info.argv
            $0.workDir = note?.workDir ?? ""
            $0.tty = info.tty
            $0.background = note?.background ?? false
            $0.state = info.isRunning ? .running : .exited
            $0.startedAt = Timestamps.make(Self.startedAt(info))
            if let exit { $0.exit = Self.exitStatus(exit, of: info) }
            $0.stdoutBytes = Int64(info.stdoutBytes)
            $0.stderrBytes = Int64(info.stderrBytes)
            $0.attachedClients = UInt32(clamping: info.attachedClients)
        }
    }

    static func startedAt(_ info: ExecInfo) -> Date? {
        info.startedAt > 0 ? Date(timeIntervalSince1970: info.startedAt) : nil
    }

    /// The exit with the run time and end the backend measured.
    static func exitStatus(_ exit: ProcessExit, of info: ExecInfo) -> ExecboxAPI.ExitStatus {
        let endedAt = startedAt(info).map { start in info.runTime.map { start + $0 / .seconds(1) } ?? start }
        return APIMapping.exitStatus(exit, duration: info.runTime, endedAt: endedAt ?? Date())
    }

    public func signalProcess(request: SignalProcessRequest, context: ServerContext) async throws
        -> SignalProcessResponse
    {
        let principal = try Principal.required()
        guard request.signal != .unspecified, request.signal.rawValue > 0 else {
            throw Validation.invalid("signal must not be SIGNAL_UNSPECIFIED")
        }
        let (record, sandboxID) = try await manager.runningSandbox(request.sessionId, of: principal)
        guard !request.processGroup else {
            throw RPCError(code: .unimplemented, message: "process-group signals are not offered by this backend")
        }
        let execID: ExecID
        switch request.target {
        case .processId(let id):
            execID = try Self.execID(id)
        case .pid(let pid):
            guard pid != 0 else { throw Validation.invalid("pid must not be 0") }
            let main = try await manager.backend.mainExecInfo(sandboxID)
            let execs = (main.map { [$0] } ?? []) + (try await manager.backend.listExecs(sandboxID))
            guard let match = execs.first(where: { $0.isRunning && $0.pid == Int32(clamping: pid) }) else {
                throw RPCError(code: .notFound, message: "no process with pid \(pid) was started through the API")
            }
            execID = match.id
        case nil:
            guard let main = try await manager.backend.mainExecInfo(sandboxID) else {
                // No exec record (no command, or a restart): the backend's attachment signals it.
                try await manager.backend.attach(sandboxID) { try await $0.signal(request.signal.rawValue) }
                return SignalProcessResponse.with {
                    $0.process = .with {
                        $0.processId = "main"
                        $0.argv = record.spec.command
                        $0.state = .running
                    }
                }
            }
            execID = main.id
        }
        let info = try await Self.execInfo(manager, sandboxID, execID)
        guard info.isRunning else { throw ServiceErrors.failedPrecondition("the process has already exited") }
        // The backend signals through an attachment; attaching at the end replays nothing.
        try await manager.backend.attachExec(sandboxID, execID, from: info.outputBytes) { process in
            try await process.signal(request.signal.rawValue)
        }
        let after = try await Self.execInfo(manager, sandboxID, execID)
        var process = processInfo(after, sessionID: record.id)
        if request.target == nil { process.processId = "main" }
        return SignalProcessResponse.with { $0.process = process }
    }
}
