import Glibc

/// A root filesystem the runc backend can give a sandbox: read-only host directories bind-mounted in,
/// plus files and symlinks written into each sandbox's own small rootfs. Only images Execbox itself
/// produced and checked are ever used (the 2025 runc CVEs need a hostile image).
struct SandboxImage: Hashable, Sendable {
    struct BindMount: Hashable, Sendable {
        var source: String
        var destination: String
    }

    struct Symlink: Hashable, Sendable {
        /// Relative to the rootfs, no leading slash.
        var path: String
        var target: String
    }

    var name: String
    /// Mounted read-only, nosuid, nodev.
    var bindMounts: [BindMount]
    /// Directories, then symlinks, then files, created in each sandbox's rootfs.
    var directories: [String]
    var symlinks: [Symlink]
    var files: [String: [UInt8]]
    /// The container's init (pid 1): reaps orphans and forwards signals. `-P` alone waits for a
    /// signal; `--` and a command runs it and exits with its status.
    var initPath: String
    /// A layered image's layer directories in the image store, bottom first; empty for the built-in
    /// image. Such a sandbox's root is an overlay of them (`OverlayRoot`).
    var layers: [String] = []
    /// A layered image's entrypoint, command, environment, working directory and user.
    var runtime = ImageRuntimeConfig()

    var isLayered: Bool { !layers.isEmpty }

    /// Where the host's static init is bound in a layered image's sandbox (inside the runtime's
    /// `/dev` tmpfs, so nothing is added to the image's own tree).
    static let layeredInitPath = "/dev/.execbox-init"
    /// Where the host's CA bundle is bound read-only in a layered image's sandbox (builds point the
    /// usual TLS clients at it; it is never part of an image).
    static let caBundlePath = "/dev/.execbox-ca-certificates.crt"
    static let hostCABundle = "/etc/ssl/certs/ca-certificates.crt"

    /// A stored image as a sandbox root.
    static func layered(_ image: StoredImage, store: ImageStore) -> SandboxImage {
        SandboxImage(
            name: image.name,
            bindMounts: [BindMount(source: "/usr/bin/catatonit", destination: layeredInitPath)]
                + (access(hostCABundle, R_OK) == 0 ? [BindMount(source: hostCABundle, destination: caBundlePath)] : []),
            directories: [],
            symlinks: [],
            files: [:],
            initPath: layeredInitPath,
            layers: image.layers.map(store.layerPath),
            runtime: image.config
        )
    }
}

extension SandboxImage {
    /// The built-in `default` image: the host's `/usr` read-only with a minimal generated `/etc`, so
    /// `sh`, `python3` and coreutils work with no download. The host's `/etc/ld.so.cache` is copied
    /// into each sandbox; its `/etc/alternatives` symlinks (those into `/usr` only) are copied once
    /// into `preparedDirectory` and mounted read-only, since creating a few hundred symlinks per
    /// sandbox costs more than the rest of its bundle. Without a prepared directory (unit tests) the
    /// alternatives are left out.
    static func hostUsr(name: String = "default", preparedDirectory: String? = nil) throws -> SandboxImage {
        var directories = ["usr", "etc", "etc/alternatives", "tmp", "proc", "dev", "sys", "workspace", "run"]
        directories.sort()
        let symlinks = [
            Symlink(path: "bin", target: "usr/bin"),
            Symlink(path: "lib", target: "usr/lib"),
            Symlink(path: "lib64", target: "usr/lib64"),
            Symlink(path: "sbin", target: "usr/sbin"),
            Symlink(path: "etc/os-release", target: "../usr/lib/os-release"),
            Symlink(path: "etc/mtab", target: "../proc/self/mounts"),
        ]
        var bindMounts = [BindMount(source: "/usr", destination: "/usr")]
        if let preparedDirectory {
            let alternatives = "\(preparedDirectory)/etc-alternatives"
            BundleWriter.remove(alternatives)
            try BundleWriter.makeDirectory(alternatives, mode: 0o755)
            for entry in HostFiles.symlinks(in: "/etc/alternatives") where entry.target.hasPrefix("/usr/") {
                guard Glibc.symlink(entry.target, "\(alternatives)/\(entry.name)") == 0 else {
                    throw BundleWriter.Failure(path: entry.name, operation: "symlink", errno: errno)
                }
            }
            bindMounts.append(BindMount(source: alternatives, destination: "/etc/alternatives"))
        }
        var files: [String: [UInt8]] = [
            "etc/passwd": Array(
                """
                root:x:0:0:root:/workspace:/bin/sh
                nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin

                """.utf8),
            "etc/group": Array("root:x:0:\ntty:x:5:\nnogroup:x:65534:\n".utf8),
            "etc/nsswitch.conf": Array("passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n".utf8),
            "etc/shells": Array("/bin/sh\n/usr/bin/sh\n/bin/bash\n/usr/bin/bash\n".utf8),
        ]
        if let cache = HostFiles.read("/etc/ld.so.cache", limit: 16 << 20) { files["etc/ld.so.cache"] = cache }
        return SandboxImage(
            name: name,
            bindMounts: bindMounts,
            directories: directories,
            symlinks: symlinks,
            files: files,
            initPath: "/usr/bin/catatonit"
        )
    }
}
