import ExecboxSandbox
import Glibc
import Logging

/// The `outgoing` and `exposed` network modes: each such sandbox gets a veth pair, its host end
/// `<interfacePrefix><slot>` with `<pool + 4·slot + 1>/30`, its other end `eth0` inside the sandbox's
/// network namespace with `+2/30` and a default route through the host end. One nftables table
/// (`NetworkRuleset`) does the filtering and NAT for all of them. `none` needs none of this: runc
/// gives the sandbox an empty namespace with loopback only.
///
/// The pair is made after `runc create` and before `runc start`, so the sandbox's first process
/// already sees its network; it lives in the sandbox's own namespace (owned by the sandbox's user
/// namespace, in which root lacks CAP_NET_ADMIN), so it dies with the sandbox; the host end is still
/// deleted explicitly before the slot is reused.
struct SandboxNetwork: Sendable {
    let ruleset: NetworkRuleset
    let ipPath: String
    let nftPath: String
    let nsenterPath: String

    /// What one sandbox got.
    struct Attachment: Sendable {
        var interface: String
        var hostAddress: UInt32
        var sandboxAddress: UInt32
        /// Declared sandbox port → the loopback port DNATed to it.
        var ports: [Int: PortReservation]
    }

    /// nil when `ip`, `nft` or `nsenter` is missing (only `none` is available then).
    init?(ruleset: NetworkRuleset) {
        guard let ip = HostCommand.find(["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"]),
            let nft = HostCommand.find(["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"]),
            let nsenter = HostCommand.find(["/usr/bin/nsenter", "/bin/nsenter"])
        else { return nil }
        self.ruleset = ruleset
        self.ipPath = ip
        self.nftPath = nft
        self.nsenterPath = nsenter
    }

    /// The addresses of a slot's /30 (the pool holds `maxSandboxes` of them).
    func addresses(slot: Int) -> (host: UInt32, sandbox: UInt32) {
        let base = ruleset.pool.address + UInt32(slot) * 4
        return (base + 1, base + 2)
    }

    func interface(slot: Int) -> String { "\(ruleset.interfacePrefix)\(slot)" }

    /// Installs the table afresh, enables IPv4 forwarding, and deletes every host-side veth a
    /// previous run left with this backend's prefix.
    func prepare(scratch: String, keeping: Set<String> = []) async throws {
        try await removeInterfaces(keeping: keeping)
        try await load(ruleset.text, scratch: scratch)
        guard HostFiles.write("/proc/sys/net/ipv4/ip_forward", "1\n") else {
            throw SystemError("enabling net.ipv4.ip_forward")
        }
    }

    /// Deletes the table and every host-side veth with the prefix (shutdown, tests).
    func remove(scratch: String) async {
        try? await removeInterfaces()
        try? await load(ruleset.deletion, scratch: scratch)
    }

    private func removeInterfaces(keeping: Set<String> = []) async throws {
        let output = try await HostCommand.run([ipPath, "-o", "link", "show", "type", "veth"])
        for line in String(decoding: output, as: UTF8.self).split(separator: "\n") {
            // "12: ebx3@if2: <BROADCAST,…"
            let fields = line.split(separator: " ")
            guard fields.count > 1 else { continue }
            let name = fields[1].split(separator: "@").first.map { String($0.trimmingSuffix(":")) } ?? ""
            if name.hasPrefix(ruleset.interfacePrefix), Int(name.dropFirst(ruleset.interfacePrefix.count)) != nil,
                !keeping.contains(name)
            {
                _ = try? await HostCommand.run([ipPath, "link", "delete", name])
            }
        }
        // runsc sandboxes' named namespaces: `<prefix><slot>ns`.
        for (name, _) in HostFiles.entries(in: Self.namedNamespaces) where name.hasSuffix("ns") {
            let interface = String(name.dropLast(2))
            guard interface.hasPrefix(ruleset.interfacePrefix),
                Int(interface.dropFirst(ruleset.interfacePrefix.count)) != nil, !keeping.contains(interface)
            else { continue }
            await removeNamespace(name)
        }
    }

    private func load(_ text: String, scratch: String) async throws {
        let path = "\(scratch)/nft-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).nft"
        try BundleWriter.writeFile(path, Array(text.utf8), mode: 0o600)
        defer { unlink(path) }
        try await HostCommand.run([nftPath, "-f", path])
    }

    /// Wires the network namespace of the created (not yet started) container whose init is `pid`.
    /// The network namespace a sandbox's eth0 goes into: its init's (runc makes it), or one the
    /// backend made before the container (runsc, whose kernel uses the namespace it starts in).
    enum Namespace: Sendable {
        case process(pid_t)
        case named(String)

        /// What `ip link … netns` takes.
        var ipArgument: String {
            switch self {
            case .process(let pid): String(pid)
            case .named(let name): name
            }
        }

        var path: String {
            switch self {
            case .process(let pid): "/proc/\(pid)/ns/net"
            case .named(let name): "\(SandboxNetwork.namedNamespaces)/\(name)"
            }
        }
    }

    /// Where `ip netns add` keeps named namespaces.
    static let namedNamespaces = "/run/netns"

    /// The named namespace of a runsc sandbox's slot: its veth's name and `ns`.
    func namespaceName(slot: Int) -> String { "\(interface(slot: slot))ns" }

    /// Makes the slot's named network namespace (a leftover of the slot is deleted first).
    func makeNamespace(slot: Int) async throws -> String {
        let name = namespaceName(slot: slot)
        if access("\(Self.namedNamespaces)/\(name)", F_OK) == 0 { await removeNamespace(name) }
        try await HostCommand.run([ipPath, "netns", "add", name])
        return name
    }

    func removeNamespace(_ name: String) async {
        _ = try? await HostCommand.run([ipPath, "netns", "delete", name])
    }

    func attach(pid: pid_t, slot: Int, ports: [Int], bundle: String) async throws -> Attachment {
        try await attach(into: .process(pid), slot: slot, ports: ports, bundle: bundle)
    }

    func attach(into namespace: Namespace, slot: Int, ports: [Int], bundle: String) async throws -> Attachment {
        let interface = interface(slot: slot)
        let (host, sandbox) = addresses(slot: slot)
        var attachment = Attachment(interface: interface, hostAddress: host, sandboxAddress: sandbox, ports: [:])
        // A leftover of the slot's previous sandbox, if its namespace is still being torn down.
        if access("/sys/class/net/\(interface)", F_OK) == 0 {
            _ = try? await HostCommand.run([ipPath, "link", "delete", interface])
        }
        try await HostCommand.run([
            ipPath, "link", "add", interface, "type", "veth", "peer", "name", "eth0", "netns", namespace.ipArgument,
        ])
        do {
            let hostBatch = """
                addr add \(IPv4Network.format(host))/30 dev \(interface)
                link set \(interface) up

                """
            // A namespace made with `ip netns add` has its loopback down (runc brings it up itself).
            let sandboxBatch = """
                link set lo up
                addr add \(IPv4Network.format(sandbox))/30 dev eth0
                link set eth0 up
                route add default via \(IPv4Network.format(host))

                """
            try await batch(hostBatch, bundle: bundle, name: "net-host")
            try await batch(sandboxBatch, bundle: bundle, name: "net-sandbox", namespace: namespace.path)
            if !ports.isEmpty {
                // DNAT from 127.0.0.1 needs loopback sources to be routable out of this veth.
                _ = HostFiles.write("/proc/sys/net/ipv4/conf/\(interface)/route_localnet", "1\n")
                for port in ports { attachment.ports[port] = try PortReservation() }
                let elements = attachment.ports.map { port, reservation in
                    "\(reservation.port) : \(IPv4Network.format(sandbox)) . \(port)"
                }
                try await load(
                    "add element inet \(ruleset.table) exposed4 { \(elements.joined(separator: ", ")) }\n",
                    scratch: bundle
                )
            }
        } catch {
            await detach(attachment, bundle: bundle)
            throw error
        }
        return attachment
    }

    /// Takes over an adopted sandbox's veth (left in place by `prepare`) and exposed ports: the loopback
    /// ports are reserved again (another one if a host program took one meanwhile) and put back into
    /// the freshly loaded table.
    func restore(_ record: SandboxRecord.Network, bundle: String) async throws -> Attachment {
        var attachment = Attachment(
            interface: record.interface,
            hostAddress: record.hostAddress,
            sandboxAddress: record.sandboxAddress,
            ports: [:]
        )
        for (port, hostPort) in record.ports {
            if let same = try? PortReservation(port: hostPort) {
                attachment.ports[port] = same
            } else {
                attachment.ports[port] = try PortReservation()
            }
        }
        if !attachment.ports.isEmpty {
            let elements = attachment.ports.map { port, reservation in
                "\(reservation.port) : \(IPv4Network.format(record.sandboxAddress)) . \(port)"
            }
            try await load(
                "add element inet \(ruleset.table) exposed4 { \(elements.joined(separator: ", ")) }\n",
                scratch: bundle
            )
        }
        return attachment
    }

    private func batch(_ commands: String, bundle: String, name: String, namespace: String? = nil) async throws {
        let path = "\(bundle)/\(name).batch"
        try BundleWriter.writeFile(path, Array(commands.utf8), mode: 0o600)
        defer { unlink(path) }
        var arguments = [ipPath, "-batch", path]
        if let namespace { arguments = [nsenterPath, "--net=\(namespace)", "--"] + arguments }
        try await HostCommand.run(arguments)
    }

    /// Undoes `attach`: the exposed ports' map elements, the host-side veth (gone already if the
    /// namespace died), the reservations (dropped with the attachment).
    func detach(_ attachment: Attachment, bundle: String) async {
        if !attachment.ports.isEmpty {
            let keys = attachment.ports.values.map { String($0.port) }.joined(separator: ", ")
            let scratch = access(bundle, F_OK) == 0 ? bundle : "/tmp"
            try? await load("delete element inet \(ruleset.table) exposed4 { \(keys) }\n", scratch: scratch)
        }
        if access("/sys/class/net/\(attachment.interface)", F_OK) == 0 {
            _ = try? await HostCommand.run([ipPath, "link", "delete", attachment.interface])
        }
    }
}

extension Substring {
    fileprivate func trimmingSuffix(_ suffix: Character) -> Substring {
        last == suffix ? dropLast() : self
    }
}
