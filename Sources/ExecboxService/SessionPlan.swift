import Crypto
import ExecboxAPI
import ExecboxImages
import ExecboxRPC
import ExecboxSandbox
import ExecboxStorage
import ExecboxWire
import Foundation

/// A validated `CreateSessionRequest`: the spec to store (without secrets), the environment to
/// store encrypted, the sandbox to ask the backend for, the files to place and the request's
/// digest for idempotency. Every range of session.proto and common.proto is checked here, and the
/// caller's tier caps are applied (a resource above a cap is PERMISSION_DENIED).
struct SessionPlan: Sendable {
    struct File: Sendable {
        var path: String
        var contents: [UInt8]
    }

    var spec: ExecboxStorage.SessionSpec
    var environment: [String: String]
    var sandbox: SandboxSpec
    var files: [File]
    /// With setup commands: the image to build (or find in the cache) before the sandbox starts.
    var build: ImageBuilds.Request?
    /// The legacy 16-hex image hash when the request has setup commands (CONTRACT.md §8.6).
    var setupHash = ""
    /// The session's own deadline (extendable up to `maximumLifetime`).
    var timeout: Duration
    /// The tier's cap on the lifetime, which the backend enforces as the sandbox's hard timeout.
    var maximumLifetime: Duration
    var digest: String

    static let maxCommandElements = 1024
    static let maxCommandBytes = 128 << 10
    static let maxFiles = 64
    static let maxFileBytes = 1 << 20
    static let maxAllFileBytes = 3 << 20
    static let maxLabels = 64
    /// The lifetime of an unlimited tier's sessions when the request names none, and their cap.
    static let unlimitedDefaultTimeout = Duration.seconds(300)
    static let unlimitedMaximumLifetime = Duration.seconds(24 * 3600)

    init(_ request: CreateSessionRequest, policy: TierPolicy) throws {
        let image = request.image
        guard !image.isEmpty else { throw Validation.invalid("image is required") }
        guard image.utf8.count <= 512, image.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
            throw Validation.invalid("image must be 1 to 512 printable ASCII characters")
        }
        if !request.setup.isEmpty {
            // Files go into the image, except those under /workspace and /tmp (per-session mounts),
            // which are written into the session; the image's id covers them all.
            let build = try ImageBuilds.request(
                base: image, setup: request.setup, files: request.files, forSession: true)
            self.build = build
            setupHash = build.hash.legacyHash
        }
        guard request.command.count <= Self.maxCommandElements,
            request.command.reduce(0, { $0 + $1.utf8.count }) <= Self.maxCommandBytes
        else {
            throw Validation.invalid("command must have at most 1024 elements and 128 KiB in total")
        }
        let resources = try Self.resources(request.resources ?? Resources(), policy: policy)
        let network: ExecboxStorage.SessionSpec.NetworkMode =
            switch request.network {
            case .none: .none
            case .exposed: .exposed
            case .outgoing, .unspecified: .outgoing
            default: throw Validation.invalid("unknown network mode")
            }
        let ports = try Self.ports(request.ports)
        try Self.validateLabels(request.labels)
        try Self.validateEnvironment(request.env)
        files = try Self.files(
            build == nil ? request.files : request.files.filter { Self.isInSessionMount($0.path) })
        let sandboxNetwork: ExecboxSandbox.NetworkMode =
            switch network {
            case .none: .none
            case .outgoing: .outgoing
            case .exposed: .exposed
            }
        var sandbox = SandboxSpec(
            image: image,
            limits: SandboxLimits(
                memoryBytes: resources.memoryMB << 20,
                cpuMillicores: resources.cpuMillicores,
                pids: resources.pidsMax,
                diskBytes: resources.diskMB << 20,
                timeout: resources.maximumLifetime,
                idleTimeout: resources.idleTimeoutMs == 0 ? nil : .milliseconds(resources.idleTimeoutMs)),
            network: sandboxNetwork,
            environment: request.env,
            command: request.command,
            labels: [:],
            exposedPorts: network == .exposed ? ports.map(\.containerPort) : [],
            terminal: request.tty ? TerminalSize(columns: 80, rows: 24) : nil)
        // Unset: `/workspace` on the built-in image; on any other, empty — the image's own WORKDIR
        // (else /workspace), which the backend knows.
        sandbox.workingDirectory =
            !request.workDir.isEmpty ? request.workDir : image == SandboxSpec.defaultImage ? "/workspace" : ""
        do {
            try sandbox.validate()
        } catch {
            throw ServiceErrors.rpcError(for: error)
        }
        environment = request.env
        self.sandbox = sandbox
        timeout = .milliseconds(resources.timeoutMs)
        maximumLifetime = resources.maximumLifetime
        spec = ExecboxStorage.SessionSpec(
            image: image,
            files: files.map { .init(path: $0.path, size: $0.contents.count) },
            command: request.command,
            envKeys: request.env.keys.sorted(),
            workDir: sandbox.workingDirectory,
            tty: request.tty,
            resources: .init(
                cpuMillicores: resources.cpuMillicores,
                memoryMB: resources.memoryMB,
                pidsMax: resources.pidsMax,
                diskMB: resources.diskMB,
                timeoutMs: resources.timeoutMs,
                idleTimeoutMs: resources.idleTimeoutMs),
            network: network,
            ports: ports,
            labels: request.labels)
        spec.setup = request.setup
        digest = Self.digest(of: request)
    }

    struct CheckedResources {
        var cpuMillicores: Int
        var memoryMB: Int
        var pidsMax: Int
        var diskMB: Int
        var timeoutMs: Int
        var idleTimeoutMs: Int
        var maximumLifetime: Duration
    }

    /// Ranges of common.proto `Resources`, defaults for zeros, and the tier's caps.
    static func resources(_ resources: Resources, policy: TierPolicy) throws -> CheckedResources {
        func ranged(_ value: Int, _ range: ClosedRange<Int>, default fallback: Int, _ field: String) throws -> Int {
            if value == 0 { return fallback }
            guard range.contains(value) else {
                throw Validation.invalid("resources.\(field) must be \(range.lowerBound) to \(range.upperBound)")
            }
            return value
        }
        // The defaults are capped by the tier's caps: an empty request always fits its tier.
        func capped(_ value: Int, _ cap: Int) -> Int { cap >= 0 ? min(value, cap) : value }
        let cpu = try ranged(
            Int(resources.cpuMillicores), 100...8000, default: capped(1000, policy.maxCPUMillicores), "cpu_millicores")
        let memory = try ranged(
            Int(resources.memoryMb), 128...8192, default: capped(512, policy.maxMemoryMB), "memory_mb")
        let pids = try ranged(Int(resources.pidsMax), 16...4096, default: 256, "pids_max")
        let disk = try ranged(Int(resources.diskMb), 64...20480, default: 1024, "disk_mb")
        guard resources.timeoutMs == 0 || (1000...86_400_000).contains(resources.timeoutMs) else {
            throw Validation.invalid("resources.timeout_ms must be 1000 to 86400000")
        }
        guard resources.idleTimeoutMs == 0 || (10000...86_400_000).contains(resources.idleTimeoutMs) else {
            throw Validation.invalid("resources.idle_timeout_ms must be 0 or 10000 to 86400000")
        }
        if policy.maxMemoryMB >= 0, memory > policy.maxMemoryMB {
            throw RPCError(
                code: .permissionDenied,
                message: "memory_mb \(memory) is above your tier's limit of \(policy.maxMemoryMB)")
        }
        if policy.maxCPUMillicores >= 0, cpu > policy.maxCPUMillicores {
            throw RPCError(
                code: .permissionDenied,
                message: "cpu_millicores \(cpu) is above your tier's limit of \(policy.maxCPUMillicores)")
        }
        let capMs = policy.maxDurationSeconds >= 0 ? policy.maxDurationSeconds * 1000 : nil
        if let capMs, resources.timeoutMs > capMs {
            throw RPCError(
                code: .permissionDenied,
                message: "timeout_ms \(resources.timeoutMs) is above your tier's limit of \(capMs)")
        }
        let defaultMs = capMs ?? Int(unlimitedDefaultTimeout / .milliseconds(1))
        return CheckedResources(
            cpuMillicores: cpu,
            memoryMB: memory,
            pidsMax: pids,
            diskMB: disk,
            timeoutMs: resources.timeoutMs == 0 ? defaultMs : Int(resources.timeoutMs),
            idleTimeoutMs: Int(resources.idleTimeoutMs),
            maximumLifetime: capMs.map { .milliseconds($0) } ?? unlimitedMaximumLifetime)
    }

    static func ports(_ ports: [PortSpec]) throws -> [ExecboxStorage.SessionSpec.Port] {
        guard ports.count <= SandboxSpec.maxExposedPorts else { throw Validation.invalid("at most 16 ports") }
        var seen = Set<Int>()
        return try ports.map { port in
            guard (1...65535).contains(port.containerPort) else {
                throw Validation.invalid("ports[].container_port must be 1 to 65535")
            }
            guard port.transport == .tcp || port.transport == .unspecified else {
                throw Validation.invalid("only TCP ports can be exposed by this server")
            }
            guard seen.insert(Int(port.containerPort)).inserted else {
                throw Validation.invalid("port \(port.containerPort) is declared twice")
            }
            return .init(containerPort: Int(port.containerPort), transport: "tcp")
        }
    }

    /// session.proto's limits (tighter than the backend's): at most 256 entries, names of at most
    /// 256 bytes, values of at most 32 KiB, 128 KiB in total. Names are shown in errors, values never.
    static func validateEnvironment(_ environment: [String: String]) throws {
        guard environment.count <= 256 else { throw Validation.invalid("at most 256 environment variables") }
        var total = 0
        for (name, value) in environment {
            guard name.utf8.count <= 256 else {
                throw Validation.invalid("environment variable names: at most 256 bytes")
            }
            guard value.utf8.count <= 32 << 10 else {
                throw Validation.invalid("environment variable \(name): values may have at most 32 KiB")
            }
            total += name.utf8.count + value.utf8.count
        }
        guard total <= 128 << 10 else { throw Validation.invalid("the environment may have at most 128 KiB in total") }
    }

    static func validateLabels(_ labels: [String: String]) throws {
        guard labels.count <= maxLabels else { throw Validation.invalid("at most 64 labels") }
        for (key, value) in labels {
            let bytes = Array(key.utf8)
            let isLowerOrDigit = { (byte: UInt8) in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            }
            guard (1...63).contains(bytes.count), isLowerOrDigit(bytes[0]),
                bytes.allSatisfy({
                    isLowerOrDigit($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
                })
            else {
                throw Validation.invalid("label keys must be 1 to 63 characters of [a-z0-9._-], starting with [a-z0-9]")
            }
            guard !key.hasPrefix("execbox.") else { throw Validation.invalid("the label prefix execbox. is reserved") }
            guard value.utf8.count <= 256 else { throw Validation.invalid("label values must be at most 256 bytes") }
        }
    }

    static let writableRoots = ["/workspace", "/tmp"]

    /// Under /workspace or /tmp: a per-session mount, never part of an image.
    static func isInSessionMount(_ path: String) -> Bool {
        writableRoots.contains { path == $0 || path.hasPrefix($0 + "/") }
    }

    /// The files decoded and checked; without `anywhere` they must be under /workspace or /tmp
    /// (written into the running sandbox; files elsewhere go into an image, with setup commands).
    static func files(_ files: [FileSpec], anywhere: Bool = false) throws -> [File] {
        guard files.count <= maxFiles else { throw Validation.invalid("at most 64 files") }
        var total = 0
        return try files.map { file in
            guard file.path.hasPrefix("/"), file.path.utf8.count <= 4096, !file.path.utf8.contains(0),
                !file.path.split(separator: "/").contains("..")
            else { throw Validation.invalid("files[].path must be absolute, at most 4096 bytes, without ..") }
            // Until image builds arrive the files are written into the running sandbox, whose only
            // writable places are /workspace and /tmp: refuse anything else before a sandbox exists.
            guard anywhere || Self.writableRoots.contains(where: { file.path.hasPrefix($0 + "/") }) else {
                throw Validation.invalid(
                    "files[].path \(file.path) must be under /workspace or /tmp (files elsewhere go into an image: add setup commands)"
                )
            }
            let contents: [UInt8]
            switch file.encoding {
            case .base64:
                guard let data = Data(base64Encoded: file.content) else {
                    throw Validation.invalid("files[].content of \(file.path) is not valid base64")
                }
                contents = Array(data)
            case .utf8, .unspecified:
                contents = Array(file.content.utf8)
            default:
                throw Validation.invalid("unknown files[].encoding")
            }
            guard contents.count <= maxFileBytes else { throw Validation.invalid("files[] must be at most 1 MiB each") }
            total += contents.count
            guard total <= maxAllFileBytes else { throw Validation.invalid("files[] must be at most 3 MiB together") }
            return File(path: file.path, contents: contents)
        }
    }

    /// The request without its idempotency key and without environment values, maps in key order
    /// (dictionary order differs between processes, and a retry may reach another one).
    static func digest(of request: CreateSessionRequest) -> String {
        var unkeyed = request
        unkeyed.idempotencyKey = ""
        unkeyed.env = [:]
        unkeyed.labels = [:]
        var bytes = unkeyed.serializedBytes()
        // Environment values are secrets and the digest is stored: only the names take part.
        let names = Dictionary(uniqueKeysWithValues: request.env.keys.map { ($0, "") })
        for map in [names, request.labels] {
            bytes.append(0xFF)
            for (key, value) in map.sorted(by: { $0.key < $1.key }) {
                bytes += Array("\(key.utf8.count):\(key)=\(value.utf8.count):\(value);".utf8)
            }
        }
        return sha256Hex(bytes)
    }

    static func sha256Hex(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}
