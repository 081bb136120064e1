import ExecboxHTTP2
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Our client against nghttpd (the reference server) and against our own server.
@Suite(.serialized) struct ClientTests {
    @Test func againstNghttpd() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("execbox-nghttpd-\(UUID())")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let content = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try content.write(to: root.appendingPathComponent("file.bin"))
        let port = Int.random(in: 20000..<32000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/sbin/nghttpd")
        server.arguments = ["--no-tls", "-d", root.path, String(port)]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        // SIGKILL: nghttpd inherits the test process's blocked signals, so SIGTERM (`terminate()`)
        // left one running after every test run.
        defer {
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }

        // nghttpd needs a moment to listen: retry the first request until it answers.
        var answered: (HTTP2ClientConnection, HTTP2ClientStream, HTTP2Headers)?
        for _ in 0..<100 where answered == nil {
            if let client = try? await HTTP2ClientConnection.connect(host: "127.0.0.1", port: port),
                let stream = try? await client.openStream(method: "GET", path: "/file.bin", endStream: true),
                let head = try? await stream.response()
            {
                answered = (client, stream, head)
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let (client, stream, head) = try #require(answered)
        #expect(head[":status"] == "200")
        let body = try await stream.body.collect(upTo: 1 << 20)
        #expect(Data(body.readableBytesView) == content)
        try await client.close()
    }

    @Test func manyConcurrentStreamsOnOneConnection() async throws {
        try await withTestServer { port in
            let client = try await HTTP2ClientConnection.connect(host: "127.0.0.1", port: port)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<90 {
                    group.addTask {
                        let payload = ByteBuffer(
                            bytes: (0..<(1000 + i * 997)).map { UInt8(truncatingIfNeeded: $0 ^ i) })
                        let stream = try await client.openStream(method: "POST", path: "/echo")
                        try await stream.writeBody(payload)
                        try await stream.finish()
                        let head = try await stream.response()
                        #expect(head[":status"] == "200")
                        let echoed = try await stream.body.collect(upTo: 1 << 20)
                        #expect(echoed == payload)
                        #expect(stream.body.trailers?["x-body-bytes"] == String(payload.readableBytes))
                    }
                }
                try await group.waitForAll()
            }
            try await client.close()
        }
    }

    /// Header values arrive intact through the server's byte-kept heads, read back by name (upper
    /// case on purpose): long values repeated, many of one length that only their bytes tell
    /// apart, a 300-byte one, and short ones.
    @Test func headerValuesSurviveTheServersByteKeptHeads() async throws {
        try await withTestServer { port in
            let client = try await HTTP2ClientConnection.connect(host: "127.0.0.1", port: port)
            // Twelve of one length (only their bytes tell them apart), four of other lengths.
            let sameLength = (10..<22).map { "a-long-header-value-number-\($0)" }
            let otherLengths = (1..<5).map { "a-long-header-value-" + String(repeating: "v", count: $0 * 7) }
            let long = sameLength + otherLengths
            let values = (0..<3).flatMap { _ in long } + ["short", String(repeating: "z", count: 300), "x", long[0]]
            for (index, value) in values.enumerated() {
                let agent = "execbox-test-agent/\(index % 3)"
                let stream = try await client.openStream(
                    method: "GET", path: "/echo-value", headers: ["x-value": value, "user-agent": agent],
                    endStream: true)
                let head = try await stream.response()
                #expect(head["x-echo"] == value, "request \(index)")
                #expect(head["x-agent"] == agent, "request \(index)")
            }
            try await client.close()
        }
    }

    /// One connection, one request after another, so each stream reuses the state of the one
    /// before: bodies, trailers, header fields and resets of earlier streams never reach later ones.
    @Test func reusedStreamStatesCarryNothingOver() async throws {
        try await withTestServer { port in
            let client = try await HTTP2ClientConnection.connect(host: "127.0.0.1", port: port)
            for round in 0..<40 {
                // A body and request trailers.
                let payload = ByteBuffer(string: String(repeating: "p\(round)", count: round + 1))
                let echo = try await client.openStream(method: "POST", path: "/echo")
                try await echo.writeBody(payload)
                try await echo.finish(trailers: ["x-request-trailer": String(round)])
                #expect(try await echo.response()[":status"] == "200")
                #expect(try await echo.body.collect(upTo: 1 << 16) == payload)
                #expect(echo.body.trailers?["x-body-bytes"] == String(payload.readableBytes))

                // A bodyless POST after it: no bytes of the last body, no trailers but its own.
                let empty = try await client.openStream(method: "POST", path: "/echo", endStream: true)
                #expect(try await empty.response()[":status"] == "200")
                #expect(try await empty.body.collect(upTo: 1 << 16).readableBytes == 0)
                #expect(empty.body.trailers?["x-body-bytes"] == "0")

                // Header fields: each request's own alone.
                let mine = "x-round-\(round)"
                let headers = try await client.openStream(
                    method: "GET", path: "/headers", headers: [mine: "1"], endStream: true)
                let seen = try await headers.response()["x-seen"]?.split(separator: ",").map(String.init) ?? []
                #expect(seen.contains(mine))
                #expect(seen.filter { $0.hasPrefix("x-") } == [mine], "round \(round): \(seen)")

                // A reset stream, then an ordinary one.
                if round % 4 == 0 {
                    let failing = try await client.openStream(method: "GET", path: "/fail", endStream: true)
                    await #expect(throws: HTTP2Error.self) { _ = try await failing.response() }
                }
                let hello = try await client.openStream(method: "GET", path: "/headers", endStream: true)
                let names = try await hello.response()["x-seen"]?.split(separator: ",") ?? []
                #expect(!names.contains { $0.hasPrefix("x-") }, "round \(round)")
            }
            // The states were reused: the connection's next stream is served by one that served
            // others before it.
            let reuses = try await client.openStream(method: "GET", path: "/reuses", endStream: true)
            let served = Int(try await reuses.response()["x-reuses"] ?? "") ?? 0
            #expect(served > 0, "the state served \(served) streams before")
            try await client.close()
        }
    }

    /// A handler that answers without reading its request body, once all of it has arrived: when
    /// the stream closes, the bytes that arrived for it give their connection-window credit back,
    /// whether its state is kept for later streams or not. Four such streams at once take 80 of the connection's 96 KiB
    /// (not all of it: nghttp2 sends no END_STREAM, not even on an empty DATA frame, into a shut
    /// window, and the streams must close); their states are then kept as spares. An echo of 24 KiB
    /// after them, on a stream that reuses one of those states, gets through only if the others
    /// returned their credit too (nghttp2 reopens the window once half of it has been given back).
    @Test func unreadBodiesGiveTheirWindowBackWhenTheirStatesAreKept() async throws {
        try await fourUploadsThenAnEcho { client in
            // The whole body arrives before the response, which ends the stream: the state is
            // kept with 20 KiB unread in its body.
            let stream = try await client.openStream(method: "POST", path: "/ignore-body-after-end")
            try await stream.writeBody(ByteBuffer(repeating: 7, count: 20 << 10))
            try await stream.finish()
            #expect(try await stream.response()[":status"] == "200")
        }
    }

    /// A handler that answers in full and returns without reading an upload still being sent
    /// stops it (RST_STREAM NO_ERROR after the response): the client's writes then fail with the
    /// stream closed, and the connection window the upload held is free again. The server answers
    /// each of the four uploads after 12 KiB (under 16 KiB, so three streams still waiting cannot
    /// hold the half of the 96 KiB window nghttp2 waits for before it reopens it), while the client
    /// goes on writing. The handler returns at once (the reset waits for the response's end to go
    /// out) or 100 ms after answering (the response is out: the reset goes at once).
    @Test(arguments: [0, 100])
    func uploadsLeftUnreadAreStoppedOnceTheResponseIsOut(lingerMilliseconds: Int) async throws {
        try await fourUploadsThenAnEcho { client in
            let stream = try await client.openStream(
                method: "POST", path: "/ignore-body-after-bytes",
                headers: ["x-wait-bytes": "12288", "x-linger-ms": String(lingerMilliseconds)])
            // Writing on until the reset arrives: 1 MiB is 16 times the stream's window and 4
            // times what the client queues before a write waits.
            let stopped = await #expect(throws: HTTP2Error.self) {
                for _ in 0..<256 { try await stream.writeBody(ByteBuffer(repeating: 7, count: 4 << 10)) }
                try await stream.finish()
            }
            #expect(stopped?.code == .streamClosed)
            #expect(stopped?.resetCode == 0)
            #expect(try await stream.response()[":status"] == "200")
            #expect(try await stream.body.collect(upTo: 1 << 10).readableBytes == 0)
        }
    }

    /// A request body cut off by the client's RST_STREAM NO_ERROR fails for the handler reading
    /// it: it does not end as if it were complete.
    @Test func aBodyCutOffWithNoErrorFailsRatherThanEnds() async throws {
        try await withTestServer { port in
            let client = try await HTTP2ClientConnection.connect(host: "127.0.0.1", port: port)
            let key = "cut-\(UInt64.random(in: 0...UInt64.max))"
            let stream = try await client.openStream(method: "POST", path: "/body-outcome", headers: ["x-key": key])
            try await stream.writeBody(ByteBuffer(repeating: 1, count: 1000))
            #expect(try await bodyOutcome(key, on: client) { $0 == "reading" } == "reading")
            stream.reset(errorCode: 0)
            #expect(try await bodyOutcome(key, on: client) { $0 != "reading" } == "failed: stream closed 0")
            try? await client.close()
        }
    }

    /// Trailers both ways on one stream: the request's own trailers do not end up among the
    /// response's.
    @Test func requestTrailersStayOutOfTheResponseTrailers() async throws {
        try await withTestServer { port in
            let client = try await HTTP2ClientConnection.connect(host: "127.0.0.1", port: port)
            let stream = try await client.openStream(method: "POST", path: "/echo")
            try await stream.writeBody(ByteBuffer(string: "abc"))
            try await stream.finish(trailers: ["x-request-trailer": "a"])
            #expect(try await stream.response()[":status"] == "200")
            #expect(try await stream.body.collect(upTo: 1 << 10) == ByteBuffer(string: "abc"))
            #expect(stream.body.trailers.map { Array($0.fields.map(\.name)) } == ["x-body-bytes"])
            try await client.close()
        }
    }

    /// A response head carries `:status` from the status alone: pseudo-header fields in the
    /// handler's headers are left out (a client's nghttp2 would reset a stream whose response head
    /// had `:path`), and its other fields go as given, names lower-cased.
    @Test func pseudoHeaderFieldsOfTheHandlerStayOutOfTheResponseHead() async throws {
        try await withTestServer { port in
            let client = try await HTTP2ClientConnection.connect(host: "127.0.0.1", port: port)
            let stream = try await client.openStream(method: "GET", path: "/pseudo-in-head", endStream: true)
            let head = try await stream.response()
            #expect(head.fields.map(\.name) == [":status", "x-kept"])
            #expect(head[":status"] == "200")
            #expect(head["x-kept"] == "yes")
            try await client.close()
        }
    }

    @Test func resetFromServerFailsTheStream() async throws {
        try await withTestServer { port in
            let client = try await HTTP2ClientConnection.connect(host: "127.0.0.1", port: port)
            let stream = try await client.openStream(method: "GET", path: "/fail", endStream: true)
            await #expect(throws: HTTP2Error.self) {
                _ = try await stream.response()
                _ = try await stream.body.collect(upTo: 1024)
            }
            // The connection survives a stream reset.
            let next = try await client.openStream(method: "GET", path: "/hello", endStream: true)
            #expect(try await next.response()[":status"] == "200")
            try await client.close()
        }
    }

    /// A server that has gone without closing: the TCP connection is accepted but nothing is ever
    /// read or sent (`autoRead` off). A stream waiting on it fails once the client's keepalive
    /// PING has gone unanswered, instead of waiting forever.
    @Test func keepaliveFindsAServerThatWentSilent() async throws {
        let accepted = NIOLockedValueBox<[any Channel]>([])
        let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { channel in
                accepted.withLockedValue { $0.append(channel) }
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        var configuration = HTTP2Configuration()
        configuration.pingInterval = .seconds(1)
        configuration.pingTimeout = .seconds(1)
        let client = try await HTTP2ClientConnection.connect(
            host: "127.0.0.1", port: silent.localAddress!.port!, configuration: configuration)
        let stream = try await client.openStream(method: "GET", path: "/hello", endStream: true)
        let started = ContinuousClock.now
        // Without the keepalive the wait would never end: a watchdog closes the connection at
        // 20 s, which fails the stream too, but late enough to fail the test.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(20))
            try await client.close()
        }
        await #expect(throws: HTTP2Error.self) { _ = try await stream.response() }
        let waited = ContinuousClock.now - started
        watchdog.cancel()
        // The PING goes out at the first once-a-second check (1 s after connecting), the close at
        // the next.
        #expect(waited >= .seconds(1) && waited < .seconds(15), "failed after \(waited)")
        #expect(await client.isUsable == false)
        for channel in accepted.withLockedValue({ $0 }) { try? await channel.close() }
        try await silent.close()
    }

    @Test func largeRequestBodyWithBackpressure() async throws {
        try await withTestServer { port in
            let client = try await HTTP2ClientConnection.connect(host: "127.0.0.1", port: port)
            let stream = try await client.openStream(method: "POST", path: "/echo")
            let chunk = ByteBuffer(bytes: (0..<(256 << 10)).map { UInt8(truncatingIfNeeded: $0) })
            // 64 MiB up while reading it back concurrently: both directions under flow control.
            async let received: Int = {
                var total = 0
                for try await part in stream.body { total += part.readableBytes }
                return total
            }()
            for _ in 0..<256 { try await stream.writeBody(chunk) }
            try await stream.finish()
            #expect(try await received == 256 * (256 << 10))
            try await client.close()
        }
    }
}

/// `payload` sent to `/echo` on `client`, and what came back.
private func echo(_ payload: ByteBuffer, on client: HTTP2ClientConnection) async throws -> ByteBuffer {
    let stream = try await client.openStream(method: "POST", path: "/echo")
    try await stream.writeBody(payload)
    try await stream.finish()
    #expect(try await stream.response()[":status"] == "200")
    return try await stream.body.collect(upTo: 1 << 20)
}

/// Four uploads at once on one connection whose window is 96 KiB (64 KiB per stream), then an
/// echo of 24 KiB, which needs back window the uploads took: fails (after 10 s) if they kept it.
private func fourUploadsThenAnEcho(_ upload: @escaping @Sendable (HTTP2ClientConnection) async throws -> Void)
    async throws
{
    var configuration = HTTP2Configuration()
    configuration.initialWindowSize = 64 << 10
    configuration.connectionWindowSize = 96 << 10
    try await withTestServer(configuration: configuration) { port in
        let client = try await HTTP2ClientConnection.connect(host: "127.0.0.1", port: port)
        // Uploads that stall (waiting for window the server never gives back) fail the test:
        // after 10 s the connection is closed, which fails their writes.
        let stalled = Flag()
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withTaskGroup(of: Void.self) { uploads in
                    for _ in 0..<4 {
                        uploads.addTask {
                            do { try await upload(client) } catch { Issue.record(error, "an upload failed") }
                        }
                    }
                }
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(10))
                guard !Task.isCancelled else { return }
                stalled.set()
                try? await client.close()
            }
            await group.next()
            group.cancelAll()
        }
        #expect(!stalled.isSet, "the uploads stalled")
        guard !stalled.isSet else { return }
        let payload = ByteBuffer(repeating: 9, count: 24 << 10)
        let echoed = try await within(seconds: 10) { try await echo(payload, on: client) }
        #expect(echoed == payload, "the echo waited for window the uploads kept")
        try? await client.close()
    }
}

/// What `POST /body-outcome` with x-key `key` says of its body once `done` holds of it (asked
/// every 20 ms, for 5 s at most), or the last thing it said.
private func bodyOutcome(
    _ key: String, on client: HTTP2ClientConnection, until done: (String) -> Bool
) async throws -> String? {
    var outcome: String?
    for _ in 0..<250 {
        let probe = try await client.openStream(
            method: "GET", path: "/body-outcome", headers: ["x-key": key], endStream: true)
        let head = try await probe.response()
        if head[":status"] == "200", let said = head["x-outcome"] {
            outcome = said
            if done(said) { break }
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    return outcome
}

/// A flag any task may set once and any task read.
private final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    var isSet: Bool { value.load(ordering: .relaxed) }
}
