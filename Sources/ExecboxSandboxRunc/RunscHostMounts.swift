import ExecboxSandbox
import Glibc

/// The host side of a runsc sandbox's files. gVisor keeps a tmpfs of the spec inside its own kernel,
/// where the host cannot reach it, so `/workspace` and `/tmp` are tmpfs mounts the backend makes on
/// the host (size- and inode-limited as for runc) and hands to runsc as bind mounts. The rootfs is
/// first bound onto itself read-only, with the image's read-only binds in it, so the file API, which
/// works on `<bundle>/rootfs` in the host's mount namespace, sees the sandbox's files and can change
/// nothing but those two mounts, as under runc. Every mount is
/// private (nothing propagates to other namespaces) and `remove` detaches the whole tree at once.
enum RunscHostMounts {
    static func make(rootfs: String, limits: SandboxLimits, image: SandboxImage) throws(SandboxError) {
        let (tmpBytes, tmpInodes) = OCIConfigBuilder.tmpLimits(limits)
        let flags = UInt(MS_NOSUID | MS_NODEV)
        do {
            try mount(rootfs, rootfs, nil, UInt(MS_BIND | MS_REC), nil)
            try mount(nil, rootfs, nil, UInt(MS_PRIVATE | MS_REC), nil)
            // A layered image's root is its writable overlay; the built-in image's is read-only.
            if !image.isLayered {
                try mount(nil, rootfs, nil, UInt(MS_REMOUNT | MS_BIND | MS_RDONLY) | flags, nil)
            }
            // The image's read-only binds (the host's /usr), so the file API reads what the sandbox sees.
            // (A layered image's one bind is the init under /dev, which the file API never reaches.)
            for bind in image.bindMounts where !image.isLayered {
                let target = rootfs + bind.destination
                try mount(bind.source, target, nil, UInt(MS_BIND | MS_REC), nil)
                try mount(nil, target, nil, UInt(MS_PRIVATE | MS_REC), nil)
                try mount(nil, target, nil, UInt(MS_REMOUNT | MS_BIND | MS_RDONLY) | flags, nil)
            }
            try mount(
                "tmpfs", "\(rootfs)/workspace", "tmpfs", flags,
                "mode=755,size=\(limits.diskBytes),nr_inodes=\(limits.diskInodes)")
            try mount("tmpfs", "\(rootfs)/tmp", "tmpfs", flags, "mode=1777,size=\(tmpBytes),nr_inodes=\(tmpInodes)")
        } catch {
            remove(rootfs: rootfs)
            throw SandboxError(code: .unavailable, message: "the runtime could not create the sandbox", cause: error)
        }
    }

    /// Detaches the rootfs bind and every mount under it (nothing if they are not there); detaching
    /// the rootfs takes the rest with it.
    static func remove(rootfs: String) {
        for path in ["\(rootfs)/workspace", "\(rootfs)/tmp", rootfs] where isMountPoint(path) {
            umount2(path, Int32(MNT_DETACH))
        }
    }

    /// Whether `path` is a mount point: its parent is on another device, or (a bind of a directory
    /// onto itself) it appears in this process's mount table.
    static func isMountPoint(_ path: String) -> Bool {
        var own = stat()
        var parent = stat()
        guard lstat(path, &own) == 0, lstat("\(path)/..", &parent) == 0 else { return false }
        if own.st_dev != parent.st_dev { return true }
        let table = String(decoding: HostFiles.read("/proc/self/mountinfo", limit: 16 << 20) ?? [], as: UTF8.self)
        return table.split(separator: "\n").contains { line in
            let fields = line.split(separator: " ")
            return fields.count > 4 && fields[4] == path
        }
    }

    private static func mount(
        _ source: String?, _ target: String, _ type: String?, _ flags: UInt, _ data: String?
    ) throws(SystemError) {
        guard Glibc.mount(source, target, type, flags, data) == 0 else { throw SystemError("mount \(target)") }
    }
}
