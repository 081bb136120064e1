import Glibc

/// `openat2(2)` with `RESOLVE_IN_ROOT`: a path is resolved as if `root` were `/`, so `..` and
/// absolute symlinks cannot leave it, and magic links (`/proc/<pid>/root`, `/proc/self/fd/N`) are
/// refused. The sandbox's root is its init's `/proc/<pid>/root`, which shows the sandbox's own mounts.
/// glibc has no wrapper, so the call goes through `syscall`, looked up once (a variadic function
/// called with fixed integer arguments, sound on x86_64 and arm64 Linux).
enum ResolvedOpen {
    private typealias Syscall = @convention(c) (Int, Int, Int, Int, Int) -> Int
    private static let syscallFunction: Syscall? = {
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, "syscall") else { return nil }
        return unsafeBitCast(pointer, to: Syscall.self)
    }()

    static let sysOpenat2 = 437
    static let resolveNoMagicLinks: UInt64 = 0x02
    static let resolveInRoot: UInt64 = 0x10
    static let oPath: Int32 = 0o10000000

    /// An fd for `path` under `root`, or -1 with errno set.
    static func open(root: Int32, _ path: String, flags: Int32, mode: mode_t = 0) -> Int32 {
        guard let function = syscallFunction else {
            errno = ENOSYS
            return -1
        }
        // struct open_how { u64 flags; u64 mode; u64 resolve; }
        var how: (UInt64, UInt64, UInt64) = (
            UInt64(UInt32(bitPattern: flags | O_CLOEXEC)), UInt64(mode), resolveInRoot | resolveNoMagicLinks
        )
        // With RESOLVE_IN_ROOT the kernel answers EAGAIN when a rename or a mount anywhere on the host
        // raced a `..` step (it cannot then vouch the step stayed inside); openat2(2) says to retry.
        // A host creating containers mounts all the time, so this happens under load: retried.
        for _ in 0..<100 {
            let result = path.withCString { cPath in
                withUnsafeMutablePointer(to: &how) { howPointer in
                    function(sysOpenat2, Int(root), Int(bitPattern: cPath), Int(bitPattern: howPointer), 24)
                }
            }
            // libc's `syscall` returns -1 and sets errno itself.
            if result >= 0 { return Int32(result) }
            if errno != EAGAIN, errno != EINTR { return -1 }
        }
        return -1
    }
}
