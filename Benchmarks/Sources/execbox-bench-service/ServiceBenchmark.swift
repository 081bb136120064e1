import ExecboxSandbox

/// The four measurements, each alternating the full stack (ours) and the backend alone (the peer).
struct ServiceBenchmark {
    let options: BenchService.Options
    let stack: StackBench
    let backend: BackendBench
    let clock = ContinuousClock()

    func run() async throws -> Report {
        var report = Report()
        try await warmUp()
        let createOverhead = try await createSequential(&report)
        try await createBurst(&report)
        let execOverhead = try await execLatency(&report)
        try await throughput(&report)
        report.information.append(
            "INFO service-overhead-p50 create-first-byte=\(Stats.fixed(createOverhead, 2))ms "
                + "exec-true=\(Stats.fixed(execOverhead, 2))ms (full stack p50 minus backend p50)")
        for (what, overhead) in [("create → first byte", createOverhead), ("exec of true", execOverhead)] {
            report.targets.append(
                Target(
                    what: "full stack adds ≤ 3 ms p50 over the backend (\(what))", met: overhead <= 3,
                    measured: "\(Stats.fixed(overhead, 2)) ms"))
        }
        let sessions = try await stack.live()
        let sandboxes = try await backend.live()
        report.notes.append("left behind: \(sessions.count) live sessions, \(sandboxes) live backend sandboxes")
        if !sessions.isEmpty { try await stack.kill(sessions) }
        return report
    }

    /// Ours measures once, then the peer, on even steps; the other way round on odd steps.
    func alternating(_ step: Int, ours: () async throws -> Void, peer: () async throws -> Void) async throws {
        if step % 2 == 0 {
            try await ours()
            try await peer()
        } else {
            try await peer()
            try await ours()
        }
    }

    func warmUp() async throws {
        Log.progress("warming up (\(options.warmup) creates and execs each)")
        for _ in 0..<options.warmup {
            let session = try await stack.createAndEcho(from: clock.now).id
            _ = try await stack.execTrue(in: session)
            try await stack.kill([session])
            let sandbox = try await backend.createAndEcho(from: clock.now).id
            _ = try await backend.execTrue(in: sandbox)
            try await backend.remove([sandbox])
        }
    }

    /// Sequential create → first byte of `echo hi`; returns the p50 overhead in milliseconds.
    func createSequential(_ report: inout Report) async throws -> Double {
        let count = options.sequential
        Log.progress("create → first output byte of echo hi, sequential, \(count) each (kill/remove untimed)")
        var ours: [Double] = []
        var peer: [Double] = []
        // The two parts: the create call, then the exec up to the first output byte.
        var oursCreate: [Double] = []
        var peerCreate: [Double] = []
        // CPU seconds of whole lifecycles (create, echo, kill): the server's and this process's in
        // full-stack steps, this process's in backend steps.
        var cpu = (server: 0.0, client: 0.0, backend: 0.0)
        for step in 0..<count {
            try await alternating(step) {
                let server = options.serverPID.flatMap(CPUTime.seconds(of:)) ?? 0
                let own = CPUTime.ownSeconds()
                let result = try await stack.createAndEcho(from: clock.now)
                try await stack.kill([result.id])
                cpu.client += CPUTime.ownSeconds() - own
                cpu.server += (options.serverPID.flatMap(CPUTime.seconds(of:)) ?? 0) - server
                ours.append(Stats.milliseconds(result.firstByte))
                oursCreate.append(Stats.milliseconds(result.created))
            } peer: {
                let own = CPUTime.ownSeconds()
                let result = try await backend.createAndEcho(from: clock.now)
                try await backend.remove([result.id])
                cpu.backend += CPUTime.ownSeconds() - own
                peer.append(Stats.milliseconds(result.firstByte))
                peerCreate.append(Stats.milliseconds(result.created))
            }
            if (step + 1) % 20 == 0 {
                Log.progress(
                    "  \(step + 1)/\(count): full stack \(Stats.summary(ours)); backend \(Stats.summary(peer))")
            }
        }
        let oursExec = zip(ours, oursCreate).map { $0 - $1 }
        let peerExec = zip(peer, peerCreate).map { $0 - $1 }
        Log.progress("  create call: full stack \(Stats.summary(oursCreate)); backend \(Stats.summary(peerCreate))")
        Log.progress(
            "  then exec → first byte: full stack \(Stats.summary(oursExec)); backend \(Stats.summary(peerExec))")
        let perSession = { (seconds: Double) in Stats.fixed(seconds * 1000 / Double(count), 2) }
        Log.progress(
            "  CPU per create, echo and kill: server \(perSession(cpu.server)) ms and client \(perSession(cpu.client)) ms; "
                + "backend \(perSession(cpu.backend)) ms (runc and the monitor not counted)")
        for (label, p) in [("p50", 0.5), ("p99", 0.99)] {
            report.comparisons.append(
                Comparison(
                    name: "service-create-first-byte-\(label)", ours: Stats.percentile(ours, p),
                    peer: Stats.percentile(peer, p), unit: "ms", higherIsBetter: false))
        }
        return Stats.percentile(ours, 0.5) - Stats.percentile(peer, 0.5)
    }

    /// Bursts of concurrent creates: sessions (sandboxes) running per second of the whole burst.
    func createBurst(_ report: inout Report) async throws {
        let count = options.burst
        Log.progress("burst of \(count) concurrent creates, \(options.burstRounds) rounds each (kill/remove untimed)")
        var ours: [Double] = []
        var peer: [Double] = []
        for round in 0..<options.burstRounds {
            try await alternating(round) {
                let stack = stack
                let clock = clock
                let start = clock.now
                let (ids, times) = try await withThrowingTaskGroup(of: (String, Double).self) { group in
                    for _ in 0..<count {
                        group.addTask {
                            let id = try await stack.create()
                            return (id, Stats.milliseconds(clock.now - start))
                        }
                    }
                    var ids: [String] = []
                    var times: [Double] = []
                    for try await (id, time) in group {
                        ids.append(id)
                        times.append(time)
                    }
                    return (ids, times)
                }
                let elapsed = clock.now - start
                try await stack.kill(ids)
                ours.append(Double(count) / (Stats.milliseconds(elapsed) / 1000))
                Log.progress(
                    "  round \(round + 1): full stack \(Stats.fixed(ours.last!, 1)) sessions/s; each \(Stats.summary(times))"
                )
            } peer: {
                let backend = backend
                let clock = clock
                let start = clock.now
                let (ids, times) = try await withThrowingTaskGroup(of: (SandboxID, Double).self) { group in
                    for _ in 0..<count {
                        group.addTask {
                            let id = try await backend.create()
                            return (id, Stats.milliseconds(clock.now - start))
                        }
                    }
                    var ids: [SandboxID] = []
                    var times: [Double] = []
                    for try await (id, time) in group {
                        ids.append(id)
                        times.append(time)
                    }
                    return (ids, times)
                }
                let elapsed = clock.now - start
                try await backend.remove(ids)
                peer.append(Double(count) / (Stats.milliseconds(elapsed) / 1000))
                Log.progress(
                    "  round \(round + 1): backend \(Stats.fixed(peer.last!, 1)) sandboxes/s; each \(Stats.summary(times))"
                )
            }
        }
        report.comparisons.append(
            Comparison(
                name: "service-create-burst\(count)-rate", ours: Stats.median(ours), peer: Stats.median(peer),
                unit: "sessions/s", higherIsBetter: true))
    }

    /// Exec of `true` in a running session; returns the p50 overhead in milliseconds.
    func execLatency(_ report: inout Report) async throws -> Double {
        let count = options.execs
        Log.progress("exec of true in a running session, \(count) each")
        let session = try await stack.createAndEcho(from: clock.now).id
        let sandbox = try await backend.createAndEcho(from: clock.now).id
        for _ in 0..<5 {
            _ = try await stack.execTrue(in: session)
            _ = try await backend.execTrue(in: sandbox)
        }
        var ours: [Double] = []
        var peer: [Double] = []
        for step in 0..<count {
            try await alternating(step) {
                ours.append(Stats.milliseconds(try await stack.execTrue(in: session)))
            } peer: {
                peer.append(Stats.milliseconds(try await backend.execTrue(in: sandbox)))
            }
        }
        try await stack.kill([session])
        try await backend.remove([sandbox])
        Log.progress("  full stack \(Stats.summary(ours))")
        Log.progress("  backend \(Stats.summary(peer))")
        for (label, p) in [("p50", 0.5), ("p99", 0.99)] {
            report.comparisons.append(
                Comparison(
                    name: "service-exec-true-\(label)", ours: Stats.percentile(ours, p),
                    peer: Stats.percentile(peer, p), unit: "ms", higherIsBetter: false))
        }
        return Stats.percentile(ours, 0.5) - Stats.percentile(peer, 0.5)
    }

    /// `head -c SIZE /dev/zero` streamed to the client against the backend's own events.
    func throughput(_ report: inout Report) async throws {
        let size = options.throughputSize
        Log.progress("exec output: head -c \(size) /dev/zero, \(options.throughputRounds) rounds each")
        let session = try await stack.createAndEcho(from: clock.now).id
        let sandbox = try await backend.createAndEcho(from: clock.now).id
        var expected = 0
        func rate(_ bytes: Int, _ duration: Duration, _ side: String) throws -> Double {
            if expected == 0 { expected = bytes }
            guard bytes == expected, bytes > 0 else { throw BenchFailure("\(side): \(bytes) bytes, not \(expected)") }
            return Double(bytes) / 1e6 / (Stats.milliseconds(duration) / 1000)
        }
        var ours: [Double] = []
        var peer: [Double] = []
        // CPU seconds per GB: the server and the client (this process) in full-stack rounds, this
        // process (the backend) in backend rounds.
        var serverCPU: [Double] = []
        var clientCPU: [Double] = []
        var backendCPU: [Double] = []
        for round in 0..<options.throughputRounds {
            try await alternating(round) {
                let server = options.serverPID.flatMap(CPUTime.seconds(of:))
                let own = CPUTime.ownSeconds()
                let (bytes, duration) = try await stack.headZero(in: session, size: size)
                ours.append(try rate(bytes, duration, "full stack"))
                let gigabytes = Double(bytes) / 1e9
                clientCPU.append((CPUTime.ownSeconds() - own) / gigabytes)
                if let server, let now = options.serverPID.flatMap(CPUTime.seconds(of:)) {
                    serverCPU.append((now - server) / gigabytes)
                }
                Log.progress(
                    "  round \(round + 1): full stack \(Stats.fixed(ours.last!, 0)) MB/s (\(bytes) bytes); CPU per GB: "
                        + "server \(serverCPU.last.map { Stats.fixed($0, 2) } ?? "?") s, client "
                        + "\(Stats.fixed(clientCPU.last!, 2)) s")
            } peer: {
                let own = CPUTime.ownSeconds()
                let (bytes, duration) = try await backend.headZero(in: sandbox, size: size)
                peer.append(try rate(bytes, duration, "backend"))
                backendCPU.append((CPUTime.ownSeconds() - own) / (Double(bytes) / 1e9))
                Log.progress(
                    "  round \(round + 1): backend \(Stats.fixed(peer.last!, 0)) MB/s (\(bytes) bytes); CPU per GB: "
                        + "\(Stats.fixed(backendCPU.last!, 2)) s")
            }
        }
        report.information.append(
            "INFO service-exec-output-cpu-per-gb server=\(serverCPU.isEmpty ? "?" : Stats.fixed(Stats.median(serverCPU), 2))s "
                + "client=\(Stats.fixed(Stats.median(clientCPU), 2))s backend=\(Stats.fixed(Stats.median(backendCPU), 2))s "
                + "(medians; the sandbox's head not counted)")
        try await stack.kill([session])
        try await backend.remove([sandbox])
        let median = Stats.median(ours)
        report.comparisons.append(
            Comparison(
                name: "service-exec-output-throughput", ours: median, peer: Stats.median(peer), unit: "MB/s",
                higherIsBetter: true))
        report.targets.append(
            Target(
                what: "end-to-end exec output ≥ 800 MB/s", met: median >= 800,
                measured: "\(Stats.fixed(median, 0)) MB/s"))
    }
}
