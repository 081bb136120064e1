import ExecboxSandbox
import ExecboxSandboxRunc
import Foundation
import Glibc
import Synchronization
import Testing

/// Images on the runc backend: an OCI layout made here is imported (checked, unpacked, whiteouts
/// converted), sessions run on an overlay of its layers with its entrypoint, command, environment,
/// working directory and user, write to their own upper layer only, and builds add a layer.
@Suite(
    .enabled(if: RuncTestSupport.enabled && TestImages.hasBusybox, "needs root, runc and busybox-static"),
    .timeLimit(.minutes(5)))
struct RuncImageTests {
    typealias Support = RuncTestSupport

    /// Two layers: a busybox root, then one that deletes /app/greeting (an OCI whiteout) and adds
    /// /app/second.
    static func makeLayout(config: TestImages.Config, in directory: String, gzip: Bool = true) throws -> String {
        try TestImages.busyboxRoot(at: "\(directory)/base")
        try FileManager.default.createDirectory(atPath: "\(directory)/top/app", withIntermediateDirectories: true)
        try "".write(toFile: "\(directory)/top/app/.wh.greeting", atomically: false, encoding: .utf8)
        try "second\n".write(toFile: "\(directory)/top/app/second", atomically: false, encoding: .utf8)
        let layout = "\(directory)/layout"
        try TestImages.layout(
            at: layout, layers: ["\(directory)/base", "\(directory)/top"], config: config, gzip: gzip)
        return layout
    }

    static func withImageBackend(
        runtime: Support.Runtime = .runc, _ body: (RuncBackend, LocalImages, String) async throws -> Void
    ) async throws {
        let scratch = try TestImages.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let storeDirectory = "\(scratch)/store"
        try await Support.withBackend(runtime: runtime, { $0.imageStoreDirectory = storeDirectory }) { backend in
            try await body(backend, try LocalImages(directory: storeDirectory), scratch)
        }
    }

    static func attachMain(_ backend: RuncBackend, _ id: SandboxID) async throws -> Support.Output {
        try await backend.attach(id) { process in
            var output = Support.Output()
            for try await event in process.events {
                switch event {
                case .stdout(let bytes): output.stdout += bytes
                case .stderr(let bytes): output.stderr += bytes
                case .exit(let exit): output.exit = exit
                }
            }
            return output
        }
    }

    /// The image's entrypoint and command run as the main process, in its working directory, with
    /// its environment; a whiteout of the upper layer hides the lower layer's file.
    @Test(arguments: Support.runtimes) func importedImageRunsWithItsConfig(runtime: Support.Runtime) async throws {
        try await Self.withImageBackend(runtime: runtime) { backend, images, scratch in
            let layout = try Self.makeLayout(
                config: .init(
                    entrypoint: ["/bin/sh", "-c"], cmd: ["echo from-cmd; pwd; id -u; echo $GREETING; cat /app/second"],
                    env: ["GREETING=hi-from-env", "PATH=/bin"], workingDir: "/app"),
                in: scratch)
            let image = try await images.importImage(from: layout, name: "busybox:test")
            #expect(image.layers == 2)
            #expect(image.entrypoint == ["/bin/sh", "-c"])
            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec(image: "busybox:test", workingDirectory: ""))
            let output = try await Self.attachMain(backend, id)
            #expect(output.stdoutText == "from-cmd\n/app\n0\nhi-from-env\nsecond\n", "stderr: \(output.stderrText)")
            #expect(output.exit == .exited(0))
            let other = SandboxID.random()
            _ = try await backend.create(
                other,
                SandboxSpec(image: "busybox:test", environment: ["GREETING": "override"], command: ["sleep", "100"]))
            let shell = try await Support.sh(
                backend, other, "echo $GREETING; ls /app; cat /app/greeting 2>/dev/null || echo greeting-gone")
            #expect(shell.stdoutText == "override\nsecond\ngreeting-gone\n", "stderr: \(shell.stderrText)")
            _ = try await backend.kill(other)
        }
    }

    /// A session's writes land in its own upper layer: the stored layers stay as imported, another
    /// session does not see them, and they are gone with the session. The image's user runs the
    /// processes.
    @Test func writesStayInTheSessionAndTheImageUserRuns() async throws {
        try await Self.withImageBackend { backend, images, scratch in
            let layout = try Self.makeLayout(config: .init(cmd: ["/bin/sh"]), in: scratch, gzip: false)
            _ = try await images.importImage(from: layout, name: "busybox:root")
            let first = SandboxID.random()
            _ = try await backend.create(first, SandboxSpec(image: "busybox:root", command: ["sleep", "100"]))
            let wrote = try await Support.sh(
                backend, first, "echo mine > /etc/written && rm /bin/true && cat /etc/written")
            #expect(wrote.stdoutText == "mine\n", "stderr: \(wrote.stderrText)")
            let second = SandboxID.random()
            _ = try await backend.create(second, SandboxSpec(image: "busybox:root", command: ["sleep", "100"]))
            let looked = try await Support.sh(backend, second, "cat /etc/written 2>&1; ls /bin/true")
            #expect(looked.stdoutText.contains("No such file"), "\(looked.stdoutText)")
            #expect(looked.stdoutText.contains("/bin/true"))
            let stored = try FileManager.default.contentsOfDirectory(atPath: "\(scratch)/store/layers")
            for layer in stored {
                #expect(!FileManager.default.fileExists(atPath: "\(scratch)/store/layers/\(layer)/etc/written"))
            }
            _ = try await backend.kill(first)
            _ = try await backend.kill(second)

            let userLayout = try Self.makeLayout(config: .init(cmd: ["/bin/sh"], user: "app"), in: "\(scratch)/user")
            _ = try await images.importImage(from: userLayout, name: "busybox:app")
            let third = SandboxID.random()
            _ = try await backend.create(third, SandboxSpec(image: "busybox:app", command: ["sleep", "100"]))
            let who = try await Support.run(backend, third, ["id", "-u"])
            #expect(who.stdoutText == "1000\n")
            _ = try await backend.kill(third)
        }
    }

    /// Hostile layers are refused with a clear error and nothing of them is stored.
    @Test func hostileLayersAreRefused() async throws {
        let scratch = try TestImages.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let images = try LocalImages(directory: "\(scratch)/store")
        func attempt(_ name: String, allowSetuid: Bool = false, _ prepare: (String) throws -> Void) async throws
            -> String?
        {
            let directory = "\(scratch)/\(name)"
            try TestImages.busyboxRoot(at: "\(directory)/root")
            try prepare("\(directory)/root")
            try TestImages.layout(at: "\(directory)/layout", layers: ["\(directory)/root"], config: .init())
            do {
                _ = try await images.importImage(
                    from: "\(directory)/layout", name: "hostile:\(name)", allowSetuid: allowSetuid)
                return nil
            } catch let error as SandboxError {
                #expect(error.code == .invalidArgument)
                return error.message
            }
        }
        let devNull = try await attempt("devnull") { root in
            try FileManager.default.createDirectory(atPath: "\(root)/dev", withIntermediateDirectories: true)
            symlink("/etc/passwd", "\(root)/dev/null")
        }
        #expect(devNull?.contains("dev/null") == true, "\(devNull ?? "accepted")")
        let device = try await attempt("device") { root in
            #expect(mknod("\(root)/app/console", S_IFCHR | 0o600, dev_t((5 << 8) | 1)) == 0)
        }
        #expect(device?.contains("device") == true, "\(device ?? "accepted")")
        let setuid = try await attempt("setuid") { root in chmod("\(root)/bin/busybox", 0o4755) }
        #expect(setuid?.contains("setuid") == true, "\(setuid ?? "accepted")")
        let allowed = try await attempt("allowed", allowSetuid: true) { root in chmod("\(root)/bin/busybox", 0o4755) }
        #expect(allowed == nil)
        let tmpLink = try await attempt("tmplink") { root in symlink("/etc", "\(root)/tmp") }
        #expect(tmpLink?.contains("tmp") == true, "\(tmpLink ?? "accepted")")
        // Only the allowed import left anything: one image, one layer.
        #expect(images.list().map(\.name) == ["hostile:allowed"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: "\(scratch)/store/layers").count == 1)
    }

    /// A build runs its files and setup commands in a sandbox on the base and stores what changed
    /// as one more layer (deletions included, owners as the sandbox saw them); a failing command
    /// stores nothing and says which one failed.
    @Test func buildsAddALayerAndFailuresStoreNothing() async throws {
        try await Self.withImageBackend { backend, images, scratch in
            let layout = try Self.makeLayout(config: .init(cmd: ["/bin/sh"]), in: scratch)
            _ = try await images.importImage(from: layout, name: "busybox:base")
            let name = "sha256:" + String(repeating: "ab", count: 32)
            let lines = Lines()
            let built = try await backend.buildImage(
                ImageBuildSpec(
                    name: name, base: "busybox:base",
                    files: [.init(path: "/opt/input.txt", contents: Array("from-a-file\n".utf8))],
                    setup: ["cat /opt/input.txt; echo built > /opt/built", "rm /app/second; echo to-stderr >&2"],
                    network: .none)
            ) { event in
                if case .log(let step, let stderr, let line) = event {
                    lines.append("\(step)\(stderr ? "e" : "o"):\(line)")
                }
            }
            #expect(built.layers == 3)
            #expect(lines.all == ["1o:from-a-file", "2e:to-stderr"])
            #expect(try await backend.list().isEmpty, "the build's sandbox is the backend's own")
            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec(image: name, command: ["sleep", "100"]))
            let check = try await Support.sh(
                backend, id, "cat /opt/built; stat -c %u /opt/built; ls /app; test -e /etc/hostname && echo host")
            #expect(check.stdoutText == "built\n0\nhost\n", "stderr: \(check.stderrText)")
            _ = try await backend.kill(id)

            let failing = "sha256:" + String(repeating: "cd", count: 32)
            await #expect(throws: ImageBuildFailure.self) {
                _ = try await backend.buildImage(
                    ImageBuildSpec(name: failing, base: "busybox:base", setup: ["true", "exit 3"], network: .none)
                ) { _ in }
            }
            do {
                _ = try await backend.buildImage(
                    ImageBuildSpec(name: failing, base: "busybox:base", setup: ["exit 3"], network: .none)
                ) { _ in }
            } catch let failure as ImageBuildFailure {
                #expect(failure.step == 1)
                #expect(failure.exit == .exited(3))
            }
            #expect(try await backend.imageInfo(failing) == nil)
            #expect(try await backend.listImages().map(\.name).sorted() == ["busybox:base", name])
        }
    }
}

extension RuncImageTests {
    /// The build cache keeps the layers builds added within its budget: the least recently used
    /// built image goes first (a session on an image counts as a use), never the base.
    @Test func leastRecentlyUsedBuildsAreEvictedBeyondTheBudget() async throws {
        let scratch = try TestImages.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let storeDirectory = "\(scratch)/store"
        // Each build adds about 260 KiB: two fit, three do not.
        try await Support.withBackend({
            $0.imageStoreDirectory = storeDirectory
            $0.imageCacheBytes = 600 << 10
        }) { backend in
            let images = try LocalImages(directory: storeDirectory)
            _ = try await images.importImage(
                from: try Self.makeLayout(config: .init(cmd: ["/bin/sh"]), in: scratch), name: "busybox:base")
            func build(_ tag: String) async throws -> String {
                let name = "sha256:" + String(repeating: tag, count: 64)
                _ = try await backend.buildImage(
                    ImageBuildSpec(
                        name: name, base: "busybox:base",
                        setup: ["busybox dd if=/dev/zero of=/app/\(tag) bs=1024 count=256"], network: .none)
                ) { _ in }
                return name
            }
            let a = try await build("a")
            let b = try await build("b")
            // A session on a makes b the least recently used.
            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec(image: a, command: ["true"]))
            _ = try await backend.kill(id)
            let c = try await build("c")
            let names = Set(try await backend.listImages().map(\.name))
            #expect(names == ["busybox:base", a, c])
            #expect(!names.contains(b), "the least recently used image goes first")
            let layers = try FileManager.default.contentsOfDirectory(atPath: "\(storeDirectory)/layers")
            #expect(layers.count == 4, "two base layers, a's and c's: b's layer was collected")
        }
    }
}

extension RuncImageTests {
    /// Sessions whose command waits on its stdin (an image's `CMD ["/bin/sh"]`), still running when
    /// the backend shuts down (one with a removal in flight), end: their main processes are reaped
    /// although the shutdown cancelled the reaper, so no zombie holds an init in its exit (this
    /// hung the shutdown before).
    @Test func aShellWaitingOnStdinEndsWithTheBackend() async throws {
        try await Self.withImageBackend { backend, images, scratch in
            _ = try await images.importImage(
                from: try Self.makeLayout(config: .init(cmd: ["/bin/sh"]), in: scratch), name: "busybox:sh")
            for image in ["busybox:sh", "busybox:sh", SandboxSpec.defaultImage] {
                let id = SandboxID.random()
                _ = try await backend.create(
                    id, SandboxSpec(image: image, command: image == "busybox:sh" ? [] : ["/bin/sh"]))
                let output = try await Support.run(backend, id, ["sh", "-c", "exit 3"])
                #expect(output.exit == .exited(3))
            }
            let last = SandboxID.random()
            _ = try await backend.create(last, SandboxSpec(image: "busybox:sh"))
            Task { try? await backend.remove(last) }
        }
    }
}

/// Lines collected from a build's event callback.
final class Lines: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ line: String) { storage.withLock { $0.append(line) } }
    var all: [String] { storage.withLock { $0 } }
}
