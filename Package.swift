// swift-tools-version: 6.1
import PackageDescription

/// The strict settings every target builds with (STYLE.md §13).
let strictSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Execbox",
    products: [
        .library(name: "ExecboxWire", targets: ["ExecboxWire"]),
        .library(name: "ExecboxRPC", targets: ["ExecboxRPC"]),
        .library(name: "ExecboxHTTP2", targets: ["ExecboxHTTP2"]),
        .library(name: "ExecboxGRPC", targets: ["ExecboxGRPC"]),
        .library(name: "ExecboxAPI", targets: ["ExecboxAPI"]),
        .library(name: "ExecboxFixtures", targets: ["ExecboxFixtures"]),
        .library(name: "ExecboxTesting", targets: ["ExecboxTesting"]),
        .library(name: "ExecboxGateway", targets: ["ExecboxGateway"]),
        .library(name: "ExecboxSandbox", targets: ["ExecboxSandbox"]),
        .library(name: "ExecboxSandboxRunc", targets: ["ExecboxSandboxRunc"]),
        .library(name: "ExecboxImages", targets: ["ExecboxImages"]),
        .library(name: "ExecboxSandboxAgentProtocol", targets: ["ExecboxSandboxAgentProtocol"]),
        .executable(name: "protoc-gen-execbox", targets: ["protoc-gen-execbox"]),
        .executable(name: "execbox-server", targets: ["execbox-server"]),
        .executable(name: "execbox", targets: ["execbox"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // The protobuf runtime: wire primitives, message protocol, proto3 JSON. No dependencies.
        .target(name: "ExecboxWire", swiftSettings: strictSettings),

        // Transport-agnostic RPC core: method descriptors, errors, the client transport protocol.
        .target(name: "ExecboxRPC", dependencies: ["ExecboxWire"], swiftSettings: strictSettings),

        // Generated code (scripts/generate writes these folders; never edit by hand).
        .target(
            name: "ExecboxWellKnownTypes",
            dependencies: ["ExecboxWire"],
            path: "Generated/WellKnownTypes",
            swiftSettings: strictSettings
        ),
        .target(
            name: "ExecboxDescriptors",
            dependencies: ["ExecboxWire"],
            path: "Generated/Descriptors",
            swiftSettings: strictSettings
        ),
        .target(
            name: "ExecboxAPI",
            dependencies: ["ExecboxWire", "ExecboxWellKnownTypes", "ExecboxRPC"],
            path: "Generated/API",
            swiftSettings: strictSettings
        ),
        .target(
            name: "ExecboxFixtures",
            dependencies: ["ExecboxWire", "ExecboxWellKnownTypes", "ExecboxRPC"],
            path: "Generated/Fixtures",
            swiftSettings: strictSettings
        ),
        // gRPC's interop TestService (grpc.testing), for the interop executables only.
        .target(
            name: "ExecboxInterop",
            dependencies: ["ExecboxWire", "ExecboxRPC"],
            path: "Generated/Interop",
            swiftSettings: strictSettings
        ),

        // MARK: HTTP/2
        // nghttp2 does the protocol, SwiftNIO the sockets and event loops.
        .systemLibrary(
            name: "CNghttp2",
            pkgConfig: "libnghttp2",
            providers: [.apt(["libnghttp2-dev"])]
        ),
        // OpenSSL 3 (the distribution's) does TLS for the listener and the client.
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .target(
            name: "ExecboxHTTP2",
            dependencies: [
                "CNghttp2",
                "COpenSSL",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            // Release builds skip the runtime exclusivity checks in this module (as the standard
            // library does): its state lives on one event loop, they cost ~9% of server CPU per
            // request in profiles, and debug builds, which every test runs, keep them.
            swiftSettings: strictSettings + [
                .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
            ]
        ),
        .testTarget(
            name: "ExecboxHTTP2Tests",
            dependencies: [
                "ExecboxHTTP2",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "execbox-http2-testserver",
            dependencies: ["ExecboxHTTP2", .product(name: "NIOCore", package: "swift-nio")],
            path: "Tests/HTTP2TestServer",
            swiftSettings: strictSettings
        ),
        // zlib for gRPC's gzip and deflate message compression.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // gRPC over ExecboxHTTP2: framing, status, deadlines, metadata, compression.
        .target(
            name: "ExecboxGRPC",
            dependencies: [
                "CZlib", "ExecboxRPC", "ExecboxHTTP2", "ExecboxWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "execbox-grpc-testserver",
            dependencies: [
                "ExecboxGRPC", "ExecboxHTTP2", "ExecboxRPC", "ExecboxTesting",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/GRPCTestServer",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "execbox-grpc-testclient",
            dependencies: ["ExecboxGRPC", "ExecboxHTTP2", "ExecboxRPC", "ExecboxFixtures", "ExecboxWire"],
            path: "Tests/GRPCTestClient",
            swiftSettings: strictSettings
        ),
        // The standard gRPC interop TestService, served (`--port N`) and called (`--test-case NAME`).
        .executableTarget(
            name: "execbox-interop-server",
            dependencies: [
                "ExecboxGRPC", "ExecboxHTTP2", "ExecboxRPC", "ExecboxInterop", "ExecboxWire",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/InteropServer",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "execbox-interop-client",
            dependencies: [
                "ExecboxGRPC", "ExecboxHTTP2", "ExecboxRPC", "ExecboxInterop", "ExecboxWire",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/InteropClient",
            swiftSettings: strictSettings
        ),
        // MARK: end HTTP/2

        // MARK: Storage (issue 5)
        // Store protocols and value types; the SQL implementation shared by both dialects with the
        // embedded migrations; SQLite (embedded default) and PostgreSQL (libpq) underneath.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(
            name: "ExecboxStorage",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .target(name: "ExecboxStorageSQL", dependencies: ["ExecboxStorage"], swiftSettings: strictSettings),
        .target(
            name: "ExecboxStorageSQLite",
            dependencies: ["CSQLite", "ExecboxStorage", "ExecboxStorageSQL"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ExecboxStoragePostgres",
            dependencies: ["CLibPQ", "ExecboxStorage", "ExecboxStorageSQL"],
            swiftSettings: strictSettings
        ),
        // `execbox-import-legacy --from postgres://… --to sqlite:<path>|postgres://…` (docs/storage.md).
        .executableTarget(
            name: "execbox-import-legacy",
            dependencies: [
                "ExecboxStorage", "ExecboxStorageSQL", "ExecboxStorageSQLite", "ExecboxStoragePostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // Writes acknowledged records until SIGKILLed: the crash-loop test drives it (TESTPLAN 91).
        .executableTarget(
            name: "execbox-storage-crash-writer",
            dependencies: ["ExecboxStorage", "ExecboxStorageSQL", "ExecboxStorageSQLite"],
            path: "Tests/StorageTools/execbox-storage-crash-writer",
            swiftSettings: strictSettings
        ),
        // Drives scripts/bench-storage: create + get + list cycles on SQLite and PostgreSQL.
        .executableTarget(
            name: "execbox-storage-bench",
            dependencies: ["ExecboxStorage", "ExecboxStorageSQL", "ExecboxStorageSQLite", "ExecboxStoragePostgres"],
            path: "Tests/StorageTools/execbox-storage-bench",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ExecboxStorageTests",
            dependencies: [
                "ExecboxStorage", "ExecboxStorageSQL", "ExecboxStorageSQLite", "ExecboxStoragePostgres",
                "execbox-storage-crash-writer", "execbox-import-legacy",
            ],
            swiftSettings: strictSettings
        ),
        // MARK: end Storage (issue 5)

        // MARK: Standard services (issue 4)
        // grpc.health.v1 and grpc.reflection.v1 (+ v1alpha) over RPCRouter, transport-agnostic.
        .target(
            name: "ExecboxStandardServices",
            dependencies: ["ExecboxRPC", "ExecboxAPI", "ExecboxDescriptors", "ExecboxWellKnownTypes", "ExecboxWire"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ExecboxStandardServicesTests",
            dependencies: [
                "ExecboxStandardServices", "ExecboxAPI", "ExecboxDescriptors", "ExecboxRPC", "ExecboxTesting",
                "ExecboxWellKnownTypes", "ExecboxWire",
            ],
            swiftSettings: strictSettings
        ),
        // `execbox-server serve` and `admin …`: the listener and the store in a ServiceGroup, AccountService
        // served for real, the other Execbox services UNIMPLEMENTED until the sandbox backend is wired.
        .executableTarget(
            name: "execbox-server",
            dependencies: [
                "ExecboxAPI", "ExecboxGateway", "ExecboxGRPC", "ExecboxHTTP2", "ExecboxRPC", "ExecboxStandardServices",
                "ExecboxService", "ExecboxSandbox", "ExecboxSandboxRunc", "ExecboxStorage", "ExecboxStorageSQL",
                "ExecboxStorageSQLite",
                "ExecboxStoragePostgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ExecboxServerTests",
            dependencies: [
                "execbox-server", "ExecboxHTTP2", "ExecboxService", "ExecboxStorage",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // MARK: end Standard services

        // MARK: Service (issue 7)
        // The service layer over the store: auth and rate-limit interceptors, the tier table, AccountService,
        // account administration (bootstrap admin, `execbox-server admin …`).
        // The REST /v1 gateway and the WebSocket attach/exec of the legacy contract: legacy JSON ↔
        // the generated messages, served on the listener's HTTP/1.1 side (and HTTP/2), calling the
        // services through the router so every business rule is the gRPC one.
        .target(
            name: "ExecboxGateway",
            dependencies: [
                "ExecboxAPI", "ExecboxHTTP2", "ExecboxRPC", "ExecboxWellKnownTypes", "ExecboxWire",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            resources: [.copy("Resources/openapi.json")],
            swiftSettings: strictSettings
        ),
        .target(
            name: "ExecboxService",
            dependencies: [
                "ExecboxAPI", "ExecboxImages", "ExecboxRPC", "ExecboxSandbox", "ExecboxStorage",
                "ExecboxWellKnownTypes", "ExecboxWire",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ExecboxServiceTests",
            dependencies: [
                "ExecboxService", "ExecboxAPI", "ExecboxRPC", "ExecboxSandbox", "ExecboxSandboxRunc", "ExecboxStorage",
                "ExecboxStorageSQL", "ExecboxStorageSQLite", "ExecboxTesting", "ExecboxWellKnownTypes", "ExecboxWire",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // MARK: end Service (issue 7)

        // MARK: Gateway (issue 8)
        .testTarget(
            name: "ExecboxGatewayTests",
            dependencies: [
                "ExecboxGateway", "ExecboxService", "ExecboxAPI", "ExecboxRPC", "ExecboxStorage", "ExecboxStorageSQL",
                "ExecboxStorageSQLite", "ExecboxTesting", "ExecboxWellKnownTypes", "ExecboxWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // MARK: end Gateway (issue 8)

        // MARK: Sandbox (issue 6)
        // The backend protocol, value types and session state machine (no I/O), and the runc backend:
        // OCI bundles with a seccomp profile, runc create/start/exec/kill/delete, exec output spools.
        .target(name: "ExecboxSandbox", swiftSettings: strictSettings),
        .target(
            name: "ExecboxSandboxRunc",
            dependencies: [
                "ExecboxSandbox",
                "ExecboxImages",
                "CExecboxAgent",
                "ExecboxSandboxAgentProtocol",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // The per-sandbox monitor: runs runc create, stays the container init's parent, records its exit,
        // so a sandbox outlives the server (found next to the server's executable).
        .executableTarget(
            name: "ExecboxSandboxMonitor", dependencies: ["CExecboxAgent"], swiftSettings: strictSettings,
            // Static: it starts with every sandbox (2.7 ms dynamically linked, 0.7 ms static, measured).
            linkerSettings: [.unsafeFlags(["-static-executable"])]
        ),
        // The in-sandbox exec agent: each runc sandbox's pid 1, starting its processes on request
        // (found next to the server's executable). Static, so it runs on any image's root.
        .target(name: "CExecboxAgent"),
        // The agent's wire format, shared by the agent and the backend (and fuzzed).
        .target(name: "ExecboxSandboxAgentProtocol", swiftSettings: strictSettings),
        .executableTarget(
            name: "ExecboxSandboxAgent",
            dependencies: ["CExecboxAgent", "ExecboxSandboxAgentProtocol"],
            swiftSettings: strictSettings,
            linkerSettings: [.unsafeFlags(["-static-executable"])]
        ),
        // A stand-in server the sandbox tests kill with SIGKILL (leftover reaping, restart adoption).
        .executableTarget(
            name: "ExecboxSandboxTestHost",
            dependencies: ["ExecboxSandbox", "ExecboxSandboxRunc", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ExecboxSandboxTests",
            dependencies: [
                "ExecboxSandbox", "ExecboxSandboxRunc", "ExecboxSandboxTestHost",
                "ExecboxSandboxAgentProtocol",
                "ExecboxImages", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // MARK: end Sandbox (issue 6)

        // MARK: Images (issue 10)
        // OCI images without I/O: the content hash of a build request, image references, digests, the
        // OCI layout's JSON models, and a streaming tar reader (gzip through zlib) that applies the
        // layer policy to every entry before anyone unpacks it.
        .target(
            name: "ExecboxImages",
            dependencies: ["CZlib", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ExecboxImagesTests",
            dependencies: ["ExecboxImages", "CZlib"],
            swiftSettings: strictSettings
        ),
        // MARK: end Images (issue 10)

        // MARK: CLI (issue 9)
        // `execbox`, the command-line client: the generated clients over GRPCClientTransport.
        .executableTarget(
            name: "execbox",
            dependencies: [
                "ExecboxAPI", "ExecboxGateway", "ExecboxGRPC", "ExecboxHTTP2", "ExecboxRPC", "ExecboxWellKnownTypes",
                "ExecboxWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // MARK: end CLI (issue 9)

        // Test helpers: in-process RPC transport.
        .target(
            name: "ExecboxTesting",
            dependencies: [
                "ExecboxRPC", "ExecboxFixtures", "ExecboxGateway", "ExecboxWellKnownTypes", "ExecboxWire",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),

        // The protoc plugin: descriptors → model → Swift renderer, behind a thin @main.
        .target(
            name: "ExecboxCodeGen",
            dependencies: ["ExecboxDescriptors", "ExecboxWire"],
            path: "codegen/Sources/ExecboxCodeGen",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "protoc-gen-execbox",
            dependencies: ["ExecboxCodeGen", "ExecboxDescriptors", "ExecboxWire"],
            path: "codegen/Sources/protoc-gen-execbox",
            swiftSettings: strictSettings
        ),

        // Re-encodes messages on request: the Swift side of the Python and protobuf-c cross-checks.
        .executableTarget(
            name: "execbox-wire-check",
            dependencies: ["ExecboxWire", "ExecboxAPI", "ExecboxFixtures", "ExecboxWellKnownTypes"],
            path: "Tests/CrossCheck/execbox-wire-check",
            swiftSettings: strictSettings
        ),

        .testTarget(
            name: "ExecboxWireTests",
            dependencies: ["ExecboxWire", "ExecboxFixtures", "ExecboxWellKnownTypes", "ExecboxAPI"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ExecboxGRPCTests",
            dependencies: [
                "ExecboxGRPC", "ExecboxHTTP2", "ExecboxRPC", "ExecboxTesting", "ExecboxFixtures", "ExecboxWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ExecboxRPCTests",
            dependencies: ["ExecboxRPC", "ExecboxTesting", "ExecboxFixtures", "ExecboxAPI", "ExecboxWire"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ExecboxCodeGenTests",
            dependencies: ["ExecboxCodeGen", "ExecboxDescriptors", "ExecboxFixtures", "ExecboxWire"],
            path: "codegen/Tests/ExecboxCodeGenTests",
            exclude: ["Golden"],
            swiftSettings: strictSettings
        ),
    ]
)
