import ExecboxAPI
import ExecboxImages
import ExecboxRPC
import ExecboxSandbox
import ExecboxStorage
import ExecboxWire
import Foundation
import Logging
import Synchronization

/// Image builds for the service layer, over a backend with images (`SandboxImageBackend`) and the
/// store's image cache: the content id of a request (CONTRACT.md §8.6), cache hits without any
/// build, one build at a time per image id (a second request for the same id waits for the first
/// and shares its result), at most `maxPerAccount` builds per account, and the account's use of
/// every image it built or hit recorded, which is what makes an image visible to it.
final class ImageBuilds: Sendable {
    struct Settings: Sendable {
        var maxPerAccount = 2
        var timeout: Duration = .seconds(600)
        /// The build sandbox's limits (the backend caps them at its maximum).
        var limits = SandboxLimits(memoryBytes: 2 << 30, cpuMillicores: 2000, pids: 1024, diskBytes: 8 << 30)
    }

    /// A validated build: the base image, the setup commands, the files as sent (the hash covers
    /// the content as sent, base64 undecoded) and decoded.
    struct Request: Sendable {
        struct File: Sendable {
            var path: String
            var sent: String
            var contents: [UInt8]
        }

        var base: String
        var setup: [String]
        var files: [File]
        var noCache = false

        var hash: ImageContentHash {
            ImageContentHash(baseImage: base, setup: setup, files: files.map { ($0.path, $0.sent) })
        }
    }

    /// How a build ended for its caller.
    struct Outcome: Sendable {
        var image: CachedImage
        var cacheHit: Bool
        var failure: ImageBuildFailure?
    }

    let backend: any SandboxImageBackend
    let store: any ExecboxStore
    let settings: Settings
    let now: @Sendable () -> Date
    let logger: Logger

    private struct State {
        var running: [String: Int] = [:]
        /// Builds in progress by image id, with the callers waiting for their outcome.
        var inFlight: [String: [CheckedContinuation<Outcome?, Never>]] = [:]
    }

    private let state = Mutex(State())

    init(
        backend: any SandboxImageBackend, store: any ExecboxStore, settings: Settings = Settings(),
        now: @escaping @Sendable () -> Date, logger: Logger
    ) {
        self.backend = backend
        self.store = store
        self.settings = settings
        self.now = now
        self.logger = logger
    }

    // MARK: Validation

    static let maxSetup = 64
    static let maxSetupBytes = 4096

    /// The request's checks of image.proto (`BuildImageRequest`) and session.proto (`setup`).
    /// `forSession`: files under /workspace and /tmp are allowed (the session writes them; the image
    /// id still covers them); a BuildImage request refuses them.
    static func request(
        base: String, setup: [String], files: [FileSpec], noCache: Bool = false, forSession: Bool = false
    )
        throws -> Request
    {
        guard !base.isEmpty, base.utf8.count <= 512,
            base.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
        else { throw Validation.invalid("base_image must be 1 to 512 printable ASCII characters") }
        guard setup.count <= maxSetup else { throw Validation.invalid("at most 64 setup commands") }
        for (index, line) in setup.enumerated() {
            guard !line.isEmpty, line.utf8.count <= maxSetupBytes, !line.utf8.contains(0) else {
                throw Validation.invalid("setup[\(index)] must be 1 to 4096 bytes without NUL")
            }
            let trimmed = line.trimmingCharacters(in: .whitespaces).uppercased()
            if trimmed == "FROM" || trimmed.hasPrefix("FROM ") {
                throw Validation.invalid("setup[\(index)] is a FROM line; name the base image in image/base_image")
            }
        }
        if !forSession, let file = files.first(where: { SessionPlan.isInSessionMount($0.path) }) {
            throw Validation.invalid(
                "files[].path \(file.path): /workspace and /tmp are per-session mounts, not part of an image")
        }
        let decoded = try SessionPlan.files(files, anywhere: true)
        let built = zip(files, decoded).map { Request.File(path: $0.path, sent: $0.content, contents: $1.contents) }
        return Request(base: base, setup: setup, files: built, noCache: noCache)
    }

    /// A base image the backend has (INVALID_ARGUMENT otherwise, before anything is recorded).
    func requireBase(_ base: String) async throws {
        guard try await backend.imageInfo(base) == nil else { return }
        if base == SandboxSpec.defaultImage {
            throw Validation.invalid(
                "the built-in default image cannot be a build base: name an imported or bootstrapped image (execbox-server images)"
            )
        }
        throw Validation.invalid("unknown base image \(base.prefix(128)); this server has no image of that name")
    }

    // MARK: Builds

    /// The cached image for `request` when the backend has it (a cache hit, recorded), else a
    /// build. A failed build returns its failure (and leaves the image FAILED); a timeout or a
    /// cancelled call throws and caches nothing.
    func build(
        _ request: Request, accountID: String, events: @escaping @Sendable (BuildImageResponse) -> Void = { _ in }
    ) async throws -> Outcome {
        let hash = request.hash
        let id = hash.id
        if !request.noCache, let hit = try await cached(hash, request) {
            try await store.recordImageUse(accountID: accountID, hash: id, at: now())
            events(Self.accepted(hash, cacheHit: true))
            return Outcome(image: hit, cacheHit: true, failure: nil)
        }
        try await requireBase(request.base)
        events(Self.accepted(hash, cacheHit: false))
        // Join a build of the same image in progress, or become it.
        while true {
            let joined: Bool = state.withLock { state in
                if state.inFlight[id] != nil { return true }
                state.inFlight[id] = []
                return false
            }
            guard joined else { break }
            events(log(0, "waiting for a build of the same image that is already running"))
            let shared = await withCheckedContinuation { continuation in
                let appended = state.withLock { state -> Bool in
                    guard state.inFlight[id] != nil else { return false }
                    state.inFlight[id]!.append(continuation)
                    return true
                }
                if !appended { continuation.resume(returning: nil) }
            }
            if let shared {
                try await store.recordImageUse(accountID: accountID, hash: id, at: now())
                return shared
            }
            // The other build was cancelled or timed out: try again (maybe this one builds).
            try Task.checkCancellation()
        }
        var outcome: Outcome?
        defer {
            let waiters = state.withLock { $0.inFlight.removeValue(forKey: id) ?? [] }
            for waiter in waiters { waiter.resume(returning: outcome) }
        }
        try admit(accountID)
        defer { state.withLock { $0.running[accountID, default: 1] -= 1 } }
        let result = try await run(request, hash: hash, accountID: accountID, events: events)
        outcome = result
        return result
    }

    /// A READY image the backend still has, with its cache row (made if the row went missing).
    private func cached(_ hash: ImageContentHash, _ request: Request) async throws -> CachedImage? {
        guard let info = try await backend.imageInfo(hash.id) else { return nil }
        if let row = try await store.cachedImage(hash: hash.id, touchAt: nil), row.status == .ready { return row }
        return try await store.updateCachedImage(image(request, hash, status: .ready, info: info))
    }

    private func admit(_ accountID: String) throws {
        try state.withLock { state in
            guard state.running[accountID, default: 0] < settings.maxPerAccount else {
                throw RPCError(
                    code: .resourceExhausted,
                    message: "too many image builds running for this account (at most \(settings.maxPerAccount))")
            }
            state.running[accountID, default: 0] += 1
        }
    }

    private func image(
        _ request: Request, _ hash: ImageContentHash, status: CachedImage.Status, info: SandboxImageInfo? = nil,
        duration: Duration? = nil, failure: String = ""
    ) -> CachedImage {
        CachedImage(
            hash: hash.id, legacyHash: hash.legacyHash, baseImage: request.base, imageRef: info?.name ?? "",
            createdAt: now(), lastUsedAt: nil, hits: 0,
            buildDurationMs: duration.map { Int($0 / .milliseconds(1)) }, sizeBytes: info.map { Int($0.sizeBytes) },
            setup: request.setup, files: request.files.map { .init(path: $0.path, size: $0.contents.count) },
            status: status, failureMessage: String(failure.prefix(1024)))
    }

    private func log(_ step: Int, _ line: String, stderr: Bool = false) -> BuildImageResponse {
        Self.logLine(step: step, stderr: stderr, line: line, at: now())
    }

    static func accepted(_ hash: ImageContentHash, cacheHit: Bool) -> BuildImageResponse {
        .with {
            $0.payload = .accepted(
                .with {
                    $0.imageId = hash.id
                    $0.setupHash = hash.legacyHash
                    $0.cacheHit = cacheHit
                })
        }
    }

    static func logLine(step: Int, stderr: Bool, line: String, at date: Date) -> BuildImageResponse {
        .with {
            $0.payload = .log(
                .with {
                    $0.step = UInt32(step)
                    $0.stream = stderr ? .stderr : .stdout
                    $0.line = line
                    $0.loggedAt = Timestamps.make(date)
                })
        }
    }

    private func run(
        _ request: Request, hash: ImageContentHash, accountID: String,
        events: @escaping @Sendable (BuildImageResponse) -> Void
    ) async throws -> Outcome {
        let clock = ContinuousClock()
        let started = clock.now
        _ = try await store.updateCachedImage(image(request, hash, status: .building))
        try await store.recordImageUse(accountID: accountID, hash: hash.id, at: now())
        let total = UInt32(request.setup.count)
        let progress = ProgressThrottle()
        let send: @Sendable (BuildPhase, UInt32, Bool) -> Void = { phase, step, force in
            guard progress.allow(force: force) else { return }
            events(
                .with {
                    $0.payload = .progress(
                        .with {
                            $0.phase = phase
                            $0.currentStep = step
                            $0.totalSteps = total
                            $0.elapsedMs = Int64((clock.now - started) / .milliseconds(1))
                        })
                })
        }
        send(.cacheLookup, 0, true)
        let spec = ImageBuildSpec(
            name: hash.id, base: request.base,
            files: request.files.filter { !SessionPlan.isInSessionMount($0.path) }.map {
                .init(path: $0.path, contents: $0.contents)
            },
            setup: request.setup,
            network: .outgoing, limits: settings.limits, timeout: settings.timeout)
        let now = self.now
        do {
            let info = try await backend.buildImage(spec) { event in
                switch event {
                case .copyingFiles: send(.copyingFiles, 0, true)
                case .step(let step, _): send(.runningSetup, UInt32(step), true)
                case .log(let step, let stderr, let line):
                    events(Self.logLine(step: step, stderr: stderr, line: line, at: now()))
                case .exporting: send(.exporting, 0, true)
                }
            }
            let duration = clock.now - started
            let stored = try await store.updateCachedImage(
                image(request, hash, status: .ready, info: info, duration: duration))
            send(.done, 0, true)
            logger.info("image \(hash.id) built in \(duration) (\(info.sizeBytes) bytes)")
            return Outcome(image: stored, cacheHit: false, failure: nil)
        } catch let failure as ImageBuildFailure {
            let duration = clock.now - started
            if failure.step == 0, failure.exit == nil, failure.message.contains("longer than") {
                _ = try? await store.updateCachedImage(
                    image(request, hash, status: .failed, duration: duration, failure: failure.message))
                throw RPCError(code: .deadlineExceeded, message: failure.message)
            }
            let stored = try await store.updateCachedImage(
                image(request, hash, status: .failed, duration: duration, failure: failure.message))
            send(.done, 0, true)
            return Outcome(image: stored, cacheHit: false, failure: failure)
        } catch {
            let message = (error as? SandboxError)?.message ?? "the build could not run"
            _ = try? await store.updateCachedImage(image(request, hash, status: .failed, failure: message))
            if let error = error as? SandboxError { throw ServiceErrors.rpcError(for: error) }
            throw error
        }
    }
}

/// At most about four progress messages a second, except the ones that must go out.
private final class ProgressThrottle: Sendable {
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    func allow(force: Bool) -> Bool {
        last.withLock { last in
            let now = ContinuousClock.now
            if !force, let previous = last, now - previous < .milliseconds(250) { return false }
            last = now
            return true
        }
    }
}
