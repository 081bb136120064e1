/// The OCI runtime spec's `config.json` (runtime-spec 1.0.2, the version runc 1.1 reads), limited to
/// the fields Execbox sets. Built by `OCIConfigBuilder`, encoded once per sandbox.
struct OCIConfig: Codable, Hashable, Sendable {
    var ociVersion = "1.0.2"
    var process: Process
    var root: Root
    var hostname: String
    var mounts: [Mount]
    var linux: Linux

    struct Root: Codable, Hashable, Sendable {
        var path: String
        var readonly: Bool
    }

    struct Process: Codable, Hashable, Sendable {
        var terminal: Bool
        var user: User
        var args: [String]
        var env: [String]
        var cwd: String
        var capabilities: Capabilities
        var rlimits: [Rlimit]
        var noNewPrivileges: Bool
        var oomScoreAdj: Int?
        /// The initial size of a `terminal` process's pty (runc sets it before the process starts).
        var consoleSize: ConsoleSize?
    }

    struct ConsoleSize: Codable, Hashable, Sendable {
        var height: UInt16
        var width: UInt16
    }

    struct User: Codable, Hashable, Sendable {
        var uid: UInt32
        var gid: UInt32
        var additionalGids: [UInt32]?
    }

    struct Capabilities: Codable, Hashable, Sendable {
        var bounding: [String]
        var effective: [String]
        var inheritable: [String]
        var permitted: [String]
        var ambient: [String]
    }

    struct Rlimit: Codable, Hashable, Sendable {
        var type: String
        var hard: UInt64
        var soft: UInt64
    }

    struct Mount: Codable, Hashable, Sendable {
        var destination: String
        var type: String
        var source: String
        var options: [String]
    }
}
