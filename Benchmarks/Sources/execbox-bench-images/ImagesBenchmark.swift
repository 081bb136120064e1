/// The three measurements, ours and podman alternating (ours first on even steps, the peer first on
/// odd ones; the four create variants rotate).
struct ImagesBenchmark {
    let options: BenchImages.Options
    let stack: StackClient
    let podman: PodmanPeer
    let clock = ContinuousClock()

    /// The file every build copies in, at the same path on both sides.
    static let file = (path: "/opt/file.txt", content: "execbox bench file\n")

    /// The build of every measurement, on the busybox image: one file and two setup lines, the
    /// first one carrying `label` as a shell comment, so that each label is a fresh content id.
    func inputs(_ label: String) -> StackClient.Inputs {
        StackClient.Inputs(
            base: options.image,
            setup: ["echo built > /opt/built # \(label) \(options.nonce)", "mkdir -p /opt/x && echo y > /opt/x/y"],
            files: [Self.file])
    }

    func run() async throws -> Report {
        var report = Report()
        // podman's images of this run not yet removed (each is removed after its round, untimed).
        var tags: [String] = []
        do {
            try await warmUp(&tags)
            try await check(&tags)
            try await createFirstByte(&report)
            try await builds(&report, &tags)
            try await buildThenFirstByte(&report, &tags)
        } catch {
            try? await podman.remove(tags)
            throw error
        }
        try await podman.remove(tags)
        let sessions = try await stack.live()
        let containers = try await podman.leftoverContainers(options.image)
        report.notes.append("left behind: \(sessions.count) live sessions, \(containers) podman containers")
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

    func warmUp(_ tags: inout [String]) async throws {
        Log.progress("warming up (\(options.warmup) of every create and one cold build each)")
        for round in 0..<options.warmup {
            for image in [options.image, "default"] {
                let result = try await stack.createAndEcho(StackClient.Inputs(base: image), from: clock.now)
                try await stack.kill([result.created.id])
            }
            _ = try await podman.echo(options.image)
            if round == 0 {
                let build = try await stack.build(inputs("warm-up"))
                guard !build.cacheHit else { throw BenchFailure("the warm-up build was a cache hit") }
                tags.append("warm-up")
                _ = try await podman.build(inputs("warm-up"), tag: "warm-up", noCache: true)
                try await podman.remove(&tags, "warm-up")
            }
        }
    }

    /// Both sides build the same thing: the session on the busybox image is busybox (not the host's
    /// /usr), and the built image holds the file and what the setup lines wrote, on each side. The
    /// build made here is the cached image of the setup-hit create variant.
    func check(_ tags: inout [String]) async throws {
        Log.progress("checking both sides' images")
        let plain = try await stack.create(StackClient.Inputs(base: options.image))
        let probe = ["sh", "-c", "test -x /bin/busybox && ! test -e /usr/bin/dpkg && echo busybox"]
        let ours = try await stack.output(in: plain.id, probe)
        try await stack.kill([plain.id])
        let theirs = try await podman.output(options.image, probe)
        guard ours == "busybox\n", theirs == "busybox\n" else {
            throw BenchFailure(
                "not the busybox image: ours said \(ours.debugDescription), podman \(theirs.debugDescription)")
        }
        let cached = inputs("cached")
        let build = try await stack.build(cached)
        guard !build.cacheHit else { throw BenchFailure("the first build of the check was a cache hit") }
        let session = try await stack.create(cached)
        guard session.cacheHit, session.imageID == build.imageID else {
            throw BenchFailure("a create with the built inputs did not hit \(build.imageID): \(session)")
        }
        let files = ["cat", "/opt/built", "/opt/x/y", Self.file.path]
        let expected = "built\ny\n\(Self.file.content)"
        let built = try await stack.output(in: session.id, files)
        try await stack.kill([session.id])
        tags.append("check")
        _ = try await podman.build(cached, tag: "check", noCache: true)
        let podmanBuilt = try await podman.output(podman.image("check"), files)
        try await podman.remove(&tags, "check")
        guard built == expected, podmanBuilt == expected else {
            throw BenchFailure(
                "built images differ from \(expected.debugDescription): ours \(built.debugDescription), "
                    + "podman \(podmanBuilt.debugDescription)")
        }
        Log.progress("  both sessions run busybox; both built images hold the file and the setup's output")
    }

    /// create → first byte of `echo hi`, sequential: ours on the busybox image, on `default` and with
    /// the setup and file of a cached build; podman run on the busybox image.
    func createFirstByte(_ report: inout Report) async throws {
        let count = options.sequential
        Log.progress("create → first output byte of echo hi, sequential, \(count) each (kill untimed)")
        let variants = ["image", "default", "setup-hit", "podman"]
        var samples: [String: [Double]] = [:]
        var createCalls: [String: [Double]] = [:]
        let cached = inputs("cached")
        for step in 0..<count {
            for offset in 0..<variants.count {
                let variant = variants[(step + offset) % variants.count]
                switch variant {
                case "podman":
                    let outcome = try await podman.echo(options.image)
                    samples[variant, default: []].append(Stats.milliseconds(outcome.firstByte!))
                default:
                    let request =
                        variant == "image"
                        ? StackClient.Inputs(base: options.image)
                        : variant == "default" ? StackClient.Inputs(base: "default") : cached
                    let result = try await stack.createAndEcho(request, from: clock.now)
                    try await stack.kill([result.created.id])
                    if variant == "setup-hit", !result.created.cacheHit {
                        throw BenchFailure("a create with cached setup was not a cache hit")
                    }
                    samples[variant, default: []].append(Stats.milliseconds(result.firstByte))
                    createCalls[variant, default: []].append(Stats.milliseconds(result.createDuration))
                }
            }
            if (step + 1) % 10 == 0 || step + 1 == count {
                Log.progress(
                    "  \(step + 1)/\(count): "
                        + variants.map { "\($0) \(Stats.summary(samples[$0]!))" }
                        .joined(separator: "; "))
            }
        }
        for variant in variants.dropLast() {
            Log.progress("  \(variant): the CreateSession call \(Stats.summary(createCalls[variant]!))")
        }
        let image = Stats.median(samples["image"]!)
        let plain = Stats.median(samples["default"]!)
        let hit = Stats.median(samples["setup-hit"]!)
        report.information.append(
            "INFO images-create-first-byte-default ours=\(Stats.fixed(plain, 2)) unit=ms "
                + "(the built-in default image, same run; the busybox image takes \(Stats.fixed(image / plain, 2))× its time)"
        )
        report.information.append(
            "INFO images-create-first-byte-setup-hit ours=\(Stats.fixed(hit, 2)) unit=ms "
                + "(CreateSession with setup and a file whose image is cached: \(Stats.fixed(hit / image, 2))× the busybox image's time)"
        )
        report.comparisons.append(
            Comparison(name: "images-create-first-byte-image", ours: image, peer: Stats.median(samples["podman"]!)))
    }

    /// A cold build (fresh content id; podman --no-cache) and, right after it, the same build again:
    /// our cache hit, podman's build with every step cached. podman's images of a round are removed
    /// after it (untimed): its layer cache takes the first cached COPY layer of the same file it finds
    /// and does not backtrack, so with an earlier round's chain still there the RUN steps after the
    /// COPY would never hit.
    func builds(_ report: inout Report, _ tags: inout [String]) async throws {
        let count = options.builds
        Log.progress("cold build, then the same build cached, \(count) rounds each")
        var cold = (ours: [Double](), peer: [Double]())
        var hit = (ours: [Double](), peer: [Double]())
        for round in 0..<count {
            let label = "build-\(round)"
            try await alternating(round) {
                let first = try await stack.build(inputs(label))
                let second = try await stack.build(inputs(label))
                guard !first.cacheHit, second.cacheHit, first.imageID == second.imageID else {
                    throw BenchFailure("build \(label): cache hits \(first.cacheHit), \(second.cacheHit)")
                }
                cold.ours.append(Stats.milliseconds(first.duration))
                hit.ours.append(Stats.milliseconds(second.duration))
            } peer: {
                tags.append(label)
                let first = try await podman.build(inputs(label), tag: label, noCache: true)
                let second = try await podman.build(inputs(label), tag: label, noCache: false)
                guard !first.id.isEmpty, first.id == second.id else {
                    throw BenchFailure("podman build \(label): the cached build made \(second.id), not \(first.id)")
                }
                cold.peer.append(Stats.milliseconds(first.duration))
                hit.peer.append(Stats.milliseconds(second.duration))
                try await podman.remove(&tags, label)
            }
            Log.progress(
                "  round \(round + 1): cold ours \(Stats.fixed(cold.ours.last!, 1)) ms, podman "
                    + "\(Stats.fixed(cold.peer.last!, 1)) ms; cached ours \(Stats.fixed(hit.ours.last!, 1)) ms, "
                    + "podman \(Stats.fixed(hit.peer.last!, 1)) ms")
        }
        Log.progress("  cold: ours \(Stats.summary(cold.ours)); podman \(Stats.summary(cold.peer))")
        Log.progress("  cached: ours \(Stats.summary(hit.ours)); podman \(Stats.summary(hit.peer))")
        report.comparisons.append(
            Comparison(name: "images-cold-build", ours: Stats.median(cold.ours), peer: Stats.median(cold.peer)))
        report.comparisons.append(
            Comparison(name: "images-cache-hit", ours: Stats.median(hit.ours), peer: Stats.median(hit.peer)))
    }

    /// A cold build, then a session on it, to the first byte of `echo hi`: ours one CreateSession
    /// with setup and files (a fresh content id: it builds, then starts) and an Exec; podman `build
    /// --no-cache` then `run --rm … echo hi`.
    func buildThenFirstByte(_ report: inout Report, _ tags: inout [String]) async throws {
        let count = options.buildRuns
        Log.progress("cold build → session → first output byte of echo hi, \(count) rounds each (kill untimed)")
        var ours: [Double] = []
        var peer: [Double] = []
        var oursCreate: [Double] = []
        var peerBuild: [Double] = []
        for round in 0..<count {
            let label = "run-\(round)"
            try await alternating(round) {
                let result = try await stack.createAndEcho(inputs(label), from: clock.now)
                try await stack.kill([result.created.id])
                guard !result.created.cacheHit else { throw BenchFailure("create \(label) was a cache hit") }
                ours.append(Stats.milliseconds(result.firstByte))
                oursCreate.append(Stats.milliseconds(result.createDuration))
            } peer: {
                tags.append(label)
                let build = try await podman.build(inputs(label), tag: label, noCache: true)
                let run = try await podman.echo(podman.image(label))
                peer.append(Stats.milliseconds(build.duration + run.firstByte!))
                peerBuild.append(Stats.milliseconds(build.duration))
                try await podman.remove(&tags, label)
            }
            Log.progress(
                "  round \(round + 1): ours \(Stats.fixed(ours.last!, 1)) ms, podman \(Stats.fixed(peer.last!, 1)) ms")
        }
        Log.progress("  ours: \(Stats.summary(ours)), of which the CreateSession call \(Stats.summary(oursCreate))")
        Log.progress("  podman: \(Stats.summary(peer)), of which podman build \(Stats.summary(peerBuild))")
        report.comparisons.append(
            Comparison(name: "images-build-then-first-byte", ours: Stats.median(ours), peer: Stats.median(peer)))
    }
}
