extension OCIConfig {
    /// The `linux` section: namespaces, id mappings, cgroup resources, masked paths, seccomp.
    struct Linux: Codable, Hashable, Sendable {
        var uidMappings: [IDMapping]?
        var gidMappings: [IDMapping]?
        var namespaces: [Namespace]
        var resources: Resources
        var cgroupsPath: String
        var maskedPaths: [String]
        var readonlyPaths: [String]
        var seccomp: Seccomp?
    }

    struct IDMapping: Codable, Hashable, Sendable {
        var containerID: UInt32
        var hostID: UInt32
        var size: UInt32
    }

    struct Namespace: Codable, Hashable, Sendable {
        /// `pid`, `network`, `ipc`, `uts`, `mount`, `user` or `cgroup`. A `path` only for runsc's
        /// network namespace, which the backend creates for that sandbox: Execbox never joins a
        /// namespace it did not create for the sandbox.
        var type: String
        var path: String? = nil
    }

    struct Resources: Codable, Hashable, Sendable {
        var devices: [DeviceRule]
        var memory: Memory
        var cpu: CPU
        var pids: Pids
    }

    struct DeviceRule: Codable, Hashable, Sendable {
        var allow: Bool
        var access: String
    }

    struct Memory: Codable, Hashable, Sendable {
        var limit: Int64
        /// memory+swap; equal to `limit`, so a sandbox never swaps.
        var swap: Int64?
    }

    struct CPU: Codable, Hashable, Sendable {
        var quota: Int64
        var period: UInt64
    }

    struct Pids: Codable, Hashable, Sendable {
        var limit: Int64
    }
}
