import ExecboxSandbox
import ExecboxSandboxRunc
import Glibc
import Logging
import Testing

/// Runs real runc sandboxes for the tests: each backend gets its own state and bundle directories
/// under /run/execbox-test, so suites never see each other's containers.
enum RuncTestSupport {
    typealias Runtime = RuncBackendConfiguration.Runtime

    static let runcPath = "/usr/sbin/runc"
    static var isRoot: Bool { getuid() == 0 }
    static var hasRunc: Bool { access(runcPath, X_OK) == 0 }
    static var hasRunsc: Bool { access(Runtime.runsc.defaultPath, X_OK) == 0 }

    /// The runtimes a runtime-independent test runs under: both, unless `EXECBOX_TEST_RUNTIMES`
    /// (`runc`, `runsc` or `runc,runsc`) names fewer. A runsc run without runsc installed is
    /// cancelled with the reason, except under `CI=true`, where it fails.
    /// For tests of what this runsc does differently or cannot do (docs/sandbox.md, "runsc").
    static var runcOnly: [Runtime] { runtimes.filter { $0 == .runc } }

    static var runtimes: [Runtime] {
        guard let names = getenv("EXECBOX_TEST_RUNTIMES").map({ String(cString: $0) }) else { return Runtime.allCases }
        return names.split(separator: ",").compactMap { Runtime(rawValue: String($0)) }
    }
    static var isCI: Bool { getenv("CI").map { String(cString: $0) } == "true" }

    /// Skip only when not root, or when runc is missing outside CI; under `CI=true` a missing runc
    /// runs the tests, which then fail.
    static var enabled: Bool { isRoot && (hasRunc || isCI) }

    struct Output: Sendable {
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []
        var exit: ProcessExit?
        var events = 0

        var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// The directories a test backend under `root` uses (the test host process builds the same), with
    /// host-wide names of its own: cgroup parent, veth prefix, nftables table and address pool.
    /// The names derive from `cgroupParent` (ExecboxSandboxTestHost derives the same).
    static func configuration(root: String, cgroupParent: String) -> RuncBackendConfiguration {
        let tag = String(cgroupParent.suffix(4))
        let octet = cgroupParent.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xff }
        return RuncBackendConfiguration(
            stateDirectory: "\(root)/runc",
            sandboxDirectory: "\(root)/sandboxes",
            imageDirectory: "\(root)/images",
            spoolDirectory: "\(root)/spool",
            cgroupParent: cgroupParent,
            networkPool: "10.89.\(octet).0",
            interfacePrefix: "et\(tag)",
            nftablesTable: "execbox_test_\(tag)",
            maxSandboxes: 64
        )
    }

    /// A fresh backend with its own directories under /run/execbox-test and its own cgroup parent
    /// (each backend's start-up reaper removes everything under its parent, so suites running in
    /// parallel must never share one); all of it is removed afterwards.
    static func withBackend(
        runtime: Runtime = .runc,
        root: String = "/run/execbox-test/\(SandboxID.random().rawValue)",
        cgroupParent: String = "execbox-test-\(SandboxID.random().rawValue.dropFirst(4).prefix(8))",
        _ configure: (inout RuncBackendConfiguration) -> Void = { _ in },
        _ body: (RuncBackend) async throws -> Void
    ) async throws {
        #expect(hasRunc, "runc is missing at \(runcPath) (CI=true requires it)")
        guard hasRunc else { return }
        if runtime == .runsc, !hasRunsc {
            #expect(
                !isCI,
                "runsc is missing at \(Runtime.runsc.defaultPath) (CI=true requires it; scripts/setup installs it)")
            try Test.cancel("runsc is not installed (apt-get install runsc, or scripts/setup)")
        }
        var configuration = configuration(root: root, cgroupParent: cgroupParent)
        configuration.runtime = runtime
        configuration.runtimePath = runtime.defaultPath
        configure(&configuration)
        var logger = Logger(label: "execbox.sandbox.test")
        logger.logLevel = getenv("EXECBOX_SANDBOX_DEBUG") == nil ? .warning : .debug
        let backend = try await RuncBackend.make(configuration: configuration, logger: logger)
        defer {
            rmdir("\(root)/runc")
            rmdir("\(root)/sandboxes")
            RuncBackend.removeImageFiles(backend.configuration)
            // Sandboxes left to a next backend keep their execs' spools and records.
            if !backend.configuration.keepSandboxesOnShutdown { RuncBackend.removeSpoolFiles(backend.configuration) }
            removeCgroupParent(backend.configuration.cgroupParent)
            rmdir(root)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await backend.run() }
            while await backend.health().status != .serving { try await Task.sleep(for: .milliseconds(1)) }
            do {
                try await body(backend)
            } catch {
                group.cancelAll()
                try? await group.waitForAll()
                await backend.removeHostNetworkState()
                throw error
            }
            // Ending run() kills and destroys whatever the test left running.
            group.cancelAll()
        }
        await backend.removeHostNetworkState()
    }

    /// Removes a test backend's (empty) cgroup parent from every hierarchy.
    static func removeCgroupParent(_ parent: String) {
        guard let root = opendir("/sys/fs/cgroup") else { return }
        defer { closedir(root) }
        while let entry = readdir(root) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if entry.pointee.d_type == UInt8(DT_DIR), !name.hasPrefix(".") { rmdir("/sys/fs/cgroup/\(name)/\(parent)") }
        }
    }

    static func run(
        _ backend: RuncBackend,
        _ id: SandboxID,
        _ argv: [String],
        stdin: [UInt8] = [],
        spec: (inout ExecSpec) -> Void = { _ in }
    ) async throws -> Output {
        var execSpec = ExecSpec(argv: argv)
        spec(&execSpec)
        return try await backend.exec(id, execSpec) { process in
            if !stdin.isEmpty { try await process.writeStdin(stdin) }
            try await process.closeStdin()
            var output = Output()
            for try await event in process.events {
                #expect(output.exit == nil, "nothing may follow the exit")
                output.events += 1
                switch event {
                case .stdout(let bytes): output.stdout += bytes
                case .stderr(let bytes): output.stderr += bytes
                case .exit(let exit): output.exit = exit
                }
            }
            return output
        }
    }

    /// `stat -c` for the formats the tests use (%U %a %s %u %g) in Python: under this runsc, coreutils
    /// `stat` fails (its statx flag AT_NO_AUTOMOUNT is EINVAL). Prepended to a script under runsc.
    static func statShim(_ runtime: Runtime) -> String {
        guard runtime == .runsc else { return "" }
        return #"""
            stat() { python3 -c 'import os, pwd, sys
            def user(uid):
                try:
                    return pwd.getpwuid(uid).pw_name
                except KeyError:
                    return str(uid)
            for path in sys.argv[3:]:
                s = os.lstat(path)
                out = sys.argv[2]
                for key, value in [("%U", user(s.st_uid)), ("%a", format(s.st_mode & 0o7777, "o")),
                        ("%s", str(s.st_size)), ("%u", str(s.st_uid)), ("%g", str(s.st_gid))]:
                    out = out.replace(key, value)
                print(out)' "$@"; }

            """#
    }

    static func sh(_ backend: RuncBackend, _ id: SandboxID, _ script: String) async throws -> Output {
        try await run(backend, id, ["sh", "-c", script])
    }
}
