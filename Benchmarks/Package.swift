// swift-tools-version: 6.1
import PackageDescription

/// Wire-format benchmarks: Execbox's own protobuf runtime against apple/swift-protobuf (and, through
/// scripts/bench-wire, C++ libprotobuf) on the same message values. A separate package so that the
/// main package never depends on swift-protobuf or the benchmark harness (STYLE.md §16).
let settings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "ExecboxBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        // Named, so that products resolve whatever the checkout folder is called.
        .package(name: "Execbox", path: ".."),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The construction rules of the four message shapes as plain values (no protobuf types), so
        // that every implementation builds the same message from the same data.
        .target(name: "WireShapes", swiftSettings: settings),

        // swift-protobuf 1.39.0's generated code for the same .proto files; committed, see README.md.
        .target(
            name: "SwiftProtobufPeer",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),

        // The shapes as Execbox messages and as swift-protobuf messages, behind one interface.
        .target(
            name: "WireBenchCore",
            dependencies: [
                "WireShapes",
                "SwiftProtobufPeer",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "ExecboxWire", package: "Execbox"),
                .product(name: "ExecboxAPI", package: "Execbox"),
                .product(name: "ExecboxFixtures", package: "Execbox"),
            ],
            swiftSettings: settings
        ),

        // Side-by-side runner used by scripts/bench-wire (same CLI as cpp/wire_bench.cc).
        .executableTarget(
            name: "wire-bench",
            dependencies: ["WireBenchCore", "WireShapes"],
            swiftSettings: settings
        ),

        // ordo-one benchmark suite: `swift package benchmark`.
        .executableTarget(
            name: "WireBenchmarks",
            dependencies: [
                "WireBenchCore",
                "WireShapes",
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/WireBenchmarks",
            swiftSettings: settings,
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
