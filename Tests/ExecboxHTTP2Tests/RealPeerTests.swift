import Foundation
import Testing

/// The listener against real HTTP/2 peers: curl, nghttp and h2load.
@Suite(.serialized) struct RealPeerTests {
    @Test func curlPriorKnowledge() async throws {
        let result = try await withTestServer { port in
            try await Subprocess.run(
                "/usr/bin/curl",
                [
                    "-s", "--http2-prior-knowledge", "-w", "|%{http_code}|%{http_version}",
                    "http://127.0.0.1:\(port)/hello",
                ]
            )
        }
        #expect(result.status == 0)
        #expect(result.output == "hello\n|200|2")
    }

    @Test func echoBothWaysWithTrailers() async throws {
        let payload = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("execbox-echo-\(UUID())")
        try payload.write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let (curl, nghttp) = try await withTestServer { port in
            let curl = try await Subprocess.run(
                "/usr/bin/curl",
                ["-s", "--http2-prior-knowledge", "--data-binary", "@\(file.path)", "http://127.0.0.1:\(port)/echo"]
            )
            let nghttp = try await Subprocess.run(
                "/usr/bin/nghttp",
                ["-v", "-d", file.path, "http://127.0.0.1:\(port)/echo"]
            )
            return (curl, nghttp)
        }
        #expect(curl.status == 0)
        #expect(curl.stdout == payload)
        #expect(nghttp.status == 0)
        #expect(nghttp.output.contains("x-body-bytes: \(payload.count)"))
    }

    @Test func trailersOnlyResponseEndsOnHeaders() async throws {
        let result = try await withTestServer { port in
            try await Subprocess.run("/usr/bin/nghttp", ["-v", "http://127.0.0.1:\(port)/trailers-only"])
        }
        #expect(result.status == 0)
        #expect(result.output.contains("grpc-status: 0"))
        #expect(result.output.contains("recv HEADERS frame <length=13, flags=0x05"))
    }

    @Test func handlerErrorResetsTheStreamNotTheConnection() async throws {
        let (failed, after) = try await withTestServer { port in
            let failed = try await Subprocess.run(
                "/usr/bin/curl", ["-s", "--http2-prior-knowledge", "http://127.0.0.1:\(port)/fail"]
            )
            let after = try await Subprocess.run(
                "/usr/bin/curl", ["-s", "--http2-prior-knowledge", "http://127.0.0.1:\(port)/hello"]
            )
            return (failed, after)
        }
        // curl's exit 92: HTTP/2 stream error (RST_STREAM).
        #expect(failed.status == 92)
        #expect(after.output == "hello\n")
    }

    @Test func http11GetsTheHTTP1Pipeline() async throws {
        let result = try await withTestServer { port in
            try await Subprocess.run(
                "/usr/bin/curl", ["-s", "--http1.1", "-w", "|%{http_code}", "http://127.0.0.1:\(port)/v1/nothing"]
            )
        }
        #expect(result.output.hasSuffix("|404"))
        #expect(result.output.contains(#""code":"not_found""#))
    }

    @Test func oversizedHeadersAreRefused() async throws {
        let big = String(repeating: "a", count: 70 << 10)
        let result = try await withTestServer { port in
            try await Subprocess.run(
                "/usr/bin/curl",
                [
                    "-s", "--http2-prior-knowledge", "-H", "x-big: \(big)", "-w", "%{http_code}",
                    "http://127.0.0.1:\(port)/hello",
                ]
            )
        }
        #expect(result.output != "hello\n200")
        #expect(result.status != 0)
    }

    @Test func manyConcurrentStreams() async throws {
        let result = try await withTestServer { port in
            try await Subprocess.run(
                "/usr/bin/h2load", ["-n", "3000", "-c", "3", "-m", "50", "http://127.0.0.1:\(port)/hello"])
        }
        #expect(result.status == 0)
        #expect(result.output.contains("3000 succeeded, 0 failed, 0 errored"))
    }
}
