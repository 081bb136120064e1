// swift-tools-version: 6.1
import PackageDescription

/// The peer of scripts/bench-rpc: the same echo service served by grpc-swift-2 2.4.3 over
/// grpc-swift-nio-transport 2.9.2 (HTTP2ServerTransport.Posix, plaintext). A package of its own so
/// that neither Execbox nor its benchmarks ever depend on swift-protobuf or grpc-swift.
let package = Package(
    name: "GRPCSwiftBenchPeer",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/grpc/grpc-swift-2", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", exact: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
    ],
    targets: [
        // `grpc-swift-bench-server --port N`; Generated/ is committed, see README.md.
        .executableTarget(
            name: "grpc-swift-bench-server",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        )
    ]
)
