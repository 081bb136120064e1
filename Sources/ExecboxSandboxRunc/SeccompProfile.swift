/// The seccomp filter every sandbox runs under. This host has no LSM, so seccomp and the dropped
/// capabilities are the only syscall-level gate (TESTPLAN finding 4).
///
/// Shape: default EPERM; every x86_64 syscall Linux 6.1 knows is allowed except `denied` (EPERM) and
/// `notImplemented` (ENOSYS, so libuv, Node and glibc fall back instead of failing); `clone`, `socket`
/// and `personality` are allowed only for safe arguments. Only the x86_64 ABI is listed, so i386
/// (`int 0x80`) and x32 calls are refused before any rule. Calls newer than the list get ENOSYS from
/// runc's stub. libseccomp ignores a conditional rule for a syscall that also has an unconditional
/// one, so argument filters are written as conditional allows, never as exceptions to an allow.
enum SeccompProfile {
    static let eperm: UInt32 = 1
    static let enosys: UInt32 = 38
    static let eafnosupport: UInt32 = 97

    /// Refused with EPERM (by the default action: they appear in no allow rule).
    static let denied: Set<String> = [
        // mounts and namespaces (CVE-2022-0492 and every mount-based escape)
        "mount", "umount2", "pivot_root", "chroot", "unshare", "setns", "move_mount", "open_tree", "fsopen",
        "fsconfig", "fsmount", "fspick", "mount_setattr",
        // the kernel keyring is not namespaced
        "keyctl", "add_key", "request_key",
        // kernel attack surface and host-global state
        "bpf", "perf_event_open", "userfaultfd", "kexec_load", "kexec_file_load", "init_module", "finit_module",
        "delete_module", "create_module", "get_kernel_syms", "query_module", "reboot", "swapon", "swapoff",
        "acct", "iopl", "ioperm", "modify_ldt", "settimeofday", "clock_settime", "clock_adjtime", "syslog",
        "quotactl", "quotactl_fd", "lookup_dcookie", "nfsservctl", "uselib", "_sysctl", "sysfs", "ustat",
        "vhangup", "mbind", "set_mempolicy", "set_mempolicy_home_node", "move_pages", "migrate_pages",
        // reaching into other processes or the host's files
        "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise",
        "name_to_handle_at", "open_by_handle_at",
        // never implemented on x86_64
        "tuxcall", "security", "afs_syscall", "putpmsg", "getpmsg", "vserver",
    ]

    /// Refused with ENOSYS: io_uring (this kernel has it; callers fall back to plain I/O) and clone3,
    /// whose flags live in memory seccomp cannot read (glibc falls back to `clone`, which is filtered).
    static let notImplemented: Set<String> = ["io_uring_setup", "io_uring_enter", "io_uring_register", "clone3"]

    /// Allowed only through the argument rules below.
    static let argumentFiltered: Set<String> = ["clone", "socket", "personality"]

    /// CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET.
    static let cloneNamespaceFlags: UInt64 =
        0x0002_0000 | 0x0200_0000 | 0x0400_0000 | 0x0800_0000
        | 0x1000_0000 | 0x2000_0000 | 0x4000_0000

    /// AF_UNIX, AF_INET, AF_INET6, AF_NETLINK. Every other family (AF_ALG, AF_PACKET, AF_VSOCK, AF_KEY…)
    /// fails with EAFNOSUPPORT, as on a kernel without it. Raw sockets need CAP_NET_RAW, which no
    /// sandbox has.
    static let allowedSocketFamilies: [UInt64] = [1, 2, 10, 16]

    /// PER_LINUX, PER_LINUX32, UNAME26 (and with PER_LINUX32), and the query 0xffffffff. Anything else
    /// (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, MMAP_PAGE_ZERO) is refused.
    static let allowedPersonalities: [UInt64] = [0x0, 0x8, 0x20000, 0x20008, 0xffff_ffff]

    static let architectures = ["SCMP_ARCH_X86_64"]

    static func make() -> OCIConfig.Seccomp {
        typealias Rule = OCIConfig.SyscallRule
        typealias Arg = OCIConfig.SyscallArg
        let excluded = denied.union(notImplemented).union(argumentFiltered)
        var rules: [Rule] = [
            Rule(names: X86_64Syscalls.all.filter { !excluded.contains($0) }, action: "SCMP_ACT_ALLOW"),
            Rule(names: notImplemented.sorted(), action: "SCMP_ACT_ERRNO", errnoRet: enosys),
            Rule(
                names: ["clone"],
                action: "SCMP_ACT_ALLOW",
                args: [Arg(index: 0, value: cloneNamespaceFlags, valueTwo: 0, op: "SCMP_CMP_MASKED_EQ")]
            ),
        ]
        for family in allowedSocketFamilies {
            rules.append(
                Rule(
                    names: ["socket"], action: "SCMP_ACT_ALLOW", args: [Arg(index: 0, value: family, op: "SCMP_CMP_EQ")]
                )
            )
        }
        let refusedFamilies = (0...16).map(UInt64.init).filter { !allowedSocketFamilies.contains($0) }
        for family in refusedFamilies {
            rules.append(
                Rule(
                    names: ["socket"],
                    action: "SCMP_ACT_ERRNO",
                    errnoRet: eafnosupport,
                    args: [Arg(index: 0, value: family, op: "SCMP_CMP_EQ")]
                )
            )
        }
        rules.append(
            Rule(
                names: ["socket"],
                action: "SCMP_ACT_ERRNO",
                errnoRet: eafnosupport,
                args: [Arg(index: 0, value: 16, op: "SCMP_CMP_GT")]
            )
        )
        for personality in allowedPersonalities {
            rules.append(
                Rule(
                    names: ["personality"],
                    action: "SCMP_ACT_ALLOW",
                    args: [Arg(index: 0, value: personality, op: "SCMP_CMP_EQ")]
                )
            )
        }
        return OCIConfig.Seccomp(
            defaultAction: "SCMP_ACT_ERRNO",
            defaultErrnoRet: eperm,
            architectures: architectures,
            syscalls: rules
        )
    }
}
