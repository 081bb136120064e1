import ExecboxSandbox
import ExecboxSandboxRunc
import Glibc
import Testing

@Suite(.enabled(if: RuncTestSupport.enabled, "needs root and runc"), .serialized)
struct RuncLifecycleTests {
    @Test func echoHi() async throws {
        try await RuncTestSupport.withBackend { backend in
            let id = SandboxID.random()
            let info = try await backend.create(id, SandboxSpec())
            #expect(info.state == .running)
            let output = try await RuncTestSupport.sh(backend, id, "echo hi")
            #expect(output.stdoutText == "hi\n")
            #expect(output.stderr.isEmpty)
            #expect(output.exit == .exited(0))
            let killed = try await backend.kill(id)
            #expect(killed.state == .killed)
        }
    }
}
