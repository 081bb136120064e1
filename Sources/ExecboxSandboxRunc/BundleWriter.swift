import ExecboxSandbox
import FoundationEssentials
import Glibc

/// Writes a sandbox's OCI bundle: `<sandboxDirectory>/<id>/config.json` (0600: it holds environment
/// values) and `rootfs/` with the image's directories, symlinks and files plus the per-sandbox `/etc`
/// files (hostname, hosts, resolv.conf, machine-id). Directories are 0711 so the sandbox's mapped
/// root can traverse to its rootfs without listing its neighbours.
enum BundleWriter {
    struct Failure: Error, Sendable, CustomStringConvertible {
        var path: String
        var operation: String
        var errno: Int32

        var description: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
    }

    static func write(
        bundle: String,
        config: OCIConfig,
        image: SandboxImage,
        network: NetworkMode,
        dnsServers: [String] = []
    ) throws {
        try makeDirectory(bundle, mode: 0o711)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try writeFile("\(bundle)/config.json", Array(try encoder.encode(config)), mode: 0o600)
        let rootfs = "\(bundle)/rootfs"
        try makeDirectory(rootfs, mode: 0o755)
        // A layered image's root is mounted on the empty rootfs later (`OverlayRoot`).
        guard !image.isLayered else { return }
        for directory in image.directories {
            try makeDirectory("\(rootfs)/\(directory)", mode: 0o755)
        }
        for link in image.symlinks where symlink(link.target, "\(rootfs)/\(link.path)") != 0 {
            throw Failure(path: link.path, operation: "symlink", errno: errno)
        }
        var files = image.files
        for (path, contents) in etcFiles(hostname: config.hostname, network: network, dnsServers: dnsServers) {
            files[path] = contents
        }
        for (path, contents) in files.sorted(by: { $0.key < $1.key }) {
            try writeFile("\(rootfs)/\(path)", contents, mode: 0o644)
        }
    }

    static func etcFiles(hostname: String, network: NetworkMode, dnsServers: [String] = []) -> [String: [UInt8]] {
        let hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t\(hostname)\n"
        var generator = SystemRandomNumberGenerator()
        let machineID = (0..<16).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return String(byte >> 4, radix: 16) + String(byte & 0xf, radix: 16)
        }.joined()
        // `none` has no DNS at all; the other modes get the resolvers their network lets through.
        let resolv = network == .none ? "" : dnsServers.map { "nameserver \($0)\n" }.joined()
        return [
            "etc/hostname": Array("\(hostname)\n".utf8),
            "etc/hosts": Array(hosts.utf8),
            "etc/resolv.conf": Array(resolv.utf8),
            "etc/machine-id": Array("\(machineID)\n".utf8),
        ]
    }

    static func makeDirectory(_ path: String, mode: mode_t) throws {
        guard mkdir(path, mode) == 0 else { throw Failure(path: path, operation: "mkdir", errno: errno) }
        // mkdir applies the umask; the modes here are deliberate.
        guard chmod(path, mode) == 0 else { throw Failure(path: path, operation: "chmod", errno: errno) }
    }

    static func writeFile(_ path: String, _ contents: [UInt8], mode: mode_t) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw Failure(path: path, operation: "create", errno: errno) }
        defer { close(fd) }
        var offset = 0
        while offset < contents.count {
            let written = contents.withUnsafeBytes { raw in
                Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
            }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { throw Failure(path: path, operation: "write", errno: errno) }
            offset += written
        }
        guard fchmod(fd, mode) == 0 else { throw Failure(path: path, operation: "chmod", errno: errno) }
    }

    /// Removes a bundle written by `write` (no mounts live in it: runc mounts inside the sandbox's
    /// own mount namespace). Does not follow symlinks.
    static func remove(_ path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd >= 0 {
            removeContents(of: fd)
            close(fd)
        }
        rmdir(path)
    }

    private static func removeContents(of directoryFD: Int32) {
        let duplicate = dup(directoryFD)
        guard duplicate >= 0, let dir = fdopendir(duplicate) else { return }
        defer { closedir(dir) }
        var names: [(String, Bool)] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            names.append((name, entry.pointee.d_type == UInt8(DT_DIR)))
        }
        for (name, isDirectory) in names {
            if isDirectory {
                let child = openat(directoryFD, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                if child >= 0 {
                    removeContents(of: child)
                    close(child)
                }
                unlinkat(directoryFD, name, AT_REMOVEDIR)
            } else {
                unlinkat(directoryFD, name, 0)
            }
        }
    }
}
