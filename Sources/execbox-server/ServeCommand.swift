import ArgumentParser
import ExecboxAPI
import ExecboxGRPC
import ExecboxRPC
import ExecboxStandardServices
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// `execbox-server serve`: gRPC on one port — cleartext h2c and HTTP/1.1 without TLS flags,
/// TLS only (ALPN h2 or http/1.1) with them.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the Execbox API over gRPC.",
        discussion: """
            Each option can also be set with the EXECBOX_… environment variable named in its help; \
            a flag wins over its variable. Serves grpc.health.v1.Health and, per --reflection, \
            grpc.reflection.v1 and v1alpha. The Execbox services (SessionService, ProcessService, \
            FileService, NetworkService, ImageService, AccountService) answer UNIMPLEMENTED until \
            the service layer lands. Prints "listening on HOST:PORT" once bound. SIGTERM or SIGINT \
            shut down gracefully: health turns NOT_SERVING, then in-flight calls get 10 seconds.
            """
    )

    @Option(
        help: ArgumentHelp(
            """
            HOST:PORT or [IPv6]:PORT to listen on; port 0 picks a free one. [EXECBOX_LISTEN] \
            (default: 127.0.0.1:8080)
            """, valueName: "host:port"))
    var listen: String?

    @Option(
        help: ArgumentHelp(
            """
            Directory of the server's state, created with mode 0700 if missing. [EXECBOX_DATA_DIR] \
            (default: ./execbox-data)
            """, valueName: "dir"))
    var dataDir: String?

    @Option(
        help: ArgumentHelp(
            """
            Where the first start writes the admin API key. The service layer creates that key; this \
            build only checks the path. [EXECBOX_BOOTSTRAP_KEY_FILE] (default: DIR/bootstrap-admin.key)
            """, valueName: "file"))
    var bootstrapKeyFile: String?

    @Option(
        help: ArgumentHelp(
            "PEM certificate chain; with --tls-key the port serves TLS only. [EXECBOX_TLS_CERT]", valueName: "file"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("PEM private key of --tls-cert. [EXECBOX_TLS_KEY]", valueName: "file"))
    var tlsKey: String?

    @Option(
        help: ArgumentHelp(
            """
            Server reflection: auto turns it on only when --listen is a loopback address (127.0.0.0/8, \
            ::1, localhost), since it describes the whole API to anyone who can connect. \
            [EXECBOX_REFLECTION] (default: auto)
            """, valueName: "mode"))
    var reflection: ReflectionMode?

    func run() async throws {
        let settings = try ServeSettings(self, environment: ProcessInfo.processInfo.environment)
        try settings.prepareDataDirectory()
        try settings.checkBootstrapKeyFile()
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        let logger = Logger(label: "execbox-server")

        let health = HealthService()
        var router = RPCRouter(services: [health])
        PlaceholderServices.register(with: &router)
        var serving = [Grpc_Health_V1_HealthMethods.check.service]
        if settings.reflectionEnabled {
            let reflection = try ReflectionService(serving: router)
            reflection.registerMethods(with: &router)
            serving += ReflectionService.serviceNames
        }
        for service in serving { health.setStatus(.serving, for: service) }
        for service in PlaceholderServices.serviceNames { health.setStatus(.notServing, for: service) }

        let listener = ListenerService(
            address: settings.listen, tls: settings.tls, handler: GRPCServer(router: router).handler, health: health,
            gracePeriod: .seconds(10))
        var configuration = ServiceGroupConfiguration(
            services: [listener], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(15)
        try await ServiceGroup(configuration: configuration).run()
    }
}
