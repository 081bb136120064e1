/// Live network information of a session, as the backend reports it.
public struct NetworkInfo: Hashable, Sendable, Codable {
    public struct Binding: Hashable, Sendable, Codable {
        public var containerPort: Int
        public var transport: String
        public var hostPort: Int
        public var url: String

        public init(containerPort: Int, transport: String = "tcp", hostPort: Int, url: String = "") {
            self.containerPort = containerPort
            self.transport = transport
            self.hostPort = hostPort
            self.url = url
        }
    }

    public var mode: SessionSpec.NetworkMode
    public var host: String
    public var ipAddress: String
    public var ports: [Binding]

    public init(mode: SessionSpec.NetworkMode, host: String = "", ipAddress: String = "", ports: [Binding] = []) {
        self.mode = mode
        self.host = host
        self.ipAddress = ipAddress
        self.ports = ports
    }
}
