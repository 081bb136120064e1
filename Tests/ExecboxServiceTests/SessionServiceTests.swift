import ExecboxAPI
import ExecboxRPC
import ExecboxSandbox
import ExecboxSandboxRunc
import ExecboxStorage
import ExecboxStorageSQL
import ExecboxWellKnownTypes
import ExecboxWire
import Foundation
import Testing

@testable import ExecboxService

/// Sessions, processes and files through the whole service stack (interceptors, generated
/// services, the session manager) on real runc sandboxes.
@Suite(.enabled(if: SessionFixture.enabled, "needs root and runc"), .serialized)
struct SessionServiceTests {
    @Test func createExecFilesAndKillRecordUsageOnce() async throws {
        try await SessionFixture.with { fixture in
            let caller = try await fixture.service.account(tier: .pro)
            let session = try await fixture.create(caller) { $0.env = ["GREETING": "hi"] }
            #expect(session.status == .running)
            #expect(session.envKeys == ["GREETING"])
            #expect(session.id.hasPrefix("sess_") && session.id.utf8.count == 29)

            let result = try await fixture.exec(
                caller, session.id, ["sh", "-c", "cat; echo $GREETING; echo oops >&2; exit 3"],
                stdin: Array("in\n".utf8))
            #expect(result.stdoutText == "in\nhi\n")
            #expect(String(decoding: result.stderr, as: UTF8.self) == "oops\n")
            #expect(result.exit?.exitCode == 3 && result.exit?.reason == .exited)
            #expect(result.ordered)
            #expect(result.started?.processId.hasPrefix("exec-") == true)

            let missing = try await fixture.exec(caller, session.id, ["no-such-binary"])
            #expect(missing.exit?.reason == .startFailed && missing.exit?.exitCode == 127)

            let contents = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let written = try await fixture.files.writeFile(
                metadata: caller.metadata,
                requests: { writer in
                    try await writer.write(
                        .with {
                            $0.payload = .header(
                                .with {
                                    $0.sessionId = session.id
                                    $0.path = "/workspace/data.bin"
                                    $0.sizeBytes = Int64(contents.count)
                                })
                        })
                    for start in stride(from: 0, to: contents.count, by: 1 << 20) {
                        try await writer.write(.with { $0.payload = .data(Array(contents[start..<start + (1 << 20)])) })
                    }
                })
            #expect(written.sizeBytes == Int64(contents.count))
            let read = try await fixture.files.readFile(
                .with {
                    $0.sessionId = session.id
                    $0.path = "/workspace/data.bin"
                }, metadata: caller.metadata
            ) { responses in
                var bytes: [UInt8] = []
                var digest = ""
                for try await response in responses {
                    bytes += response.data
                    digest = response.sha256
                }
                return (bytes, digest)
            }
            #expect(read.0 == contents)
            #expect(read.1 == written.sha256)
            // A length near Int64.max once overflowed offset + length and trapped the server.
            let tail = try await fixture.files.readFile(
                .with {
                    $0.sessionId = session.id
                    $0.path = "/workspace/data.bin"
                    $0.offset = Int64(contents.count - 5)
                    $0.length = .max
                }, metadata: caller.metadata
            ) { responses in
                var bytes: [UInt8] = []
                for try await response in responses { bytes += response.data }
                return bytes
            }
            #expect(tail == Array(contents.suffix(5)))

            let killed = try await fixture.sessions.killSession(
                .with { $0.sessionId = session.id }, metadata: caller.metadata
            )
            .session!
            #expect(killed.status == .killed)
            #expect(killed.usage!.durationMs > 0 && killed.usage!.costCents >= 1)
            _ = try await fixture.sessions.killSession(.with { $0.sessionId = session.id }, metadata: caller.metadata)
            try await fixture.manager.reconcile()
            // Exec usage is recorded in the background: wait for both execs' bytes.
            let bytesOut = result.stdout.count + result.stderr.count + missing.stdout.count + missing.stderr.count
            var usage = try await fixture.usageToday(caller)
            for _ in 0..<100 where usage.bytesOut < bytesOut {
                try await Task.sleep(for: .milliseconds(20))
                usage = try await fixture.usageToday(caller)
            }
            #expect(usage.executions == 1)
            #expect(usage.bytesIn == 3 && usage.bytesOut == bytesOut)
            #expect(usage.costMicroUSD >= PriceTable.defaults.sessionMicroUSD)
        }
    }

    @Test func quotaRaceNeverExceedsTheConcurrentLimit() async throws {
        try await SessionFixture.with { fixture in
            let caller = try await fixture.service.account(tier: .free)  // 5 concurrent
            let outcomes = await withTaskGroup(of: Result<Session, RPCError>.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        do {
                            return .success(try await fixture.create(caller))
                        } catch {
                            return .failure(error as? RPCError ?? RPCError(code: .unknown, message: "\(error)"))
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let created = outcomes.compactMap { try? $0.get() }
            let refused = outcomes.compactMap { outcome -> RPCError? in
                if case .failure(let error) = outcome { return error }
                return nil
            }
            #expect(created.count == 5)
            #expect(refused.count == 45 && refused.allSatisfy { $0.code == .resourceExhausted })
            #expect(refused.first?.message.contains("concurrent session limit reached") == true)
            for session in created {
                _ = try await fixture.sessions.killSession(
                    .with { $0.sessionId = session.id }, metadata: caller.metadata)
            }
            // A place is free again once a session ended.
            let again = try await fixture.create(caller)
            #expect(again.status == .running)
        }
    }

    @Test func theAccountsAndTheKeysOwnLimitsHoldUnderARace() async throws {
        try await SessionFixture.with { fixture in
            let caller = try await fixture.service.account(tier: .pro)
            // Below the tier's concurrent limit: the account's own limit is what counts.
            _ = try await fixture.accounts.updateLimits(
                .with { $0.concurrentRequestsLimit = 3 }, metadata: caller.metadata)
            let created = try await fixture.service.client.createAPIKey(
                .with {
                    $0.name = "one-at-a-time"
                    $0.customConcurrentLimit = 1
                }, metadata: caller.metadata)
            let key = Caller(accountID: caller.accountID, keyID: created.apiKey!.id, secret: created.secret)
            func race(_ who: Caller, _ count: Int) async -> (created: [Session], refused: [RPCError]) {
                let outcomes = await withTaskGroup(of: Result<Session, RPCError>.self) { group in
                    for _ in 0..<count {
                        group.addTask {
                            do {
                                return .success(try await fixture.create(who) { $0.network = .none })
                            } catch {
                                return .failure(error as? RPCError ?? RPCError(code: .unknown, message: "\(error)"))
                            }
                        }
                    }
                    return await group.reduce(into: []) { $0.append($1) }
                }
                return (
                    outcomes.compactMap { try? $0.get() },
                    outcomes.compactMap { if case .failure(let error) = $0 { error } else { nil } }
                )
            }
            let byKey = await race(key, 6)
            #expect(byKey.created.count == 1)
            #expect(byKey.refused.count == 5 && byKey.refused.allSatisfy { $0.code == .resourceExhausted })
            let byAccount = await race(caller, 12)
            #expect(byAccount.created.count == 2)
            #expect(byAccount.refused.count == 10 && byAccount.refused.allSatisfy { $0.code == .resourceExhausted })
            #expect(byAccount.refused.first?.message.contains("concurrent session limit reached (3/3)") == true)
            for session in byKey.created + byAccount.created {
                _ = try await fixture.sessions.killSession(
                    .with { $0.sessionId = session.id }, metadata: caller.metadata)
            }
        }
    }

    @Test func anotherAccountsSessionIsNotFound() async throws {
        try await SessionFixture.with { fixture in
            let owner = try await fixture.service.account(tier: .pro)
            let other = try await fixture.service.account(tier: .pro)
            let session = try await fixture.create(owner)
            let ids = [session.id, "sess_000000000000000000000000", "../etc", ""]
            for id in ids {
                let calls: [(String, () async throws -> Void)] = [
                    (
                        "get",
                        {
                            _ = try await fixture.sessions.getSession(
                                .with { $0.sessionId = id }, metadata: other.metadata)
                        }
                    ),
                    (
                        "stop",
                        {
                            _ = try await fixture.sessions.stopSession(
                                .with { $0.sessionId = id }, metadata: other.metadata)
                        }
                    ),
                    (
                        "kill",
                        {
                            _ = try await fixture.sessions.killSession(
                                .with { $0.sessionId = id }, metadata: other.metadata)
                        }
                    ),
                    (
                        "extend",
                        {
                            _ = try await fixture.sessions.extendTimeout(
                                .with {
                                    $0.sessionId = id
                                    $0.extendByMs = 1000
                                }, metadata: other.metadata)
                        }
                    ),
                    ("exec", { _ = try await fixture.exec(other, id, ["true"]) }),
                    (
                        "processes",
                        {
                            _ = try await fixture.processes.listProcesses(
                                .with { $0.sessionId = id }, metadata: other.metadata)
                        }
                    ),
                    (
                        "stat",
                        {
                            _ = try await fixture.files.stat(
                                .with {
                                    $0.sessionId = id
                                    $0.path = "/workspace"
                                }, metadata: other.metadata)
                        }
                    ),
                    (
                        "port",
                        {
                            _ = try await fixture.network.getPortURL(
                                .with {
                                    $0.sessionId = id
                                    $0.containerPort = 80
                                }, metadata: other.metadata)
                        }
                    ),
                ]
                for (name, call) in calls {
                    let error = await failure(call)
                    if id.isEmpty {
                        #expect(error?.code == .invalidArgument || error?.code == .notFound, "\(name)")
                    } else {
                        #expect(error?.code == .notFound, "\(name) \(id)")
                        #expect(error?.message == "session not found", "\(name) \(id): \(error?.message ?? "")")
                    }
                }
            }
            let listed = try await fixture.sessions.listSessions(ListSessionsRequest(), metadata: other.metadata)
            #expect(listed.sessions.isEmpty)
            let mine = try await fixture.sessions.listSessions(ListSessionsRequest(), metadata: owner.metadata)
            #expect(mine.sessions.map(\.id) == [session.id])
        }
    }

    @Test func idempotencyKeyReplaysAndRefusesOtherParameters() async throws {
        try await SessionFixture.with { fixture in
            let caller = try await fixture.service.account(tier: .pro)
            let request = CreateSessionRequest.with {
                $0.image = "default"
                $0.idempotencyKey = "retry-1"
                $0.env = ["A": "1", "B": "2", "C": "3"]
                $0.labels = ["team": "x", "env": "ci"]
            }
            let first = try await fixture.sessions.createSession(request, metadata: caller.metadata)
            let second = try await fixture.sessions.createSession(request, metadata: caller.metadata)
            #expect(!first.idempotentReplayed && second.idempotentReplayed)
            #expect(first.session!.id == second.session!.id)
            var changed = request
            changed.labels["team"] = "other"
            let error = await failure { try await fixture.sessions.createSession(changed, metadata: caller.metadata) }
            #expect(error?.code == .alreadyExists)
            // Environment values are secrets and not part of the stored digest; the names are.
            var renamed = request
            renamed.env["D"] = "4"
            let renamedError = await failure {
                try await fixture.sessions.createSession(renamed, metadata: caller.metadata)
            }
            #expect(renamedError?.code == .alreadyExists)
        }
    }

    @Test func requestsOutsideRangesOrTierCapsAreRefused() async throws {
        try await SessionFixture.with { fixture in
            let caller = try await fixture.service.account(tier: .free)
            func code(_ configure: @escaping (inout CreateSessionRequest) -> Void) async -> RPCError.Code? {
                await status { try await fixture.create(caller, configure) }
            }
            #expect(await code { $0.image = "" } == .invalidArgument)
            #expect(await code { $0.resources = .with { $0.memoryMb = 1024 } } == .permissionDenied)
            #expect(await code { $0.resources = .with { $0.memoryMb = 64 } } == .invalidArgument)
            #expect(await code { $0.resources = .with { $0.timeoutMs = 120_000 } } == .permissionDenied)
            #expect(await code { $0.resources = .with { $0.idleTimeoutMs = 5 } } == .invalidArgument)
            #expect(await code { $0.setup = ["apt-get install x"] } == .unimplemented)
            #expect(await code { $0.env = ["1BAD": "x"] } == .invalidArgument)
            #expect(await code { $0.labels = ["execbox.x": "y"] } == .invalidArgument)
            #expect(await code { $0.workDir = "relative" } == .invalidArgument)
            #expect(await code { $0.image = "no-such-image" } == .invalidArgument)
            // The failed create left a FAILED session, not an active one.
            let sessions = try await fixture.sessions.listSessions(ListSessionsRequest(), metadata: caller.metadata)
            #expect(sessions.sessions.allSatisfy { $0.status == .failed })
        }
    }

    @Test func deadlineStopsTheSessionAndExtendMovesIt() async throws {
        try await SessionFixture.with { fixture in
            let caller = try await fixture.service.account(tier: .free)  // 60 s cap
            let session = try await fixture.create(caller) { $0.resources = .with { $0.timeoutMs = 1500 } }
            let extended = try await fixture.sessions.extendTimeout(
                .with {
                    $0.sessionId = session.id
                    $0.extendByMs = 1000
                }, metadata: caller.metadata)
            #expect(extended.timeoutMs == 2500)
            let tooLong = await failure {
                try await fixture.sessions.extendTimeout(
                    .with {
                        $0.sessionId = session.id
                        $0.extendByMs = 60000
                    }, metadata: caller.metadata)
            }
            #expect(tooLong?.code == .permissionDenied)
            let ended = try await fixture.waitFor(caller, session.id) { $0.status != .running }
            #expect(ended.status == .stopped)
            #expect(ended.exit?.reason == .timeout)
            let lifetime = Timestamps.date(ended.endedAt!).timeIntervalSince(Timestamps.date(ended.startedAt!))
            #expect(lifetime >= 2.4 && lifetime < 5)
        }
    }

    @Test func mainProcessExitEndsTheSession() async throws {
        try await SessionFixture.with { fixture in
            let caller = try await fixture.service.account(tier: .pro)
            let failing = try await fixture.create(caller) { $0.command = ["sh", "-c", "sleep 0.2; exit 3"] }
            let succeeding = try await fixture.create(caller) { $0.command = ["sh", "-c", "sleep 0.2"] }
            let failed = try await fixture.waitFor(caller, failing.id) {
                [.stopped, .failed, .killed].contains($0.status)
            }
            #expect(failed.status == .failed && failed.exit?.exitCode == 3)
            let stopped = try await fixture.waitFor(caller, succeeding.id) {
                [.stopped, .failed, .killed].contains($0.status)
            }
            #expect(stopped.status == .stopped && stopped.exit?.exitCode == 0)
            let exec = await status { try await fixture.exec(caller, failing.id, ["true"]) }
            #expect(exec == .failedPrecondition)
            try await fixture.manager.reconcile()
            #expect(try await fixture.usageToday(caller).executions == 2)
        }
    }

    /// Attach with an empty process id is the main process: its output from the start (written
    /// before the client came), stdin until an explicit close, then its exit; SignalProcess with no
    /// target reaches it too, and a signal death ends the session.
    @Test func attachToTheMainProcessReplaysItsOutput() async throws {
        try await SessionFixture.with { fixture in
            let caller = try await fixture.service.account(tier: .pro)
            let session = try await fixture.create(caller) {
                $0.command = ["sh", "-c", "echo out; echo err >&2; read x; echo got $x; exit 4"]
            }
            try await Task.sleep(for: .milliseconds(200))
            let (out, err, exit, started) = try await fixture.processes.attach(
                metadata: caller.metadata,
                requests: { writer in
                    try await writer.write(.with { $0.payload = .start(.with { $0.sessionId = session.id }) })
                    try await writer.write(.with { $0.payload = .stdin(Array("hi\n".utf8)) })
                    try await writer.write(.with { $0.payload = .closeStdin(.init()) })
                },
                onResponse: { responses -> ([UInt8], [UInt8], ExecboxAPI.ExitStatus?, AttachStarted?) in
                    var out: [UInt8] = []
                    var err: [UInt8] = []
                    var exit: ExecboxAPI.ExitStatus?
                    var started: AttachStarted?
                    for try await response in responses {
                        switch response.payload {
                        case .started(let value): started = value
                        case .output(let chunk):
                            let count = chunk.stream == .stdout ? out.count : err.count
                            #expect(chunk.offset == Int64(count))
                            if chunk.stream == .stdout { out += chunk.data } else { err += chunk.data }
                        case .exit(let value): exit = value
                        default: break
                        }
                    }
                    return (out, err, exit, started)
                })
            #expect(started?.process?.processId == "main" && started?.stdoutOffset == 0)
            #expect(String(decoding: out, as: UTF8.self) == "out\ngot hi\n")
            #expect(String(decoding: err, as: UTF8.self) == "err\n")
            #expect(exit?.exitCode == 4 && exit?.reason == .exited)
            let ended = try await fixture.waitFor(caller, session.id) {
                [.stopped, .failed, .killed].contains($0.status)
            }
            #expect(ended.status == .failed && ended.exit?.exitCode == 4)

            let sleeper = try await fixture.create(caller) { $0.command = ["sleep", "100"] }
            let signalled = try await fixture.processes.signalProcess(
                .with {
                    $0.sessionId = sleeper.id
                    $0.signal = .term
                }, metadata: caller.metadata)
            #expect(signalled.process?.processId == "main" && signalled.process?.argv == ["sleep", "100"])
            let terminated = try await fixture.waitFor(caller, sleeper.id) {
                [.stopped, .failed, .killed].contains($0.status)
            }
            #expect(terminated.status == .failed && terminated.exit?.signal == 15, "\(terminated)")
        }
    }

    @Test func backgroundExecOutlivesItsStream() async throws {
        try await SessionFixture.with { fixture in
            let caller = try await fixture.service.account(tier: .pro)
            let session = try await fixture.create(caller)
            // The call ends at the first chunk; the process goes on.
            let processID = try await fixture.processes.exec(
                metadata: caller.metadata,
                requests: { writer in
                    try await writer.write(
                        .with {
                            $0.payload = .start(
                                .with {
                                    $0.sessionId = session.id
                                    $0.argv = [
                                        "sh", "-c",
                                        "for i in $(seq 1 40); do echo line$i; echo e$i >&2; sleep 0.01; done",
                                    ]
                                    $0.background = true
                                })
                        })
                },
                onResponse: { responses in
                    var id = ""
                    for try await response in responses {
                        if case .started(let started) = response.payload { id = started.processId }
                        if case .output = response.payload { break }
                    }
                    return id
                })
            var info = try await fixture.processes.getProcess(
                .with {
                    $0.sessionId = session.id
                    $0.processId = processID
                }, metadata: caller.metadata
            ).process!
            for _ in 0..<200 where info.state != .exited {
                try await Task.sleep(for: .milliseconds(20))
                info = try await fixture.processes.getProcess(
                    .with {
                        $0.sessionId = session.id
                        $0.processId = processID
                    }, metadata: caller.metadata
                ).process!
            }
            #expect(info.state == .exited && info.exit?.exitCode == 0 && info.background)
            let expectedOut = (1...40).map { "line\($0)\n" }.joined()
            let expectedErr = (1...40).map { "e\($0)\n" }.joined()
            #expect(info.stdoutBytes == Int64(expectedOut.utf8.count))
            // Re-attach from the middle of stdout and the start of stderr.
            let (out, err, exit, started) = try await fixture.processes.attach(
                metadata: caller.metadata,
                requests: { writer in
                    try await writer.write(
                        .with {
                            $0.payload = .start(
                                .with {
                                    $0.sessionId = session.id
                                    $0.processId = processID
                                    $0.stdoutOffset = 6
                                    $0.stderrOffset = 0
                                })
                        })
                },
                onResponse: { responses in
                    var out: [UInt8] = []
                    var err: [UInt8] = []
                    var exit: ExecboxAPI.ExitStatus?
                    var started: AttachStarted?
                    for try await response in responses {
                        switch response.payload {
                        case .started(let value): started = value
                        case .output(let chunk):
                            if chunk.stream == .stdout {
                                #expect(chunk.offset == 6 + Int64(out.count))
                                out += chunk.data
                            } else {
                                #expect(chunk.offset == Int64(err.count))
                                err += chunk.data
                            }
                        case .exit(let value): exit = value
                        default: break
                        }
                    }
                    return (out, err, exit, started)
                })
            #expect(started?.stdoutOffset == 6 && started?.stderrOffset == 0)
            #expect(String(decoding: out, as: UTF8.self) == String(expectedOut.dropFirst(6)))
            #expect(String(decoding: err, as: UTF8.self) == expectedErr)
            #expect(exit?.exitCode == 0)
            let listed = try await fixture.processes.listProcesses(
                .with {
                    $0.sessionId = session.id
                    $0.includeExited = true
                }, metadata: caller.metadata)
            #expect(listed.processes.map(\.processId) == [processID])
        }
    }

    /// A session's command is listed first, marked main, with its TTY; an exec after it is not main.
    @Test func listProcessesShowsTheMainProcessFirst() async throws {
        try await SessionFixture.with { fixture in
            let caller = try await fixture.service.account(tier: .pro)
            let session = try await fixture.create(caller) {
                $0.command = ["sh", "-c", "test -t 1 && sleep 30"]
                $0.tty = true
            }
            _ = try await fixture.exec(caller, session.id, ["true"])
            let listed = try await fixture.processes.listProcesses(
                .with {
                    $0.sessionId = session.id
                    $0.includeExited = true
                }, metadata: caller.metadata
            ).processes
            #expect(listed.count == 2)
            let main = try #require(listed.first)
            #expect(
                main.isMain && main.tty && main.state == .running && main.argv == ["sh", "-c", "test -t 1 && sleep 30"])
            #expect(listed.last.map { !$0.isMain && $0.argv == ["true"] && $0.state == .exited } == true)
            let running = try await fixture.processes.listProcesses(
                .with { $0.sessionId = session.id }, metadata: caller.metadata
            ).processes
            #expect(running.map(\.processId) == [main.processId])
            let got = try await fixture.processes.getProcess(
                .with {
                    $0.sessionId = session.id
                    $0.processId = main.processId
                }, metadata: caller.metadata
            ).process
            #expect(got?.isMain == true && got?.tty == true)
        }
    }

    @Test func finalizingTwiceCountsUsageOnce() async throws {
        try await SessionFixture.with { fixture in
            let caller = try await fixture.service.account(tier: .pro)
            let session = try await fixture.create(caller)
            let record = try await fixture.service.store.session(id: session.id, accountID: nil)!
            // A crash after the usage row and before the status update: the row is there already.
            let early = UsageEvent(
                idempotencyKey: "session:\(session.id)", accountID: caller.accountID, apiKeyID: caller.keyID,
                sessionID: session.id, occurredAt: Date(), measures: UsageMeasures(executions: 1, durationMs: 5))
            #expect(try await fixture.service.store.recordUsage(early))
            async let first = fixture.manager.kill(record)
            async let second = fixture.manager.finalize(record, status: .stopped, exit: nil, message: "")
            _ = try await (first, second)
            try await fixture.manager.reconcile()
            let usage = try await fixture.usageToday(caller)
            #expect(usage.executions == 1 && usage.durationMs == 5)
            let ended = try await fixture.service.store.session(id: session.id, accountID: nil)!
            #expect(ended.status == .killed)
        }
    }

    /// A sandbox no active session owns (adopted after a restart whose session had ended, or left
    /// by a create that died with its server) is killed by the reconciler.
    @Test func reconcilerKillsSandboxesNoSessionOwns() async throws {
        try await SessionFixture.with { fixture in
            let caller = try await fixture.service.account(tier: .pro)
            let owned = try await fixture.create(caller)
            let orphan = try SandboxID("sess_0123456789abcdef01234567")
            _ = try await fixture.backend.create(orphan, SandboxSpec())
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline, (try? await fixture.backend.get(orphan)) != nil {
                try await Task.sleep(for: .milliseconds(50))
            }
            await #expect(throws: SandboxError.self) { try await fixture.backend.get(orphan) }
            // The session's own sandbox is left alone.
            #expect(try await fixture.backend.get(SandboxID(owned.id)).state == .running)
        }
    }

    @Test func watchSendsSnapshotThenTheEnd() async throws {
        try await SessionFixture.with { fixture in
            let caller = try await fixture.service.account(tier: .pro)
            let session = try await fixture.create(caller)
            let events = try await fixture.sessions.watchSession(
                .with { $0.sessionId = session.id }, metadata: caller.metadata
            ) { responses in
                var seen: [WatchSessionResponse] = []
                for try await response in responses {
                    seen.append(response)
                    if seen.count == 1 {
                        Task {
                            _ = try await fixture.sessions.stopSession(
                                .with {
                                    $0.sessionId = session.id
                                    $0.gracePeriodMs = 100
                                }, metadata: caller.metadata)
                        }
                    }
                }
                return seen
            }
            #expect(events.first?.type == .snapshot && events.first?.session?.status == .running)
            #expect(events.last?.type == .statusChanged && events.last?.session?.status == .stopped)
            #expect(events.map(\.sequence) == events.map(\.sequence).sorted())
        }
    }
}
