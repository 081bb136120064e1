import Glibc

/// Linux calls the Swift Glibc module does not import: `prctl` is variadic, the pidfd wrappers and
/// `posix_spawn_file_actions_addclosefrom_np` are newer than its module map. They are looked up in
/// the running libc once. Calling the variadic `prctl` through a fixed-arity pointer is sound on the
/// x86_64 and arm64 Linux ABIs, where variadic integer arguments travel exactly like fixed ones.
enum LinuxCalls {
    private typealias Prctl = @convention(c) (Int32, UInt, UInt, UInt, UInt) -> Int32
    private typealias PidfdOpen = @convention(c) (pid_t, UInt32) -> Int32
    private typealias PidfdSendSignal = @convention(c) (Int32, Int32, UnsafeMutableRawPointer?, UInt32) -> Int32
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, name) else { return nil }
        return unsafeBitCast(pointer, to: type)
    }

    private static let prctlFunction = symbol("prctl", as: Prctl.self)
    private static let pidfdOpenFunction = symbol("pidfd_open", as: PidfdOpen.self)
    private static let pidfdSendSignalFunction = symbol("pidfd_send_signal", as: PidfdSendSignal.self)
    private static let addCloseFromFunction = symbol("posix_spawn_file_actions_addclosefrom_np", as: AddCloseFrom.self)

    static let prSetChildSubreaper: Int32 = 36

    /// Makes orphaned descendants (a container's init once `runc create` exits, a detached exec's
    /// process) children of this process, so it can wait for them.
    static func becomeChildSubreaper() -> Bool {
        prctlFunction?(prSetChildSubreaper, 1, 0, 0, 0) == 0
    }

    /// A descriptor that refers to `pid` for as long as it is open: signals and waits through it can
    /// never hit a recycled pid.
    static func pidfdOpen(_ pid: pid_t) -> Int32 {
        guard let function = pidfdOpenFunction else {
            errno = ENOSYS
            return -1
        }
        return function(pid, 0)
    }

    static func pidfdSendSignal(_ pidfd: Int32, _ signal: Int32) -> Int32 {
        guard let function = pidfdSendSignalFunction else {
            errno = ENOSYS
            return -1
        }
        return function(pidfd, signal, nil, 0)
    }

    /// Closes every descriptor from `lowest` up in the spawned child (nothing of the server leaks).
    static func addCloseFrom(_ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>, _ lowest: Int32) -> Bool {
        addCloseFromFunction?(actions, lowest) == 0
    }

    private typealias EpollCreate1 = @convention(c) (Int32) -> Int32
    private typealias EpollCtl = @convention(c) (Int32, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
    private typealias EpollWait = @convention(c) (Int32, UnsafeMutableRawPointer?, Int32, Int32) -> Int32

    private static let epollCreate1Function = symbol("epoll_create1", as: EpollCreate1.self)
    private static let epollCtlFunction = symbol("epoll_ctl", as: EpollCtl.self)
    private static let epollWaitFunction = symbol("epoll_wait", as: EpollWait.self)

    static let epollIn: UInt32 = 0x1
    static let epollOut: UInt32 = 0x4
    static let epollRdHup: UInt32 = 0x2000
    static let epollEdgeTriggered: UInt32 = 1 << 31
    static let epollCtlAdd: Int32 = 1
    static let epollCtlDel: Int32 = 2
    /// `struct epoll_event` is packed (12 bytes) on x86_64 and 16 bytes elsewhere: events (u32), then
    /// data (u64), in which the descriptor is stored.
    #if arch(x86_64)
        static let epollEventSize = 12
        static let epollDataOffset = 4
    #else
        static let epollEventSize = 16
        static let epollDataOffset = 8
    #endif

    static func epollCreate() -> Int32 {
        epollCreate1Function?(O_CLOEXEC) ?? -1
    }

    static func epollAdd(_ epollFD: Int32, _ fd: Int32, events: UInt32) -> Int32 {
        guard let function = epollCtlFunction else { return -1 }
        var buffer = [UInt8](repeating: 0, count: epollEventSize)
        return buffer.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: events, toByteOffset: 0, as: UInt32.self)
            raw.storeBytes(of: UInt64(UInt32(bitPattern: fd)), toByteOffset: epollDataOffset, as: UInt64.self)
            return function(epollFD, epollCtlAdd, fd, raw.baseAddress)
        }
    }

    static func epollDelete(_ epollFD: Int32, _ fd: Int32) {
        var buffer = [UInt8](repeating: 0, count: epollEventSize)
        _ = buffer.withUnsafeMutableBytes { epollCtlFunction?(epollFD, epollCtlDel, fd, $0.baseAddress) }
    }

    /// Blocks until descriptors are ready; returns them (empty after EINTR).
    static func epollWait(_ epollFD: Int32, into buffer: inout [UInt8]) -> [Int32] {
        guard let function = epollWaitFunction else { fatalError("epoll_wait is missing") }
        let capacity = buffer.count / epollEventSize
        return buffer.withUnsafeMutableBytes { raw -> [Int32] in
            let count = function(epollFD, raw.baseAddress, Int32(capacity), -1)
            if count < 0 {
                precondition(errno == EINTR, "epoll_wait failed: \(errno)")
                return []
            }
            return (0..<Int(count)).map { index in
                let data = raw.loadUnaligned(fromByteOffset: index * epollEventSize + epollDataOffset, as: UInt64.self)
                return Int32(bitPattern: UInt32(truncatingIfNeeded: data))
            }
        }
    }

    private typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    private static let pipe2Function = symbol("pipe2", as: Pipe2.self)

    /// A new pipe (`pipe2`), both ends created with `flags` (O_CLOEXEC, O_NONBLOCK) atomically.
    static func makePipe(_ flags: Int32) throws(SystemError) -> (read: Int32, write: Int32) {
        guard let function = pipe2Function else { throw SystemError("pipe2", errno: ENOSYS) }
        var fds: [Int32] = [-1, -1]
        guard function(&fds, flags) == 0 else { throw SystemError("pipe2") }
        return (fds[0], fds[1])
    }

    private typealias Renameat2 =
        @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32)
        -> Int32
    private static let renameat2Function = symbol("renameat2", as: Renameat2.self)
    static let renameNoReplace: UInt32 = 1

    /// `renameat2(2)`, for `RENAME_NOREPLACE` (glibc declares it only under `_GNU_SOURCE`).
    static func renameat2(_ fromDir: Int32, _ from: String, _ toDir: Int32, _ to: String, flags: UInt32) -> Int32 {
        guard let function = renameat2Function else {
            errno = ENOSYS
            return -1
        }
        return function(fromDir, from, toDir, to, flags)
    }

    private typealias Fstatfs = @convention(c) (Int32, UnsafeMutableRawPointer) -> Int32
    private static let fstatfsFunction = symbol("fstatfs", as: Fstatfs.self)

    /// `fstatfs(fd).f_type` (the filesystem's magic number), or nil. Swift's Glibc lacks
    /// `sys/statfs.h`; `f_type` is the first field, a `long`, of a struct of 120 bytes on Linux.
    static func filesystemType(_ fd: Int32) -> Int? {
        guard let function = fstatfsFunction else { return nil }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 8)
        defer { buffer.deallocate() }
        guard function(fd, buffer) == 0 else { return nil }
        return buffer.load(as: Int.self)
    }

    private typealias SetFSID = @convention(c) (UInt32) -> Int32
    private static let setfsuidFunction = symbol("setfsuid", as: SetFSID.self)
    private static let setfsgidFunction = symbol("setfsgid", as: SetFSID.self)

    /// Runs `body` on this thread with filesystem uid and gid `id` (files it creates belong to `id`,
    /// and permission checks are made as `id`, without root's file capabilities), then restores 0.
    /// `body` must not suspend: the ids belong to the thread, not the task.
    static func withFilesystemIdentity<T, E: Error>(_ id: UInt32, _ body: () throws(E) -> T) throws(E) -> T {
        guard id != 0, let setfsuid = setfsuidFunction, let setfsgid = setfsgidFunction else { return try body() }
        _ = setfsgid(id)
        _ = setfsuid(id)
        defer {
            _ = setfsuid(0)
            _ = setfsgid(0)
        }
        return try body()
    }

    private typealias Ioctl = @convention(c) (Int32, UInt, UnsafeMutableRawPointer?) -> Int32
    private static let ioctlFunction = symbol("ioctl", as: Ioctl.self)
    static let tiocswinsz: UInt = 0x5414

    /// `ioctl(fd, TIOCSWINSZ)`: the pty's size; the kernel sends SIGWINCH to its foreground group.
    static func setWindowSize(_ fd: Int32, rows: UInt16, columns: UInt16) -> Int32 {
        guard let function = ioctlFunction else {
            errno = ENOSYS
            return -1
        }
        var size = winsize(ws_row: rows, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
        return withUnsafeMutablePointer(to: &size) { function(fd, tiocswinsz, $0) }
    }

    /// A new pty from `/dev/ptmx`, unlocked: its master (close-on-exec) and the slave's path. (glibc's
    /// `posix_openpt`/`ptsname_r` are not visible to Swift; `grantpt` is a no-op on devpts.)
    static func openPseudoTerminal() -> (master: Int32, slave: String)? {
        guard let function = ioctlFunction else { return nil }
        let master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard master >= 0 else { return nil }
        var unlock: Int32 = 0
        var number: UInt32 = 0
        guard withUnsafeMutablePointer(to: &unlock, { function(master, 0x4004_5431 /* TIOCSPTLCK */, $0) }) == 0,
            withUnsafeMutablePointer(to: &number, { function(master, 0x8004_5430 /* TIOCGPTN */, $0) }) == 0
        else {
            close(master)
            return nil
        }
        return (master, "/dev/pts/\(number)")
    }

    static let pidfdType: idtype_t = idtype_t(rawValue: 3)  // P_PIDFD

    private typealias Setns = @convention(c) (Int32, Int32) -> Int32
    private typealias Sethostname = @convention(c) (UnsafePointer<CChar>?, Int) -> Int32
    private static let setnsFunction = symbol("setns", as: Setns.self)
    private static let sethostnameFunction = symbol("sethostname", as: Sethostname.self)
    static let cloneNewUTS: Int32 = 0x0400_0000

    /// Sets the hostname of the UTS namespace `namespace` (a `/proc/<pid>/ns/uts` descriptor)
    /// verbatim, as runc does: a thread of its own enters that namespace (`setns`), sets the name and
    /// ends, so no other thread's namespace changes. Returns 0 or an errno.
    static func setHostname(_ name: String, inNamespace namespace: Int32) -> Int32 {
        final class Job: @unchecked Sendable {
            let name: [CChar]
            let namespace: Int32
            var result: Int32 = 0
            init(name: [CChar], namespace: Int32) {
                self.name = name
                self.namespace = namespace
            }
        }
        guard setnsFunction != nil, sethostnameFunction != nil else { return ENOSYS }
        let job = Job(name: name.utf8.map { CChar(bitPattern: $0) }, namespace: namespace)
        let context = Unmanaged.passRetained(job).toOpaque()
        var thread = pthread_t()
        let created = pthread_create(
            &thread, nil,
            { raw in
                let job = Unmanaged<Job>.fromOpaque(raw!).takeRetainedValue()
                guard let setns = LinuxCalls.setnsFunction, let sethostname = LinuxCalls.sethostnameFunction,
                    setns(job.namespace, LinuxCalls.cloneNewUTS) == 0
                else {
                    job.result = errno == 0 ? ENOSYS : errno
                    return nil
                }
                job.result = job.name.withUnsafeBufferPointer { sethostname($0.baseAddress, $0.count) } == 0 ? 0 : errno
                return nil
            }, context)
        guard created == 0 else {
            Unmanaged<Job>.fromOpaque(context).release()
            return created
        }
        pthread_join(thread, nil)
        return job.result
    }
}
