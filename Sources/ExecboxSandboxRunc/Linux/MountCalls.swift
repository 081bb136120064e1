import Glibc

/// The new mount API (`open_tree`, `mount_setattr`, `move_mount`; Linux 5.12+) for idmapped bind
/// mounts, which glibc 2.36 does not wrap: the calls go through libc's `syscall`, looked up once (a
/// variadic function called with fixed integer arguments, sound on the x86_64 Linux ABI).
enum MountCalls {
    private typealias Syscall = @convention(c) (Int, Int, Int, Int, Int, Int) -> Int
    private static let syscallFunction: Syscall? = {
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, "syscall") else { return nil }
        return unsafeBitCast(pointer, to: Syscall.self)
    }()

    static let sysOpenTree = 428
    static let sysMoveMount = 429
    static let sysMountSetattr = 442
    static let openTreeClone = 1
    static let openTreeCloexec = Int(O_CLOEXEC)
    static let atEmptyPath = 0x1000
    static let atRecursive = 0x8000
    static let moveMountFromEmptyPath = 0x4
    static let mountAttrReadOnly: UInt64 = 0x1
    static let mountAttrNoSuid: UInt64 = 0x2
    static let mountAttrNoDev: UInt64 = 0x4
    static let mountAttrIDMap: UInt64 = 0x10_0000

    private static func call(_ number: Int, _ a: Int, _ b: Int, _ c: Int, _ d: Int, _ e: Int) -> Int {
        guard let function = syscallFunction else {
            errno = ENOSYS
            return -1
        }
        return function(number, a, b, c, d, e)
    }

    /// Bind-mounts `source` on `target` read-only, nosuid and nodev, with its owners mapped through
    /// the user namespace `userNamespace` (an open `/proc/<pid>/ns/user`): a file owned by 0 appears
    /// owned by the namespace's root. Without a namespace (-1) the bind is plain.
    static func bindReadOnly(_ source: String, on target: String, userNamespace: Int32) throws(SystemError) {
        let tree = source.withCString { path in
            call(sysOpenTree, Int(AT_FDCWD), Int(bitPattern: path), openTreeClone | openTreeCloexec, 0, 0)
        }
        guard tree >= 0 else { throw SystemError("open_tree \(source)") }
        defer { close(Int32(tree)) }
        // struct mount_attr { u64 attr_set; u64 attr_clr; u64 propagation; u64 userns_fd; }
        var attributes: (UInt64, UInt64, UInt64, UInt64) = (
            mountAttrReadOnly | mountAttrNoSuid | mountAttrNoDev | (userNamespace >= 0 ? mountAttrIDMap : 0),
            0, 0, UInt64(max(0, userNamespace))
        )
        let set = "".withCString { empty in
            withUnsafeMutablePointer(to: &attributes) { pointer in
                call(sysMountSetattr, tree, Int(bitPattern: empty), atEmptyPath, Int(bitPattern: pointer), 32)
            }
        }
        guard set == 0 else { throw SystemError("mount_setattr \(source)") }
        let moved = "".withCString { empty in
            target.withCString { targetPath in
                call(
                    sysMoveMount, tree, Int(bitPattern: empty), Int(AT_FDCWD), Int(bitPattern: targetPath),
                    moveMountFromEmptyPath)
            }
        }
        guard moved == 0 else { throw SystemError("move_mount \(target)") }
    }

    /// `umount2(path, MNT_DETACH)`; a path that is not a mount point (or is gone) is not an error.
    static func detach(_ path: String) {
        _ = umount2(path, Int32(MNT_DETACH))
    }
}
