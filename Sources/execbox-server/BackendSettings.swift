import ArgumentParser
import ExecboxSandboxRunc
import ExecboxService
import Foundation

/// Which sandbox backend `serve` runs, and the host-wide names of a runc backend.
///
/// Every host-wide name of a runc backend (its cgroup parent, nftables table, veth prefix, address
/// pool and directories under /run) derives from one namespace, so that two servers on one host
/// never reap each other's sandboxes: give each its own `--sandbox-namespace`.
struct BackendSettings: Sendable {
    enum Kind: String, Sendable, CaseIterable {
        /// Sessions on the local runc backend (root and Debian's runc required).
        case runc
        /// No sandboxes: the session services answer UNIMPLEMENTED (accounts, keys and usage only).
        case none
    }

    static let defaultNamespace = "execbox"

    /// Cgroup parents, nftables tables and /run directories of other container managers and of
    /// systemd, which a namespace must never name.
    static let reservedNames: Set<String> = [
        "docker", "containerd", "podman", "libpod", "libpod-conmon", "kubepods", "kubelet", "machine", "system",
        "user", "init", "lxc", "lxd", "runc", "crio", "buildkit", "nerdctl", "systemd", "firewalld", "filter", "nat",
        "mangle", "raw", "security", "libvirt", "incus", "k3s", "netns", "lock", "log", "shm", "mount", "sshd",
    ]

    /// Sandboxes one non-default namespace may hold: its uid ranges (65,536 host uids each) and its
    /// address pool (4 addresses each) are sized by it.
    static let namespaceMaxSandboxes = 256

    var kind: Kind
    var namespace: String
    /// The OCI runtime of the runc backend (`--runtime`); runsc keeps its state apart from runc's.
    var runtime: RuncBackendConfiguration.Runtime
    /// Prices of usage (`--prices FILE`, JSON with the fields of `PriceTable`).
    var prices: PriceTable
    /// The largest WriteFile upload, in bytes.
    var maxUploadBytes: Int
    /// The image store (`--image-store`); nil: `<data dir>/images`.
    var imageStore: String?
    /// Started containers kept ready per image name (`--pool`).
    var poolSizes: [String: Int] = [:]

    init(
        kind: Kind, namespace: String, runtime: RuncBackendConfiguration.Runtime = .runc,
        prices: PriceTable = .defaults, maxUploadBytes: Int = 100 << 20
    ) throws {
        // The start-up reaper empties the cgroup parent of that name: never another manager's.
        guard !Self.reservedNames.contains(namespace) else {
            throw ValidationError("sandbox namespace \(namespace) belongs to other software; choose another name")
        }
        guard (1...16).contains(namespace.utf8.count),
            namespace.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }),
            namespace.first?.isLetter == true
        else {
            throw ValidationError("sandbox namespace must be 1 to 16 characters of [a-z0-9-], starting with a letter")
        }
        self.kind = kind
        self.namespace = namespace
        self.runtime = runtime
        self.prices = prices
        self.maxUploadBytes = maxUploadBytes
    }

    /// The runc backend's configuration; its spools live in the data directory (they can be large),
    /// in a folder of the namespace's own (a start-up reaper empties its spool folder).
    func runcConfiguration(dataDirectory: String) -> RuncBackendConfiguration {
        var configuration = namespacedConfiguration(dataDirectory: dataDirectory)
        configuration.imageStoreDirectory = Self.imageStore(imageStore, dataDirectory: dataDirectory)
        configuration.poolSizes = poolSizes
        configuration.runtime = runtime
        configuration.runtimePath = runtime.defaultPath
        if runtime == .runsc {
            // Each runtime lists only its own containers: runsc's state never sits in runc's folder.
            configuration.stateDirectory = String(configuration.stateDirectory.dropLast("runc".count)) + "runsc"
        }
        return configuration
    }

    private func namespacedConfiguration(dataDirectory: String) -> RuncBackendConfiguration {
        guard namespace != Self.defaultNamespace else {
            let spool = URL(fileURLWithPath: dataDirectory).appendingPathComponent("spool").path
            return RuncBackendConfiguration(spoolDirectory: spool, keepSandboxesOnShutdown: true)
        }
        let spool = URL(fileURLWithPath: dataDirectory).appendingPathComponent("spool-\(namespace)").path
        // A stable hash of the namespace picks its block: a /22 of 10.64.0.0/10 for addresses (never
        // the default namespace's 10.88.0.0/20), 256 × 65,536 host uids above the default
        // namespace's, and the veth prefix. Two namespaces whose blocks collide would share those:
        // the log names the block at start-up so an operator running several can check (docs).
        let hash = namespace.utf8.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 }
        let block = Self.block(hash)
        let defaultIDs = UInt32(1 << 20) + UInt32(1024) * 65536
        return RuncBackendConfiguration(
            stateDirectory: "/run/\(namespace)/runc",
            sandboxDirectory: "/run/\(namespace)/sandboxes",
            imageDirectory: "/run/\(namespace)/images",
            spoolDirectory: spool,
            cgroupParent: namespace,
            networkPool: "10.\(64 + block / 64).\((block % 64) * 4).0",
            interfacePrefix: "x"
                + String(String(hash % 46656, radix: 36).reversed()).padding(toLength: 3, withPad: "0", startingAt: 0),
            nftablesTable: namespace.replacingOccurrences(of: "-", with: "_"),
            idMapBase: defaultIDs + UInt32(block % 48) * UInt32(Self.namespaceMaxSandboxes) * 65536,
            maxSandboxes: Self.namespaceMaxSandboxes,
            keepSandboxesOnShutdown: true)
    }

    /// `IMAGE=COUNT[,IMAGE=COUNT…]` (empty: no pool); each count 0…64, each image named once.
    static func poolSizes(_ text: String) throws -> [String: Int] {
        var sizes: [String: Int] = [:]
        for item in text.split(separator: ",", omittingEmptySubsequences: true) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            guard parts.count == 2, !name.isEmpty, let count = Int(parts[1].trimmingCharacters(in: .whitespaces)),
                (0...maxPoolSize).contains(count)
            else {
                throw ValidationError(
                    "expected IMAGE=COUNT[,IMAGE=COUNT…] with counts 0 to \(maxPoolSize), got '\(item)'")
            }
            guard sizes[name] == nil else { throw ValidationError("image \(name) is named twice") }
            sizes[name] = count
        }
        return sizes.filter { $0.value > 0 }
    }

    /// The most started containers one image's pool may keep.
    static let maxPoolSize = 64

    /// Where the images are: the option's directory, else `<data dir>/images` (shared by every
    /// namespace of the data directory: layers are large and immutable).
    static func imageStore(_ option: String?, dataDirectory: String) -> String {
        option ?? URL(fileURLWithPath: dataDirectory).appendingPathComponent("images").path
    }

    /// The namespace's block, 0..<4096, never the one holding 10.88.0.0/20.
    static func block(_ hash: UInt32) -> Int {
        let block = Int(hash % 4096)
        // 10.88.0.0/20 is second octet 88 = 64 + 24, third octets 0..15 = blocks 24·64 + 0...3.
        return (24 * 64..<24 * 64 + 4).contains(block) ? block + 4 : block
    }
}
