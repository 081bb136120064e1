import ExecboxImages
import ExecboxSandbox
import FoundationEssentials
import Glibc

/// Builds a minimal Debian root filesystem with `debootstrap --variant=minbase` from the mirror this
/// host's apt already uses, cleans it (no device nodes, no package caches or lists, no setuid or
/// setgid bits: sandboxes run with `no_new_privs`, where they would be inert anyway), checks it as
/// a layer and stores it as a one-layer image (`debian:<suite>`).
struct ImageBootstrapper {
    let store: ImageStore
    var progress: @Sendable (String) -> Void = { _ in }

    static let suites: Set<String> = ["bookworm", "trixie", "bullseye", "stable", "testing", "unstable", "sid"]

    /// `name` is `debian:<suite>`; `include` adds packages (comma-separated for debootstrap).
    func run(name: String, include: [String] = [], mirror: String? = nil) async throws -> StoredImage {
        let parts = name.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, parts[0] == "debian", Self.suites.contains(parts[1]) else {
            throw SandboxError.invalidArgument(
                "bootstrap builds debian:<suite> with suite one of \(Self.suites.sorted().joined(separator: ", "))")
        }
        guard include.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(Self.isPackageByte) }) else {
            throw SandboxError.invalidArgument("package names are [a-z0-9.+-]")
        }
        guard let debootstrap = HostCommand.find(["/usr/sbin/debootstrap"]) else {
            throw SandboxError(
                code: .unavailable, message: "debootstrap is not installed (apt-get install debootstrap)")
        }
        let mirror = mirror ?? Self.hostMirror()
        let directory = try store.scratchDirectory("bootstrap")
        do {
            progress("debootstrap --variant=minbase \(parts[1]) from \(mirror) (a minute or so)")
            var arguments = [debootstrap, "--variant=minbase"]
            if !include.isEmpty { arguments.append("--include=\(include.joined(separator: ","))") }
            try await HostCommand.run(arguments + [parts[1], "\(directory)/root", mirror])
            let root = "\(directory)/root"
            progress("cleaning and checking the tree")
            for tree in ["dev", "proc", "sys", "var/cache/apt/archives", "var/lib/apt/lists", "run", "tmp"] {
                BundleWriter.remove("\(root)/\(tree)")
                try? BundleWriter.makeDirectory("\(root)/\(tree)", mode: tree == "tmp" ? 0o1777 : 0o755)
            }
            for file in ["etc/hostname", "etc/resolv.conf", "etc/hosts"] {
                unlink("\(root)/\(file)")
                try BundleWriter.writeFile("\(root)/\(file)", [], mode: 0o644)
            }
            try DirectoryLayer.prepare(root, .init(clearSetuid: true))
            let now = Date().timeIntervalSince1970
            let digest = Digest.sha256(Array("bootstrap \(name) \(mirror) \(include) \(now)".utf8))
            try store.commitLayer(root, digest: digest.hex)
            BundleWriter.remove(directory)
            let image = StoredImage(
                name: name,
                id: digest.description,
                layers: [digest.hex],
                config: ImageRuntimeConfig(
                    cmd: ["/bin/bash"], env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]),
                sizeBytes: store.layerBytes(digest.hex),
                source: .bootstrapped,
                createdAt: now,
                lastUsedAt: now
            )
            try store.save(image)
            progress("stored \(name) (\(image.sizeBytes) bytes)")
            return image
        } catch {
            BundleWriter.remove(directory)
            throw error
        }
    }

    private static func isPackageByte(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "-")
    }

    /// The first Debian `URIs:`/`deb` line of this host's apt sources, else deb.debian.org.
    static func hostMirror() -> String {
        var files = ["/etc/apt/sources.list"]
        files += HostFiles.entries(in: "/etc/apt/sources.list.d").map { "/etc/apt/sources.list.d/\($0.name)" }.sorted()
        for file in files {
            let text = String(decoding: HostFiles.read(file, limit: 1 << 20) ?? [], as: UTF8.self)
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ")
                if words.first == "URIs:", words.count > 1, !words[1].contains("security") { return String(words[1]) }
                if words.first == "deb", words.count > 2, !words[1].hasPrefix("["), !words[1].contains("security") {
                    return String(words[1])
                }
            }
        }
        return "http://deb.debian.org/debian"
    }
}
