import ExecboxSandbox
import ExecboxSandboxRunc
import Foundation
import Glibc
import Testing

/// Network modes against real runc, veths and nftables. "The internet" is a network namespace the
/// test makes, reached from the host through a veth (203.0.113.0/30, TEST-NET-3) and also holding
/// 169.254.169.254, with a TCP listener on both that greets every connection.
@Suite(.enabled(if: RuncTestSupport.enabled, "needs root and runc"), .serialized, .timeLimit(.minutes(3)))
struct RuncNetworkTests {
    typealias Support = RuncTestSupport

    static let ip = "/usr/sbin/ip"
    static let upstreamAddress = "203.0.113.2"
    static let metadataAddress = "169.254.169.254"

    /// A TCP server that writes `greeting` to every connection; prints its port first.
    static let listener = """
        import socket, sys, threading
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((sys.argv[1], 0))
        server.listen(64)
        print(server.getsockname()[1], flush=True)
        while True:
            connection, _ = server.accept()
            connection.sendall(sys.argv[2].encode() + b"\\n")
            connection.close()
        """

    /// Inside a sandbox: one line per `host:port`, `ok <greeting>` or `error <exception> <errno>`.
    static let probe = """
        import socket, sys
        for target in sys.argv[1:]:
            host, port = target.rsplit(":", 1)
            try:
                s = socket.create_connection((host, int(port)), timeout=3)
                s.settimeout(3)
                print(target, "ok", s.recv(100).decode().strip())
            except Exception as e:
                print(target, "error", type(e).__name__, getattr(e, "errno", None))
        """

    /// The fake internet: a namespace with a veth to the host, 169.254.169.254 on its loopback, a
    /// host route to that address through it, and a listener on all its addresses.
    final class Upstream {
        let namespace: String
        let interface: String
        let listener: TestHostProcess
        let port: Int

        init() async throws {
            let tag = String(SandboxID.random().rawValue.dropFirst(4).prefix(6))
            namespace = "ebxup-\(tag)"
            interface = "eu\(tag)"
            for command in [
                ["netns", "add", namespace],
                ["link", "add", interface, "type", "veth", "peer", "name", "up0", "netns", namespace],
                ["addr", "add", "203.0.113.1/30", "dev", interface], ["link", "set", interface, "up"],
                ["-n", namespace, "addr", "add", "\(upstreamAddress)/30", "dev", "up0"],
                ["-n", namespace, "link", "set", "up0", "up"], ["-n", namespace, "link", "set", "lo", "up"],
                ["-n", namespace, "addr", "add", "\(metadataAddress)/32", "dev", "lo"],
                ["-n", namespace, "route", "add", "default", "via", "203.0.113.1"],
                ["route", "add", "\(metadataAddress)/32", "via", upstreamAddress],
            ] {
                try Self.ip(command)
            }
            listener = try TestHostProcess(
                executable: RuncNetworkTests.ip,
                ["netns", "exec", namespace, "python3", "-c", RuncNetworkTests.listener, "0.0.0.0", "upstream"]
            )
            port = Int(try listener.readLine()) ?? 0
        }

        static func ip(_ arguments: [String]) throws {
            let process = try TestHostProcess(executable: RuncNetworkTests.ip, arguments)
            _ = try? process.readLine()
            var status: Int32 = 0
            waitpid(process.pid, &status, 0)
        }

        func remove() {
            listener.crash()
            try? Self.ip(["route", "del", "\(metadataAddress)/32"])
            try? Self.ip(["link", "del", interface])
            try? Self.ip(["netns", "del", namespace])
        }
    }

    static func withUpstream(_ body: (Upstream) async throws -> Void) async throws {
        let upstream = try await Upstream()
        defer { upstream.remove() }
        try await body(upstream)
    }

    static func probe(_ backend: RuncBackend, _ id: SandboxID, _ targets: [String]) async throws -> [String: String] {
        let output = try await Support.run(backend, id, ["python3", "-c", Self.probe] + targets)
        var results: [String: String] = [:]
        for line in output.stdoutText.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { results[String(parts[0])] = String(parts[1]) }
        }
        #expect(results.count == targets.count, "\(output.stdoutText) \(output.stderrText)")
        return results
    }

    /// Connects from the host and returns the first line the server sends (nil if it cannot).
    static func hostRead(_ address: String, _ port: Int) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = UInt16(port).bigEndian
        inet_pton(AF_INET, address, &target.sin_addr)
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .newlines)
    }

    @Test(arguments: Support.runtimes) func outgoingReachesOutButNotTheHostOrMetadata(runtime: Support.Runtime)
        async throws
    {
        try await Support.withBackend(runtime: runtime) { backend in
            try await Self.withUpstream { upstream in
                let port = upstream.port
                #expect(Self.hostRead(Self.upstreamAddress, port) == "upstream", "the fake internet works")
                #expect(Self.hostRead(Self.metadataAddress, port) == "upstream", "so does the metadata listener")
                // Host services: one on loopback only, one on every address.
                let loopback = try TestHostProcess(
                    executable: "/usr/bin/python3", ["-c", Self.listener, "127.0.0.1", "host"])
                let everywhere = try TestHostProcess(
                    executable: "/usr/bin/python3", ["-c", Self.listener, "0.0.0.0", "host"])
                let loopbackPort = try loopback.readLine()
                let everywherePort = try everywhere.readLine()
                let id = SandboxID.random()
                let start = ContinuousClock.now
                _ = try await backend.create(id, SandboxSpec(network: .outgoing))
                let created = ContinuousClock.now - start
                let gateway = try await Support.sh(backend, id, "ip route | awk '/default/ { print $3 }'").stdoutText
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                #expect(gateway.hasPrefix("10.89."), "\(gateway)")
                let probeStart = ContinuousClock.now
                let results = try await Self.probe(
                    backend, id,
                    [
                        "\(Self.upstreamAddress):\(port)", "\(Self.metadataAddress):\(port)",
                        "127.0.0.1:\(loopbackPort)", "\(gateway):\(everywherePort)", "192.0.2.2:\(everywherePort)",
                        "\(gateway):\(loopbackPort)",
                    ])
                let probed = ContinuousClock.now - probeStart
                #expect(results["\(Self.upstreamAddress):\(port)"] == "ok upstream")
                for target in [
                    "\(Self.metadataAddress):\(port)", "127.0.0.1:\(loopbackPort)", "\(gateway):\(everywherePort)",
                    "192.0.2.2:\(everywherePort)", "\(gateway):\(loopbackPort)",
                ] {
                    #expect(
                        results[target] == "error ConnectionRefusedError 111", "\(target): \(results[target] ?? "-")")
                }
                // Each refusal above is ECONNREFUSED, which already tells it from a dropped packet's
                // timeout; the bound only catches a hang (it took 5.4 s once on the loaded CI machine).
                #expect(probed < .seconds(20), "refusals are fast, not timeouts: \(probed)")
                let resolv = try await backend.readFile(id, path: "/etc/resolv.conf", offset: 0, length: 4096)
                #expect(String(decoding: resolv, as: UTF8.self).hasPrefix("nameserver "))
                print("TIMING outgoing create \(created)")
                _ = try await backend.kill(id)
                loopback.crash()
                everywhere.crash()
            }
        }
    }

    @Test(arguments: Support.runtimes) func sandboxesCannotReachEachOther(runtime: Support.Runtime) async throws {
        try await Support.withBackend(runtime: runtime) { backend in
            let a = SandboxID.random()
            let b = SandboxID.random()
            _ = try await backend.create(a, SandboxSpec(network: .outgoing))
            _ = try await backend.create(b, SandboxSpec(network: .outgoing))
            let server = try await backend.startExec(
                a, ExecSpec(argv: ["python3", "-c", Self.listener, "0.0.0.0", "a"]))
            var port = ""
            try await backend.attachExec(a, server.id, from: 0) { process in
                if case .stdout(let bytes) = try await process.nextEvent() {
                    port = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                }
            }
            let address = try await Support.sh(backend, a, "ip -4 -o addr show eth0 | awk '{ print $4 }' | cut -d/ -f1")
                .stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
            let own = try await Self.probe(backend, a, ["\(address):\(port)"])
            #expect(own["\(address):\(port)"] == "ok a", "a reaches itself")
            let other = try await Self.probe(backend, b, ["\(address):\(port)"])
            #expect(other["\(address):\(port)"]?.hasPrefix("error") == true, "\(other)")
        }
    }

    @Test(arguments: Support.runtimes) func noneCannotConnectAnywhere(runtime: Support.Runtime) async throws {
        try await Support.withBackend(runtime: runtime) { backend in
            try await Self.withUpstream { upstream in
                let id = SandboxID.random()
                _ = try await backend.create(id, SandboxSpec(network: .none))
                let targets = [
                    "\(Self.upstreamAddress):\(upstream.port)", "\(Self.metadataAddress):\(upstream.port)",
                    "192.0.2.2:22",
                ]
                let results = try await Self.probe(backend, id, targets)
                // gVisor's network stack answers EHOSTUNREACH where Linux says ENETUNREACH.
                let unreachable = runtime == .runsc ? "error OSError 113" : "error OSError 101"
                for target in targets {
                    #expect(results[target] == unreachable, "\(target): \(results[target] ?? "-")")
                }
                let resolv = try await backend.readFile(id, path: "/etc/resolv.conf", offset: 0, length: 4096)
                #expect(resolv.isEmpty, "no DNS in none mode")
            }
        }
    }

    @Test(arguments: Support.runtimes) func exposedPortIsReachableFromTheHostLoopback(runtime: Support.Runtime)
        async throws
    {
        try await Support.withBackend(runtime: runtime) { backend in
            let id = SandboxID.random()
            await #expect(throws: SandboxError.self) {
                try await backend.create(SandboxID.random(), SandboxSpec(network: .outgoing, exposedPorts: [8000]))
            }
            _ = try await backend.create(id, SandboxSpec(network: .exposed, exposedPorts: [8000]))
            let server = try await backend.startExec(
                id,
                ExecSpec(argv: [
                    "python3", "-c",
                    Self.listener.replacingOccurrences(of: "(sys.argv[1], 0)", with: "(sys.argv[1], 8000)"), "0.0.0.0",
                    "from the sandbox",
                ]))
            while try await backend.execInfo(id, server.id).outputBytes == 0 {
                try await Task.sleep(for: .milliseconds(5))
            }
            let url = try await backend.portURL(id, port: 8000)
            #expect(url.hasPrefix("http://127.0.0.1:"))
            let hostPort = Int(url.split(separator: ":").last ?? "") ?? 0
            #expect(Self.hostRead("127.0.0.1", hostPort) == "from the sandbox")
            do {
                _ = try await backend.portURL(id, port: 9000)
                Issue.record("expected NOT_FOUND")
            } catch let error as SandboxError {
                #expect(error.code == .notFound)
            }
            _ = try await backend.kill(id)
            #expect(Self.hostRead("127.0.0.1", hostPort) == nil, "the port is closed with the sandbox")
        }
    }
}
