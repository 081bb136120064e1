/// The measurements, each alternating the REST gateway (ours) and gRPC (the peer) on one server.
struct GatewayBenchmark {
    let options: BenchGateway.Options
    let rest: RESTSide
    let grpc: GRPCSide
    let clock = ContinuousClock()

    /// One create → exec `echo hi` → output → exit → kill loop, in milliseconds: the whole loop and
    /// its steps, each from the end of the one before.
    struct Loop {
        /// From before the create to the kill's return.
        var total: Double
        /// The create call.
        var create: Double
        /// From opening the exec (gRPC: the call; REST: the TCP connect and WebSocket upgrade) to the
        /// first output byte.
        var firstByte: Double
        /// From the first output byte to the exit.
        var exit: Double
        /// From the exit to the exec's end (gRPC: the call returned; REST: the server's close frame
        /// answered and the connection dropped).
        var close: Double
        /// The kill call.
        var kill: Double
        /// REST only: from opening the exec to the 101 (connect, the gateway's GetSession check,
        /// the upgrade).
        var upgrade: Double?
    }

    struct Samples {
        var loops: [Loop] = []
        /// Server and client CPU seconds over all loops (when the server's pid is known).
        var serverCPU = 0.0
        var clientCPU = 0.0

        func values(_ path: KeyPath<Loop, Double>) -> [Double] { loops.map { $0[keyPath: path] } }
    }

    func run() async throws -> Report {
        var report = Report()
        try await warmUp()
        if options.loops > 0 { try await loops(&report) }
        if options.throughputRounds > 0 { try await throughput(&report) }
        let left = try await grpc.live()
        report.notes.append(
            "left behind: \(left.count) live sessions; REST connections opened: "
                + "\(rest.rest.connections) (keep-alive)")
        for id in left { try await grpc.kill(id) }
        return report
    }

    /// Ours first on even steps, the peer first on odd ones.
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
        Log.progress("warming up (\(options.warmup) loops each)")
        for _ in 0..<options.warmup {
            _ = try await loop(rest)
            _ = try await loop(grpc)
        }
    }

    /// One loop; the session is killed on failure too.
    func loop(_ side: some Side) async throws -> Loop {
        let start = clock.now
        let id = try await side.create()
        let created = clock.now
        let outcome: ExecOutcome
        do {
            outcome = try await side.exec(in: id, ["echo", "hi"], keep: true)
        } catch {
            try? await side.kill(id)
            throw BenchFailure("\(side.name): exec of echo hi in \(id): \(error)")
        }
        let ended = clock.now
        guard let first = outcome.first, let exited = outcome.exited, outcome.stdout == Array("hi\n".utf8),
            outcome.succeeded
        else {
            try? await side.kill(id)
            throw BenchFailure(
                "\(side.name): echo hi in \(id): output \(outcome.stdout), \(outcome.summary)")
        }
        try await side.kill(id)
        let killed = clock.now
        return Loop(
            total: Stats.milliseconds(killed - start), create: Stats.milliseconds(created - start),
            firstByte: Stats.milliseconds(first - created), exit: Stats.milliseconds(exited - first),
            close: Stats.milliseconds(ended - exited), kill: Stats.milliseconds(killed - ended),
            upgrade: outcome.upgraded.map { Stats.milliseconds($0 - created) })
    }

    func loops(_ report: inout Report) async throws {
        let count = options.loops
        Log.progress("create → exec echo hi → output → exit → kill, sequential, \(count) each")
        var ours = Samples()
        var peer = Samples()
        func measure(_ side: some Side, into samples: inout Samples) async throws {
            let server = options.serverPID.flatMap(CPUTime.seconds(of:))
            let own = CPUTime.ownSeconds()
            samples.loops.append(try await loop(side))
            samples.clientCPU += CPUTime.ownSeconds() - own
            if let server, let now = options.serverPID.flatMap(CPUTime.seconds(of:)) {
                samples.serverCPU += now - server
            }
        }
        for step in 0..<count {
            if options.only != "grpc" && options.only != "rest" {
                try await alternating(step) {
                    try await measure(rest, into: &ours)
                } peer: {
                    try await measure(grpc, into: &peer)
                }
            } else if options.only == "rest" {
                try await measure(rest, into: &ours)
            } else {
                try await measure(grpc, into: &peer)
            }
            if (step + 1) % 20 == 0 {
                Log.progress(
                    "  \(step + 1)/\(count): rest \(Stats.summary(ours.values(\.total))); "
                        + "grpc \(Stats.summary(peer.values(\.total)))")
            }
        }
        let steps: [(String, KeyPath<Loop, Double>)] = [
            ("create", \.create), ("first-byte", \.firstByte), ("exit", \.exit), ("close", \.close), ("kill", \.kill),
        ]
        for (name, samples) in [("rest", ours), ("grpc", peer)] where !samples.loops.isEmpty {
            for (step, path) in steps { Log.progress("  \(name) \(step): \(Stats.summary(samples.values(path)))") }
            let split = steps.map { "\($0.0)=\(Stats.fixed(Stats.percentile(samples.values($0.1), 0.5), 2))" }
            report.information.append(
                "INFO gateway-loop-split-p50 side=\(name) \(split.joined(separator: " ")) unit=ms "
                    + "(loop p50 \(Stats.fixed(Stats.percentile(samples.values(\.total), 0.5), 2)))")
        }
        let upgrades = ours.loops.compactMap(\.upgrade)
        if !upgrades.isEmpty {
            Log.progress("  rest: exec open → 101 (connect, GetSession, upgrade) \(Stats.summary(upgrades))")
        }
        if options.serverPID != nil, !ours.loops.isEmpty, !peer.loops.isEmpty {
            let per = { (seconds: Double, samples: Samples) in
                Stats.fixed(seconds * 1000 / Double(samples.loops.count), 2)
            }
            report.information.append(
                "INFO gateway-loop-cpu-per-loop server rest=\(per(ours.serverCPU, ours))ms grpc=\(per(peer.serverCPU, peer))ms "
                    + "client rest=\(per(ours.clientCPU, ours))ms grpc=\(per(peer.clientCPU, peer))ms "
                    + "(runc and the monitor not counted)")
        }
        guard !ours.loops.isEmpty, !peer.loops.isEmpty else { return }
        for (label, p) in [("p50", 0.5), ("p99", 0.99)] {
            report.comparisons.append(
                Comparison(
                    name: "gateway-loop-\(label)", ours: Stats.percentile(ours.values(\.total), p),
                    peer: Stats.percentile(peer.values(\.total), p), unit: "ms", higherIsBetter: false))
        }
    }

    /// `head -c SIZE /dev/zero` streamed over the exec WebSocket against the gRPC Exec stream, each
    /// in a session of its own side.
    func throughput(_ report: inout Report) async throws {
        let size = options.throughputSize
        let rounds = options.throughputRounds
        Log.progress("exec output: head -c \(size) /dev/zero, \(rounds) rounds each")
        let restSession = try await rest.create()
        let grpcSession = try await grpc.create()
        var expected = 0
        var ours: [Double] = []
        var peer: [Double] = []
        // CPU seconds per GB, server and client, per side.
        var cpu: [String: (server: [Double], client: [Double])] = ["rest": ([], []), "grpc": ([], [])]
        func measure(_ side: some Side, in id: String, into rates: inout [Double]) async throws {
            let server = options.serverPID.flatMap(CPUTime.seconds(of:))
            let own = CPUTime.ownSeconds()
            let start = clock.now
            let outcome = try await side.exec(in: id, ["head", "-c", size, "/dev/zero"], keep: false)
            let duration = clock.now - start
            guard outcome.succeeded else { throw BenchFailure("\(side.name): head in \(id): \(outcome.summary)") }
            if expected == 0 { expected = outcome.bytes }
            guard outcome.bytes == expected, outcome.bytes > 0 else {
                throw BenchFailure("\(side.name): \(outcome.bytes) bytes, not \(expected)")
            }
            let gigabytes = Double(outcome.bytes) / 1e9
            rates.append(Double(outcome.bytes) / 1e6 / (Stats.milliseconds(duration) / 1000))
            let client = (CPUTime.ownSeconds() - own) / gigabytes
            cpu[side.name]!.client.append(client)
            var serverText = "?"
            if let server, let now = options.serverPID.flatMap(CPUTime.seconds(of:)) {
                cpu[side.name]!.server.append((now - server) / gigabytes)
                serverText = Stats.fixed((now - server) / gigabytes, 2)
            }
            Log.progress(
                "  \(side.name): \(Stats.fixed(rates.last!, 0)) MB/s (\(outcome.bytes) bytes); CPU per GB: server "
                    + "\(serverText) s, client \(Stats.fixed(client, 2)) s")
        }
        for round in 0..<rounds {
            switch options.only {
            case "rest": try await measure(rest, in: restSession, into: &ours)
            case "grpc": try await measure(grpc, in: grpcSession, into: &peer)
            default:
                try await alternating(round) {
                    try await measure(rest, in: restSession, into: &ours)
                } peer: {
                    try await measure(grpc, in: grpcSession, into: &peer)
                }
            }
        }
        try await rest.kill(restSession)
        try await grpc.kill(grpcSession)
        func median(_ values: [Double]) -> String { values.isEmpty ? "?" : Stats.fixed(Stats.median(values), 2) }
        report.information.append(
            "INFO gateway-exec-output-cpu-per-gb server rest=\(median(cpu["rest"]!.server))s "
                + "grpc=\(median(cpu["grpc"]!.server))s client rest=\(median(cpu["rest"]!.client))s "
                + "grpc=\(median(cpu["grpc"]!.client))s (medians; the sandbox's head not counted)")
        guard !ours.isEmpty, !peer.isEmpty else { return }
        report.comparisons.append(
            Comparison(
                name: "gateway-exec-output-throughput", ours: Stats.median(ours), peer: Stats.median(peer),
                unit: "MB/s", higherIsBetter: true))
    }
}

struct Report {
    var comparisons: [Comparison] = []
    /// Informational summary lines, printed on stdout before the comparisons.
    var information: [String] = []
    var notes: [String] = []
}
