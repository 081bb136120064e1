import ExecboxImages
public import ExecboxSandbox
import FoundationEssentials
import Glibc
import Logging

extension RuncBackend: SandboxImageBackend {
    var imageStore: ImageStore {
        get throws(SandboxError) {
            guard let store = catalog.store else {
                throw SandboxError(code: .unimplemented, message: "this server has no image store (--image-store)")
            }
            return store
        }
    }

    public func listImages() async throws -> [SandboxImageInfo] {
        try imageStore.images().map(Self.info)
    }

    public func imageInfo(_ name: String) async throws -> SandboxImageInfo? {
        try imageStore.image(named: name).map(Self.info)
    }

    public func removeImage(_ name: String) async throws -> Bool {
        let store = try imageStore
        guard store.remove(name) else { return false }
        store.collectGarbage()
        return true
    }

    static func info(_ image: StoredImage) -> SandboxImageInfo {
        SandboxImageInfo(
            name: image.name, id: image.id, layers: image.layers.count, sizeBytes: image.sizeBytes,
            source: SandboxImageInfo.Source(rawValue: image.source.rawValue) ?? .imported,
            createdAt: image.createdAt, lastUsedAt: image.lastUsedAt, entrypoint: image.config.entrypoint,
            cmd: image.config.cmd, env: image.config.env, workingDirectory: image.config.workingDir,
            user: image.config.user)
    }

    /// Environment of every setup command: the host's CA bundle (bound at `caBundlePath` inside the
    /// runtime's `/dev`, so it never becomes part of the image) for the usual TLS clients.
    static let buildEnvironment = [
        "SSL_CERT_FILE": SandboxImage.caBundlePath, "PIP_CERT": SandboxImage.caBundlePath,
        "REQUESTS_CA_BUNDLE": SandboxImage.caBundlePath, "CURL_CA_BUNDLE": SandboxImage.caBundlePath,
        "DEBIAN_FRONTEND": "noninteractive",
    ]

    /// Runs the build in a sandbox on the base image: files copied in, setup commands in order, then
    /// the sandbox's upper layer (what the build changed) captured, checked and stored as one more
    /// layer over the base's. `/workspace`, `/tmp` and `/dev` are per-session mounts and are not part
    /// of the result.
    public func buildImage(_ spec: ImageBuildSpec, events: @escaping @Sendable (ImageBuildEvent) -> Void)
        async throws -> SandboxImageInfo
    {
        let store = try imageStore
        guard ImageContentHash.isValidID(spec.name) else {
            throw SandboxError.invalidArgument("a built image's name is its content id, sha256:<64 hex>")
        }
        guard let base = store.image(named: spec.base) else {
            if spec.base == SandboxSpec.defaultImage {
                throw SandboxError.invalidArgument(
                    "the built-in default image cannot be a build base; import or bootstrap one (execbox-server images)"
                )
            }
            _ = try catalog.resolve(spec.base)  // the error that lists the known images
            throw SandboxError.invalidArgument("unknown base image \(spec.base)")
        }
        guard base.layers.count < OverlayRoot.maxLayers else {
            throw SandboxError.invalidArgument("the base image already has \(base.layers.count) layers")
        }
        for file in spec.files {
            guard file.path.hasPrefix("/"), file.path.utf8.count <= 4096, !file.path.utf8.contains(0),
                !file.path.split(separator: "/").contains("..")
            else { throw SandboxError.invalidArgument("an image file's path must be absolute, without ..") }
            if file.path == "/workspace" || file.path.hasPrefix("/workspace/") || file.path == "/tmp"
                || file.path.hasPrefix("/tmp/")
            {
                throw SandboxError.invalidArgument(
                    "\(file.path): an image's files must be outside /workspace and /tmp (per-session mounts)")
            }
        }
        let id = SandboxID.random()
        let network: NetworkMode = spec.network != .none && self.network != nil ? spec.network : .none
        let sandboxSpec = SandboxSpec(
            image: base.name, limits: spec.limits, network: network, environment: Self.buildEnvironment,
            workingDirectory: "/", labels: [Self.buildLabel: spec.name])
        _ = try await create(id, sandboxSpec)
        defer { runJob { try? await self.remove(id) } }
        let started = ContinuousClock.now
        func remaining() throws -> Duration {
            let left = spec.timeout - (ContinuousClock.now - started)
            guard left > .zero else {
                throw ImageBuildFailure(step: 0, exit: nil, message: "the build took longer than \(spec.timeout)")
            }
            return left
        }
        if !spec.files.isEmpty {
            events(.copyingFiles(count: spec.files.count))
            for file in spec.files {
                _ = try await writeFile(
                    id, path: file.path, contents: file.contents, mode: file.mode, createParents: true)
            }
        }
        for (index, command) in spec.setup.enumerated() {
            let step = index + 1
            events(.step(step, total: spec.setup.count))
            let exit = try await exec(
                id, ExecSpec(argv: ["/bin/sh", "-c", command], timeout: try remaining())
            ) { process in
                try await process.closeStdin()
                var lines = [LineSplitter(), LineSplitter()]
                var exit: ProcessExit?
                for try await event in process.events {
                    switch event {
                    case .stdout(let bytes):
                        for line in lines[0].add(bytes) { events(.log(step: step, stderr: false, line: line)) }
                    case .stderr(let bytes):
                        for line in lines[1].add(bytes) { events(.log(step: step, stderr: true, line: line)) }
                    case .exit(let value): exit = value
                    }
                }
                for (stream, splitter) in lines.enumerated() {
                    if let line = splitter.rest { events(.log(step: step, stderr: stream == 1, line: line)) }
                }
                return exit
            }
            guard let exit, exit.reason == .exited, exit.code == 0 else {
                let how = exit.map { $0.reason == .timeout ? "timed out" : "ended with \($0)" } ?? "was lost"
                throw ImageBuildFailure(step: step, exit: exit, message: "setup command \(step) \(how)")
            }
        }
        _ = try remaining()
        events(.exporting)
        let sandbox = try lookup(id)
        let owner =
            configuration.userNamespace && configuration.runtime == .runc
            ? configuration.idMapBase + UInt32(sandbox.slot) * OCIConfigBuilder.idRangeSize : nil
        let digest = try Digest(parsing: spec.name)
        let layer = try await captureLayer(bundle: sandbox.bundle, store: store, owner: owner)
        try store.commitLayer(layer, digest: digest.hex)
        let now = Date().timeIntervalSince1970
        let image = StoredImage(
            name: spec.name, id: spec.name, layers: base.layers + [digest.hex], config: base.config,
            sizeBytes: base.sizeBytes + store.layerBytes(digest.hex), source: .built, createdAt: now, lastUsedAt: now)
        try store.save(image)
        evictBuiltImages(keeping: spec.name)
        return Self.info(image)
    }

    /// Copies the build sandbox's upper layer to the store's scratch space (owners, modes, times,
    /// whiteouts and opaque attributes kept), drops what the backend itself put there (the mount
    /// points and the per-sandbox `/etc` files), moves owners back to the sandbox's own ids and
    /// checks the result as a layer.
    private func captureLayer(bundle: String, store: ImageStore, owner: UInt32?) async throws -> String {
        let scratch = try store.scratchDirectory("capture")
        let layer = "\(scratch)/layer"
        do {
            try await HostCommand.run(["/usr/bin/cp", "-a", "--no-dereference", "\(bundle)/upper/diff", layer])
            for file in ["etc/hostname", "etc/hosts", "etc/resolv.conf", "etc/machine-id"] {
                unlink("\(layer)/\(file)")
            }
            for directory in ["proc", "dev", "sys", "tmp", "workspace", "run", "etc"] {
                rmdir("\(layer)/\(directory)")  // only when empty: created for the mounts
            }
            try DirectoryLayer.prepare(layer, .init(ownerBase: owner))
            let final = try store.scratchDirectory("layer")
            rmdir(final)
            guard rename(layer, final) == 0 else { throw SystemError("rename") }
            BundleWriter.remove(scratch)
            return final
        } catch {
            BundleWriter.remove(scratch)
            throw error
        }
    }

    /// Removes the least recently used built images (never `keeping`, never imported or
    /// bootstrapped ones) until the layers the builds added fit `imageCacheBytes`, then the layers
    /// nothing uses any more. A built image's cost is its own top layer (its base is shared).
    func evictBuiltImages(keeping: String) {
        guard let store = catalog.store else { return }
        let built = store.images().filter { $0.source == .built }
        func cost(_ image: StoredImage) -> Int64 { image.layers.last.map(store.layerBytes) ?? 0 }
        var total = built.reduce(Int64(0)) { $0 + cost($1) }
        var evicted = false
        for image in built.sorted(by: { $0.lastUsedAt < $1.lastUsedAt })
        where total > configuration.imageCacheBytes && image.name != keeping {
            if store.remove(image.name) {
                total -= cost(image)
                evicted = true
                logger.info("image cache: evicted \(image.name) (\(cost(image)) bytes, least recently used)")
            }
        }
        if evicted { store.collectGarbage() }
    }
}

/// Splits a byte stream into lines (without the newline), as UTF-8 with invalid bytes replaced;
/// lines longer than 8 KiB are split.
struct LineSplitter {
    static let maxLine = 8 << 10
    private var pending: [UInt8] = []

    mutating func add(_ bytes: [UInt8]) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                lines.append(String(decoding: pending, as: UTF8.self))
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(byte)
                if pending.count == Self.maxLine {
                    lines.append(String(decoding: pending, as: UTF8.self))
                    pending.removeAll(keepingCapacity: true)
                }
            }
        }
        return lines
    }

    var rest: String? { pending.isEmpty ? nil : String(decoding: pending, as: UTF8.self) }
}
