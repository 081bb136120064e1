import ExecboxSandbox
import ExecboxSandboxAgentProtocol
import Glibc
import Testing

@testable import ExecboxSandboxRunc

/// The in-sandbox exec agent (`ExecboxSandboxAgent`, each runc sandbox's pid 1): execs are its
/// children and keep every confinement runc gave the init; the backend falls back to `runc exec`
/// when the agent's socket is gone, never follows what the sandbox put in its place, and survives a
/// fake agent. And the agent binary itself against malformed requests.
@Suite(.enabled(if: RuncTestSupport.enabled, "needs root and runc"), .serialized, .timeLimit(.minutes(3)))
struct RuncAgentTests {
    typealias Support = RuncTestSupport

    static func withSandbox(_ body: (RuncBackend, SandboxID) async throws -> Void) async throws {
        try await Support.withBackend(runtime: .runc) { backend in
            #expect(backend.agentPath != nil, "ExecboxSandboxAgent is built next to the tests")
            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec())
            try await body(backend, id)
            _ = try await backend.kill(id)
        }
    }

    @Test func execsAreTheAgentsChildrenWithTheInitsConfinement() async throws {
        try await Self.withSandbox { backend, id in
            // `runc exec` would give a parent outside the sandbox's pid namespace (PPid 0).
            #expect(try await Support.sh(backend, id, "echo $PPID").stdoutText == "1\n")
            let fields = "grep -E '^(Uid|Gid|Groups|Seccomp|NoNewPrivs|Cap(Inh|Prm|Eff|Bnd|Amb)):'"
            let own = try await Support.sh(backend, id, "\(fields) /proc/self/status; cat /proc/self/cgroup")
            let initial = try await Support.sh(backend, id, "\(fields) /proc/1/status; cat /proc/1/cgroup")
            #expect(own.exit == .exited(0))
            #expect(own.stdoutText == initial.stdoutText)
            #expect(own.stdoutText.contains("Seccomp:\t2"))
            #expect(own.stdoutText.contains("NoNewPrivs:\t1"))
            // The agent's own descriptors (its socket, signalfd) do not leak into a process.
            let descriptors = try await Support.sh(backend, id, "ls /proc/self/fd")
            #expect(descriptors.stdoutText.split(separator: "\n").sorted() == ["0", "1", "2", "3"])
        }
    }

    /// The agent directory is writable from inside, so it is a tiny tmpfs of its own: code inside
    /// cannot fill the host's `/run` through it.
    @Test func theAgentDirectoryIsATinyFilesystemOfItsOwn() async throws {
        try await Self.withSandbox { backend, id in
            let fill = try await Support.sh(backend, id, "head -c 1048576 /dev/zero > /dev/.execbox/fill")
            #expect(fill.exit == .exited(1))
            #expect(fill.stderrText.contains("No space left"))
            let directory = open(
                "\(backend.configuration.sandboxDirectory)/\(id.rawValue)/agent", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            #expect(directory >= 0 && LinuxCalls.filesystemType(directory) == 0x0102_1994, "a tmpfs (TMPFS_MAGIC)")
            close(directory)
            // Execs still work with the directory full.
            #expect(try await Support.sh(backend, id, "echo $PPID").stdoutText == "1\n")
        }
    }

    /// A relative PATH entry is relative to the process's working directory, as for `runc exec`.
    @Test func relativePathEntriesFollowTheWorkingDirectory() async throws {
        try await Self.withSandbox { backend, id in
            let setup = "mkdir -p /workspace/tools && printf '#!/bin/sh\\necho relative\\n' > /workspace/tools/hello"
            #expect(try await Support.sh(backend, id, setup + " && chmod +x /workspace/tools/hello").exit == .exited(0))
            let output = try await Support.run(backend, id, ["hello"]) {
                $0.environment = ["PATH": "tools:/usr/bin:/bin"]
                $0.workingDirectory = "/workspace"
            }
            #expect(output.stdoutText == "relative\n")
            #expect(output.exit == .exited(0))
        }
    }

    @Test func aRemovedSocketFallsBackToRuncExec() async throws {
        try await Self.withSandbox { backend, id in
            #expect(try await Support.sh(backend, id, "rm /dev/.execbox/agent.sock").exit == .exited(0))
            let output = try await Support.sh(backend, id, "echo $PPID; exit 3")
            #expect(output.stdoutText == "0\n")
            #expect(output.exit == .exited(3))
        }
    }

    /// The sandbox replaces the socket with a symlink to a socket of the host: the backend must not
    /// connect to it (it opens the socket file without following links), and still runs the exec.
    @Test func aSymlinkPlantedForTheSocketIsNeverFollowed() async throws {
        let trapPath = "/tmp/execbox-agent-trap-\(SandboxID.random().rawValue).sock"
        let trap = try Self.listen(at: trapPath)
        defer {
            close(trap)
            unlink(trapPath)
        }
        try await Self.withSandbox { backend, id in
            let plant = "rm /dev/.execbox/agent.sock && ln -s \(trapPath) /dev/.execbox/agent.sock"
            #expect(try await Support.sh(backend, id, plant).exit == .exited(0))
            let output = try await Support.sh(backend, id, "echo ran")
            #expect(output.stdoutText == "ran\n")
            #expect(output.exit == .exited(0))
        }
        #expect(accept(trap, nil, nil) < 0 && errno == EAGAIN, "the host's socket was never connected to")
    }

    /// Code in the sandbox puts its own listener where the agent's was: one that answers nonsense
    /// and one that never answers. Each exec fails with UNAVAILABLE (the second after the reply
    /// timeout), and the backend goes on serving the sandbox.
    @Test func aFakeAgentCannotHangOrCrashTheBackend() async throws {
        try await Self.withSandbox { backend, id in
            for (reply, name) in [("b'started 1\\n'", "nonsense"), ("b''", "silent")] {
                // It answers one connection, then removes its socket (later execs use runc exec).
                let script = """
                    import os, socket, time
                    path = '/dev/.execbox/agent.sock'
                    if os.path.lexists(path): os.unlink(path)
                    listener = socket.socket(socket.AF_UNIX)
                    listener.bind(path)
                    listener.listen(8)
                    open('/tmp/fake-ready', 'w').close()
                    connection, _ = listener.accept()
                    listener.close()
                    os.unlink(path)
                    connection.recv(65536)
                    if \(reply): connection.sendall(\(reply))
                    time.sleep(30)
                    """
                _ = try await backend.startExec(id, ExecSpec(argv: ["python3", "-c", script]))
                var ready = false
                for _ in 0..<200 where !ready {
                    // (Through the file API: an exec now would reach the fake.)
                    ready = (try? await backend.stat(id, path: "/tmp/fake-ready")) != nil
                    if !ready { try await Task.sleep(for: .milliseconds(25)) }
                }
                #expect(ready, "the \(name) fake agent listens")
                let start = ContinuousClock.now
                await #expect(throws: SandboxError.self, "a \(name) fake agent") {
                    _ = try await Support.run(backend, id, ["true"])
                }
                #expect(ContinuousClock.now - start < .seconds(15))
                // Its socket removed, execs go through runc exec.
                #expect(try await Support.sh(backend, id, "rm /tmp/fake-ready; echo alive").stdoutText == "alive\n")
            }
            #expect(try await backend.get(id).state == .running)
        }
    }

    @Test func exitLinesAreParsedStrictly() {
        #expect(SandboxAgentClient.parseExit(Array("exited 0".utf8)) == .exited(0))
        #expect(SandboxAgentClient.parseExit(Array("exited 255".utf8)) == .exited(255))
        #expect(SandboxAgentClient.parseExit(Array("signaled 9".utf8)) == .signaled(9))
        for bad in ["exited 256", "exited -1", "signaled 0", "signaled 65", "exited", "exited 1 2", "started 3", ""] {
            #expect(SandboxAgentClient.parseExit(Array(bad.utf8)) == nil, "\(bad)")
        }
    }

    /// The agent binary outside a sandbox (it makes itself a child subreaper there): malformed
    /// requests are answered `failed …` and the agent goes on serving.
    @Test func theAgentRefusesMalformedRequestsAndKeepsServing() async throws {
        let agent = try #require(RuncBackend.findAgent(RuncBackendConfiguration()))
        let directory = "/tmp/execbox-agent-test-\(SandboxID.random().rawValue)"
        mkdir(directory, 0o700)
        defer {
            unlink("\(directory)/agent.sock")
            rmdir(directory)
        }
        let process = try ChildProcess.spawn(
            [agent, "\(directory)/agent.sock"], environment: [], stdin: DevNull.fd, stdout: DevNull.fd,
            stderr: DevNull.fd)
        defer {
            process.signal(SIGTERM)
            for _ in 0..<200 where process.poll() == nil { usleep(10_000) }
        }
        var listening = false
        for _ in 0..<400 where !listening {
            listening = access("\(directory)/agent.sock", F_OK) == 0
            if !listening { try await Task.sleep(for: .milliseconds(5)) }
        }
        try #require(listening)

        func exchange(_ bytes: [UInt8]) throws -> String {
            let fd = try SandboxAgentClient.connect(directory: directory)
            defer { close(fd) }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            shutdown(fd, Int32(SHUT_WR))
            var reply: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 256)
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { break }
                reply += buffer[0..<count]
            }
            return String(decoding: reply, as: UTF8.self)
        }
        func length(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(value >> (8 * UInt32($0)) & 0xff) } }
        /// NUL-separated fields (each field's own NUL included), framed with their length.
        func framed(_ fields: [String]) -> [UInt8] {
            let body: [UInt8] = fields.flatMap { Array($0.utf8) + [UInt8(0)] }
            return length(UInt32(body.count)) + body
        }
        let good = AgentRequest(arguments: ["true"], environment: [], workingDirectory: "/")
        let body = Array(good.encoded.dropFirst(4))
        let malformed: [(String, [UInt8])] = [
            ("nothing", []),
            ("a short length", [1, 0]),
            ("a huge length", length(UInt32.max)),
            ("a truncated body", length(100) + Array("pipes".utf8)),
            ("no terminating NUL", length(UInt32(body.count - 1)) + body.dropLast()),
            ("an unknown mode", framed(["what", "0", "0", "/", "1", "true", "0"])),
            ("a size that is no number", framed(["pipes", "x", "0", "/", "1", "true", "0"])),
            ("an argument count beyond the fields", framed(["pipes", "0", "0", "/", "9", "true", "0"])),
            ("no arguments", framed(["pipes", "0", "0", "/", "0", "0"])),
            ("fields after the environment", framed(["pipes", "0", "0", "/", "1", "true", "0", "extra"])),
            ("pipes without descriptors", good.encoded),
        ]
        for (name, bytes) in malformed {
            let reply = try exchange(bytes)
            #expect(reply.hasPrefix("failed "), "\(name): \(reply.debugDescription)")
        }
        // A caller that connects and says nothing holds the agent up for its 2 s receive timeout at most.
        let silent = try SandboxAgentClient.connect(directory: directory)
        defer { close(silent) }
        let start = ContinuousClock.now
        let connection = try SandboxAgentClient.connect(directory: directory)
        let outcome = try await SandboxAgentClient.start(
            good, stdio: [DevNull.fd, DevNull.fd, DevNull.fd], on: connection)
        guard case .started(let started) = outcome else {
            Issue.record("a good request after the malformed ones: \(outcome)")
            return
        }
        #expect(ContinuousClock.now - start < .seconds(4))
        let child = try ChildProcess(agentStarted: started)
        #expect(try await child.wait() == .exited(0))
    }

    /// A listening Unix socket at `path` (non-blocking), for the symlink trap.
    static func listen(at path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        try #require(fd >= 0 && bound == 0 && Glibc.listen(fd, 4) == 0)
        chmod(path, 0o777)
        return fd
    }
}

/// The agent's wire format on its own (no sandbox needed).
@Suite struct AgentProtocolTests {
    @Test func requestsRoundTrip() {
        let requests = [
            AgentRequest(arguments: ["true"], environment: [], workingDirectory: "/"),
            AgentRequest(
                arguments: ["sh", "-c", "echo 'a b'", ""], environment: ["PATH=/bin", "EMPTY="],
                workingDirectory: "/workspace/ü", terminal: .init(rows: 24, columns: 80)),
        ]
        for request in requests {
            let encoded = request.encoded
            #expect(AgentRequest.bodyLength(encoded[...]) == encoded.count - 4)
            #expect(AgentRequest(body: encoded.dropFirst(4)) == request)
        }
        #expect(AgentRequest.bodyLength(AgentRequest.lengthPrefix(AgentRequest.maximumLength + 1)[...]) == nil)
        for bad in [
            ["pipes", "0", "0", "/", "1", "true"], ["pipes", "-1", "0", "/", "1", "true", "0"],
            ["pipes", "0", "+0", "/", "1", "true", "0"], ["pipes", "0", "65536", "/", "1", "true", "0"],
        ] {
            let body = bad.flatMap { Array($0.utf8) + [UInt8(0)] }
            #expect(AgentRequest(body: body[...]) == nil, "\(bad)")
        }
    }

    @Test func repliesRoundTripAndAreStrict() {
        let replies: [AgentReply] = [
            .started(pid: 42), .started(pid: nil), .failed(reason: "exec: no such file"), .exited(code: 0),
            .exited(code: 255), .signaled(signal: 9),
        ]
        for reply in replies {
            #expect(AgentReply(line: Array(reply.line.utf8.dropLast())[...]) == reply)
        }
        #expect(AgentReply.failed(reason: "two\nlines").line == "failed two lines\n")
        // Found by FuzzAgentProtocol: "\r\n" is one Character, neither "\r" nor "\n"; a reason that
        // starts with a combining mark; a reason longer than a line, cut at a character boundary.
        #expect(AgentReply.failed(reason: "a\r\nb").line == "failed a  b\n")
        let combining = AgentReply.failed(reason: "\u{301}x")
        #expect(AgentReply(line: Array(combining.line.utf8.dropLast())[...]) == combining)
        let long = AgentReply.failed(reason: String(repeating: "é", count: AgentReply.maximumLine))
        let longLine = Array(long.line.utf8.dropLast())
        #expect(longLine.count <= AgentReply.maximumLine)
        // The backend counts the newline in the line it accepts.
        let ascii = AgentReply.failed(reason: String(repeating: "x", count: AgentReply.maximumLine))
        #expect(ascii.line.utf8.count == AgentReply.maximumLine)
        guard case .failed(let cut)? = AgentReply(line: longLine[...]) else {
            Issue.record("a long reason's line does not parse")
            return
        }
        #expect(cut.allSatisfy { $0 == "é" } && cut.utf8.count == AgentReply.maximumLine - "failed ".utf8.count - 1)
        for bad in [
            "exited 256", "exited -1", "signaled 0", "signaled 65", "exited", "exited 1 2", "started", "", "ok",
        ] {
            #expect(AgentReply(line: Array(bad.utf8)[...]) == nil, "\(bad)")
        }
    }
}
