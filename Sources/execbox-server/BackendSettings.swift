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

    var kind: Kind
    var namespace: String
    /// Prices of usage (`--prices FILE`, JSON with the fields of `PriceTable`).
    var prices: PriceTable
    /// The largest WriteFile upload, in bytes.
    var maxUploadBytes: Int

    init(kind: Kind, namespace: String, prices: PriceTable = .defaults, maxUploadBytes: Int = 100 << 20) throws {
        guard (1...16).contains(namespace.utf8.count),
            namespace.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }),
            namespace.first?.isLetter == true
        else {
            throw ValidationError("sandbox namespace must be 1 to 16 characters of [a-z0-9-], starting with a letter")
        }
        self.kind = kind
        self.namespace = namespace
        self.prices = prices
        self.maxUploadBytes = maxUploadBytes
    }

    /// The runc backend's configuration; its spools live in the data directory (they can be large).
    func runcConfiguration(dataDirectory: String) -> RuncBackendConfiguration {
        let spool = URL(fileURLWithPath: dataDirectory).appendingPathComponent("spool").path
        guard namespace != Self.defaultNamespace else {
            return RuncBackendConfiguration(spoolDirectory: spool, keepSandboxesOnShutdown: true)
        }
        // A stable hash of the namespace picks the veth prefix and a /20 of 10.64.0.0/10.
        let hash = namespace.utf8.reduce(UInt32(2_166_136_261)) { ($0 ^ UInt32($1)) &* 16_777_619 }
        let block = hash % 1024
        return RuncBackendConfiguration(
            stateDirectory: "/run/\(namespace)/runc",
            sandboxDirectory: "/run/\(namespace)/sandboxes",
            imageDirectory: "/run/\(namespace)/images",
            spoolDirectory: spool,
            cgroupParent: namespace,
            networkPool: "10.\(64 + block / 16).\((block % 16) * 16).0",
            interfacePrefix: "x"
                + String(String(hash % 46656, radix: 36).reversed()).padding(toLength: 3, withPad: "0", startingAt: 0),
            nftablesTable: namespace.replacingOccurrences(of: "-", with: "_"),
            keepSandboxesOnShutdown: true)
    }
}
