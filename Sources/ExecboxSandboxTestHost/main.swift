import ExecboxSandbox
import ExecboxSandboxRunc
import Glibc
import Logging

// A server stand-in for the sandbox tests that must kill "the server": it runs a runc backend with the
// test layout under <root> (the same as RuncTestSupport.configuration), creates a sandbox with a
// background exec and a file /workspace/kept, prints `ready <exec-id>` and waits to be killed. With a
// pool size, it keeps that many pooled containers and gives the sandbox one (the pool full again
// before it is ready).
//
//     ExecboxSandboxTestHost <root> <cgroup-parent> hold <sandbox-id> [none|outgoing [runc|runsc [pool-size]]]

func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

let arguments = CommandLine.arguments
guard (5...8).contains(arguments.count), arguments[3] == "hold", let id = try? SandboxID(arguments[4]),
    let network = NetworkMode(rawValue: arguments.count >= 6 ? arguments[5] : "none"),
    let runtime = RuncBackendConfiguration.Runtime(rawValue: arguments.count >= 7 ? arguments[6] : "runc"),
    let poolSize = Int(arguments.count == 8 ? arguments[7] : "0")
else {
    say(
        "usage: ExecboxSandboxTestHost <root> <cgroup-parent> hold <sandbox-id> [none|outgoing [runc|runsc [pool-size]]]"
    )
    exit(2)
}
let root = arguments[1]
let parent = arguments[2]
let octet = parent.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) & 0xff }
var configuration = RuncBackendConfiguration(
    runtime: runtime,
    stateDirectory: "\(root)/runc",
    sandboxDirectory: "\(root)/sandboxes",
    imageDirectory: "\(root)/images",
    spoolDirectory: "\(root)/spool",
    cgroupParent: parent,
    networkPool: "10.89.\(octet).0",
    interfacePrefix: "et\(parent.suffix(4))",
    nftablesTable: "execbox_test_\(parent.suffix(4))",
    maxSandboxes: 64
)
if poolSize > 0 { configuration.poolSizes = ["default": poolSize] }
var logger = Logger(label: "execbox.sandbox.testhost")
logger.logLevel = .error
let backend = try await RuncBackend.make(configuration: configuration, logger: logger)
/// Waits (up to a minute) until the pool holds `poolSize` containers.
func waitForPool() async throws {
    for _ in 0..<6000 where backend.pooledContainers["default", default: 0] < poolSize {
        try await Task.sleep(for: .milliseconds(10))
    }
}
try await withThrowingTaskGroup(of: Void.self) { group in
    group.addTask { try await backend.run() }
    while await backend.health().status != .serving { try await Task.sleep(for: .milliseconds(1)) }
    try await waitForPool()
    _ = try await backend.create(id, SandboxSpec(network: network))
    _ = try await backend.writeFile(
        id, path: "/workspace/kept", contents: Array("kept\n".utf8), mode: 0o644, createParents: false)
    let exec = try await backend.startExec(id, ExecSpec(argv: ["sh", "-c", "echo started; exec sleep 1000"]))
    while try await backend.execInfo(id, exec.id).outputBytes == 0 { try await Task.sleep(for: .milliseconds(2)) }
    try await waitForPool()
    say("ready \(exec.id)")
    try await Task.sleep(for: .seconds(3600))
}
