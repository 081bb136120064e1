import Glibc

/// The peer: podman with runc, on the same busybox image (loaded from the same archive as ours):
/// `podman run --rm` with the backend's default limits and no network, and `podman build` of the
/// Containerfile equivalent to a build's inputs (FROM the image, COPY per file, RUN per setup line).
struct PodmanPeer: Sendable {
    let podman: String
    /// A directory of this run: the build context (the files) and the Containerfiles.
    let context: String
    /// Every image this peer builds is tagged `<repository>:<tag>`, so that the run can remove
    /// exactly its own.
    let repository: String

    /// What CreateSession with network NONE and default resources gets from the backend: no network,
    /// 512 MiB memory and swap, 256 pids, 1 CPU, 4096 descriptors (podman needs the nofile and nproc
    /// ulimits spelled out on this host), a tmpfs /workspace; the image's root writable, as a
    /// session's overlay upper layer is.
    func runArguments(_ image: String, _ command: [String]) -> [String] {
        [
            podman, "run", "--rm", "--runtime", "runc", "--network", "none", "--memory", "512m", "--memory-swap",
            "512m", "--pids-limit", "256", "--cpus", "1", "--ulimit", "nofile=4096:4096", "--ulimit",
            "nproc=4096:4096", "--tmpfs", "/workspace", image,
        ] + command
    }

    /// `podman run --rm IMAGE echo hi`: the time to the first byte of `hi\n` and to the exit.
    func echo(_ image: String) async throws -> Spawn.Outcome {
        let argv = runArguments(image, ["echo", "hi"])
        let outcome = try await Spawn.run(argv)
        guard outcome.succeeded, outcome.stdout == Array("hi\n".utf8), outcome.firstByte != nil else {
            throw BenchFailure(outcome.failure(argv))
        }
        return outcome
    }

    /// `podman run --rm IMAGE COMMAND…`'s stdout.
    func output(_ image: String, _ command: [String]) async throws -> String {
        let argv = runArguments(image, command)
        let outcome = try await Spawn.run(argv)
        guard outcome.succeeded else { throw BenchFailure(outcome.failure(argv)) }
        return outcome.output
    }

    /// The image reference of `tag`.
    func image(_ tag: String) -> String { "\(repository):\(tag)" }

    /// Writes the Containerfile of `inputs` as `Containerfile.<tag>` and the files into the context
    /// (untimed), then times `podman build` of it, tagged `tag`: `--no-cache` for a cold build, else
    /// with podman's layer cache. runc as the runtime, the base never pulled, the RUN lines on
    /// podman's default build network (ours builds with network `outgoing`). Returns the time and the
    /// image id podman printed.
    func build(_ inputs: StackClient.Inputs, tag: String, noCache: Bool) async throws -> (
        duration: Duration, id: String
    ) {
        var lines = ["FROM \(inputs.base)"]
        for (index, file) in inputs.files.enumerated() {
            try writeText("\(context)/file\(index)", file.content)
            lines.append("COPY file\(index) \(file.path)")
        }
        lines += inputs.setup.map { "RUN \($0)" }
        let containerfile = "\(context)/Containerfile.\(tag)"
        try writeText(containerfile, lines.joined(separator: "\n") + "\n")
        let argv =
            [podman, "build", "--quiet", "--runtime", "runc", "--pull=never", "--format", "oci"]
            + (noCache ? ["--no-cache"] : []) + ["-f", containerfile, "-t", image(tag), context]
        let outcome = try await Spawn.run(argv)
        guard outcome.succeeded else { throw BenchFailure(outcome.failure(argv)) }
        let id = outcome.output.split(separator: "\n").last.map(String.init) ?? ""
        return (outcome.exit, id)
    }

    /// Removes the image of `tag` (and the intermediate images only it used) and forgets it.
    func remove(_ tags: inout [String], _ tag: String) async throws {
        try await remove([tag])
        tags.removeAll { $0 == tag }
    }

    /// Removes the images of `tags` (and the intermediate images only they used); untimed.
    func remove(_ tags: [String]) async throws {
        guard !tags.isEmpty else { return }
        let argv = [podman, "rmi", "--force", "--ignore"] + tags.map(image)
        let outcome = try await Spawn.run(argv)
        guard outcome.succeeded else { throw BenchFailure(outcome.failure(argv)) }
    }

    /// Containers podman still has of `image` and the images built on it (there should be none:
    /// every run is --rm).
    func leftoverContainers(_ image: String) async throws -> Int {
        let argv = [podman, "ps", "-aq", "--filter", "ancestor=\(image)"]
        let outcome = try await Spawn.run(argv)
        guard outcome.succeeded else { throw BenchFailure(outcome.failure(argv)) }
        return outcome.output.split(separator: "\n").count
    }

    private func writeText(_ path: String, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BenchFailure("\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { throw BenchFailure("\(path): \(String(cString: strerror(errno)))") }
            offset += written
        }
    }
}
