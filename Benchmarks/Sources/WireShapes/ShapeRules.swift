// The construction rules of the benchmarked values. Benchmarks/cpp/wire_bench.cc repeats them
// line for line; scripts/bench-wire checks that every implementation decodes every other's bytes
// to the value it built itself, so a rule changed on one side only fails the run.

/// Deterministic helpers shared by the rules (integer arithmetic only, so C++ gets the same).
public enum ShapeRules {
    /// splitmix64 of `i` salted with `salt`: a fixed pseudo-random 64-bit value.
    public static func mix(_ i: Int, _ salt: UInt64) -> UInt64 {
        var z = UInt64(i) &* 0x100_0000_01B3 &+ salt &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// The low `digits` hex digits of `value`, lowercase, zero-padded.
    public static func hex(_ value: UInt64, _ digits: Int) -> String {
        let alphabet = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: digits)
        var v = value
        for k in stride(from: digits - 1, through: 0, by: -1) {
            out[k] = alphabet[Int(v & 15)]
            v >>= 4
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `value` in decimal, zero-padded to `width` digits.
    public static func pad(_ value: Int, _ width: Int) -> String {
        let s = String(value)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }
}

extension ShapeRules {
    /// 32 KiB of terminal-like output: printable ASCII, a newline every 64 bytes.
    public static func execOutput() -> OutputChunkSpec {
        let count = 32 * 1024
        var data = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            data[i] = i % 64 == 63 ? 0x0A : UInt8(0x20 + (i * 7 + i / 64) % 95)
        }
        return OutputChunkSpec(stream: 1, offset: 3 * 32768, data: data)
    }

    public static func createSession() -> CreateSessionSpec {
        CreateSessionSpec(
            image: "python:3.12-slim",
            setup: [
                "pip install --no-cache-dir requests==2.32.3 numpy==2.1.3",
                "apt-get update && apt-get install -y --no-install-recommends curl",
            ],
            files: [
                FileSpecSpec(
                    path: "/workspace/main.py",
                    content: "import os\nprint('hello from', os.environ['WORKER_ID'])\n",
                    encoding: 1
                ),
                FileSpecSpec(
                    path: "/workspace/config.json", content: "{\"debug\": false, \"workers\": 4}", encoding: 1),
            ],
            command: ["python", "-u", "/workspace/main.py", "--port", "8000"],
            env: (0..<20).map { k in
                (key: "APP_VAR_" + pad(k, 2), value: "/srv/app/" + hex(mix(k, 11), 8) + "/config-" + pad(k, 2))
            },
            workDir: "/workspace",
            tty: false,
            resources: ResourcesSpec(
                cpuMillicores: 2000,
                memoryMb: 1024,
                pidsMax: 512,
                diskMb: 2048,
                timeoutMs: 600_000,
                idleTimeoutMs: 120_000
            ),
            network: 3,
            ports: (0..<10).map { k in PortSpecSpec(containerPort: UInt32(8000 + k), transport: k % 3 == 2 ? 2 : 1) },
            labels: [
                (key: "team", value: "platform"),
                (key: "env", value: "staging"),
                (key: "owner", value: "user-042"),
                (key: "ci-run", value: "run-20260101-0042"),
            ],
            idempotencyKey: "idem-" + hex(mix(42, 12), 16) + hex(mix(42, 13), 8)
        )
    }

    public static func listSessions() -> ListSessionsSpec {
        ListSessionsSpec(sessions: (0..<100).map(session), nextPageToken: "eyJvZmZzZXQiOjEwMCwibGltaXQiOjEwMH0")
    }

    static let images = ["python:3.12-slim", "node:22-bookworm", "ubuntu:24.04", "golang:1.23-alpine"]
    static let teams = ["platform", "ml-infra", "web", "data", "security"]

    /// Session `i` of the list: running, every tenth one stopped with an exit status.
    public static func session(_ i: Int) -> SessionSpec {
        let id = "sess_" + hex(mix(i, 1), 16) + hex(mix(i, 2), 8)
        let stopped = i % 10 == 0
        let image = images[i % 4]
        let created = TimestampSpec(seconds: 1_767_225_600 + Int64(i) * 37, nanos: Int32((i * 7919) % 1_000_000) * 1000)
        let ended = stopped ? TimestampSpec(seconds: created.seconds + 600, nanos: created.nanos) : nil
        let ports = [
            PortSpecSpec(containerPort: 8000, transport: 1),
            PortSpecSpec(containerPort: UInt32(9000 + i % 10), transport: i % 2 == 1 ? 2 : 1),
        ]
        let bindings = ports.enumerated().map { k, port in
            PortBindingSpec(
                containerPort: port.containerPort,
                transport: port.transport,
                hostPort: UInt32(30000 + i * 2 + k),
                url: "https://p" + String(port.containerPort) + "-" + id + ".execbox.example.net/"
            )
        }
        return SessionSpec(
            id: id,
            status: stopped ? 5 : 3,
            image: image,
            imageId: "sha256:" + (3...6).map { hex(mix(i % 4, UInt64($0)), 16) }.joined(),
            imageRef: "docker.io/library/" + image,
            setupHash: i % 3 == 0 ? hex(mix(i, 7), 16) + hex(mix(i, 8), 16) : "",
            imageCacheHit: i % 3 == 0,
            command: ["/bin/sh", "-c", "exec ./serve --port 8000 --worker " + String(i)],
            envKeys: ["PATH", "HOME", "LANG", "APP_MODE", "WORKER_ID"],
            workDir: "/workspace",
            resources: ResourcesSpec(
                cpuMillicores: UInt32(1000 + (i % 4) * 500),
                memoryMb: UInt32(512 << (i % 3)),
                pidsMax: 256,
                diskMb: 1024,
                timeoutMs: 3_600_000,
                idleTimeoutMs: 300_000
            ),
            networkMode: 3,
            ports: ports,
            network: NetworkInfoSpec(
                mode: 3,
                host: "node-" + pad(i % 8, 2) + ".eu-west.execbox.example.net",
                ports: bindings
            ),
            labels: [
                (key: "team", value: teams[i % 5]),
                (key: "env", value: i % 2 == 0 ? "production" : "staging"),
                (key: "owner", value: "user-" + pad(i % 7, 3)),
            ],
            createdAt: created,
            startedAt: TimestampSpec(seconds: created.seconds + 2, nanos: created.nanos),
            endedAt: ended,
            expiresAt: TimestampSpec(seconds: created.seconds + 3600, nanos: 0),
            lastActivityAt: TimestampSpec(seconds: created.seconds + 120 + Int64(i % 60), nanos: created.nanos),
            exit: ended.map {
                ExitStatusSpec(
                    exitCode: 0,
                    signal: 0,
                    reason: 1,
                    durationMs: 598_000,
                    endedAt: $0,
                    message: "process exited with status 0"
                )
            },
            statusMessage: stopped ? "stopped: main process exited" : "",
            usage: SessionUsageSpec(
                durationMs: 120_000 + Int64(i) * 1000,
                cpuTimeMs: 45_000 + Int64(i) * 311,
                memoryPeakMb: 128 + Int64(i % 256),
                networkTxBytes: 1_048_576 * Int64(i + 1),
                networkRxBytes: 524_288 * Int64(i + 3),
                costUsd: Double(i + 1) * 0.0125,
                costCents: Int64((i + 1) * 125 / 100)
            ),
            backend: "firecracker",
            backendId: "fc-" + hex(mix(i, 9), 12),
            nodeId: "node-" + pad(i % 8, 2),
            apiKeyId: "key_" + hex(mix(i % 3, 10), 16),
            accountId: "acct_7f3a9c21"
        )
    }

    /// Levels of the nested tree (the root is level 0) and children per inner node.
    public static let nestedLevels = 6
    public static let nestedFanOut = 3
    /// Length of every node's name.
    public static let nestedNameLength = 32

    /// A complete tree, ids numbered in pre-order from 1.
    public static func nested() -> NestedSpec {
        var nextId: Int32 = 1
        return nestedNode(level: 0, nextId: &nextId)
    }

    static func nestedNode(level: Int, nextId: inout Int32) -> NestedSpec {
        let id = nextId
        nextId += 1
        var name = "node-" + pad(Int(id), 4) + "-level-" + String(level) + "-"
        let filler = Array("abcdefghijklmnopqrstuvwxyz".utf8)
        var k = 0
        while name.utf8.count < nestedNameLength {
            name.append(Character(Unicode.Scalar(filler[(Int(id) + k) % 26])))
            k += 1
        }
        var children: [NestedSpec] = []
        if level + 1 < nestedLevels {
            for _ in 0..<nestedFanOut {
                children.append(nestedNode(level: level + 1, nextId: &nextId))
            }
        }
        return NestedSpec(id: id, name: name, children: children)
    }
}
