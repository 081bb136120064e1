import ExecboxSandbox
import FoundationEssentials
import Glibc
import Synchronization

/// The runc backend's images on disk, shared by the server and the `execbox-server images`
/// commands:
///
///     <root>/layers/<64 hex>/     one unpacked, checked, read-only layer (a directory tree)
///     <root>/images/<file>.json   one image: its layers bottom first and its runtime config
///     <root>/tmp/                 work in progress, `<purpose>-<pid>-<n>` (what a dead process
///                                 left is removed on open; a live one's is left alone)
///
/// A layer is stored once by digest however many images use it; it appears under `layers/` only
/// complete (renamed there from `tmp/`). Image records are replaced atomically, so a reader sees the
/// old or the new one. Every layer in the store was unpacked or captured by Execbox and checked
/// against `LayerPolicy` (the runc builds this host has lack the 2025 fixes for hostile root
/// filesystems).
final class ImageStore: Sendable {
    let root: String
    private let clock = Mutex(())

    init(root: String) throws {
        self.root = root
        for directory in [root, "\(root)/layers", "\(root)/images", "\(root)/tmp"] {
            try RuncBackend.makeDirectories(directory)
            chmod(directory, 0o700)
        }
        removeAbandonedWork()
    }

    /// Removes what processes that are gone left under `tmp/` (the server and the `images` commands
    /// share the store: another live process's work in progress stays).
    func removeAbandonedWork() {
        for entry in HostFiles.entries(in: "\(root)/tmp") {
            let parts = entry.name.split(separator: "-")
            guard parts.count >= 3, let pid = pid_t(parts[1]) else { continue }
            guard kill(pid, 0) != 0, errno == ESRCH else { continue }
            let path = "\(root)/tmp/\(entry.name)"
            if entry.isDirectory { BundleWriter.remove(path) } else { unlink(path) }
        }
    }

    var layersDirectory: String { "\(root)/layers" }

    func layerPath(_ digest: String) -> String { "\(root)/layers/\(digest)" }

    func hasLayer(_ digest: String) -> Bool {
        var status = stat()
        return lstat(layerPath(digest), &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
    }

    /// A fresh empty directory under `tmp/` for work in progress.
    func scratchDirectory(_ purpose: String) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let path = "\(root)/tmp/\(purpose)-\(getpid())-\(UInt64.random(in: 0 ... .max, using: &generator))"
        try BundleWriter.makeDirectory(path, mode: 0o700)
        return path
    }

    /// Moves a finished layer directory into place under `digest`; if another writer got there first
    /// the new copy is discarded (same digest, same content).
    func commitLayer(_ directory: String, digest: String) throws {
        chmod(directory, 0o755)
        if rename(directory, layerPath(digest)) != 0 {
            let code = errno
            guard code == EEXIST || code == ENOTEMPTY else {
                throw SandboxError(
                    code: .internal, message: "cannot store layer \(digest)", cause: SystemError("rename", errno: code))
            }
            BundleWriter.remove(directory)
        }
    }

    // MARK: Images

    static func fileName(for name: String) -> String {
        var result = ""
        for byte in name.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."),
                UInt8(ascii: "-"):
                result.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                result += "_" + String(byte, radix: 16, uppercase: false).leftPadded(to: 2)
            }
        }
        return result
    }

    private func recordPath(_ name: String) -> String { "\(root)/images/\(Self.fileName(for: name)).json" }

    func image(named name: String) -> StoredImage? {
        guard let bytes = HostFiles.read(recordPath(name), limit: 1 << 20) else { return nil }
        return try? JSONDecoder().decode(StoredImage.self, from: Data(bytes))
    }

    func images() -> [StoredImage] {
        let names = HostFiles.entries(in: "\(root)/images").map(\.name).filter { $0.hasSuffix(".json") }
        return names.compactMap { name in
            HostFiles.read("\(root)/images/\(name)", limit: 1 << 20).flatMap {
                try? JSONDecoder().decode(StoredImage.self, from: Data($0))
            }
        }.sorted { $0.name < $1.name }
    }

    /// Writes (or replaces) an image record. Every layer it names must be in the store.
    func save(_ image: StoredImage) throws {
        for layer in image.layers where !hasLayer(layer) {
            throw SandboxError(code: .internal, message: "image \(image.name) names the missing layer \(layer)")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = Array(try encoder.encode(image))
        let temporary = "\(root)/tmp/record-\(getpid())-\(Self.fileName(for: image.name))"
        unlink(temporary)
        try BundleWriter.writeFile(temporary, data, mode: 0o600)
        guard rename(temporary, recordPath(image.name)) == 0 else {
            throw SandboxError(
                code: .internal, message: "cannot save image \(image.name)", cause: SystemError("rename"))
        }
    }

    /// Marks an image used now (for the least-recently-used eviction). Best effort.
    func touch(_ name: String, now: Double) {
        clock.withLock { _ in
            guard var image = image(named: name) else { return }
            image.lastUsedAt = now
            try? save(image)
        }
    }

    /// Removes an image's record; its layers go with `collectGarbage` once nothing uses them.
    func remove(_ name: String) -> Bool {
        unlink(recordPath(name)) == 0
    }

    /// Removes every layer no image names and no mount of this host uses (a running sandbox's
    /// lower layers stay until it is gone); returns the digests removed.
    @discardableResult
    func collectGarbage() -> [String] {
        let referenced = Set(images().flatMap(\.layers))
        let mounts = String(decoding: HostFiles.read("/proc/self/mountinfo", limit: 64 << 20) ?? [], as: UTF8.self)
        var removed: [String] = []
        for digest in HostFiles.entries(in: layersDirectory).map(\.name) where !referenced.contains(digest) {
            let path = layerPath(digest)
            guard !mounts.contains(path) else { continue }
            BundleWriter.remove(path)
            removed.append(digest)
        }
        return removed
    }

    /// Bytes of every stored layer (du-like: allocated blocks).
    func layerBytes(_ digest: String) -> Int64 {
        (try? LayerTree.walk(layerPath(digest)) { _, _ in })?.bytes ?? 0
    }
}

/// One image in the store.
struct StoredImage: Codable, Hashable, Sendable {
    /// How the image got here.
    enum Source: String, Codable, Sendable {
        case imported, bootstrapped, built
    }

    /// The name sessions use (`busybox:test`, `debian:bookworm`, or a build's `sha256:<hex>`).
    var name: String
    /// Content id, `sha256:<64 hex>`: the config digest of an imported image, the build's content
    /// hash, a digest of the bootstrapped tree's description.
    var id: String
    /// Layer digests (directory names under `layers/`), bottom first.
    var layers: [String]
    var config: ImageRuntimeConfig
    var sizeBytes: Int64
    var source: Source
    var createdAt: Double
    var lastUsedAt: Double
}

/// The parts of an OCI image config a session honours.
struct ImageRuntimeConfig: Codable, Hashable, Sendable {
    var entrypoint: [String] = []
    var cmd: [String] = []
    /// `KEY=value` entries.
    var env: [String] = []
    var workingDir: String = ""
    /// `uid`, `uid:gid`, `name` or `name:group`, as OCI says.
    var user: String = ""
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
