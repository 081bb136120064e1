/// An image's config blob: the platform, how to run it, and the uncompressed layers' digests.
public struct OCIImageConfig: Codable, Hashable, Sendable {
    public var architecture: String
    public var os: String
    public var config: Config?
    public var rootfs: RootFS

    public init(architecture: String, os: String, config: Config? = nil, rootfs: RootFS) {
        self.architecture = architecture
        self.os = os
        self.config = config
        self.rootfs = rootfs
    }

    /// The runtime defaults (the keys keep Docker's capitalized names).
    public struct Config: Codable, Hashable, Sendable {
        public var entrypoint: [String]?
        public var cmd: [String]?
        /// `NAME=value` strings.
        public var env: [String]?
        public var workingDir: String?
        /// `user`, `uid`, `user:group` or `uid:gid`.
        public var user: String?
        /// `"8080/tcp": {}`.
        public var exposedPorts: [String: Empty]?

        public init(
            entrypoint: [String]? = nil,
            cmd: [String]? = nil,
            env: [String]? = nil,
            workingDir: String? = nil,
            user: String? = nil,
            exposedPorts: [String: Empty]? = nil
        ) {
            self.entrypoint = entrypoint
            self.cmd = cmd
            self.env = env
            self.workingDir = workingDir
            self.user = user
            self.exposedPorts = exposedPorts
        }

        enum CodingKeys: String, CodingKey {
            case entrypoint = "Entrypoint"
            case cmd = "Cmd"
            case env = "Env"
            case workingDir = "WorkingDir"
            case user = "User"
            case exposedPorts = "ExposedPorts"
        }
    }

    /// `{}`, the value of a set's members in JSON.
    public struct Empty: Codable, Hashable, Sendable {
        public init() {}
    }

    public struct RootFS: Codable, Hashable, Sendable {
        /// Always `layers`.
        public var type: String
        /// The digests of the layers' uncompressed tar streams, bottom first.
        public var diffIDs: [Digest]

        public init(type: String = "layers", diffIDs: [Digest]) {
            self.type = type
            self.diffIDs = diffIDs
        }

        enum CodingKeys: String, CodingKey {
            case type
            case diffIDs = "diff_ids"
        }
    }
}
