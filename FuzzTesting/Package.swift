// swift-tools-version: 6.1
import PackageDescription

// libFuzzer targets for the parsers. Build and run with scripts/fuzz (see docs/fuzzing.md).
let package = Package(
    name: "ExecboxFuzzTesting",
    dependencies: [.package(name: "Execbox", path: "..")],
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
    ]
)
