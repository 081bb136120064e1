/// What a sandbox should be: the image, the limits, the network and the main process.
public struct SandboxSpec: Hashable, Sendable, Codable {
    /// The image name; empty means `SandboxSpec.defaultImage`. A name the backend does not have is an
    /// invalid argument, never a pull.
    public var image: String
    public var limits: SandboxLimits
    public var network: NetworkMode
    /// Ports inside the sandbox reachable from the host in `exposed` mode (`SandboxBackend.portURL`).
    public var exposedPorts: [Int]
    /// Environment of the main process and the base of every exec's environment.
    public var environment: [String: String]
    /// The main process; empty means an idle init that waits to be stopped.
    public var command: [String]
    /// Absolute working directory of the main process and the default of execs; empty means the
    /// image's own (an OCI image's `WorkingDir`), else `/workspace`.
    public var workingDirectory: String
    /// Host name inside the sandbox; empty means one derived from the id.
    public var hostname: String
    public var labels: [String: String]
    /// Run the main process on a terminal of this size (its output merged, as for a TTY exec);
    /// nil runs it with pipes. Ignored without a command.
    public var terminal: TerminalSize?

    /// The image used when a request names none.
    public static let defaultImage = "default"

    public init(
        image: String = "",
        limits: SandboxLimits = SandboxLimits(),
        network: NetworkMode = .none,
        environment: [String: String] = [:],
        command: [String] = [],
        workingDirectory: String = "/workspace",
        hostname: String = "",
        labels: [String: String] = [:],
        exposedPorts: [Int] = [],
        terminal: TerminalSize? = nil
    ) {
        self.image = image
        self.limits = limits
        self.network = network
        self.environment = environment
        self.command = command
        self.workingDirectory = workingDirectory
        self.hostname = hostname
        self.labels = labels
        self.exposedPorts = exposedPorts
        self.terminal = terminal
    }

    /// At most this many exposed ports per sandbox.
    public static let maxExposedPorts = 16

    public var imageName: String { image.isEmpty ? Self.defaultImage : image }

    /// Checks what every backend must refuse; backends add their own checks (images, network modes).
    public func validate() throws(SandboxError) {
        try EnvironmentCheck.validate(environment)
        if !workingDirectory.isEmpty { try PathCheck.validateWorkingDirectory(workingDirectory) }
        if command.contains(where: { $0.utf8.contains(0) }) {
            throw .invalidArgument("command arguments must not contain NUL bytes")
        }
        if !exposedPorts.isEmpty {
            guard network == .exposed else { throw .invalidArgument("only network mode exposed exposes ports") }
            guard exposedPorts.count <= Self.maxExposedPorts, Set(exposedPorts).count == exposedPorts.count,
                exposedPorts.allSatisfy({ (1...65535).contains($0) })
            else {
                throw .invalidArgument("exposed ports must be up to \(Self.maxExposedPorts) distinct ports 1-65535")
            }
        }
        if let terminal, terminal.rows == 0 || terminal.columns == 0 {
            throw .invalidArgument("a terminal needs at least one row and one column")
        }
        if !hostname.isEmpty {
            let ok =
                hostname.utf8.count <= 63
                && hostname.utf8.allSatisfy { byte in
                    (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                        || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: "-")
                }
            guard ok else { throw .invalidArgument("hostname must be up to 63 characters of [a-z0-9-]") }
        }
    }
}
