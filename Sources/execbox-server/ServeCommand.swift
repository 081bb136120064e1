import ArgumentParser
import ExecboxAPI
import ExecboxGRPC
import ExecboxGateway
import ExecboxRPC
import ExecboxSandbox
import ExecboxSandboxRunc
import ExecboxService
import ExecboxStandardServices
import ExecboxStorage
import ExecboxStorageSQL
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
            a flag wins over its variable. The first start on an empty database creates an admin \
            account, prints its API key once and writes it to the bootstrap key file. Every call \
            needs 'authorization: Bearer <key>' except health, reflection, JoinWaitlist and \
            RequestQuota. Serves grpc.health.v1.Health, per --reflection grpc.reflection.v1 and \
            v1alpha, AccountService, and with a backend SessionService, ProcessService, FileService, \
            NetworkService and ImageService (images: execbox-server images). Prints \
            "listening on HOST:PORT" once bound. SIGTERM or SIGINT shut down gracefully: health turns \
            NOT_SERVING, then in-flight calls get 10 seconds; sessions keep running under their \
            monitors and the next start adopts them. A config file (--config) holds EXECBOX_…=value \
            lines; the environment wins over it.
            """
    )

    @Option(
        help: ArgumentHelp(
            """
            HOST:PORT or [IPv6]:PORT to listen on; port 0 picks a free one. [EXECBOX_LISTEN] \
            (default: 127.0.0.1:8080)
            """, valueName: "host:port"))
    var listen: String?

    @OptionGroup var store: StoreOptions

    @Option(
        help: ArgumentHelp(
            """
            Where the first start writes the admin API key (one line, mode 0600). \
            [EXECBOX_BOOTSTRAP_KEY_FILE] (default: DIR/bootstrap-admin.key)
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

    @Option(
        help: ArgumentHelp(
            """
            JSON file overriding the tier table (limits and request rates, docs/service.md). \
            [EXECBOX_TIERS] (default: the built-in table)
            """, valueName: "file"))
    var tiers: String?

    @Option(
        help: ArgumentHelp(
            """
            Sandbox backend: runc (local OCI containers; needs root and Debian's runc) or none (no \
            sessions: the session services answer UNIMPLEMENTED). [EXECBOX_BACKEND] (default: runc)
            """, valueName: "name"))
    var backend: String?

    @Option(
        help: ArgumentHelp(
            """
            OCI runtime of the runc backend: runc, or runsc (gVisor, the stronger boundary for untrusted \
            code; Debian's runsc, ptrace platform; see docs/sandbox.md). [EXECBOX_RUNTIME] (default: runc)
            """, valueName: "name"))
    var runtime: String?

    @Option(
        help: ArgumentHelp(
            """
            Started containers the runc backend keeps ready, as IMAGE=COUNT[,IMAGE=COUNT…] (e.g. \
            default=4): a create that fits one costs no runtime call (runc only; each holds a sandbox \
            slot and an idle init). [EXECBOX_POOL] (default: none)
            """, valueName: "sizes"))
    var pool: String?

    @Option(
        help: ArgumentHelp(
            """
            Prefix of every host-wide name of the runc backend (cgroups, nftables table, veths, address \
            pool, /run/NAME); servers sharing a host need distinct ones. [EXECBOX_SANDBOX_NAMESPACE] \
            (default: execbox)
            """, valueName: "name"))
    var sandboxNamespace: String?

    @Option(
        help: ArgumentHelp(
            """
            JSON price table for usage costs (docs/service.md), e.g. {"sessionMicroUSD": 1000, \
            "cpuSecondMicroUSD": 50, "gbSecondMicroUSD": 10}. [EXECBOX_PRICES] (default: those)
            """, valueName: "file"))
    var prices: String?

    @Option(
        help: ArgumentHelp(
            """
            Comma-separated origins that browsers may call the REST gateway from, or * for any;             empty turns CORS off. [EXECBOX_CORS_ORIGINS] (default: empty)
            """, valueName: "origins"))
    var corsOrigins: String?

    @Option(
        help: ArgumentHelp(
            """
            Largest file upload accepted (REST and FileService.WriteFile), in bytes.             [EXECBOX_MAX_UPLOAD_BYTES] (default: 104857600)
            """, valueName: "bytes"))
    var maxUploadBytes: String?

    @Option(
        help: ArgumentHelp(
            "File of EXECBOX_…=value lines, read under the environment. [EXECBOX_CONFIG]", valueName: "file"))
    var config: String?

    @Option(
        help: ArgumentHelp(
            "trace, debug, info, notice, warning, error or critical. [EXECBOX_LOG_LEVEL] (default: info)",
            valueName: "level"))
    var logLevel: String?

    func run() async throws {
        let environment = try ServeSettings.environment(
            ProcessInfo.processInfo.environment, configFile: config)
        let settings = try ServeSettings(self, environment: environment)
        try settings.prepareDataDirectory()
        try settings.checkBootstrapKeyFile()
        let level = settings.logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "execbox-server")

        let store = try await settings.store.openStore()
        logger.info("database open", metadata: ["database": "\(settings.store.database)"])
        let stack = ServiceStack(store: store, tiers: settings.tiers, logger: Logger(label: "execbox"))
        do {
            if let minted = try await BootstrapAdmin(administration: stack.administration).run(
                keyFile: settings.bootstrapKeyFile)
            {
                Self.announce(minted, keyFile: settings.bootstrapKeyFile)
                logger.notice(
                    "created the bootstrap admin account",
                    metadata: ["account_id": "\(minted.account.id)", "key_id": "\(minted.key.id)"])
            }
        } catch {
            await store.close()
            throw error
        }

        let health = HealthService()
        var services: [any Service] = [StoreService(store: store)]
        var sessionServices: [any RPCService] = []
        var backendHealth: (@Sendable () async -> BackendHealth)?
        if settings.backend.kind == .runc {
            let backend: RuncBackend
            do {
                backend = try await RuncBackend.make(
                    configuration: settings.backend.runcConfiguration(dataDirectory: settings.dataDirectory),
                    logger: Logger(label: "execbox.sandbox"))
            } catch {
                await store.close()
                throw ValidationError(
                    "the runc backend cannot start (\(error)); run as root with Debian's runc (or runsc for "
                        + "--runtime runsc), or use --backend none")
            }
            let runc = settings.backend.runcConfiguration(dataDirectory: settings.dataDirectory)
            logger.info(
                "runc backend",
                metadata: [
                    "namespace": "\(settings.backend.namespace)", "runtime": "\(runc.runtime.rawValue)",
                    "cgroup_parent": "\(runc.cgroupParent)",
                    "address_pool": "\(runc.networkPool)", "uid_base": "\(runc.idMapBase)",
                    "max_sandboxes": "\(runc.maxSandboxes)",
                    "pool":
                        "\(runc.poolSizes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","))",
                ])
            let manager = SessionManager(
                store: store, backend: backend, tiers: settings.tiers,
                settings: .init(
                    backendName: "runc",
                    // Servers sharing a database tell their sessions apart by host and namespace.
                    nodeID: "\(ProcessInfo.processInfo.hostName)/\(settings.backend.namespace)",
                    prices: settings.backend.prices),
                logger: Logger(label: "execbox.sessions"))
            sessionServices = stack.sessionServices(manager, maxUploadBytes: settings.backend.maxUploadBytes)
            if let images = ImageService(manager: manager) { sessionServices.append(images) }
            services.append(SandboxService(backend: backend, manager: manager))
            backendHealth = { await backend.health() }
        }
        var router = stack.router(with: sessionServices)
        health.registerMethods(with: &router)
        PlaceholderServices.register(with: &router, serving: sessionServices.isEmpty ? .withoutBackend : .none)
        let sessionServiceNames =
            sessionServices.isEmpty
            ? []
            : [
                SessionServiceMethods.all, ProcessServiceMethods.all, FileServiceMethods.all, NetworkServiceMethods.all,
                ImageServiceMethods.all,
            ]
            .compactMap(\.first?.service)
        var serving = [Grpc_Health_V1_HealthMethods.check.service, AccountServiceMethods.getAccount.service]
        if settings.reflectionEnabled {
            let reflection = try ReflectionService(serving: router)
            reflection.registerMethods(with: &router)
            serving += ReflectionService.serviceNames
        }
        for service in serving + sessionServiceNames { health.setStatus(.serving, for: service) }
        for service in PlaceholderServices.serviceNames where !sessionServiceNames.contains(service) {
            health.setStatus(.notServing, for: service)
        }

        let endpoint = HealthEndpoint()
        var gatewayConfiguration = GatewayConfiguration()
        gatewayConfiguration.corsOrigins = settings.corsOrigins
        gatewayConfiguration.maxUploadBytes = settings.backend.maxUploadBytes
        let gateway = Gateway(router: router, configuration: gatewayConfiguration) { endpoint.response }
        let listener = ListenerService(
            address: settings.listen, tls: settings.tls, handler: gateway.wrap(GRPCServer(router: router).handler),
            http1: gateway.http1Initializer, health: health, endpoint: endpoint, gracePeriod: .seconds(10))
        let monitor = DatabaseHealthMonitor(
            store: store, health: health, services: [AccountServiceMethods.getAccount.service] + sessionServiceNames,
            backend: backendHealth, backendServices: sessionServiceNames, endpoint: endpoint, interval: .seconds(5),
            logger: logger)
        var configuration = ServiceGroupConfiguration(
            services: services + [monitor, listener], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(15)
        try await ServiceGroup(configuration: configuration).run()
    }

    /// The only place a key is ever printed: once, on the first start, with the key alone on its line.
    static func announce(_ minted: AccountAdministration.MintedKey, keyFile: String) {
        print(
            """
            execbox-server: first start: created the admin account \(minted.account.id) \
            (tier \(minted.account.tier.rawValue)).
            Its API key follows, shown only this once; it is also in \(keyFile) (mode 0600):
            \(minted.secret)
            """)
        fflush(nil)
    }
}
