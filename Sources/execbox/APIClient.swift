import ExecboxAPI
import ExecboxGRPC
import ExecboxHTTP2
import ExecboxRPC
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// One connection to the server and the generated clients over it.
struct APIClient: Sendable {
    let config: ClientConfig
    let transport: AuthenticatedTransport

    var sessions: SessionServiceClient<AuthenticatedTransport> { SessionServiceClient(transport: transport) }
    var processes: ProcessServiceClient<AuthenticatedTransport> { ProcessServiceClient(transport: transport) }
    var files: FileServiceClient<AuthenticatedTransport> { FileServiceClient(transport: transport) }
    var network: NetworkServiceClient<AuthenticatedTransport> { NetworkServiceClient(transport: transport) }
    var accounts: AccountServiceClient<AuthenticatedTransport> { AccountServiceClient(transport: transport) }
    var images: ImageServiceClient<AuthenticatedTransport> { ImageServiceClient(transport: transport) }

    /// Connects with the settings `options` resolve to, runs `body`, closes the connection. A
    /// failed call surfaces as a ``CLIError`` that says what to do.
    static func with<T: Sendable>(
        _ options: ClientOptions,
        apiKey: String? = nil,
        _ body: (APIClient) async throws -> T
    ) async throws -> T {
        var config = try ClientConfig.resolve(options)
        if let apiKey {
            config.apiKey = apiKey
            config.keySource = .none
        }
        guard config.apiKey != nil else {
            throw CLIError(
                "no API key is set",
                hint: "set EXECBOX_API_KEY, or run `execbox login` to save one in \(ConfigFile.path)")
        }
        let client = APIClient(config: config, transport: try await connect(config))
        do {
            let result = try await body(client)
            try? await client.transport.base.connection.close()
            return result
        } catch let error as RPCError {
            try? await client.transport.base.connection.close()
            throw CLIError(rpc: error, config: config)
        } catch {
            try? await client.transport.base.connection.close()
            throw error
        }
    }

    private static func connect(_ config: ClientConfig) async throws(CLIError) -> AuthenticatedTransport {
        let url = config.url
        let tls: TLSConfiguration? = url.tls ? .client(trustRootsFile: config.caFile) : nil
        do {
            let base = try await GRPCClientTransport.connect(host: url.host, port: url.port, tls: tls)
            return AuthenticatedTransport(base: base, apiKey: config.apiKey)
        } catch let error as HTTP2Error where error.code.isTLS {
            throw CLIError(
                "TLS with \(url) failed: \(error.message)",
                hint: url.tls
                    ? "pass --ca-file with the CA that signed the server's certificate, or use http:// for a cleartext server"
                    : nil)
        } catch {
            throw CLIError(
                "cannot connect to \(url): \(reason(error))",
                hint: "is execbox-server running there? Set EXECBOX_URL, or run `execbox login --url URL`")
        }
    }

    /// A connection failure in a few words (`connection refused`), not NIO's full report.
    private static func reason(_ error: any Error) -> String {
        switch error {
        case let error as NIOConnectionError:
            if let failure = error.connectionErrors.first { return reason(failure.error) }
            return "cannot resolve \(error.host)"
        case let error as IOError:
            return String(cString: strerror(error.errnoCode)).lowercased()
        default:
            return "\(error)"
        }
    }
}
