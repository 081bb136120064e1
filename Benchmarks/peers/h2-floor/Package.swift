// swift-tools-version: 6.1
import PackageDescription

/// The floor of scripts/bench-http2: the least a server built like Execbox's (nghttp2 driven from a
/// SwiftNIO channel handler on one event loop) can do per request: with child tasks serving streams
/// as HTTP2Server does, with a task of its own for every stream, and with none. It answers every request with the bytes our test server's
/// `/hello` sends and does nothing else (no header fields kept, no limits, no request API), so it
/// says how much of a request's cost is the architecture and how much is Execbox's own code. A
/// package of its own: nothing in Execbox depends on it.
let package = Package(
    name: "H2Floor",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3")
    ],
    targets: [
        .systemLibrary(name: "CNghttp2Floor", pkgConfig: "libnghttp2"),
        // `h2-floor [--task-per-stream | --inline]`: prints `listening on PORT` (a free loopback port) once bound.
        .executableTarget(
            name: "h2-floor",
            dependencies: [
                "CNghttp2Floor",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
