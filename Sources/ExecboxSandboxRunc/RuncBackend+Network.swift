public import ExecboxSandbox
import Glibc
import Logging

extension RuncBackend {
    /// The network of `outgoing`/`exposed` sandboxes: the table installed afresh and leftover veths
    /// deleted. nil (only `none` available) when the tools are missing or the table cannot load.
    static func makeNetwork(
        _ configuration: RuncBackendConfiguration,
        logger: Logger,
        keeping interfaces: Set<String> = []
    ) async -> SandboxNetwork? {
        guard let ruleset = ruleset(configuration, logger: logger) else { return nil }
        guard let network = SandboxNetwork(ruleset: ruleset) else {
            logger.warning("ip, nft or nsenter is missing: only network mode none is available")
            return nil
        }
        do {
            try await network.prepare(scratch: configuration.sandboxDirectory, keeping: interfaces)
        } catch {
            logger.error("cannot set up sandbox networking (only network mode none is available): \(error)")
            return nil
        }
        return network
    }

    static func ruleset(_ configuration: RuncBackendConfiguration, logger: Logger) -> NetworkRuleset? {
        // One /30 per slot, the pool aligned to its size.
        var size = 4
        while size < configuration.maxSandboxes * 4 { size *= 2 }
        let prefixLength = 32 - size.trailingZeroBitCount
        guard let start = IPv4Network.parseAddress(configuration.networkPool),
            IPv4Network(address: start, prefixLength: prefixLength).address == start
        else {
            logger.error("networkPool \(configuration.networkPool) is not a /\(prefixLength)-aligned IPv4 address")
            return nil
        }
        let extra = configuration.deniedDestinations.compactMap(IPv4Network.init)
        if extra.count != configuration.deniedDestinations.count {
            logger.error("deniedDestinations holds an entry that is not an IPv4 CIDR; ignored")
        }
        let dns = (configuration.dnsServers ?? hostNameservers()).compactMap(IPv4Network.parseAddress)
        return NetworkRuleset(
            table: configuration.nftablesTable,
            interfacePrefix: configuration.interfacePrefix,
            pool: IPv4Network(address: start, prefixLength: prefixLength),
            denied: NetworkRuleset.defaultDenied + hostNetworks(excludingPrefix: configuration.interfacePrefix)
                + extra,
            dnsServers: dns
        )
    }

    /// The IPv4 nameservers of the host's resolv.conf that sandboxes can use (not loopback).
    static func hostNameservers() -> [String] {
        let text = String(decoding: HostFiles.read("/etc/resolv.conf", limit: 1 << 16) ?? [], as: UTF8.self)
        return text.split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, fields[0] == "nameserver",
                let address = IPv4Network.parseAddress(String(fields[1]))
            else { return nil }
            return IPv4Network(address: 127 << 24, prefixLength: 8).contains(address) ? nil : String(fields[1])
        }
    }

    /// The networks of the host's own IPv4 addresses (its LAN, a gateway, neighbours), except the
    /// sandboxes' veths.
    static func hostNetworks(excludingPrefix prefix: String) -> [IPv4Network] {
        var networks: [IPv4Network] = []
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return [] }
        defer { freeifaddrs(list) }
        var entry = list
        while let current = entry {
            defer { entry = current.pointee.ifa_next }
            guard let address = current.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET),
                let mask = current.pointee.ifa_netmask, !String(cString: current.pointee.ifa_name).hasPrefix(prefix)
            else { continue }
            let value = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                UInt32(bigEndian: $0.pointee.sin_addr.s_addr)
            }
            let maskValue = mask.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                UInt32(bigEndian: $0.pointee.sin_addr.s_addr)
            }
            let network = IPv4Network(address: value, prefixLength: maskValue.nonzeroBitCount)
            if !networks.contains(network) { networks.append(network) }
        }
        return networks
    }

    public func portURL(_ id: SandboxID, port: Int) async throws -> String {
        let sandbox = try lookup(id)
        guard sandbox.spec.network == .exposed else {
            throw SandboxError(
                code: .failedPrecondition,
                message: "sandbox \(id) exposes no ports (network mode \(sandbox.spec.network.rawValue))"
            )
        }
        guard sandbox.spec.exposedPorts.contains(port) else {
            throw SandboxError(code: .notFound, message: "port \(port) is not exposed by sandbox \(id)")
        }
        guard sandbox.info.state == .running, let reservation = sandbox.networkAttachment?.ports[port] else {
            throw SandboxError(code: .failedPrecondition, message: "sandbox \(id) is not running")
        }
        return "http://127.0.0.1:\(reservation.port)"
    }

    /// Deletes the nftables table and the host-side veths of this backend (tests, uninstall); only
    /// once no sandbox runs.
    public func removeHostNetworkState() async {
        await network?.remove(scratch: configuration.sandboxDirectory)
    }
}
