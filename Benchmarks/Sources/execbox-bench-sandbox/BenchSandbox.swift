import ExecboxSandbox
import ExecboxSandboxRunc
import Glibc
import Logging

/// `execbox-bench-sandbox --podman-rootfs DIR [options]`: the runc backend (ExecboxSandboxRunc, through
/// its public API) against `podman run --rm --runtime runc` on the same rootfs, `runc exec` and a plain
/// pipe, alternating ours and the peer. Progress on stderr; `BENCH` lines on stdout (scripts/bench-sandbox).
@main
struct BenchSandbox {
    struct Options {
        var podmanRootfs = ""
        var podman = "podman"
        var runc = "/usr/sbin/runc"
        /// The exec agent (`ExecboxSandboxAgent`); empty runs without it (every exec a `runc exec`).
        var agent = ""
        /// The sandbox monitor (`ExecboxSandboxMonitor`), as the server runs it: each sandbox under
        /// its monitor, exec descriptors kept for a next server; empty runs without it.
        var monitor = ""
        /// The backend's OCI runtime (`--runtime runsc` measures gVisor; the peers stay the same).
        var runtime = RuncBackendConfiguration.Runtime.runc
        var stateRoot = "/run/execbox-bench"
        var sequential = 100
        var burst = 50
        var burstRounds = 3
        var execs = 200
        var throughputRounds = 5
        var throughputSize = "1G"
        var warmup = 3

        static func parse(_ arguments: [String]) throws -> Options {
            var options = Options()
            var index = 0
            func value() throws -> String {
                index += 1
                guard index < arguments.count else { throw BenchFailure("\(arguments[index - 1]) needs a value") }
                return arguments[index]
            }
            func number() throws -> Int {
                let text = try value()
                guard let number = Int(text), number > 0 else { throw BenchFailure("not a positive number: \(text)") }
                return number
            }
            while index < arguments.count {
                switch arguments[index] {
                case "--podman-rootfs": options.podmanRootfs = try value()
                case "--podman": options.podman = try value()
                case "--runc": options.runc = try value()
                case "--agent": options.agent = try value()
                case "--monitor": options.monitor = try value()
                case "--runtime":
                    let name = try value()
                    guard let runtime = RuncBackendConfiguration.Runtime(rawValue: name) else {
                        throw BenchFailure("--runtime: runc or runsc, not \(name)")
                    }
                    options.runtime = runtime
                case "--state-root": options.stateRoot = try value()
                case "--sequential": options.sequential = try number()
                case "--burst": options.burst = try number()
                case "--burst-rounds": options.burstRounds = try number()
                case "--execs": options.execs = try number()
                case "--throughput-rounds": options.throughputRounds = try number()
                case "--throughput-size": options.throughputSize = try value()
                case "--warmup": options.warmup = try number()
                default: throw BenchFailure("unknown argument \(arguments[index])")
                }
                index += 1
            }
            guard !options.podmanRootfs.isEmpty else { throw BenchFailure("--podman-rootfs is required") }
            return options
        }
    }

    static func main() async throws {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "peer-runner" { exit(PeerRunnerProcess.main()) }
        let options: Options
        do {
            options = try Options.parse(arguments)
        } catch {
            Log.progress("\(error)")
            exit(2)
        }
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "execbox.bench.sandbox")
        logger.logLevel = .warning

        // Started before the backend makes this process a subreaper; see PeerRunner.
        let runner = try PeerRunner.start()
        let root = "\(options.stateRoot)/\(SandboxID.random().rawValue)"
        let configuration = RuncBackendConfiguration(
            runtime: options.runtime,
            runtimePath: options.runtime == .runc ? options.runc : nil,
            stateDirectory: "\(root)/runc",
            sandboxDirectory: "\(root)/sandboxes",
            imageDirectory: "\(root)/images",
            monitorPath: options.monitor.isEmpty ? nil : options.monitor,
            useMonitor: !options.monitor.isEmpty,
            agentPath: options.agent.isEmpty ? nil : options.agent,
            useAgent: !options.agent.isEmpty
        )
        let backend = try await RuncBackend.make(configuration: configuration, logger: logger)
        Log.progress("backend: \(backend.version.map { "\($0)" } ?? "no runc"), state in \(root)")
        let outcome: Result<Report, any Error>
        do {
            let report = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await backend.run() }
                defer { group.cancelAll() }
                while await backend.health().status != .serving { try await Task.sleep(for: .milliseconds(1)) }
                let benchmark = Benchmark(
                    options: options, ours: OursBench(backend: backend), runner: runner, backend: backend)
                return try await benchmark.run()
            }
            outcome = .success(report)
        } catch {
            outcome = .failure(error)
        }
        // run() has ended: every sandbox is destroyed.
        rmdir("\(root)/runc")
        rmdir("\(root)/sandboxes")
        RuncBackend.removeImageFiles(configuration)
        rmdir(root)
        rmdir(options.stateRoot)
        runner.finish()

        switch outcome {
        case .failure(let error):
            Log.progress("failed: \(error)")
            exit(1)
        case .success(let report):
            for note in report.notes { Log.progress(note) }
            for target in report.targets {
                Log.progress("target \(target.what): \(target.met ? "met" : "MISSED") (\(target.measured))")
            }
            for comparison in report.comparisons { print(comparison.line) }
        }
    }
}

struct Report {
    var comparisons: [Comparison] = []
    var targets: [Target] = []
    var notes: [String] = []
}

/// The four measurements, each alternating ours and the peer.
struct Benchmark {
    let options: BenchSandbox.Options
    let ours: OursBench
    let runner: PeerRunner
    let backend: RuncBackend
    let clock = ContinuousClock()

    /// The same command on the same rootfs: host /usr read-only over a directory shaped like the
    /// `default` image, read-only root with tmpfs /workspace (and podman's /tmp, /run), the backend's
    /// default limits (512 MiB memory and swap, 256 pids, 1 CPU, 4096 descriptors) and, unless
    /// `noNetwork` is false (podman's default bridge network), no network, as the backend's `none`.
    func podmanEcho(noNetwork: Bool) -> [String] {
        [options.podman, "run", "--rm", "--runtime", "runc"] + (noNetwork ? ["--network", "none"] : [])
            + [
                "--read-only", "--tmpfs", "/workspace", "--memory", "512m", "--memory-swap", "512m",
                "--pids-limit", "256", "--cpus", "1", "--ulimit", "nofile=4096:4096", "--ulimit",
                "nproc=4096:4096", "-v", "/usr:/usr:ro", "--rootfs", options.podmanRootfs, "echo", "hi",
            ]
    }

    func run() async throws -> Report {
        var report = Report()
        try await warmUp()
        try await createSequential(&report)
        try await createBurst(&report)
        // The same again with the backend's pool of started containers (`-pooled` lines): sized 4
        // for sequential creates, and to the burst for bursts (refilled before each round).
        try await fillPool(4)
        try await createSequential(&report, pooled: true)
        try await createBurst(&report, pooled: true)
        try await fillPool(0)
        try await execLatency(&report)
        try await throughput(&report)
        try await checkNothingLeft(&report)
        return report
    }

    /// Sets the pool of the `default` image to `size` and waits until it holds that many.
    func fillPool(_ size: Int) async throws {
        try backend.setPoolSize(size, for: "default")
        let start = clock.now
        while backend.pooledContainers["default", default: 0] != size {
            guard clock.now - start < .seconds(300) else {
                throw BenchFailure("the pool did not reach \(size) containers: \(backend.pooledContainers)")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        if size > 0 { Log.progress("pool of \(size) started containers filled in \(clock.now - start)") }
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

    func peerEcho(copies: Int = 1, noNetwork: Bool = true) async throws -> [PeerRunner.Result] {
        let results = try await runner.run(podmanEcho(noNetwork: noNetwork), copies: copies)
        for result in results where !result.succeeded || result.bytes != 3 || result.firstByte == nil {
            throw BenchFailure("podman run: wait status \(result.waitStatus), \(result.bytes) bytes of output")
        }
        return results
    }

    func warmUp() async throws {
        Log.progress("warming up (\(options.warmup) creates each)")
        for _ in 0..<options.warmup {
            let result = try await ours.createAndEcho(from: clock.now)
            try await ours.remove([result.id])
            _ = try await peerEcho()
            _ = try await peerEcho(noNetwork: false)
        }
    }

    func createSequential(_ report: inout Report, pooled: Bool = false) async throws {
        let count = options.sequential
        let suffix = pooled ? "-pooled" : ""
        Log.progress(
            "create → first byte of echo hi, sequential, \(count) each: ours\(pooled ? " (pooled)" : ""), podman "
                + "--network none and podman with its default bridge network, in rotating order")
        // 0: ours, 1: podman --network none (the same configuration), 2: podman's default network.
        var first: [[Double]] = [[], [], []]
        var life: [[Double]] = [[], [], []]
        for step in 0..<count {
            for side in [0, 1, 2].rotated(by: step) {
                if side == 0 {
                    let start = clock.now
                    let result = try await ours.createAndEcho(from: start)
                    try await ours.remove([result.id])
                    first[0].append(Stats.milliseconds(result.firstByte))
                    life[0].append(Stats.milliseconds(clock.now - start))
                } else {
                    let result = try await peerEcho(noNetwork: side == 1)[0]
                    first[side].append(Stats.milliseconds(result.firstByte!))
                    life[side].append(Stats.milliseconds(result.exit))
                }
            }
            if (step + 1) % 20 == 0 {
                Log.progress(
                    "  \(step + 1)/\(count): ours \(Stats.summary(first[0])); podman \(Stats.summary(first[1])); "
                        + "podman bridge \(Stats.summary(first[2]))")
            }
        }
        Log.progress("  whole lifecycle (to destroyed / podman exited): ours \(Stats.summary(life[0]))")
        Log.progress("  whole lifecycle (to destroyed / podman exited): podman \(Stats.summary(life[1]))")
        Log.progress("  whole lifecycle (to destroyed / podman exited): podman bridge \(Stats.summary(life[2]))")
        for (label, p) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
            report.comparisons.append(
                Comparison(
                    name: "sandbox-create-first-byte-\(label)\(suffix)",
                    ours: Stats.percentile(first[0], p),
                    peer: Stats.percentile(first[1], p),
                    unit: "ms",
                    higherIsBetter: false
                ))
        }
        for (label, p) in [("p50", 0.5), ("p99", 0.99)] {
            report.comparisons.append(
                Comparison(
                    name: "sandbox-create-first-byte-\(label)-podman-bridge\(suffix)",
                    ours: Stats.percentile(first[0], p),
                    peer: Stats.percentile(first[2], p),
                    unit: "ms",
                    higherIsBetter: false
                ))
        }
        report.comparisons.append(
            Comparison(
                name: "sandbox-create-lifecycle-p50\(suffix)",
                ours: Stats.percentile(life[0], 0.5),
                peer: Stats.percentile(life[1], 0.5),
                unit: "ms",
                higherIsBetter: false
            ))
        let p50 = Stats.percentile(first[0], 0.5)
        report.targets.append(
            Target(
                what: "sequential create→first byte p50 ≤ 60 ms\(pooled ? " (pooled)" : "")",
                met: p50 <= 60,
                measured: "\(Stats.fixed(p50, 1)) ms"
            ))
        for (side, label) in [(1, "--network none"), (2, "default network")] {
            let ratio = Stats.percentile(first[side], 0.5) / p50
            report.targets.append(
                Target(
                    what: "≥ 5× faster than podman (\(label)) on create (sequential p50\(pooled ? ", pooled" : ""))",
                    met: ratio >= 5,
                    measured: "\(Stats.fixed(ratio, 2))×"
                ))
        }
    }

    func createBurst(_ report: inout Report, pooled: Bool = false) async throws {
        let count = options.burst
        let suffix = pooled ? "-pooled" : ""
        Log.progress(
            "create → first byte, bursts of \(count) concurrent creates\(pooled ? " (ours from a pool of \(count))" : ""), "
                + "\(options.burstRounds) rounds each")
        var oursP50: [Double] = []
        var oursP99: [Double] = []
        var peerP50: [Double] = []
        var peerP99: [Double] = []
        for round in 0..<options.burstRounds {
            if pooled { try await fillPool(count) }
            try await alternating(round) {
                let start = clock.now
                let ours = ours
                let results = try await withThrowingTaskGroup(of: OursBench.EchoResult.self) { group in
                    for _ in 0..<count { group.addTask { try await ours.createAndEcho(from: start) } }
                    var results: [OursBench.EchoResult] = []
                    for try await result in group { results.append(result) }
                    return results
                }
                try await ours.remove(results.map(\.id))
                let times = results.map { Stats.milliseconds($0.firstByte) }
                oursP50.append(Stats.percentile(times, 0.5))
                oursP99.append(Stats.percentile(times, 0.99))
                Log.progress("  round \(round + 1): ours \(Stats.summary(times))")
            } peer: {
                let times = try await peerEcho(copies: count).map { Stats.milliseconds($0.firstByte!) }
                peerP50.append(Stats.percentile(times, 0.5))
                peerP99.append(Stats.percentile(times, 0.99))
                Log.progress("  round \(round + 1): podman \(Stats.summary(times))")
            }
        }
        let p50 = Stats.median(oursP50)
        let p99 = Stats.median(oursP99)
        report.comparisons.append(
            Comparison(
                name: "sandbox-create-first-byte-burst\(count)-p50\(suffix)", ours: p50, peer: Stats.median(peerP50),
                unit: "ms", higherIsBetter: false))
        report.comparisons.append(
            Comparison(
                name: "sandbox-create-first-byte-burst\(count)-p99\(suffix)", ours: p99, peer: Stats.median(peerP99),
                unit: "ms", higherIsBetter: false))
        report.targets.append(
            Target(
                what: "burst-\(count) create→first byte p50 ≤ 60 ms\(pooled ? " (pooled)" : "")", met: p50 <= 60,
                measured: "\(Stats.fixed(p50, 1)) ms"))
        report.targets.append(
            Target(
                what: "burst-\(count) create→first byte p99 ≤ 300 ms\(pooled ? " (pooled)" : "")", met: p99 <= 300,
                measured: "\(Stats.fixed(p99, 1)) ms"))
    }

    func execLatency(_ report: inout Report) async throws {
        let count = options.execs
        let id = try await ours.createAndEcho(from: clock.now).id
        let runcExec = [
            backend.configuration.runtimePath, "--root", backend.configuration.stateDirectory, "exec", id.rawValue,
            "true",
        ]
        Log.progress(
            "exec of true in a running sandbox, \(count) each, alternating with \(runcExec.joined(separator: " "))")
        func peer() async throws -> Double {
            let result = try await runner.run(runcExec)[0]
            guard result.succeeded else { throw BenchFailure("runc exec: wait status \(result.waitStatus)") }
            return Stats.milliseconds(result.exit)
        }
        for _ in 0..<5 {
            _ = try await ours.execTrue(in: id)
            _ = try await peer()
        }
        var oursTimes: [Double] = []
        var peerTimes: [Double] = []
        for step in 0..<count {
            try await alternating(step) {
                oursTimes.append(Stats.milliseconds(try await ours.execTrue(in: id)))
            } peer: {
                peerTimes.append(try await peer())
            }
        }
        try await ours.remove([id])
        Log.progress("  ours \(Stats.summary(oursTimes))")
        Log.progress("  runc exec \(Stats.summary(peerTimes))")
        for (label, p) in [("p50", 0.5), ("p99", 0.99)] {
            report.comparisons.append(
                Comparison(
                    name: "sandbox-exec-true-\(label)", ours: Stats.percentile(oursTimes, p),
                    peer: Stats.percentile(peerTimes, p), unit: "ms", higherIsBetter: false))
        }
        let p50 = Stats.percentile(oursTimes, 0.5)
        report.targets.append(Target(what: "exec p50 ≤ 15 ms", met: p50 <= 15, measured: "\(Stats.fixed(p50, 1)) ms"))
    }

    func throughput(_ report: inout Report) async throws {
        let size = options.throughputSize
        let id = try await ours.createAndEcho(from: clock.now).id
        let pipe = ["sh", "-c", "head -c \(size) /dev/zero | cat >/dev/null"]
        Log.progress(
            "exec output: head -c \(size) /dev/zero through the backend vs \(pipe[2]), "
                + "\(options.throughputRounds) rounds")
        var expected = 0
        var oursRates: [Double] = []
        var peerRates: [Double] = []
        for round in 0..<options.throughputRounds {
            try await alternating(round) {
                let (bytes, duration) = try await ours.headZero(in: id, size: size)
                if expected == 0 { expected = bytes }
                guard bytes == expected, bytes > 0 else { throw BenchFailure("head: \(bytes) bytes, then \(expected)") }
                oursRates.append(Double(bytes) / 1e6 / (Stats.milliseconds(duration) / 1000))
                Log.progress("  round \(round + 1): ours \(Stats.fixed(oursRates.last!, 0)) MB/s (\(bytes) bytes)")
            } peer: {
                let result = try await runner.run(pipe)[0]
                guard result.succeeded else { throw BenchFailure("pipe: wait status \(result.waitStatus)") }
                peerRates.append(
                    Double(expected == 0 ? 1 << 30 : expected) / 1e6 / (Stats.milliseconds(result.exit) / 1000))
                Log.progress("  round \(round + 1): pipe \(Stats.fixed(peerRates.last!, 0)) MB/s")
            }
        }
        try await ours.remove([id])
        let rate = Stats.median(oursRates)
        report.comparisons.append(
            Comparison(
                name: "sandbox-exec-output-throughput", ours: rate, peer: Stats.median(peerRates), unit: "MB/s",
                higherIsBetter: true))
        report.targets.append(
            Target(what: "exec output ≥ 1 GB/s", met: rate >= 1000, measured: "\(Stats.fixed(rate, 0)) MB/s"))
    }

    /// Nothing may be left: no sandbox in the backend, no podman container.
    func checkNothingLeft(_ report: inout Report) async throws {
        let left = try await backend.list().filter { !$0.state.isTerminal }
        let podman = try await runner.run([options.podman, "ps", "-aq"])[0]
        report.notes.append(
            "left behind: \(left.count) live sandboxes, \(podman.bytes / 13) podman containers (podman ps -aq)")
    }
}

extension Array {
    /// The elements starting at `offset` (modulo the count), wrapping around.
    func rotated(by offset: Int) -> [Element] {
        guard !isEmpty else { return self }
        let start = offset % count
        return Array(self[start...] + self[..<start])
    }
}
