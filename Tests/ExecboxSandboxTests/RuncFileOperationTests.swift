import ExecboxSandbox
import ExecboxSandboxRunc
import Glibc
import Testing

/// Streaming writes, listing, removal and directory creation in real sandboxes, and that none of them
/// reaches a host file through `..` or a symlink.
@Suite(.enabled(if: RuncTestSupport.enabled, "needs root and runc"), .serialized, .timeLimit(.minutes(3)))
struct RuncFileOperationTests {
    typealias Support = RuncTestSupport

    struct BodyFailure: Error {}

    /// The code a call failed with; nil if it succeeded or threw something else.
    static func code(_ body: () async throws -> some Any) async -> SandboxError.Code? {
        do {
            _ = try await body()
            return nil
        } catch let error as SandboxError {
            return error.code
        } catch {
            return nil
        }
    }

    static func names(_ backend: RuncBackend, _ id: SandboxID, _ path: String) async throws -> [String] {
        try await backend.listDirectory(id, path: path).map { String($0.path.split(separator: "/").last ?? "") }
    }

    static func text(_ backend: RuncBackend, _ id: SandboxID, _ path: String) async throws -> String {
        String(decoding: try await backend.readFile(id, path: path, offset: 0, length: 1 << 20), as: UTF8.self)
    }

    static func write(
        _ backend: RuncBackend,
        _ id: SandboxID,
        _ path: String,
        _ text: String,
        _ options: FileWriteOptions = FileWriteOptions()
    ) async throws -> SandboxFileInfo {
        try await backend.writeFile(id, path: path, options: options) { try await $0.write(Array(text.utf8)) }
    }

    @Test(arguments: Support.runtimes) func streamingWriteInChunksRoundTrips(runtime: Support.Runtime) async throws {
        try await RuncExecTests.withSandbox(runtime: runtime) { backend, id in
            let chunks: [[UInt8]] = [1, 100_000, 0, 70_000, 3].enumerated().map { index, size in
                (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
            }
            var kept: (any SandboxFileWriter)?
            let info = try await backend.writeFile(
                id,
                path: "/workspace/dir/big.bin",
                options: FileWriteOptions(mode: 0o600, createParents: true)
            ) { writer in
                for chunk in chunks { try await writer.write(chunk) }
                kept = writer
            }
            let contents = chunks.flatMap { $0 }
            #expect(info.kind == .file && info.size == contents.count && info.mode == 0o600)
            #expect(info.uid == 0 && info.gid == 0 && info.path == "/workspace/dir/big.bin")
            #expect(abs(info.modifiedAt - Double(time(nil))) < 60)
            #expect(
                try await backend.readFile(id, path: "/workspace/dir/big.bin", offset: 0, length: 1 << 20) == contents)
            let inside = try await Support.sh(
                backend, id, Support.statShim(runtime) + "stat -c '%U %a %s' /workspace/dir/big.bin")
            #expect(inside.stdoutText == "root 600 \(contents.count)\n")
            #expect(try await Self.names(backend, id, "/workspace/dir") == ["big.bin"])
            // A writer kept past its body writes nothing.
            let late = try #require(kept)
            #expect(await Self.code { try await late.write([1]) } == .failedPrecondition)
            #expect(try await backend.stat(id, path: "/workspace/dir/big.bin").size == contents.count)
            // The whole-file call is the same write with one chunk.
            let whole = try await backend.writeFile(
                id, path: "/workspace/dir/big.bin", contents: [7, 8], mode: 0o640, createParents: false)
            #expect(whole.size == 2 && whole.mode == 0o640)
        }
    }

    @Test(arguments: Support.runtimes) func exclusiveAndAppend(runtime: Support.Runtime) async throws {
        try await RuncExecTests.withSandbox(runtime: runtime) { backend, id in
            let first = try await Self.write(backend, id, "/workspace/a.txt", "one\n")
            #expect(first.mode == 0o644)
            let exclusive = FileWriteOptions(exclusive: true)
            #expect(
                await Self.code { try await Self.write(backend, id, "/workspace/a.txt", "x", exclusive) }
                    == .alreadyExists)
            #expect(try await Self.text(backend, id, "/workspace/a.txt") == "one\n")
            _ = try await Self.write(backend, id, "/workspace/b.txt", "bee", exclusive)
            let both = FileWriteOptions(exclusive: true, append: true)
            #expect(
                await Self.code { try await Self.write(backend, id, "/workspace/c.txt", "x", both) } == .invalidArgument
            )
            // A dangling symlink exists too.
            _ = try await Support.sh(backend, id, "ln -s /workspace/nowhere /workspace/dangling")
            #expect(
                await Self.code { try await Self.write(backend, id, "/workspace/dangling", "x", exclusive) }
                    == .alreadyExists)
            #expect(
                await Self.code { try await Self.write(backend, id, "/workspace/dangling", "x") } == .failedPrecondition
            )
            #expect(try await Self.names(backend, id, "/workspace") == ["a.txt", "b.txt", "dangling"])

            let append = FileWriteOptions(append: true)
            let appended = try await backend.writeFile(id, path: "/workspace/a.txt", options: append) { writer in
                try await writer.write(Array("tw".utf8))
                try await writer.write(Array("o\n".utf8))
            }
            #expect(appended.size == 8 && appended.mode == 0o644)
            #expect(try await Self.text(backend, id, "/workspace/a.txt") == "one\ntwo\n")
            let created = try await Self.write(backend, id, "/workspace/new.log", "log\n", append)
            #expect(created.mode == 0o644 && created.size == 4)
            let chmodded = try await Self.write(
                backend, id, "/workspace/new.log", "more\n", FileWriteOptions(mode: 0o600, append: true))
            #expect(chmodded.mode == 0o600 && chmodded.size == 9)
            #expect(
                await Self.code { try await Self.write(backend, id, "/workspace", "x", append) } == .failedPrecondition)
            #expect(await Self.code { try await Self.write(backend, id, "/workspace", "x") } == .failedPrecondition)
            #expect(
                await Self.code {
                    try await Self.write(backend, id, "/workspace/a.txt", "x", FileWriteOptions(mode: 0o4755))
                }
                    == .invalidArgument)
        }
    }

    @Test(arguments: Support.runtimes) func failedBodyLeavesNothingAndModeZeroKeepsTheFile(runtime: Support.Runtime)
        async throws
    {
        try await RuncExecTests.withSandbox(runtime: runtime) { backend, id in
            // A new file: nothing appears (the parent the call created stays).
            await #expect(throws: BodyFailure.self) {
                try await backend.writeFile(
                    id, path: "/workspace/t/new.txt", options: FileWriteOptions(createParents: true)
                ) { writer in
                    try await writer.write(Array("partial".utf8))
                    throw BodyFailure()
                }
            }
            #expect(try await Self.names(backend, id, "/workspace/t") == [])
            // A replaced file keeps its old contents.
            _ = try await Self.write(backend, id, "/workspace/t/keep.txt", "old")
            await #expect(throws: BodyFailure.self) {
                try await backend.writeFile(id, path: "/workspace/t/keep.txt", options: FileWriteOptions()) { writer in
                    try await writer.write(Array("new".utf8))
                    throw BodyFailure()
                }
            }
            #expect(try await Self.text(backend, id, "/workspace/t/keep.txt") == "old")
            #expect(try await Self.names(backend, id, "/workspace/t") == ["keep.txt"])

            // Mode 0 keeps an existing file's bits and owner; a mode sets them.
            _ = try await Support.sh(
                backend, id, "printf old > /workspace/m.sh; chmod 750 /workspace/m.sh; chown 1000:1001 /workspace/m.sh")
            let kept = try await Self.write(backend, id, "/workspace/m.sh", "#!/bin/sh\n")
            #expect(kept.mode == 0o750 && kept.uid == 1000 && kept.gid == 1001 && kept.size == 10)
            let inside = try await Support.sh(
                backend, id, Support.statShim(runtime) + "stat -c '%a %u %g' /workspace/m.sh; cat /workspace/m.sh")
            #expect(inside.stdoutText == "750 1000 1001\n#!/bin/sh\n")
            let set = try await Self.write(backend, id, "/workspace/m.sh", "x", FileWriteOptions(mode: 0o600))
            #expect(set.mode == 0o600)
            // Missing parents without createParents; a parent that is a file.
            #expect(await Self.code { try await Self.write(backend, id, "/workspace/no/such", "x") } == .notFound)
            #expect(
                await Self.code { try await Self.write(backend, id, "/workspace/m.sh/x", "x") } == .failedPrecondition)
            // The read-only root.
            #expect(await Self.code { try await Self.write(backend, id, "/etc/hostname", "x") } == .failedPrecondition)
        }
    }

    @Test(arguments: Support.runtimes) func fullDiskIsResourceExhaustedAndLeavesNothing(runtime: Support.Runtime)
        async throws
    {
        try await RuncExecTests.withSandbox(runtime: runtime, SandboxSpec(limits: SandboxLimits(diskBytes: 1 << 20))) {
            backend, id in
            let error = await #expect(throws: SandboxError.self) {
                try await backend.writeFile(id, path: "/workspace/big", options: FileWriteOptions()) { writer in
                    for _ in 0..<32 { try await writer.write([UInt8](repeating: 1, count: 64 << 10)) }
                }
            }
            #expect(error?.code == .resourceExhausted)
            #expect(try await Self.names(backend, id, "/workspace") == [])
            // The space comes back (under runsc a moment later: gVisor's gofer lets go of the removed
            // partial file's host descriptor asynchronously); a disk that stays full fails here.
            let deadline = ContinuousClock.now + .seconds(10)
            while true {
                do {
                    _ = try await Self.write(backend, id, "/workspace/small", "fits")
                    break
                } catch let error as SandboxError
                    where error.code == .resourceExhausted && ContinuousClock.now < deadline
                {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
        }
    }

    /// A listing holds every name in memory: past `maxListedEntries` it is refused, not attempted.
    /// The image is what the sandbox sees and is read-only through the API too (under runsc the API's
    /// root is the rootfs with the host-side mounts, not gVisor's own view).
    @Test(arguments: Support.runtimes) func theImageIsReadableButReadOnly(runtime: Support.Runtime) async throws {
        try await RuncExecTests.withSandbox(runtime: runtime) { backend, id in
            let release = try await Self.text(backend, id, "/usr/lib/os-release")
            #expect(release.contains("ID=debian"))
            #expect(try await Self.text(backend, id, "/etc/hostname").isEmpty == false)
            for path in ["/usr/lib/execbox-x", "/etc/execbox-x", "/x"] {
                #expect(
                    await Self.code { try await Self.write(backend, id, path, "x") } == .failedPrecondition, "\(path)")
            }
            #expect(
                await Self.code { try await backend.remove(id, path: "/etc/passwd", recursive: false) }
                    == .failedPrecondition)
            let inside = try await Support.sh(backend, id, "cat /etc/passwd | head -1")
            #expect(inside.stdoutText.hasPrefix("root:"))
        }
    }

    @Test(arguments: Support.runtimes) func hugeDirectoriesAreNotListed(runtime: Support.Runtime) async throws {
        try await Support.withBackend(runtime: runtime, { $0.maxListedEntries = 50 }) { backend in
            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec())
            _ = try await Support.sh(
                backend, id, "mkdir /workspace/few /workspace/many && cd /workspace/many && touch $(seq 1 51)")
            _ = try await Support.sh(backend, id, "cd /workspace/few && touch $(seq 1 50)")
            #expect(try await backend.listDirectory(id, path: "/workspace/few").count == 50)
            #expect(
                await Self.code { try await backend.listDirectory(id, path: "/workspace/many") } == .resourceExhausted)
        }
    }

    // runc only under runsc 2022: the file API's root is the rootfs with the host-side mounts: /proc, /usr and FIFOs made inside are gVisor's own, not on the host.
    @Test(arguments: Support.runcOnly) func listDirectorySortsByteWiseWithKinds(runtime: Support.Runtime) async throws {
        try await RuncExecTests.withSandbox(runtime: runtime) { backend, id in
            _ = try await Support.sh(
                backend,
                id,
                "mkdir -p /workspace/l/sub && cd /workspace/l && printf 12345 > b && touch -d @1700000000 b && "
                    + "ln -s /etc/hostname A && ln -s dangling z && mkfifo fifo && printf x > _u && "
                    + "ln -s /workspace/l /workspace/ll"
            )
            let entries = try await backend.listDirectory(id, path: "/workspace/l")
            #expect(entries.map(\.path) == ["A", "_u", "b", "fifo", "sub", "z"].map { "/workspace/l/\($0)" })
            #expect(entries.map(\.kind) == [.symlink, .file, .file, .other, .directory, .symlink])
            #expect(entries.map(\.symlinkTarget) == ["/etc/hostname", "", "", "", "", "dangling"])
            let b = entries[2]
            #expect(b.size == 5 && b.mode == 0o644 && b.modifiedAt == 1_700_000_000 && b.uid == 0)
            // Through a symlink to a directory, and with a trailing slash.
            #expect(try await Self.names(backend, id, "/workspace/ll/") == ["A", "_u", "b", "fifo", "sub", "z"])
            #expect(try await backend.stat(id, path: "/workspace/l/A").symlinkTarget == "/etc/hostname")
            // The root, where /usr (the host's, read-only) belongs to nobody inside.
            let root = try await backend.listDirectory(id, path: "/")
            #expect(root.contains { $0.path == "/workspace" && $0.kind == .directory })
            #expect(root.contains { $0.path == "/bin" && $0.kind == .symlink && $0.symlinkTarget == "usr/bin" })
            #expect(root.first { $0.path == "/usr" }?.uid == 65534)
            // procfs is refused altogether (kernelFileSystemsAreRefused): its magic links would read as
            // host paths, and its files with the server's credentials.
            #expect(await Self.code { try await backend.stat(id, path: "/proc/1/cwd") } == .permissionDenied)
            #expect(await Self.code { try await backend.listDirectory(id, path: "/proc/1") } == .permissionDenied)
            #expect(
                await Self.code { try await backend.listDirectory(id, path: "/workspace/l/b") } == .failedPrecondition)
            #expect(await Self.code { try await backend.listDirectory(id, path: "/workspace/none") } == .notFound)
            #expect(await Self.code { try await backend.listDirectory(id, path: "workspace") } == .invalidArgument)
            // A FIFO is never opened for reading (it would block).
            #expect(
                await Self.code { try await backend.readFile(id, path: "/workspace/l/fifo", offset: 0, length: 1) }
                    == .failedPrecondition)
            #expect(
                await Self.code { try await backend.readFile(id, path: "/workspace/l", offset: 0, length: 1) }
                    == .failedPrecondition)
        }
    }

    @Test(arguments: Support.runtimes) func removeFilesDirectoriesAndTrees(runtime: Support.Runtime) async throws {
        try await RuncExecTests.withSandbox(runtime: runtime) { backend, id in
            _ = try await Support.sh(
                backend,
                id,
                "cd /workspace && touch f && mkdir empty && mkdir -p full/x && touch full/x/y && "
                    + "mkdir -p r/a/b/c && touch r/a/f1 r/a/b/f2 r/a/b/c/f3 && mkdir /tmp/target && touch /tmp/target/keep && "
                    + "ln -s /tmp/target r/tlink && ln -s / r/root && ln -s /etc etc-link && ln -s /tmp/target dirlink && "
                    + "mkdir -p owned/d && touch owned/d/g && chown -R 1000 owned && chmod 755 owned/d"
            )
            #expect(try await backend.remove(id, path: "/workspace/f", recursive: false) == 1)
            #expect(await Self.code { try await backend.stat(id, path: "/workspace/f") } == .notFound)
            #expect(try await backend.remove(id, path: "/workspace/empty", recursive: false) == 1)
            #expect(
                await Self.code { try await backend.remove(id, path: "/workspace/full", recursive: false) }
                    == .failedPrecondition)
            #expect(try await Self.names(backend, id, "/workspace/full/x") == ["y"])
            #expect(try await backend.remove(id, path: "/workspace/full", recursive: true) == 3)
            // r, a, b, c, f1, f2, f3 and two symlinks; what the links point to stays.
            #expect(try await backend.remove(id, path: "/workspace/r", recursive: true) == 9)
            #expect(try await Self.names(backend, id, "/tmp/target") == ["keep"])
            #expect(try await backend.stat(id, path: "/etc/hostname").kind == .file)
            // A symlink is removed as a link, recursive or not.
            #expect(try await backend.remove(id, path: "/workspace/etc-link", recursive: false) == 1)
            #expect(try await backend.remove(id, path: "/workspace/dirlink", recursive: true) == 1)
            #expect(try await Self.names(backend, id, "/tmp/target") == ["keep"])
            #expect(try await backend.stat(id, path: "/etc").kind == .directory)

            for path in ["/", "//", "/workspace/..", "/workspace/."] {
                #expect(
                    await Self.code { try await backend.remove(id, path: path, recursive: true) } == .invalidArgument)
            }
            #expect(
                await Self.code { try await backend.remove(id, path: "/workspace/none", recursive: false) } == .notFound
            )
            #expect(
                await Self.code { try await backend.remove(id, path: "/etc/hostname", recursive: false) }
                    == .failedPrecondition)
            // The API acts as the sandbox's root without its DAC override: another user's directory
            // refuses. (runsc: no uid mapping, the API acts as root, as the sandbox's root could.)
            let owned = await Self.code { try await backend.remove(id, path: "/workspace/owned/d/g", recursive: false) }
            #expect(owned == (runtime == .runsc ? nil : .permissionDenied), "\(String(describing: owned))")
            // Deeper than 256 levels is refused before anything goes; 200 levels go.
            _ = try await Support.run(
                backend,
                id,
                [
                    "python3", "-c",
                    "import os; os.makedirs('/workspace/deep/' + '/d' * 300); os.makedirs('/workspace/ok' + '/d' * 199)",
                ]
            )
            #expect(
                await Self.code { try await backend.remove(id, path: "/workspace/deep", recursive: true) }
                    == .failedPrecondition)
            #expect(try await backend.stat(id, path: "/workspace/deep/d/d").kind == .directory)
            #expect(try await backend.remove(id, path: "/workspace/ok", recursive: true) == 200)
            #expect(try await Self.names(backend, id, "/workspace") == ["deep", "owned"])
        }
    }

    @Test(arguments: Support.runtimes) func makeDirectoryWithAndWithoutParents(runtime: Support.Runtime) async throws {
        try await RuncExecTests.withSandbox(runtime: runtime) { backend, id in
            let made = try await backend.makeDirectory(id, path: "/workspace/d", mode: 0o750, parents: false)
            #expect(made.kind == .directory && made.mode == 0o750 && made.path == "/workspace/d")
            #expect(
                await Self.code { try await backend.makeDirectory(id, path: "/workspace/d", mode: 0, parents: false) }
                    == .alreadyExists)
            #expect(try await backend.makeDirectory(id, path: "/workspace/d", mode: 0, parents: true).mode == 0o750)
            #expect(
                await Self.code {
                    try await backend.makeDirectory(id, path: "/workspace/x/y/z", mode: 0, parents: false)
                } == .notFound)
            let deep = try await backend.makeDirectory(id, path: "/workspace/x/y/z", mode: 0, parents: true)
            #expect(deep.mode == 0o755)
            #expect(try await backend.stat(id, path: "/workspace/x/y").mode == 0o755)
            let inside = try await Support.sh(
                backend, id, Support.statShim(runtime) + "stat -c '%U %a' /workspace/x/y/z /workspace/d")
            #expect(inside.stdoutText == "root 755\nroot 750\n")

            _ = try await Self.write(backend, id, "/workspace/file", "x")
            #expect(
                await Self.code { try await backend.makeDirectory(id, path: "/workspace/file", mode: 0, parents: true) }
                    == .alreadyExists)
            #expect(
                await Self.code {
                    try await backend.makeDirectory(id, path: "/workspace/file", mode: 0, parents: false)
                } == .alreadyExists)
            #expect(
                await Self.code {
                    try await backend.makeDirectory(id, path: "/workspace/file/sub", mode: 0, parents: false)
                } == .failedPrecondition)
            #expect(
                await Self.code {
                    try await backend.makeDirectory(id, path: "/workspace/s", mode: 0o1777, parents: false)
                } == .invalidArgument)
            #expect(
                await Self.code { try await backend.makeDirectory(id, path: "/etc/new", mode: 0, parents: false) }
                    == .failedPrecondition)
            #expect(
                await Self.code { try await backend.makeDirectory(id, path: "/", mode: 0, parents: true) }
                    == .invalidArgument)
        }
    }

    /// A host directory outside every sandbox, and symlinks and `..` that would reach it if paths
    /// were resolved on the host: every call acts inside the sandbox (on its own `/tmp`) or fails.
    /// The sandbox's procfs, sysfs and the like are never read or written with the server's own
    /// credentials and capabilities: by path, or through a symlink the sandbox planted.
    // runc only under runsc 2022: the file API's root is the rootfs with the host-side mounts: /proc, /usr and FIFOs made inside are gVisor's own, not on the host.
    @Test(arguments: Support.runcOnly) func kernelFileSystemsAreRefused(runtime: Support.Runtime) async throws {
        try await Support.withBackend(runtime: runtime) { backend in
            let id = SandboxID.random()
            _ = try await backend.create(id, SandboxSpec())
            _ = try await Support.sh(
                backend, id, "ln -s /proc/1/oom_score_adj /workspace/oom; ln -s /sys /workspace/sys")
            let before = try await Support.sh(backend, id, "cat /proc/1/oom_score_adj").stdoutText
            #expect(
                await Self.code { try await backend.readFile(id, path: "/proc/1/status", offset: 0, length: 4096) }
                    == .permissionDenied)
            #expect(
                await Self.code {
                    try await backend.readFile(id, path: "/sys/kernel/uevent_seqnum", offset: 0, length: 64)
                } == .permissionDenied)
            #expect(await Self.code { try await backend.stat(id, path: "/proc/self") } == .permissionDenied)
            #expect(
                await Self.code { try await backend.listDirectory(id, path: "/workspace/sys") } == .permissionDenied)
            // Through the planted link: refused as a write through a final symlink.
            let throughLink = await Self.code {
                try await Self.write(backend, id, "/workspace/oom", "-1000", FileWriteOptions(append: true))
            }
            #expect(throughLink == .failedPrecondition || throughLink == .permissionDenied)
            let throughDirectoryLink = await Self.code {
                try await Self.write(
                    backend, id, "/workspace/sys/kernel/uevent_helper", "x", FileWriteOptions(append: true))
            }
            #expect(throughDirectoryLink == .permissionDenied)
            #expect(
                await Self.code { try await Self.write(backend, id, "/proc/1/oom_score_adj", "-1000") }
                    == .permissionDenied)
            #expect(try await Support.sh(backend, id, "cat /proc/1/oom_score_adj").stdoutText == before)
            // The root itself still lists its mount points.
            #expect(try await Self.names(backend, id, "/").contains("proc"))
        }
    }

    @Test(arguments: Support.runtimes) func escapesNeverTouchHostFiles(runtime: Support.Runtime) async throws {
        let name = "execbox-host-\(SandboxID.random().rawValue)"
        let hostDirectory = "/tmp/\(name)"
        let hostOnly = "/tmp/\(name)-only"
        for directory in [hostDirectory, hostOnly] {
            #expect(mkdir(directory, 0o777) == 0)
            let fd = open("\(directory)/secret", O_WRONLY | O_CREAT | O_TRUNC, 0o666)
            #expect(Glibc.write(fd, "host secret", 11) == 11)
            close(fd)
        }
        defer {
            for directory in [hostDirectory, hostOnly] {
                for file in ["secret", "new"] { unlink("\(directory)/\(file)") }
                rmdir(directory)
            }
        }
        func hostIntact() -> Bool {
            [hostDirectory, hostOnly].allSatisfy { directory in
                guard let stream = fopen("\(directory)/secret", "r") else { return false }
                defer { fclose(stream) }
                var buffer = [CChar](repeating: 0, count: 64)
                guard fgets(&buffer, 64, stream) != nil else { return false }
                let line = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                return line == "host secret"
                    && access("\(directory)/new", F_OK) != 0
            }
        }

        try await RuncExecTests.withSandbox(runtime: runtime) { backend, id in
            _ = try await Support.sh(
                backend,
                id,
                "mkdir \(hostDirectory) && printf inside > \(hostDirectory)/secret && cd /workspace && "
                    + "ln -s \(hostDirectory) abs && ln -s ../../../../../..\(hostDirectory) rel && "
                    + "ln -s \(hostDirectory)/secret filelink && ln -s \(hostOnly) only && "
                    + "ln -s /proc/1/root\(hostDirectory) magic && ln -s /proc/self/root\(hostOnly) self"
            )
            // Listing and writing through links reach the sandbox's own copy.
            let listed = try await backend.listDirectory(id, path: "/workspace/abs")
            #expect(listed.map(\.path) == ["/workspace/abs/secret"] && listed.first?.size == 6)
            _ = try await Self.write(backend, id, "/workspace/abs/secret", "changed")
            _ = try await Self.write(backend, id, "/workspace/rel/new", "new")
            _ = try await Self.write(backend, id, "/workspace/abs/secret", "+", FileWriteOptions(append: true))
            #expect(try await Self.text(backend, id, "\(hostDirectory)/secret") == "changed+")
            #expect(
                await Self.code { try await Self.write(backend, id, "/workspace/filelink", "x") } == .failedPrecondition
            )
            #expect(hostIntact())
            // A host-only directory does not exist inside.
            #expect(await Self.code { try await backend.listDirectory(id, path: "/workspace/only") } == .notFound)
            #expect(await Self.code { try await Self.write(backend, id, "/workspace/only/secret", "x") } == .notFound)
            #expect(await Self.code { try await Self.write(backend, id, "/workspace/only/new", "x") } == .notFound)
            #expect(
                await Self.code { try await backend.remove(id, path: "/workspace/only/secret", recursive: false) }
                    == .notFound)
            #expect(
                await Self.code {
                    try await backend.makeDirectory(id, path: "/workspace/only/new", mode: 0, parents: true)
                } != nil)
            // Magic links are refused.
            for link in ["magic", "self"] {
                let path = "/workspace/\(link)"
                #expect(await Self.code { try await backend.listDirectory(id, path: path) } != nil)
                #expect(await Self.code { try await Self.write(backend, id, "\(path)/secret", "x") } != nil)
                #expect(
                    await Self.code { try await backend.remove(id, path: "\(path)/secret", recursive: false) } != nil)
            }
            #expect(hostIntact())
            // `..` stops at the sandbox's root; removing links and trees stays inside.
            #expect(try await backend.remove(id, path: "/workspace/only", recursive: true) == 1)
            #expect(try await backend.remove(id, path: "/workspace/abs", recursive: true) == 1)
            #expect(try await backend.remove(id, path: "/workspace/../../..\(hostDirectory)", recursive: true) == 3)
            #expect(await Self.code { try await backend.stat(id, path: hostDirectory) } == .notFound)
            #expect(hostIntact())
        }
    }
}
