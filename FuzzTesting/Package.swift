// swift-tools-version: 6.1
import PackageDescription

// libFuzzer targets for the parsers. Build and run with scripts/fuzz (see docs/fuzzing.md).
let package = Package(
    name: "ExecboxFuzzTesting",
    dependencies: [
        .package(name: "Execbox", path: ".."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
    ],
    targets: [
        .executableTarget(
            name: "FuzzWireDecode",
            dependencies: [
                .product(name: "ExecboxWire", package: "Execbox"),
                .product(name: "ExecboxAPI", package: "Execbox"),
                .product(name: "ExecboxFixtures", package: "Execbox"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "FuzzJSONDecode",
            dependencies: [
                .product(name: "ExecboxWire", package: "Execbox"),
                .product(name: "ExecboxAPI", package: "Execbox"),
                .product(name: "ExecboxFixtures", package: "Execbox"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "FuzzGRPCFraming",
            dependencies: [
                .product(name: "ExecboxGRPC", package: "Execbox"),
                .product(name: "ExecboxRPC", package: "Execbox"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "FuzzGRPCMetadata",
            dependencies: [
                .product(name: "ExecboxGRPC", package: "Execbox"),
                .product(name: "ExecboxRPC", package: "Execbox"),
                .product(name: "ExecboxHTTP2", package: "Execbox"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "FuzzGatewayInput",
            dependencies: [
                .product(name: "ExecboxGateway", package: "Execbox"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "FuzzAgentProtocol",
            dependencies: [.product(name: "ExecboxSandboxAgentProtocol", package: "Execbox")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "FuzzTarReader",
            dependencies: [.product(name: "ExecboxImages", package: "Execbox")],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
