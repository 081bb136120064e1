/// An image a backend can run sessions on (beyond its built-in `default`).
public struct SandboxImageInfo: Hashable, Sendable, Codable {
    public enum Source: String, Hashable, Sendable, Codable {
        case imported, bootstrapped, built
    }

    /// The name sessions use: `busybox:test`, `debian:bookworm`, or a build's `sha256:<64 hex>`.
    public var name: String
    /// Content id, `sha256:<64 hex>`.
    public var id: String
    public var layers: Int
    public var sizeBytes: Int64
    public var source: Source
    /// Seconds since the epoch.
    public var createdAt: Double
    public var lastUsedAt: Double
    public var entrypoint: [String]
    public var cmd: [String]
    public var env: [String]
    public var workingDirectory: String
    public var user: String

    public init(
        name: String, id: String, layers: Int, sizeBytes: Int64, source: Source, createdAt: Double,
        lastUsedAt: Double, entrypoint: [String] = [], cmd: [String] = [], env: [String] = [],
        workingDirectory: String = "", user: String = ""
    ) {
        self.name = name
        self.id = id
        self.layers = layers
        self.sizeBytes = sizeBytes
        self.source = source
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.env = env
        self.workingDirectory = workingDirectory
        self.user = user
    }
}

/// What to build: a base image plus files and setup commands, stored under `name` (the content
/// id the caller computed from the same inputs).
public struct ImageBuildSpec: Hashable, Sendable {
    public struct File: Hashable, Sendable {
        /// Absolute, outside `/workspace` and `/tmp` (per-session mounts, not part of an image).
        public var path: String
        public var contents: [UInt8]
        public var mode: UInt32

        public init(path: String, contents: [UInt8], mode: UInt32 = 0o644) {
            self.path = path
            self.contents = contents
            self.mode = mode
        }
    }

    public var name: String
    public var base: String
    public var files: [File]
    /// Each run as `/bin/sh -c <command>` in order; the first that fails ends the build.
    public var setup: [String]
    /// `outgoing` where the host has it (package installs), else `none`.
    public var network: NetworkMode
    public var limits: SandboxLimits
    /// The whole build's deadline.
    public var timeout: Duration

    public init(
        name: String, base: String, files: [File] = [], setup: [String] = [], network: NetworkMode = .outgoing,
        limits: SandboxLimits = SandboxLimits(), timeout: Duration = .seconds(600)
    ) {
        self.name = name
        self.base = base
        self.files = files
        self.setup = setup
        self.network = network
        self.limits = limits
        self.timeout = timeout
    }
}

/// What a build reports while it runs.
public enum ImageBuildEvent: Hashable, Sendable {
    /// Copying the files in (phase 3 of the API's phases).
    case copyingFiles(count: Int)
    /// Setup command `step` (from 1) of `total` starts.
    case step(Int, total: Int)
    /// One line of a setup command's output (`step` 0: the builder's own).
    case log(step: Int, stderr: Bool, line: String)
    /// Capturing and checking the result.
    case exporting
}

/// A build that ran and failed: which setup command, how it ended, and why.
public struct ImageBuildFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// From 1; 0 when the build failed outside a setup command.
    public var step: Int
    public var exit: ProcessExit?
    public var message: String

    public init(step: Int, exit: ProcessExit?, message: String) {
        self.step = step
        self.exit = exit
        self.message = message
    }

    public var description: String { message }
}

/// Backends with images of their own (the runc backend's image store).
public protocol SandboxImageBackend: SandboxBackend {
    /// Every stored image, by name.
    func listImages() async throws -> [SandboxImageInfo]

    /// One image by name, nil if the backend does not have it.
    func imageInfo(_ name: String) async throws -> SandboxImageInfo?

    /// Builds `spec` in a build sandbox and stores the result under `spec.name`; a failed setup
    /// command throws `ImageBuildFailure`, and nothing is stored.
    func buildImage(_ spec: ImageBuildSpec, events: @escaping @Sendable (ImageBuildEvent) -> Void) async throws
        -> SandboxImageInfo

    /// Removes an image (its layers go once nothing else uses them); false if there was none.
    func removeImage(_ name: String) async throws -> Bool
}
