import ExecboxSandbox
import FoundationEssentials
import Testing

@testable import ExecboxSandboxRunc

/// TESTPLAN 108: for random specs, the generated config keeps the sandbox's invariants.
@Suite struct OCIConfigBuilderTests {
    static let forbiddenCapabilities: Set<String> = [
        "CAP_SYS_ADMIN", "CAP_NET_RAW", "CAP_NET_ADMIN", "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH", "CAP_SYS_MODULE",
        "CAP_MKNOD", "CAP_SYS_RAWIO", "CAP_SYS_TIME", "CAP_SYS_BOOT", "CAP_BPF", "CAP_PERFMON", "CAP_SYSLOG",
    ]
    static let runcMaskedPaths = [
        "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
    ]
    static let runcReadonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
    /// What TESTPLAN §A and issue 6 name; none may be reachable through an allow rule.
    static let mustBeRefused = [
        "mount", "umount2", "unshare", "setns", "keyctl", "add_key", "request_key", "bpf", "perf_event_open",
        "userfaultfd", "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "ptrace",
        "pivot_root", "open_tree", "move_mount", "fsopen", "fsmount", "name_to_handle_at", "open_by_handle_at",
        "process_vm_readv", "process_vm_writev", "kcmp", "reboot", "swapon", "acct", "iopl", "ioperm",
        "settimeofday", "clock_settime", "syslog",
    ]

    static let image = try! SandboxImage.hostUsr(preparedDirectory: nil)

    static func randomInput(_ generator: inout SeededGenerator) throws -> OCIConfigBuilder.Input {
        func random(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        var environment: [String: String] = [:]
        for index in 0..<random(0...6) {
            environment["VAR_\(index)_\(random(0...99))"] = String(repeating: "x", count: random(0...40))
        }
        if random(0...3) == 0 { environment["PATH"] = "/opt/bin" }
        let limits = try SandboxLimits(
            memoryBytes: [0, 8 << 20, random(8...4096) << 20].randomElement(using: &generator)!,
            cpuMillicores: [0, 10, random(10...16000)].randomElement(using: &generator)!,
            pids: [0, random(8...4096)].randomElement(using: &generator)!,
            diskBytes: [0, random(1...65536) << 20].randomElement(using: &generator)!,
            diskInodes: [0, random(64...1 << 20)].randomElement(using: &generator)!
        ).resolved()
        let spec = SandboxSpec(
            limits: limits,
            network: .none,
            environment: environment,
            command: random(0...1) == 0 ? [] : ["sh", "-c", "echo \(random(0...9))"],
            hostname: random(0...1) == 0 ? "" : "host-\(random(0...999))"
        )
        try spec.validate()
        return OCIConfigBuilder.Input(
            id: try SandboxID("sbx-\(random(0...1_000_000))"),
            spec: spec,
            limits: limits,
            image: Self.image,
            idMapHostBase: random(0...2) == 0 ? nil : UInt32(1 << 20) + UInt32(random(0...100)) * 65536
        )
    }

    @Test func randomSpecsKeepTheInvariants() throws {
        var generator = SeededGenerator(seed: 108)
        for _ in 0..<300 {
            let input = try Self.randomInput(&generator)
            let config = OCIConfigBuilder.make(input)
            try Self.checkInvariants(config, input)
        }
    }

    static func checkInvariants(_ config: OCIConfig, _ input: OCIConfigBuilder.Input) throws {
        let process = config.process
        let caps = process.capabilities
        for set in [caps.bounding, caps.effective, caps.permitted] {
            #expect(Set(set).isSubset(of: Set(OCIConfigBuilder.capabilities)))
            #expect(Set(set).isDisjoint(with: forbiddenCapabilities))
        }
        #expect(caps.inheritable.isEmpty && caps.ambient.isEmpty)
        #expect(process.noNewPrivileges)
        #expect(!process.terminal)
        let rlimits = Dictionary(uniqueKeysWithValues: process.rlimits.map { ($0.type, $0) })
        #expect(rlimits["RLIMIT_NOFILE"]?.hard == 4096)
        #expect(rlimits["RLIMIT_CORE"]?.hard == 0)
        #expect(process.args == [input.image.initPath, "-P"], "the command runs as the main exec")
        for (name, value) in input.spec.environment { #expect(process.env.contains("\(name)=\(value)")) }
        #expect(process.env.filter { $0.hasPrefix("PATH=") }.count == 1)

        let linux = config.linux
        let namespaces = Set(linux.namespaces.map(\.type))
        #expect(namespaces.isSuperset(of: ["pid", "ipc", "uts", "mount", "network", "cgroup"]))
        #expect(namespaces.count == linux.namespaces.count, "no namespace twice")
        if let base = input.idMapHostBase {
            #expect(namespaces.contains("user"))
            #expect(linux.uidMappings == [OCIConfig.IDMapping(containerID: 0, hostID: base, size: 65536)])
            #expect(linux.gidMappings == linux.uidMappings)
            #expect(base > 0)
        } else {
            #expect(!namespaces.contains("user") && linux.uidMappings == nil)
        }
        #expect(Set(linux.maskedPaths).isSuperset(of: runcMaskedPaths))
        #expect(Set(linux.readonlyPaths).isSuperset(of: runcReadonlyPaths))
        #expect(linux.cgroupsPath == "/execbox/\(input.id.rawValue)")
        #expect(linux.resources.pids.limit == Int64(input.limits.pids))
        #expect(linux.resources.memory.limit == Int64(input.limits.memoryBytes))
        #expect(linux.resources.memory.swap == linux.resources.memory.limit)
        #expect(linux.resources.cpu.quota == Int64(input.limits.cpuMillicores) * 100)
        #expect(linux.resources.devices == [OCIConfig.DeviceRule(allow: false, access: "rwm")])

        #expect(config.root == OCIConfig.Root(path: "rootfs", readonly: true))
        #expect(!config.hostname.isEmpty && config.hostname.utf8.count <= 63)
        let imageSources = Set(input.image.bindMounts.map(\.source))
        for mount in config.mounts where mount.type == "bind" || mount.options.contains("rbind") {
            #expect(imageSources.contains(mount.source), "bind mount of \(mount.source)")
            #expect(mount.options.contains("ro") && mount.options.contains("nosuid") && mount.options.contains("nodev"))
        }
        #expect(!config.mounts.contains { $0.destination.hasPrefix("/sys/fs/cgroup") })
        for destination in ["/tmp", "/workspace"] {
            let mount = try #require(config.mounts.first { $0.destination == destination })
            #expect(mount.type == "tmpfs")
            #expect(mount.options.contains { $0.hasPrefix("size=") })
            #expect(mount.options.contains { $0.hasPrefix("nr_inodes=") })
        }
        let workspace = try #require(config.mounts.first { $0.destination == "/workspace" })
        #expect(workspace.options.contains("size=\(input.limits.diskBytes)"))
        #expect(workspace.options.contains("nr_inodes=\(input.limits.diskInodes)"))

        try checkSeccomp(try #require(linux.seccomp))

        let encoded = try JSONEncoder().encode(config)
        #expect(try JSONDecoder().decode(OCIConfig.self, from: encoded) == config)
    }

    static func checkSeccomp(_ seccomp: OCIConfig.Seccomp) throws {
        #expect(seccomp.defaultAction == "SCMP_ACT_ERRNO" && seccomp.defaultErrnoRet == 1)
        #expect(seccomp.architectures == ["SCMP_ARCH_X86_64"], "other ABIs (i386, x32) must not be listed")
        let allows = seccomp.syscalls.filter { $0.action == "SCMP_ACT_ALLOW" }
        let unconditional = Set(allows.filter { $0.args == nil }.flatMap(\.names))
        let conditional = Set(allows.filter { $0.args != nil }.flatMap(\.names))
        for name in mustBeRefused {
            #expect(!unconditional.contains(name) && !conditional.contains(name), "\(name) is allowed")
        }
        #expect(conditional == ["clone", "socket", "personality"])
        #expect(unconditional.isDisjoint(with: conditional), "libseccomp would ignore the argument rules")
        #expect(!unconditional.contains("clone3"))
        for name in ["io_uring_setup", "io_uring_enter", "io_uring_register", "clone3"] {
            #expect(seccomp.syscalls.contains { $0.names.contains(name) && $0.errnoRet == 38 }, "\(name) → ENOSYS")
        }
        let socketFamilies = allows.filter { $0.names == ["socket"] }.compactMap { $0.args?.first?.value }
        #expect(Set(socketFamilies) == [1, 2, 10, 16])
        for family: UInt64 in [17, 38, 40, 15] {
            #expect(
                seccomp.syscalls.contains { rule in
                    rule.names == ["socket"] && rule.errnoRet == 97
                        && rule.args?.contains {
                            ($0.op == "SCMP_CMP_EQ" && $0.value == family)
                                || ($0.op == "SCMP_CMP_GT" && family > $0.value)
                        } == true
                },
                "socket family \(family) → EAFNOSUPPORT"
            )
        }
        let clone = try #require(allows.first { $0.names == ["clone"] })
        #expect(clone.args?.count == 1)
        #expect(clone.args?.first?.op == "SCMP_CMP_MASKED_EQ" && clone.args?.first?.valueTwo == 0)
        #expect(clone.args?.first?.value == 0x7E02_0000, "every CLONE_NEW* flag is masked")
        let personalities = allows.filter { $0.names == ["personality"] }.compactMap { $0.args?.first?.value }
        #expect(!personalities.contains(0x0040000), "ADDR_NO_RANDOMIZE")
        #expect(Set(personalities) == [0, 8, 0x20000, 0x20008, 0xffff_ffff])
    }

    /// runsc's config: /workspace and /tmp are binds of the host tmpfs mounts (gVisor would keep a
    /// spec tmpfs out of the host's reach), the network namespace is the one the backend made, no
    /// user namespace, and the pids limit leaves room for gVisor's own threads.
    @Test func runscBindsTheHostTmpfsAndJoinsThePreparedNamespace() throws {
        let catalog = try ImageCatalog.builtIn(preparedIn: nil)
        let limits = try SandboxLimits(pids: 32).resolved()
        let input = OCIConfigBuilder.Input(
            id: SandboxID.random(), spec: SandboxSpec(network: .outgoing), limits: limits,
            image: try catalog.resolve("default"), idMapHostBase: nil, cgroupParent: "p",
            hostTmpfsRoot: "/b/rootfs", networkNamespacePath: "/run/netns/ebx3ns")
        let config = OCIConfigBuilder.make(input)
        let byDestination = Dictionary(uniqueKeysWithValues: config.mounts.map { ($0.destination, $0) })
        #expect(
            byDestination["/workspace"]?.type == "bind" && byDestination["/workspace"]?.source == "/b/rootfs/workspace")
        #expect(byDestination["/tmp"]?.type == "bind" && byDestination["/tmp"]?.source == "/b/rootfs/tmp")
        #expect(config.linux.namespaces.first { $0.type == "network" }?.path == "/run/netns/ebx3ns")
        #expect(!config.linux.namespaces.contains { $0.type == "user" } && config.linux.uidMappings == nil)
        #expect(config.linux.resources.pids.limit == 32 + Int64(OCIConfigBuilder.runscPidsHeadroom))
        #expect(config.root.readonly)
    }

    @Test func unknownImageIsAnInvalidArgument() throws {
        let catalog = try ImageCatalog.builtIn(preparedIn: nil)
        #expect(throws: SandboxError.self) { try catalog.resolve("python:3.12") }
        do {
            _ = try catalog.resolve("ubuntu")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("ubuntu") && error.message.contains("default"))
        }
        #expect((try? catalog.resolve("default"))?.name == "default")
    }

    @Test func limitsOutOfRangeAreInvalidArguments() throws {
        for limits in [
            SandboxLimits(memoryBytes: 1), SandboxLimits(cpuMillicores: 1_000_000), SandboxLimits(pids: 3),
            SandboxLimits(diskBytes: 1 << 50), SandboxLimits(timeout: .milliseconds(1)),
        ] {
            #expect(throws: SandboxError.self) { try limits.resolved() }
        }
        #expect(try SandboxLimits().resolved() == .defaults)
    }

    @Test func specValidationRejectsEscapesAndBadNames() {
        let bad = [
            SandboxSpec(workingDirectory: "relative"), SandboxSpec(workingDirectory: "/proc/self/fd/3"),
            SandboxSpec(workingDirectory: "/workspace/../proc"), SandboxSpec(environment: ["1X": "y"]),
            SandboxSpec(environment: ["A=B": "y"]), SandboxSpec(environment: ["A": "nul\0"]),
            SandboxSpec(hostname: "Bad_Host"),
        ]
        for spec in bad { #expect(throws: SandboxError.self) { try spec.validate() } }
        #expect(throws: SandboxError.self) { try ExecSpec(argv: []).validate() }
        #expect(throws: SandboxError.self) { try ExecSpec(argv: ["sh"], workingDirectory: "/proc/1/cwd").validate() }
        #expect(throws: Never.self) { try SandboxSpec().validate() }
        #expect((try? SandboxID("../etc")) == nil)
        #expect((try? SandboxID("-x")) == nil)
        #expect((try? SandboxID("sbx-ok_1")) != nil)
        #expect(SandboxID.random().rawValue.count == 24)
    }
}
