import ExecboxSandbox
import Glibc
import Synchronization

/// The root filesystem of a sandbox on a layered image, made on the host before `runc create`:
///
///     <bundle>/lower/<n>   each image layer bound read-only, nosuid, nodev — idmapped into the
///                          sandbox's user namespace, so a layer file owned by 0 belongs to the
///                          sandbox's root (whose host uid differs per sandbox) and no layer is
///                          ever copied or chowned per sandbox
///     <bundle>/upper       a tmpfs limited to the sandbox's disk bytes and inodes, owned by the
///                          sandbox's root, holding overlayfs's `diff/` and `work/`
///     <bundle>/rootfs      the overlay of the two: what the sandbox sees as `/`
///
/// The lower layers are shared by every sandbox on the image and never written; everything a
/// sandbox writes to its root lands in its own upper layer, which goes with it. All mounts are
/// detached by `unmount` (also for a bundle a dead server left).
enum OverlayRoot {
    /// overlayfs's mount data must fit in a page; bundle paths are short, and images deeper than
    /// this are refused at import.
    static let maxLayers = 40

    static func mount(
        bundle: String, layers: [String], userNamespace: Int32?, owner: UInt32, limits: SandboxLimits
    ) throws(SandboxError) {
        guard !layers.isEmpty, layers.count <= maxLayers else {
            throw .invalidArgument("an image must have 1 to \(maxLayers) layers")
        }
        do {
            var lowers: [String] = []
            if let userNamespace {
                try BundleWriter.makeDirectory("\(bundle)/lower", mode: 0o700)
                for (index, layer) in layers.enumerated() {
                    let target = "\(bundle)/lower/\(index)"
                    try BundleWriter.makeDirectory(target, mode: 0o700)
                    try MountCalls.bindReadOnly(layer, on: target, userNamespace: userNamespace)
                    lowers.append(target)
                }
            } else {
                lowers = layers
            }
            let upper = "\(bundle)/upper"
            try BundleWriter.makeDirectory(upper, mode: 0o700)
            let flags = UInt(MS_NOSUID | MS_NODEV)
            let options = "mode=700,uid=\(owner),gid=\(owner),size=\(limits.diskBytes),nr_inodes=\(limits.diskInodes)"
            guard Glibc.mount("tmpfs", upper, "tmpfs", flags, options) == 0 else { throw SystemError("mount \(upper)") }
            for directory in ["diff", "work"] {
                try BundleWriter.makeDirectory("\(upper)/\(directory)", mode: 0o755)
                guard chown("\(upper)/\(directory)", owner, owner) == 0 else { throw SystemError("chown") }
            }
            // The topmost layer first; no index, redirects or metacopy: plain copy-up only.
            let data =
                "lowerdir=\(lowers.reversed().joined(separator: ":")),upperdir=\(upper)/diff,workdir=\(upper)/work,"
                + "index=off,redirect_dir=off,metacopy=off,xino=off"
            guard data.utf8.count < 4000 else { throw SandboxError.invalidArgument("the image has too many layers") }
            let rootfs = "\(bundle)/rootfs"
            guard Glibc.mount("overlay", rootfs, "overlay", flags, data) == 0 else {
                throw SystemError("mount overlay \(rootfs)")
            }
        } catch let error as SandboxError {
            unmount(bundle: bundle)
            throw error
        } catch {
            unmount(bundle: bundle)
            throw SandboxError(code: .unavailable, message: "the runtime could not create the sandbox", cause: error)
        }
    }

    /// Detaches the overlay, the upper tmpfs and the lower binds (what of them exists).
    static func unmount(bundle: String) {
        MountCalls.detach("\(bundle)/rootfs")
        MountCalls.detach("\(bundle)/upper")
        for name in HostFiles.entries(in: "\(bundle)/lower").map(\.name) {
            MountCalls.detach("\(bundle)/lower/\(name)")
        }
    }

    /// Creates the directories the runtime mounts on and writes the sandbox's own `/etc` files
    /// into the new root, as the sandbox's root user and resolved inside the root (an image's
    /// `etc` that is a symlink cannot send a write to the host; `LayerPolicy` refuses symlinks at
    /// these paths anyway). Existing entries at those paths are replaced.
    static func prepare(rootfs: String, owner: UInt32, files: [String: [UInt8]]) throws(SandboxError) {
        let fd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SandboxRoot.error(rootfs, errno, call: "open") }
        let root = SandboxRoot(fd: fd, owner: owner, mapsIDs: owner != 0)
        defer { root.close() }
        try root.asOwner { () throws(SandboxError) in
            for directory in ["proc", "dev", "sys", "tmp", "workspace", "run", "etc"] {
                let (parent, name) = try root.openParent(of: directory)
                defer { close(parent) }
                if mkdirat(parent, name, 0o755) != 0, errno != EEXIST {
                    throw SandboxRoot.error("/\(directory)", errno, call: "mkdirat")
                }
            }
            for (path, contents) in files.sorted(by: { $0.key < $1.key }) {
                let (parent, name) = try root.openParent(of: path)
                defer { close(parent) }
                // A file of ours already there (a pooled container's: nothing ran in it yet) is
                // rewritten in place: a regular file with one link, owned as we made it. Creating
                // files costs 5× as much on a slow disk. Anything else is replaced.
                let existing = openat(parent, name, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                if existing >= 0 {
                    defer { close(existing) }
                    var info = stat()
                    if fstat(existing, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_nlink == 1,
                        info.st_uid == owner, ftruncate(existing, 0) == 0,
                        contents.withUnsafeBytes({ Glibc.write(existing, $0.baseAddress, $0.count) }) == contents.count
                    {
                        continue
                    }
                }
                if unlinkat(parent, name, 0) != 0, errno != ENOENT {
                    throw SandboxRoot.error("/\(path)", errno, call: "unlinkat")
                }
                let file = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
                guard file >= 0 else { throw SandboxRoot.error("/\(path)", errno, call: "openat") }
                defer { close(file) }
                let written = contents.withUnsafeBytes { Glibc.write(file, $0.baseAddress, $0.count) }
                guard written == contents.count else { throw SandboxRoot.error("/\(path)", errno, call: "write") }
            }
        }
    }
}

/// User namespaces with a sandbox slot's id mapping, for idmapped mounts: made once per slot (a
/// short-lived `unshare --user` child whose maps this process writes) and kept open.
final class UserNamespaces: Sendable {
    private let open = Mutex<[UInt32: Int32]>([:])

    deinit {
        for fd in open.withLock({ $0.values }) { close(fd) }
    }

    func namespace(hostBase: UInt32, size: UInt32) async throws -> Int32 {
        if let fd = open.withLock({ $0[hostBase] }) { return fd }
        guard let unshare = HostCommand.find(["/usr/bin/unshare", "/bin/unshare"]),
            let pause = HostCommand.find(["/usr/bin/catatonit", "/usr/bin/sleep"])
        else {
            throw SandboxError(code: .unavailable, message: "unshare(1) is needed for idmapped image layers")
        }
        let child = try ChildProcess.spawn(
            [unshare, "--user", "--", pause] + (pause.hasSuffix("catatonit") ? ["-P"] : ["1000"]),
            environment: RuncRuntime.environment, stdin: DevNull.fd, stdout: DevNull.fd, stderr: DevNull.fd)
        let result: Result<Int32, any Error>
        do {
            result = .success(try await Self.mapped(child, hostBase: hostBase, size: size))
        } catch {
            result = .failure(error)
        }
        child.signal(SIGKILL)
        _ = try? await child.waitIgnoringCancellation()
        let fd = try result.get()
        let kept = open.withLock { table -> Int32 in
            if let existing = table[hostBase] { return existing }
            table[hostBase] = fd
            return fd
        }
        if kept != fd { close(fd) }
        return kept
    }

    /// Waits until `child` is in its own user namespace, maps it and opens the namespace.
    private static func mapped(_ child: ChildProcess, hostBase: UInt32, size: UInt32) async throws -> Int32 {
        let own = link("/proc/self/ns/user")
        let deadline = ContinuousClock.now + .seconds(2)
        while link("/proc/\(child.pid)/ns/user") == own {
            guard ContinuousClock.now < deadline, child.poll() == nil else {
                throw SandboxError(code: .unavailable, message: "could not make a user namespace for image layers")
            }
            try await Task.sleep(for: .milliseconds(1))
        }
        let map = "0 \(hostBase) \(size)\n"
        guard HostFiles.write("/proc/\(child.pid)/uid_map", map), HostFiles.write("/proc/\(child.pid)/gid_map", map)
        else {
            throw SandboxError(
                code: .unavailable, message: "could not map a user namespace for image layers",
                cause: SystemError("write uid_map"))
        }
        let fd = Glibc.open("/proc/\(child.pid)/ns/user", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open ns/user") }
        return fd
    }

    private static func link(_ path: String) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        let count = readlink(path, &buffer, buffer.count - 1)
        return count > 0 ? String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    }
}
