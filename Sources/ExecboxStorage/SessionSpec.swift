/// What a session was asked to run, without secrets: environment values are kept apart and
/// stored encrypted; only their names appear here.
public struct SessionSpec: Hashable, Sendable, Codable {
    public enum NetworkMode: String, Hashable, Sendable, Codable {
        case none, outgoing, exposed
    }

    public struct Port: Hashable, Sendable, Codable {
        public var containerPort: Int
        /// `tcp` or `udp`.
        public var transport: String

        public init(containerPort: Int, transport: String = "tcp") {
            self.containerPort = containerPort
            self.transport = transport
        }
    }

    /// A file baked into the image, without its content.
    public struct File: Hashable, Sendable, Codable {
        public var path: String
        public var size: Int

        public init(path: String, size: Int) {
            self.path = path
            self.size = size
        }
    }

    public struct Resources: Hashable, Sendable, Codable {
        public var cpuMillicores: Int
        public var memoryMB: Int
        public var pidsMax: Int
        public var diskMB: Int
        public var timeoutMs: Int
        public var idleTimeoutMs: Int

        public init(
            cpuMillicores: Int = 0,
            memoryMB: Int = 0,
            pidsMax: Int = 0,
            diskMB: Int = 0,
            timeoutMs: Int = 0,
            idleTimeoutMs: Int = 0
        ) {
            self.cpuMillicores = cpuMillicores
            self.memoryMB = memoryMB
            self.pidsMax = pidsMax
            self.diskMB = diskMB
            self.timeoutMs = timeoutMs
            self.idleTimeoutMs = idleTimeoutMs
        }
    }

    public var image: String
    public var setup: [String]
    public var files: [File]
    public var command: [String]
    /// Names of the environment variables, sorted; the values are stored encrypted.
    public var envKeys: [String]
    public var workDir: String
    public var tty: Bool
    public var resources: Resources
    public var network: NetworkMode
    public var ports: [Port]
    public var labels: [String: String]

    public init(
        image: String,
        setup: [String] = [],
        files: [File] = [],
        command: [String] = [],
        envKeys: [String] = [],
        workDir: String = "",
        tty: Bool = false,
        resources: Resources = Resources(),
        network: NetworkMode = .outgoing,
        ports: [Port] = [],
        labels: [String: String] = [:]
    ) {
        self.image = image
        self.setup = setup
        self.files = files
        self.command = command
        self.envKeys = envKeys
        self.workDir = workDir
        self.tty = tty
        self.resources = resources
        self.network = network
        self.ports = ports
        self.labels = labels
    }
}
