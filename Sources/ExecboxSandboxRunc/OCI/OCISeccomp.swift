extension OCIConfig {
    /// A seccomp filter in the runtime spec's form; runc turns it into BPF with libseccomp.
    struct Seccomp: Codable, Hashable, Sendable {
        var defaultAction: String
        var defaultErrnoRet: UInt32?
        var architectures: [String]
        var syscalls: [SyscallRule]
    }

    struct SyscallRule: Codable, Hashable, Sendable {
        var names: [String]
        var action: String
        var errnoRet: UInt32?
        var args: [SyscallArg]?
    }

    struct SyscallArg: Codable, Hashable, Sendable {
        var index: UInt32
        var value: UInt64
        var valueTwo: UInt64?
        var op: String
    }
}
