import ExecboxSandbox

/// Turns a validated spec into the `config.json` runc runs. Pure: the same input gives the same
/// config, which `OCIConfigBuilderTests` checks against the invariants of TESTPLAN 108.
struct OCIConfigBuilder: Sendable {
    struct Input: Sendable {
        var id: SandboxID
        var spec: SandboxSpec
        /// Already resolved (no zeros).
        var limits: SandboxLimits
        var image: SandboxImage
        /// The first host id of the sandbox's user-namespace range; nil runs without a user namespace.
        var idMapHostBase: UInt32?
        /// The cgroup (in every hierarchy) under which the sandbox's own is created.
        var cgroupParent = "execbox"
        /// runsc: `/workspace` and `/tmp` are bind mounts of the size-limited tmpfs mounts the backend
        /// made on the host (`<rootfs>/workspace`, `<rootfs>/tmp`), so the file API reaches them; a
        /// tmpfs in the spec would live inside gVisor's kernel, out of the host's sight.
        var hostTmpfsRoot: String? = nil
        /// runsc with `outgoing`/`exposed`: the network namespace the backend prepared.
        var networkNamespacePath: String? = nil
        /// The user the processes run as (inside ids): the image's `User`, else root.
        var user = OCIConfig.User(uid: 0, gid: 0)
        /// runc: the exec agent to run as the init instead of the image's (`catatonit -P`).
        var agent: Agent? = nil
        /// The runtime's name of the container (its cgroups are named so): the sandbox id, or a
        /// pooled container's own name (`RuncBackend+Pool`).
        var container: String? = nil

        var containerName: String { container ?? id.rawValue }
    }

    /// The exec agent's host binary (bound read-only into the sandbox's `/dev`) and the host
    /// directory it makes its socket in (bound writable next to it).
    struct Agent: Sendable {
        var binary: String
        var directory: String
    }

    /// The capabilities root inside a sandbox keeps: enough to own and chmod its files and to run
    /// servers on low ports; none of SYS_ADMIN, NET_RAW, NET_ADMIN, SYS_PTRACE, DAC_READ_SEARCH,
    /// SYS_MODULE, MKNOD, SYS_RAWIO, SYS_CHROOT, SETFCAP or AUDIT_WRITE.
    static let capabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID",
        "CAP_NET_BIND_SERVICE",
    ]

    /// runc's defaults (`runc spec`) plus the other kernel-information files Docker and gVisor hide.
    static let maskedPaths = [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
        "/proc/kallsyms", "/proc/kmsg", "/proc/key-users", "/proc/vmallocinfo", "/proc/pagetypeinfo",
        "/proc/slabinfo", "/sys/kernel/debug", "/sys/kernel/security", "/sys/devices/virtual/powercap",
    ]

    /// runc's defaults.
    static let readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

    static let rlimits = [
        OCIConfig.Rlimit(type: "RLIMIT_NOFILE", hard: 4096, soft: 4096),
        OCIConfig.Rlimit(type: "RLIMIT_CORE", hard: 0, soft: 0),
        OCIConfig.Rlimit(type: "RLIMIT_MEMLOCK", hard: 64 << 10, soft: 64 << 10),
    ]

    static let path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    /// Size of the user-namespace range of one sandbox.
    static let idRangeSize: UInt32 = 65536
    static let cpuPeriod: UInt64 = 100_000
    /// runsc: the host pids cgroup also holds gVisor's kernel, its gofer and their threads (about 60
    /// here), so the sandbox's own processes get this much more room than their limit.
    static let runscPidsHeadroom = 128

    static func hostname(for input: Input) -> String {
        input.spec.hostname.isEmpty ? String(input.id.rawValue.prefix(63)) : input.spec.hostname
    }

    /// An OCI config's `KEY=value` list as a dictionary (later entries win; malformed ones dropped).
    static func imageEnvironment(_ entries: [String]) -> [String: String] {
        var result: [String: String] = [:]
        for entry in entries {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else { continue }
            result[String(entry[..<equals])] = String(entry[entry.index(after: equals)...])
        }
        return result
    }

    static func environment(_ base: [String: String], overrides: [String: String] = [:]) -> [String] {
        var merged = ["PATH": path, "HOME": "/workspace", "LANG": "C.UTF-8"]
        merged.merge(base) { $1 }
        merged.merge(overrides) { $1 }
        return merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
    }

    /// Stands in for the process of a sandbox that will never run one (a lost one).
    static let placeholderProcess = OCIConfig.Process(
        terminal: false,
        user: OCIConfig.User(uid: 0, gid: 0),
        args: [],
        env: [],
        cwd: "/",
        capabilities: OCIConfig.Capabilities(bounding: [], effective: [], inheritable: [], permitted: [], ambient: []),
        rlimits: [],
        noNewPrivileges: true
    )

    static func make(_ input: Input) -> OCIConfig {
        let limits = input.limits
        // The init only pauses (and reaps): the command runs as the sandbox's main exec, whose
        // output is spooled for attach and whose exact wait status is the sandbox's exit.
        let args =
            input.agent == nil
            ? [input.image.initPath, "-P"]
            : [
                SandboxAgentClient.binaryInSandbox,
                "\(SandboxAgentClient.directoryInSandbox)/\(SandboxAgentClient.socketName)",
            ]
        let capabilities = OCIConfig.Capabilities(
            bounding: Self.capabilities,
            effective: Self.capabilities,
            inheritable: [],
            permitted: Self.capabilities,
            ambient: []
        )
        let process = OCIConfig.Process(
            terminal: false,
            user: input.user,
            args: args,
            env: environment(imageEnvironment(input.image.runtime.env), overrides: input.spec.environment),
            cwd: input.spec.workingDirectory,
            capabilities: capabilities,
            rlimits: rlimits,
            noNewPrivileges: true
        )
        var namespaces = ["pid", "ipc", "uts", "mount", "network", "cgroup"]
        var uidMappings: [OCIConfig.IDMapping]?
        if let base = input.idMapHostBase {
            namespaces.append("user")
            uidMappings = [OCIConfig.IDMapping(containerID: 0, hostID: base, size: idRangeSize)]
        }
        let memory = Int64(limits.memoryBytes)
        let linux = OCIConfig.Linux(
            uidMappings: uidMappings,
            gidMappings: uidMappings,
            namespaces: namespaces.map {
                OCIConfig.Namespace(type: $0, path: $0 == "network" ? input.networkNamespacePath : nil)
            },
            resources: OCIConfig.Resources(
                devices: [OCIConfig.DeviceRule(allow: false, access: "rwm")],
                memory: OCIConfig.Memory(limit: memory, swap: memory),
                cpu: OCIConfig.CPU(quota: Int64(limits.cpuMillicores) * Int64(cpuPeriod) / 1000, period: cpuPeriod),
                pids: OCIConfig.Pids(limit: Int64(limits.pids + (input.hostTmpfsRoot == nil ? 0 : runscPidsHeadroom)))
            ),
            cgroupsPath: "/\(input.cgroupParent)/\(input.containerName)",
            maskedPaths: maskedPaths,
            readonlyPaths: readonlyPaths,
            seccomp: SeccompProfile.make()
        )
        return OCIConfig(
            process: process,
            // A layered image's root is its overlay with the sandbox's own writable upper layer.
            root: OCIConfig.Root(path: "rootfs", readonly: !input.image.isLayered),
            hostname: hostname(for: input),
            mounts: mounts(input),
            linux: linux
        )
    }

    /// `/dev/shm`'s size: the memory limit, up to 64 MiB.
    static func shmBytes(_ limits: SandboxLimits) -> Int { min(64 << 20, limits.memoryBytes) }

    /// `/tmp`'s size and inodes: a quarter of the disk limits.
    static func tmpLimits(_ limits: SandboxLimits) -> (bytes: Int, inodes: Int) {
        (max(1 << 20, limits.diskBytes / 4), max(64, limits.diskInodes / 4))
    }

    static func mounts(_ input: Input) -> [OCIConfig.Mount] {
        typealias Mount = OCIConfig.Mount
        let limits = input.limits
        let shm = shmBytes(limits)
        let (tmpBytes, tmpInodes) = tmpLimits(limits)
        var mounts = [
            Mount(destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"]),
            Mount(
                destination: "/dev",
                type: "tmpfs",
                source: "tmpfs",
                options: ["nosuid", "strictatime", "mode=755", "size=65536k"]
            ),
            Mount(
                destination: "/dev/pts",
                type: "devpts",
                source: "devpts",
                options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]
            ),
            Mount(
                destination: "/dev/shm",
                type: "tmpfs",
                source: "shm",
                options: ["nosuid", "noexec", "nodev", "mode=1777", "size=\(shm)"]
            ),
            Mount(
                destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]),
            Mount(destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]),
        ]
        if let agent = input.agent {
            mounts.append(
                Mount(
                    destination: SandboxAgentClient.binaryInSandbox,
                    type: "bind",
                    source: agent.binary,
                    options: ["bind", "ro", "nosuid", "nodev"]
                )
            )
            mounts.append(
                Mount(
                    destination: SandboxAgentClient.directoryInSandbox,
                    type: "bind",
                    source: agent.directory,
                    options: ["bind", "nosuid", "nodev", "noexec"]
                )
            )
        }
        for bind in input.image.bindMounts {
            mounts.append(
                Mount(
                    destination: bind.destination,
                    type: "bind",
                    source: bind.source,
                    options: ["rbind", "ro", "nosuid", "nodev"]
                )
            )
        }
        if let host = input.hostTmpfsRoot {
            mounts.append(
                Mount(destination: "/tmp", type: "bind", source: "\(host)/tmp", options: ["rbind", "nosuid", "nodev"]))
        } else {
            mounts.append(
                Mount(
                    destination: "/tmp",
                    type: "tmpfs",
                    source: "tmpfs",
                    options: ["nosuid", "nodev", "mode=1777", "size=\(tmpBytes)", "nr_inodes=\(tmpInodes)"]
                )
            )
        }
        mounts.append(
            Mount(
                destination: "/run",
                type: "tmpfs",
                source: "tmpfs",
                options: ["nosuid", "nodev", "noexec", "mode=755", "size=1048576", "nr_inodes=256"]
            )
        )
        if let host = input.hostTmpfsRoot {
            mounts.append(
                Mount(
                    destination: "/workspace", type: "bind", source: "\(host)/workspace",
                    options: ["rbind", "nosuid", "nodev"])
            )
            return mounts
        }
        mounts.append(
            Mount(
                destination: "/workspace",
                type: "tmpfs",
                source: "tmpfs",
                options: [
                    "nosuid", "nodev", "mode=755", "size=\(limits.diskBytes)", "nr_inodes=\(limits.diskInodes)",
                ]
            )
        )
        return mounts
    }
}
