import ExecboxSandbox
import ExecboxSandboxRunc
import Glibc
import Testing

/// Files from the host into a running sandbox, resolved inside its root (TESTPLAN 35b, 106).
@Suite(.enabled(if: RuncTestSupport.enabled, "needs root and runc"), .serialized, .timeLimit(.minutes(3)))
struct RuncFileTests {
    typealias Support = RuncTestSupport

    @Test(arguments: Support.runtimes) func writeThenReadAndUseInside(runtime: Support.Runtime) async throws {
        try await RuncExecTests.withSandbox(runtime: runtime) { backend, id in
            let contents = Array("hello from the host\n".utf8)
            let info = try await backend.writeFile(
                id,
                path: "/workspace/a/b/c.txt",
                contents: contents,
                mode: 0o640,
                createParents: true
            )
            #expect(info.kind == .file && info.size == contents.count && info.mode == 0o640)
            let inside = try await Support.sh(
                backend,
                id,
                Support.statShim(runtime)
                    + "cat /workspace/a/b/c.txt; stat -c '%U %a' /workspace/a/b/c.txt /workspace/a; "
                    + "echo more >> /workspace/a/b/c.txt"
            )
            #expect(inside.stdoutText == "hello from the host\nroot 640\nroot 755\n", "\(inside.stderrText)")
            let read = try await backend.readFile(id, path: "/workspace/a/b/c.txt", offset: 6, length: 100)
            #expect(String(decoding: read, as: UTF8.self) == "from the host\nmore\n")
            #expect(try await backend.stat(id, path: "/workspace/a").kind == .directory)
            await #expect(throws: SandboxError.self) {
                try await backend.readFile(id, path: "/workspace/missing", offset: 0, length: 1)
            }
        }
    }

    @Test(arguments: Support.runtimes) func pathsCannotLeaveTheSandbox(runtime: Support.Runtime) async throws {
        try await RuncExecTests.withSandbox(runtime: runtime) { backend, id in
            let hostname = try await Support.sh(backend, id, "cat /etc/hostname").stdout
            // `..` stops at the sandbox's root: this is the sandbox's own /etc/hostname.
            let dotdot = try await backend.readFile(
                id, path: "/workspace/../../../etc/hostname", offset: 0, length: 4096)
            #expect(dotdot == hostname)
            // The root is read-only for the API too.
            do {
                _ = try await backend.writeFile(
                    id, path: "/../../etc/passwd", contents: [1], mode: 0o644, createParents: false)
                Issue.record("wrote /etc/passwd")
            } catch let error as SandboxError {
                #expect(error.code == .failedPrecondition)
            }
            // Symlinks planted inside: absolute ones resolve inside, magic links are refused.
            _ = try await Support.sh(
                backend,
                id,
                "ln -s /../../../etc/hostname /workspace/abs; ln -s /proc/1/root/etc/shadow /workspace/magic; "
                    + "ln -s /proc/self/root/etc/hostname /workspace/self"
            )
            #expect(try await backend.readFile(id, path: "/workspace/abs", offset: 0, length: 4096) == hostname)
            for path in ["/workspace/magic", "/workspace/self"] {
                do {
                    let bytes = try await backend.readFile(id, path: path, offset: 0, length: 4096)
                    Issue.record("read \(bytes.count) bytes through \(path)")
                } catch let error as SandboxError {
                    // A magic link is refused; /proc/self names the server's pid, which the sandbox's
                    // procfs does not have.
                    #expect(error.code == .invalidArgument || error.code == .notFound, "\(error)")
                }
            }
            // Writing through a planted symlink never creates a host file.
            _ = try await Support.sh(backend, id, "ln -s /tmp/../../../../tmp/execbox-escape /workspace/out")
            _ = try? await backend.writeFile(
                id, path: "/workspace/out", contents: [1], mode: 0o644, createParents: false)
            #expect(access("/tmp/execbox-escape", F_OK) != 0)
        }
    }
}
