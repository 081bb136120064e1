import ExecboxHTTP2
import Foundation
import NIOCore
import NIOPosix
import Testing

/// The TLS listener and client against real peers: curl, nghttp, openssl s_client and our client.
/// A self-signed P-256 pair for localhost and 127.0.0.1 is made per test with the openssl CLI.
@Suite(.serialized) struct TLSTests {
    @Test func curlNegotiatesHTTP2ByALPN() async throws {
        let pair = try await TestCertificate.make()
        defer { pair.remove() }
        let result = try await withTLSTestServer(pair) { port in
            try await Subprocess.run(
                "/usr/bin/curl",
                pair.curlArguments(port: port) + [
                    "--http2", "-w", "|%{http_code}|%{http_version}", "https://localhost:\(port)/hello",
                ]
            )
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output == "hello\n|200|2")
    }

    @Test func curlHTTP11OverTLSGetsTheHTTP1Pipeline() async throws {
        let pair = try await TestCertificate.make()
        defer { pair.remove() }
        let result = try await withTLSTestServer(pair) { port in
            try await Subprocess.run(
                "/usr/bin/curl",
                pair.curlArguments(port: port) + [
                    "--http1.1", "-w", "|%{http_code}|%{http_version}", "https://localhost:\(port)/v1/nothing",
                ]
            )
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.output.hasSuffix("|404|1.1"))
        #expect(result.output.contains(#""code":"not_found""#))
    }

    @Test func nghttpOverTLS() async throws {
        let pair = try await TestCertificate.make()
        defer { pair.remove() }
        let result = try await withTLSTestServer(pair) { port in
            try await Subprocess.run("/usr/bin/nghttp", ["-v", "https://127.0.0.1:\(port)/hello"])
        }
        #expect(result.status == 0)
        #expect(result.output.contains("The negotiated protocol: h2"))
        #expect(result.output.contains("hello"))
    }

    @Test func h2loadOverTLS() async throws {
        let pair = try await TestCertificate.make()
        defer { pair.remove() }
        let result = try await withTLSTestServer(pair) { port in
            try await Subprocess.run(
                "/usr/bin/h2load", ["-n", "3000", "-c", "30", "-m", "10", "https://127.0.0.1:\(port)/hello"])
        }
        #expect(result.status == 0)
        #expect(result.output.contains("Application protocol: h2"))
        #expect(result.output.contains("3000 succeeded, 0 failed, 0 errored"))
    }

    @Test func onlyTLS12AndLaterWithModernCiphers() async throws {
        let pair = try await TestCertificate.make()
        defer { pair.remove() }
        let (tls11, cbc, tls12, tls13) = try await withTLSTestServer(pair) { port in
            let connect = ["s_client", "-connect", "127.0.0.1:\(port)", "-CAfile", pair.certificate]
            // SECLEVEL=0 so that it is our server, not the local client, refusing TLS 1.1.
            let tls11 = try await Subprocess.run(
                "/usr/bin/openssl", connect + ["-alpn", "h2", "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
            // RSA key exchange with AES-CBC: no forward secrecy, no AEAD.
            let cbc = try await Subprocess.run("/usr/bin/openssl", connect + ["-tls1_2", "-cipher", "AES128-SHA"])
            let tls12 = try await Subprocess.run("/usr/bin/openssl", connect + ["-tls1_2", "-alpn", "h2"])
            let tls13 = try await Subprocess.run("/usr/bin/openssl", connect + ["-tls1_3", "-alpn", "http/1.1"])
            return (tls11, cbc, tls12, tls13)
        }
        #expect(tls11.status != 0)
        #expect(tls11.stderr.contains("alert protocol version"))
        #expect(cbc.status != 0)
        #expect(cbc.stderr.contains("handshake failure"))
        #expect(tls12.status == 0)
        #expect(tls12.output.contains("ALPN protocol: h2"))
        #expect(tls12.output.contains("Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"))
        #expect(tls12.output.contains("Verify return code: 0 (ok)"))
        #expect(tls13.status == 0)
        #expect(tls13.output.contains("ALPN protocol: http/1.1"))
        #expect(tls13.output.contains("TLSv1.3"))
    }

    @Test func echo32MiBOverTLSIsIntact() async throws {
        let pair = try await TestCertificate.make()
        defer { pair.remove() }
        let payload = Data((0..<(32 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ ($0 >> 16)) })
        let file = pair.directory.appendingPathComponent("payload.bin")
        try payload.write(to: file)
        let result = try await withTLSTestServer(pair) { port in
            try await Subprocess.run(
                "/usr/bin/curl",
                pair.curlArguments(port: port) + [
                    "--http2", "--data-binary", "@\(file.path)", "https://localhost:\(port)/echo",
                ]
            )
        }
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.count == payload.count)
        #expect(result.stdout == payload)
    }

    @Test func ourClientOverTLS() async throws {
        let pair = try await TestCertificate.make()
        defer { pair.remove() }
        try await withTLSTestServer(pair) { port in
            let tls = TLSConfiguration.client(trustRootsFile: pair.certificate)
            for host in ["localhost", "127.0.0.1"] {
                let client = try await HTTP2ClientConnection.connect(host: host, port: port, tls: tls)
                let hello = try await client.openStream(method: "GET", path: "/hello", endStream: true)
                #expect(try await hello.response()[":status"] == "200")
                #expect(String(buffer: try await hello.body.collect(upTo: 1024)) == "hello\n")
                // 8 MiB both ways at once, under flow control, through TLS.
                let echo = try await client.openStream(method: "POST", path: "/echo")
                let chunk = ByteBuffer(bytes: (0..<(256 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
                async let received: Int = {
                    var total = 0
                    for try await part in echo.body { total += part.readableBytes }
                    return total
                }()
                for _ in 0..<32 { try await echo.writeBody(chunk) }
                try await echo.finish()
                #expect(try await received == 32 * (256 << 10))
                try await client.close()
            }
        }
    }

    @Test func clientVerifiesTheServer() async throws {
        let pair = try await TestCertificate.make()
        let other = try await TestCertificate.make()
        defer {
            pair.remove()
            other.remove()
        }
        try await withTLSTestServer(pair) { port in
            // Signed by someone else: refused.
            let otherCA = await #expect(throws: HTTP2Error.self) {
                _ = try await HTTP2ClientConnection.connect(
                    host: "localhost", port: port, tls: .client(trustRootsFile: other.certificate))
            }
            #expect(otherCA?.code.isTLS == true)
            // The system store does not know a self-signed certificate.
            let systemStore = await #expect(throws: HTTP2Error.self) {
                _ = try await HTTP2ClientConnection.connect(host: "localhost", port: port, tls: .client())
            }
            #expect(systemStore?.code.isTLS == true)
            // Tests may skip verification.
            let client = try await HTTP2ClientConnection.connect(
                host: "localhost", port: port, tls: .client(insecureSkipVerify: true))
            let stream = try await client.openStream(method: "GET", path: "/hello", endStream: true)
            #expect(try await stream.response()[":status"] == "200")
            try await client.close()
        }
    }

    @Test func reloadServesTheNewCertificateToNewConnections() async throws {
        let first = try await TestCertificate.make()
        let second = try await TestCertificate.make()
        defer {
            first.remove()
            second.remove()
        }
        let server = try await HTTP2Server.bind(
            host: "127.0.0.1", port: 0,
            tls: .server(certificateChainFile: first.certificate, privateKeyFile: first.key))
        let port = server.localAddress.port!
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run(handler: testRoutes) }
            let old = try await HTTP2ClientConnection.connect(
                host: "localhost", port: port, tls: .client(trustRootsFile: first.certificate))
            #expect(
                try await old.openStream(method: "GET", path: "/hello", endStream: true).response()[":status"] == "200")

            try FileManager.default.removeItem(atPath: first.certificate)
            try FileManager.default.copyItem(atPath: second.certificate, toPath: first.certificate)
            // A key that does not match the new certificate: reload fails and the old pair stays.
            let mismatch = #expect(throws: HTTP2Error.self) { try server.reloadTLS() }
            #expect(mismatch?.code == .tlsConfiguration)
            try FileManager.default.removeItem(atPath: first.key)
            try FileManager.default.copyItem(atPath: second.key, toPath: first.key)
            try server.reloadTLS()

            let oldCA = await #expect(throws: HTTP2Error.self) {
                _ = try await HTTP2ClientConnection.connect(
                    host: "localhost", port: port, tls: .client(trustRootsFile: first.original))
            }
            #expect(oldCA?.code.isTLS == true)
            let fresh = try await HTTP2ClientConnection.connect(
                host: "localhost", port: port, tls: .client(trustRootsFile: second.certificate))
            #expect(
                try await fresh.openStream(method: "GET", path: "/hello", endStream: true).response()[":status"]
                    == "200")
            // The connection opened before the reload goes on with its old session.
            #expect(
                try await old.openStream(method: "GET", path: "/hello", endStream: true).response()[":status"] == "200")
            try await old.close()
            try await fresh.close()
            group.cancelAll()
        }
    }

    @Test func configurationErrorsAreThrownNotCrashes() async throws {
        let pair = try await TestCertificate.make()
        let other = try await TestCertificate.make()
        defer {
            pair.remove()
            other.remove()
        }
        let missing = TLSConfiguration.server(certificateChainFile: "/nonexistent/cert.pem", privateKeyFile: pair.key)
        let error = try #require(throws: HTTP2Error.self) { _ = try TLSContext(configuration: missing) }
        #expect(error.code == .tlsConfiguration)
        #expect(error.message.contains("/nonexistent/cert.pem"))

        let mismatched = TLSConfiguration.server(certificateChainFile: pair.certificate, privateKeyFile: other.key)
        let mismatch = try #require(throws: HTTP2Error.self) { _ = try TLSContext(configuration: mismatched) }
        #expect(mismatch.message.contains("does not match"))
        #expect(mismatch.message.contains("key values mismatch"))

        // A certificate where the key should be: OpenSSL's reason is in the message.
        let garbage = TLSConfiguration.server(certificateChainFile: pair.certificate, privateKeyFile: pair.certificate)
        let bad = try #require(throws: HTTP2Error.self) { _ = try TLSContext(configuration: garbage) }
        #expect(bad.message.contains("cannot load the private key"))

        let atBind = await #expect(throws: HTTP2Error.self) {
            _ = try await HTTP2Server.bind(host: "127.0.0.1", port: 0, tls: mismatched)
        }
        #expect(atBind?.code == .tlsConfiguration)
    }

    @Test func silentPeersAreClosedAfterTheHandshakeTimeout() async throws {
        let pair = try await TestCertificate.make()
        defer { pair.remove() }
        var tls = TLSConfiguration.server(certificateChainFile: pair.certificate, privateKeyFile: pair.key)
        tls.handshakeTimeout = .milliseconds(300)
        let server = try await HTTP2Server.bind(host: "127.0.0.1", port: 0, tls: tls)
        let port = server.localAddress.port!
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run(handler: testRoutes) }
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            let started = ContinuousClock.now
            try await channel.closeFuture.get()
            #expect(ContinuousClock.now - started < .seconds(5))
            group.cancelAll()
        }
    }

    @Test func aPeerSilentAfterTheHandshakeIsClosedAfterThePrefaceTimeout() async throws {
        let pair = try await TestCertificate.make()
        defer { pair.remove() }
        var serverConfiguration = HTTP2ServerConfiguration()
        serverConfiguration.prefaceTimeout = .milliseconds(300)
        let server = try await HTTP2Server.bind(
            host: "127.0.0.1", port: 0, serverConfiguration: serverConfiguration,
            tls: .server(certificateChainFile: pair.certificate, privateKeyFile: pair.key))
        let port = server.localAddress.port!
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run(handler: testRoutes) }
            let started = ContinuousClock.now
            // -ign_eof: s_client completes the handshake, sends nothing and waits for the server.
            let result = try await Subprocess.run(
                "/usr/bin/openssl",
                ["s_client", "-connect", "127.0.0.1:\(port)", "-alpn", "h2", "-ign_eof", "-CAfile", pair.certificate]
            )
            #expect(result.output.contains("ALPN protocol: h2"))
            #expect(ContinuousClock.now - started < .seconds(5))
            group.cancelAll()
        }
    }
}

/// A self-signed P-256 certificate for localhost and 127.0.0.1, made with the openssl CLI.
struct TestCertificate {
    let directory: URL
    var certificate: String { directory.appendingPathComponent("cert.pem").path }
    var key: String { directory.appendingPathComponent("key.pem").path }
    /// A copy of the certificate as first made (it survives the reload test replacing cert.pem).
    var original: String { directory.appendingPathComponent("original.pem").path }

    static func make() async throws -> TestCertificate {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("execbox-tls-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pair = TestCertificate(directory: directory)
        let result = try await Subprocess.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout", pair.key, "-out", pair.certificate,
            ]
        )
        guard result.status == 0 else { throw TestCertificateFailure(message: result.stderr) }
        try FileManager.default.copyItem(atPath: pair.certificate, toPath: pair.original)
        return pair
    }

    /// curl trusting this certificate, with localhost pinned to 127.0.0.1 (the listener's address).
    func curlArguments(port: Int) -> [String] {
        ["-s", "--cacert", certificate, "--resolve", "localhost:\(port):127.0.0.1"]
    }

    func remove() {
        try? FileManager.default.removeItem(at: directory)
    }
}

struct TestCertificateFailure: Error {
    let message: String
}

/// Runs a TLS-only HTTP2Server with the test routes for the duration of `body`.
func withTLSTestServer<R: Sendable>(
    _ pair: TestCertificate,
    _ body: @Sendable (Int) async throws -> R
) async throws -> R {
    let server = try await HTTP2Server.bind(
        host: "127.0.0.1", port: 0,
        tls: .server(certificateChainFile: pair.certificate, privateKeyFile: pair.key))
    let port = server.localAddress.port!
    return try await withThrowingTaskGroup(of: R?.self) { group in
        group.addTask {
            try await server.run(handler: testRoutes)
            return nil
        }
        let result = try await body(port)
        group.cancelAll()
        return result
    }
}
