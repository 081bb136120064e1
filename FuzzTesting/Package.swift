// swift-tools-version: 6.1
import PackageDescription

// libFuzzer targets for the parsers. Build and run with scripts/fuzz (see docs/fuzzing.md).
let package = Package(
    name: "ExecboxFuzzTesting",
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzWireDecode",
            dependencies: [
                .product(name: "ExecboxWire", package: "main"),
                .product(name: "ExecboxAPI", package: "main"),
                .product(name: "ExecboxFixtures", package: "main"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
        .executableTarget(
            name: "FuzzJSONDecode",
            dependencies: [
                .product(name: "ExecboxWire", package: "main"),
                .product(name: "ExecboxAPI", package: "main"),
                .product(name: "ExecboxFixtures", package: "main"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
