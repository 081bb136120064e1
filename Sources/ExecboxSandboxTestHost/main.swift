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
//
// `keep` instead: a sandbox whose command and execs are still running (or just ended) when it is
// killed, for the test of execs taken over by the next server (RuncRecoveryTests): prints
// `ready <exec-id> ...` (the execs in the order the test names them) once each has written its first
// line.
//
//     ExecboxSandboxTestHost <root> <cgroup-parent> keep <sandbox-id>

func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
}

let arguments = CommandLine.arguments
let keepMode = arguments.count == 5 && arguments[3] == "keep"
guard (5...8).contains(arguments.count), arguments[3] == "hold" || keepMode, let id = try? SandboxID(arguments[4]),
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
    if keepMode {
        try await keepExecs()
        return
    }
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

/// The `keep` mode: the main process and four execs (see RuncRecoveryTests.execsOutliveAKilledServer).
func keepExecs() async throws {
    let waitForGo = "while [ ! -e /workspace/go ]; do sleep 0.02; done"
    // Its end ends the sandbox: it waits for a file of its own, written once the execs ended.
    let main = "echo main-before; while [ ! -e /workspace/go-main ]; do sleep 0.02; done; echo main-after; exit 5"
    _ = try await backend.create(id, SandboxSpec(command: ["sh", "-c", main]))
    let scripts: [(String, Bool)] = [
        // Once the test writes /workspace/burst (through /proc/<init>/root, while no server runs),
        // writes ~500 KB (it blocks once its pipe is full), then waits.
        (
            "seq 1 20000; echo err-before >&2; while [ ! -e /workspace/burst ]; do sleep 0.02; done; "
                + "seq 20001 100000; echo err-after >&2; \(waitForGo); exit 7", false
        ),
        // Ends while no server runs (the test writes /workspace/b-go then).
        ("echo b-out; while [ ! -e /workspace/b-go ]; do sleep 0.02; done; echo b-late; exit 3", false),
        // Ended before the kill.
        ("echo c-done; exit 2", false),
        // On a terminal.
        ("echo tty-before; \(waitForGo); echo tty-after; exit 4", true),
        // Reads stdin under the next server; then until its stdin closes.
        ("echo e-ready; read line; echo \"got:$line\"; cat; echo e-done; exit 9", false),
    ]
    var ids: [String] = []
    for (script, tty) in scripts {
        let exec = try await backend.startExec(id, ExecSpec(argv: ["sh", "-c", script], tty: tty))
        while try await backend.execInfo(id, exec.id).outputBytes == 0 { try await Task.sleep(for: .milliseconds(2)) }
        ids.append(exec.id.rawValue)
    }
    while try await backend.execInfo(id, ExecID(ids[2])).exit == nil { try await Task.sleep(for: .milliseconds(2)) }
    while try await backend.mainExecInfo(id)?.outputBytes ?? 0 == 0 { try await Task.sleep(for: .milliseconds(2)) }
    say("ready \(ids.joined(separator: " "))")
    try await Task.sleep(for: .seconds(3600))
}
